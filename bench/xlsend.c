/*
 * xlsend.c - `relocd-bench send`: the sending half of `xl migrate`, with a
 * synthetic guest, into a TCP connection or into a command.
 *
 * The stream is byte for byte what relocd-fake's simulated guest sends
 * (tests/net/xen_fake.c, offline): xl header and JSON config, libxl v2
 * header, LIBXC_CONTEXT with the libxc image and domain headers, one 1 MiB
 * page record per MiB, libxc END, libxl END; then xl's commit handshake.
 * With `cmd` the command gets the stream on stdin and answers on stdout
 * through two pipes, as xl's create_migration_child() sets them up, so
 * `cmd "exec ssh HOST relocd-bench receive"` is what stock
 * `xl migrate GUEST HOST` does over ssh.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "wire/fdio.h"
#include "bench.h"
#include "wire/buf.h"
#include "wire/xlstream.h"
#include "wire/clock.h"

#define PAGE_RECORD (1u << 20)

struct xlsend {
    int rfd, wfd;
    pid_t child;
    uint64_t bytes;
};

static int writev_all(int fd, struct iovec *iov, int n)
{
    ssize_t r;

    while (n) {
        r = writev(fd, iov, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        for (; n && (size_t)r >= iov->iov_len; iov++, n--)
            r -= (ssize_t)iov->iov_len;
        if (n) {
            iov->iov_base = (char *)iov->iov_base + r;
            iov->iov_len -= (size_t)r;
        }
    }
    return 0;
}

static int put(struct xlsend *x, const void *data, size_t len)
{
    x->bytes += len;
    return fdio_write_all(x->wfd, data, len);
}

/* The xl header with the domain's JSON config, as xl's save_domain_core. */
static int send_xl_header(struct xlsend *x, const char *name, unsigned mib)
{
    struct buf *b = buf_new(XLS_HDR_LEN + XLS_MAX_OPTIONAL);
    char json[512];
    int rc;

    snprintf(json, sizeof(json),
             "{\"c_info\":{\"type\":\"pvh\",\"name\":\"%s\"},"
             "\"b_info\":{\"max_memkb\":%u}}",
             name, mib * 1024);
    rc = !b || xls_put_header(b, json) || put(x, buf_ptr(b), buf_len(b));
    buf_free(b);
    return rc ? -1 : 0;
}

/* libxl header, LIBXC_CONTEXT, libxc image and domain headers. */
static int send_stream_start(struct xlsend *x)
{
    return put(x, xls_synthetic_start, sizeof(xls_synthetic_start));
}

/* mib page records, one writev(2) each, then the two END records. */
static int send_pages(struct xlsend *x, unsigned mib)
{
    static char page[PAGE_RECORD];
    static const uint32_t end[4] = {0, 0, 0, 0};
    uint32_t rec[2] = {1, PAGE_RECORD};
    struct iovec iov[2];
    unsigned i;

    memset(page, 0xa5, sizeof(page));
    for (i = 0; i < mib; i++) {
        iov[0] = (struct iovec){rec, sizeof(rec)};
        iov[1] = (struct iovec){page, sizeof(page)};
        if (writev_all(x->wfd, iov, 2) < 0) return -1;
        x->bytes += sizeof(rec) + sizeof(page);
    }
    return put(x, end, sizeof(end));
}

static int read_fixed(int fd, const char *want, size_t len)
{
    char got[64];

    if (len > sizeof(got) || fdio_read_exact(fd, got, len) < 0) return -1;
    return memcmp(got, want, len) ? -1 : 0;
}

/* xl's side of the migration, from the banner to the unpause report. */
static int send_migration(struct xlsend *x, const char *name, unsigned mib)
{
    char banner[XLS_BANNER_LEN], status = 1;

    if (fdio_read_exact(x->rfd, banner, sizeof(banner)) < 0 ||
        memcmp(banner, XLS_BANNER, sizeof(banner)))
        return bench_err("send", "no receiver banner");
    if (send_xl_header(x, name, mib) || send_stream_start(x) ||
        send_pages(x, mib))
        return bench_err("send", "stream write failed: %s", strerror(errno));
    if (read_fixed(x->rfd, XLS_MSG_READY, sizeof(XLS_MSG_READY)))
        return bench_err("send", "the receiver did not report ready");
    if (fdio_write_all(x->wfd, XLS_MSG_GO, sizeof(XLS_MSG_GO)) ||
        read_fixed(x->rfd, XLS_MSG_REPORT, sizeof(XLS_MSG_REPORT)) ||
        fdio_read_exact(x->rfd, &status, 1))
        return bench_err("send", "lost the receiver in the handshake");
    return status ? bench_err("send", "the receiver reported failure") : 0;
}

/* sh -c rune with the stream on its stdin and its answers on stdout. */
static int spawn(struct xlsend *x, const char *rune)
{
    int to[2], from[2];

    if (pipe2(to, O_CLOEXEC) < 0) return -1;
    if (pipe2(from, O_CLOEXEC) < 0) {
        close(to[0]);
        close(to[1]);
        return -1;
    }
    x->child = fdio_spawn_sh(rune, to[0], from[1]);
    close(to[0]);
    close(from[1]);
    x->wfd = to[1];
    x->rfd = from[0];
    return x->child < 0 ? -1 : 0;
}

int xlsend_main(int argc, char **argv)
{
    struct xlsend x = {-1, -1, 0, 0};
    const char *name = "g1";
    unsigned mib = 1024;
    double t0 = clock_s();
    int c, rc, status;

    while ((c = getopt(argc, argv, "m:n:")) != -1) {
        if (c == 'm')
            mib = (unsigned)strtoul(optarg, NULL, 10);
        else if (c == 'n')
            name = optarg;
        else
            return 2;
    }
    argc -= optind;
    argv += optind;
    signal(SIGPIPE, SIG_IGN);
    if (argc == 3 && !strcmp(argv[0], "tcp")) {
        x.rfd = x.wfd = bench_tcp_connect(argv[1], argv[2]);
        if (x.rfd < 0)
            return bench_err("send", "connect %s port %s: %s", argv[1], argv[2],
                             strerror(errno));
    } else if (argc == 2 && !strcmp(argv[0], "cmd")) {
        if (spawn(&x, argv[1]) < 0)
            return bench_err("send", "cannot run '%s'", argv[1]);
    } else {
        return bench_err("send", "want 'tcp HOST PORT' or 'cmd COMMAND'");
    }
    rc = send_migration(&x, name, mib);
    close(x.wfd);
    if (x.rfd != x.wfd) close(x.rfd);
    if (x.child > 0 && waitpid(x.child, &status, 0) == x.child && rc == 0 &&
        !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        rc = bench_err("send", "the command failed (status 0x%x)", status);
    printf("sent %s bytes=%llu seconds=%.6f ok=%d\n", name,
           (unsigned long long)x.bytes, clock_s() - t0, rc == 0);
    return rc;
}
