/*
 * stamp - copy stdin to stdout, each line prefixed with the milliseconds
 * since stamp started on CLOCK_MONOTONIC ("   1234.567 line").
 *
 * The bench times stock xl's downtime from outside by its own messages
 * (bench/anatomy.py names them): xl -vvv's stderr, and that of the
 * xl migrate-receive it runs, piped through stamp, which reads each line
 * as it comes.  The lab's dom0 has no Python, and a date(1) per line
 * would cost more than the phases it times.  stdin's buffer does not
 * delay a line: read(2) on a pipe returns what has arrived.  A line longer
 * than the buffer is stamped once, at its start.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

int main(void)
{
    char line[4096];
    double t0 = now_ms();
    int fresh = 1;
    size_t n;

    while (fgets(line, sizeof(line), stdin)) {
        n = strlen(line);
        if (fresh) printf("%11.3f ", now_ms() - t0);
        fputs(line, stdout);
        fresh = n > 0 && line[n - 1] == '\n';
        if (fresh) fflush(stdout);
    }
    if (!fresh) putchar('\n');
    return 0;
}
