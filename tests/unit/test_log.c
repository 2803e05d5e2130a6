/* test_log.c - log lines: peer text cannot forge a line or drive a tty. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "wire/log.h"
#include "t.h"

static char captured[8192];

/* Runs one log call with stderr on a temporary file; leaves its output. */
static void capture(void (*call)(const char *text), const char *text)
{
    FILE *f = tmpfile();
    int saved = dup(2);
    size_t n;

    fflush(stderr);
    dup2(fileno(f), 2);
    call(text);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(f);
    n = fread(captured, 1, sizeof(captured) - 1, f);
    captured[n] = '\0';
    fclose(f);
}

static void info(const char *text)
{
    log_info("HELLO from %s on host-b", text);
}

static void warnx(const char *text)
{
    log_warnx("peer said: %s", text);
}

static void test_newline_forges_nothing(void)
{
    capture(info, "relocd 0.1.0\nrelocd: received g1 from 10.0.0.9");
    T_EQ_STR(captured, "relocd: HELLO from relocd 0.1.0\\x0arelocd: "
                       "received g1 from 10.0.0.9 on host-b\n");
    capture(warnx, "busy\r\033[2Jok");
    T_EQ_STR(captured, "relocd: peer said: busy\\x0d\\x1b[2Jok\n");
}

static void test_plain_text_unchanged(void)
{
    capture(info, "relocd 0.1.0 (x86_64)");
    T_EQ_STR(captured, "relocd: HELLO from relocd 0.1.0 (x86_64) on host-b\n");
}

int main(void)
{
    log_init("relocd", LOG_TO_STDERR, 0);
    test_newline_forges_nothing();
    test_plain_text_unchanged();
    return t_done("test_log");
}
