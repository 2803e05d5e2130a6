/*
 * ktls.c - `relocd-bench ktls PSKFILE`: can this host run relocd's
 * kernel-TLS path?  Asked twice, without guessing:
 *   kernel  does a loopback TCP socket take the "tls" upper-layer protocol
 *           (setsockopt TCP_ULP, what OpenSSL does after the handshake)?
 *   relocd  after a real PSK handshake through relocd's own tls module,
 *           which directions are in the kernel (tls_conn_ktls() on both
 *           ends), the server having installed its receive keys as a
 *           receiving relocd does (tls_conn_ktls_rx)?
 * Prints key=value lines; the last is "ktls=full", "ktls=tx" (sending
 * only) or "ktls=unavailable".  Always exits 0 unless the
 * probe itself could not run.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "wire/tls.h"

static void print_ulps(void)
{
    char text[256] = "";
    FILE *f = fopen("/proc/sys/net/ipv4/tcp_available_ulp", "r");

    if (f) {
        if (!fgets(text, sizeof(text), f)) text[0] = '\0';
        fclose(f);
    }
    text[strcspn(text, "\n")] = '\0';
    printf("tcp_available_ulp=%s\n", f ? text : "(unreadable)");
}

/* 1 when the kernel takes TCP_ULP "tls"; prints why not otherwise. */
static int kernel_ktls(void)
{
    int fds[2], r, e;

    if (bench_tcp_pair(fds) < 0) {
        printf("kernel=unknown (no loopback TCP: %s)\n", strerror(errno));
        return 0;
    }
    r = setsockopt(fds[0], IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls"));
    e = errno;
    close(fds[0]);
    close(fds[1]);
    if (r == 0)
        printf("kernel=yes\n");
    else
        printf("kernel=no: setsockopt TCP_ULP \"tls\": %s\n", strerror(e));
    return r == 0;
}

/* The server end of the handshake, in a child: exit code tx | rx << 1. */
static void serve(struct tls_ctx *t, int fd)
{
    struct tls_conn *c;
    char err[512];
    int tx = 0, rx = 0;

    c = tls_accept(t, fd, 10000, err, sizeof(err));
    if (!c) _exit(100);
    /* The client sends nothing until we exit: the sync point. */
    tls_conn_ktls_rx(c);
    tls_conn_ktls(c, &tx, &rx);
    tls_shutdown(c);
    tls_conn_free(c);
    _exit(tx | rx << 1);
}

/* relocd's own verdict; 2 full, 1 sending only, 0 none, -1 no probe. */
static int relocd_ktls(const char *psk)
{
    struct tls_opts o = {NULL, NULL, NULL, psk, NULL, NULL};
    struct tls_ctx *srv = NULL, *cli = NULL;
    struct tls_conn *c = NULL;
    int fds[2] = {-1, -1}, tx = 0, rx = 0, status = 0, rc = -1;
    char err[512];
    pid_t pid = -1;

    srv = tls_ctx_new(1, &o, err, sizeof(err));
    cli = srv ? tls_ctx_new(0, &o, err, sizeof(err)) : NULL;
    if (!cli || bench_tcp_pair(fds) < 0) {
        printf("relocd=unknown (%s)\n", cli ? strerror(errno) : err);
        goto out;
    }
    pid = fork();
    if (pid == 0) serve(srv, fds[1]);
    c = pid > 0 ? tls_connect(cli, fds[0], NULL, 10000, err, sizeof(err))
                : NULL;
    if (c) tls_conn_ktls(c, &tx, &rx);
    if (pid > 0) waitpid(pid, &status, 0);
    if (!c || !WIFEXITED(status) || WEXITSTATUS(status) > 3) {
        printf("relocd=unknown (handshake failed: %s)\n", c ? "server" : err);
        goto out;
    }
    printf("relocd=client-tx:%d,client-rx:%d,server-tx:%d,server-rx:%d "
           "cipher=%s\n",
           tx, rx, WEXITSTATUS(status) & 1, WEXITSTATUS(status) >> 1,
           tls_conn_cipher(c));
    /* What a migration stream meets: sender's tx, receiver's tx and rx. */
    rc = tx && (WEXITSTATUS(status) & 3) == 3 ? 2 : tx ? 1 : 0;
out:
    if (c) tls_shutdown(c);
    tls_conn_free(c);
    if (fds[0] >= 0) close(fds[0]);
    if (fds[1] >= 0) close(fds[1]);
    tls_ctx_free(cli);
    tls_ctx_free(srv);
    return rc;
}

int ktls_main(int argc, char **argv)
{
    int kernel, relocd;

    if (argc != 2) return bench_err("ktls", "usage: ktls PSKFILE");
    print_ulps();
    kernel = kernel_ktls();
    relocd = relocd_ktls(argv[1]);
    printf("ktls=%s\n", relocd == 2   ? "full"
                        : relocd == 1 ? "tx"
                        : kernel      ? "kernel-only"
                                      : "unavailable");
    return relocd < 0 && kernel ? 1 : 0;
}
