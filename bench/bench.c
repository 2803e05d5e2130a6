/*
 * bench.c - relocd-bench's entry point and the I/O helpers its
 * subcommands share.  See bench.h and bench/README.md.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

/* The first address of host:port that takes a socket and op; -1 if none. */
static int bench_tcp(const char *host, const char *port, int listening)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL, *ai;
    int fd = -1, on = 1, r;

    hints.ai_flags = listening ? AI_PASSIVE : 0;
    r = getaddrinfo(host, port, &hints, &res);
    if (r) {
        errno = EHOSTUNREACH;
        return -1;
    }
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                    ai->ai_protocol);
        if (fd < 0) continue;
        if (listening)
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
        if (listening ? bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
                            listen(fd, 1) == 0
                      : connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

int bench_tcp_listen(const char *host, const char *port)
{
    return bench_tcp(host, port, 1);
}

int bench_tcp_connect(const char *host, const char *port)
{
    return bench_tcp(host, port, 0);
}

int bench_tcp_pair(int fds[2])
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    fds[0] = fds[1] = -1;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(lfd, 1) < 0 ||
        getsockname(lfd, (struct sockaddr *)&sa, &len) < 0)
        goto out;
    fds[0] = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fds[0] < 0 || connect(fds[0], (struct sockaddr *)&sa, len) < 0)
        goto out;
    fds[1] = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
out:
    if (lfd >= 0) close(lfd);
    return fds[0] >= 0 && fds[1] >= 0 ? 0 : -1;
}

int bench_err(const char *name, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "relocd-bench %s: %s\n", name, msg);
    return 1;
}

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
} bench_cmds[] = {
    {"ktls", ktls_main},           {"listen", xlrecv_listen_main},
    {"quiesce", cpu_quiesce_main}, {"receive", xlrecv_receive_main},
    {"run", cpu_run_main},         {"send", xlsend_main},
    {"tlsrate", tlsrate_main},
};

static int usage(void)
{
    fprintf(stderr,
            "usage: relocd-bench send [-m MIB] [-n NAME] tcp HOST PORT\n"
            "       relocd-bench send [-m MIB] [-n NAME] cmd SHELL-COMMAND\n"
            "       relocd-bench receive [XL-FLAGS...]  (stdin/stdout)\n"
            "       relocd-bench listen HOST PORT\n"
            "       relocd-bench run [-p PIDFILE] OUTFILE COMMAND [ARG...]\n"
            "       relocd-bench quiesce SECONDS PID\n"
            "       relocd-bench ktls PSKFILE\n"
            "       relocd-bench tlsrate [-r RUNS] PSKFILE MIB\n"
            "Environment: BENCH_RECV_LOG (receive, listen) gets one line\n"
            "per stream received.\n");
    return 2;
}

int main(int argc, char **argv)
{
    size_t i;

    if (argc < 2) return usage();
    for (i = 0; i < sizeof(bench_cmds) / sizeof(bench_cmds[0]); i++)
        if (!strcmp(argv[1], bench_cmds[i].name))
            return bench_cmds[i].fn(argc - 1, argv + 1);
    return usage();
}
