/*
 * cmdrun.c - a command's run with bounded capture (cmdrun.h): both pipes
 * drained in one poll loop, so a tool that fills stderr while we wait on
 * stdout cannot block us, and output beyond the buffer is read and
 * dropped, never let to stall the child.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "relocd/cmdrun.h"

/* Drains fd into buf (len bytes, NUL-terminated); 1 on overflow. */
static int drain(int fd, char *buf, size_t len, size_t *used, int *open_fd)
{
    char scratch[512];
    ssize_t n;
    int over = 0;

    if (*used + 1 < len)
        n = read(fd, buf + *used, len - 1 - *used);
    else
        n = read(fd, scratch, sizeof(scratch)), over = n > 0;
    if (n <= 0) {
        if (n < 0 && errno == EINTR) return 0;
        *open_fd = 0;
        return 0;
    }
    if (!over) *used += (size_t)n, buf[*used] = '\0';
    return over;
}

int cmdrun(const char *const argv[], char *out, size_t outlen, char *msg,
           size_t msglen)
{
    int po[2] = {-1, -1}, pe[2] = {-1, -1}, st, over = 0, oo = 1, eo = 1;
    char sink[2], esink[2];
    size_t ou = 0, eu = 0;
    struct pollfd pfd[2];
    pid_t pid;

    if (!out) out = sink, outlen = sizeof(sink);
    if (!msg) msg = esink, msglen = sizeof(esink);
    out[0] = msg[0] = '\0';
    if (pipe2(po, O_CLOEXEC) < 0 || pipe2(pe, O_CLOEXEC) < 0) goto fail;
    pid = fork();
    if (pid < 0) goto fail;
    if (pid == 0) {
        int null = open("/dev/null", O_RDONLY);

        if (null < 0 || dup2(null, 0) < 0 || dup2(po[1], 1) < 0 ||
            dup2(pe[1], 2) < 0)
            _exit(127);
        /* lvm closes and warns of any other descriptor: none leaks */
        close_range(3, ~0U, 0);
        execvp(argv[0], (char *const *)argv);
        dprintf(2, "%s: %s", argv[0], strerror(errno));
        _exit(127);
    }
    close(po[1]);
    close(pe[1]);
    while (oo || eo) {
        pfd[0] = (struct pollfd){.fd = oo ? po[0] : -1, .events = POLLIN};
        pfd[1] = (struct pollfd){.fd = eo ? pe[0] : -1, .events = POLLIN};
        if (poll(pfd, 2, -1) < 0 && errno != EINTR) break;
        if (pfd[0].revents) over |= drain(po[0], out, outlen, &ou, &oo);
        if (pfd[1].revents) drain(pe[0], msg, msglen, &eu, &eo);
    }
    close(po[0]);
    close(pe[0]);
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    if (!WIFEXITED(st)) {
        errno = EINTR;
        return -1;
    }
    if (over) {
        errno = EMSGSIZE;
        return -1;
    }
    return WEXITSTATUS(st);
fail:
    st = errno;
    for (int i = 0; i < 2; i++) {
        if (po[i] >= 0) close(po[i]);
        if (pe[i] >= 0) close(pe[i]);
    }
    errno = st;
    return -1;
}

/* The last line of a tool's stderr, for a reason; "" when none. */
const char *cmdrun_last_line(char *msg)
{
    char *p;
    size_t n = strlen(msg);

    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    p = strrchr(msg, '\n');
    return p ? p + 1 : msg;
}
