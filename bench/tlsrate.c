/*
 * tlsrate.c - `relocd-bench tlsrate [-r RUNS] PSKFILE MIB`: MIB MiB through
 * a loopback TCP connection of this host, plain and through relocd's TLS,
 * RUNS times each, alternated (so that other load on the host falls on
 * both).  The TLS connection is made by relocd's own tls module (PSK
 * handshake) and takes the path a migration takes: where the kernel has
 * TLS, the sender writes plaintext into the socket as libxenguest does and
 * the receiver, its receive keys installed as a receiving relocd installs
 * them, reads plaintext from it as xl does; where it has not, both ends
 * go through tls_write()/tls_read().  Issue 16's measure for a dom0:
 * relocd TLS against raw TCP on the same host.  Prints key=value lines
 * (medians): raw_mbps, raw_cpu_s_per_gib, tls_mbps, tls_cpu_s_per_gib,
 * tls_path (ktls | ktls-tx | user), cipher, ratio (tls over raw MB/s).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "wire/clock.h"
#include "wire/fdio.h"
#include "wire/tls.h"

/* What the sender writes at once (libxenguest writes batches of pages). */
#define TLSRATE_CHUNK (256 * 1024)
#define TLSRATE_MAX_RUNS 15
/* The receiver's exit codes besides 0 (all bytes, user-space TLS). */
#define TLSRATE_RX_KTLS 1
#define TLSRATE_RX_FAILED 2

struct tlsrate_run {
    double mbps, cpu_s_per_gib;
    int sender_ktls, receiver_ktls;
    char cipher[64];
};

struct tlsrate_ends {
    struct tls_ctx *srv, *cli;
};

static double ru_s(const struct rusage *ru)
{
    return (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
           (double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
}

static double self_cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru_s(&ru);
}

/* Reads everything from fd, or from c where the kernel does not decrypt. */
static unsigned long long drain(int fd, struct tls_conn *c, uint8_t *buf)
{
    unsigned long long total = 0;

    for (;;) {
        ssize_t n = c ? tls_read(c, buf, TLSRATE_CHUNK, 60000)
                      : read(fd, buf, TLSRATE_CHUNK);
        if (n > 0) {
            total += (unsigned long long)n;
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        return n == 0 ? total : 0;
    }
}

/*
 * The receiving end, in a child.  With TLS it installs its receive keys,
 * then sends one byte: the sender writes nothing before that byte, so no
 * record is read in user space before the kernel takes over.
 */
static void receiver(struct tlsrate_ends *e, int fd, unsigned long long want)
{
    uint8_t *buf = malloc(TLSRATE_CHUNK);
    struct tls_conn *c = NULL;
    int ktls = 0;

    if (!buf) _exit(TLSRATE_RX_FAILED);
    if (e) {
        char err[512];

        c = tls_accept(e->srv, fd, 10000, err, sizeof(err));
        if (!c) _exit(TLSRATE_RX_FAILED);
        /* After it, plaintext comes from the socket (tls.h). */
        ktls = tls_conn_ktls_rx(c) == 1;
        if (tls_write(c, "g", 1, 10000) != 1) _exit(TLSRATE_RX_FAILED);
    }
    if (drain(fd, ktls ? NULL : c, buf) != want) _exit(TLSRATE_RX_FAILED);
    _exit(ktls ? TLSRATE_RX_KTLS : 0);
}

/* The sending end: want bytes into fd, or into c without kernel TLS. */
static int sender(int fd, struct tls_conn *c, unsigned long long want)
{
    uint8_t *buf = calloc(1, TLSRATE_CHUNK);
    unsigned long long left = want;
    size_t n;
    int rc = 0;

    if (!buf) return -1;
    /* Not zeroes only: a compressing path would flatter itself. */
    for (n = 0; n < TLSRATE_CHUNK; n += 64)
        buf[n] = (uint8_t)(n * 2654435761u >> 24);
    while (left && rc == 0) {
        n = left < TLSRATE_CHUNK ? (size_t)left : TLSRATE_CHUNK;
        rc = c ? (tls_write(c, buf, n, 60000) == (ssize_t)n ? 0 : -1)
               : fdio_write_all(fd, buf, n);
        left -= n;
    }
    free(buf);
    return rc;
}

/* One transfer of mib MiB, through TLS when e is set; -1 on failure. */
static int one_run(struct tlsrate_ends *e, unsigned mib, struct tlsrate_run *r)
{
    unsigned long long want = (unsigned long long)mib << 20;
    struct tls_conn *c = NULL;
    struct rusage child;
    double t0, cpu0, cpu1;
    int fds[2], status = 0, tx = 0, rx = 0, rc = -1;
    char err[512], go;
    pid_t pid;

    if (bench_tcp_pair(fds) < 0) return -1;
    pid = fork();
    if (pid == 0) {
        close(fds[0]);
        receiver(e, fds[1], want);
    }
    close(fds[1]);
    if (pid < 0) goto out;
    if (e) {
        c = tls_connect(e->cli, fds[0], NULL, 10000, err, sizeof(err));
        if (!c || tls_read(c, &go, 1, 10000) != 1) goto reap;
        tls_conn_ktls(c, &tx, &rx);
    }
    t0 = clock_s();
    cpu0 = self_cpu_s();
    if (sender(fds[0], tx ? NULL : c, want) < 0) goto reap;
    shutdown(fds[0], SHUT_WR);
    rc = 0;
reap:
    /* wait4: the receiver's own CPU, not all children's so far */
    wait4(pid, &status, 0, &child);
    if (rc == 0 &&
        (!WIFEXITED(status) || WEXITSTATUS(status) == TLSRATE_RX_FAILED))
        rc = -1;
    if (rc == 0) {
        cpu1 = self_cpu_s() - cpu0;
        r->mbps = (double)want / (clock_s() - t0) / 1e6;
        /* The child's handshake is in its figure: a millisecond or two. */
        r->cpu_s_per_gib = (cpu1 + ru_s(&child)) / ((double)want / (1 << 30));
        r->sender_ktls = tx;
        snprintf(r->cipher, sizeof(r->cipher), "%s",
                 c ? tls_conn_cipher(c) : "none");
        r->receiver_ktls = WEXITSTATUS(status) == TLSRATE_RX_KTLS;
    }
out:
    tls_conn_free(c);
    close(fds[0]);
    return rc;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static const char *path_name(const struct tlsrate_run *r)
{
    if (r->sender_ktls && r->receiver_ktls) return "ktls";
    return r->sender_ktls ? "ktls-tx" : "user";
}

int tlsrate_main(int argc, char **argv)
{
    struct tls_opts o = {0};
    struct tlsrate_ends e = {NULL, NULL};
    struct tlsrate_run r;
    double raw_mb[TLSRATE_MAX_RUNS], raw_cpu[TLSRATE_MAX_RUNS];
    double tls_mb[TLSRATE_MAX_RUNS], tls_cpu[TLSRATE_MAX_RUNS];
    int runs = 3, i, c, rc = 1;
    const char *path = "user";
    char cipher[64] = "";
    unsigned mib;
    char err[512];

    while ((c = getopt(argc, argv, "r:")) != -1) {
        if (c != 'r')
            return bench_err("tlsrate", "usage: tlsrate [-r RUNS] PSKFILE MIB");
        runs = atoi(optarg);
    }
    if (argc - optind != 2 || runs < 1 || runs > TLSRATE_MAX_RUNS ||
        (mib = (unsigned)atoi(argv[optind + 1])) == 0)
        return bench_err("tlsrate", "usage: tlsrate [-r 1-%d] PSKFILE MIB",
                         TLSRATE_MAX_RUNS);
    o.psk_file = argv[optind];
    e.srv = tls_ctx_new(1, &o, err, sizeof(err));
    e.cli = e.srv ? tls_ctx_new(0, &o, err, sizeof(err)) : NULL;
    if (!e.cli) {
        bench_err("tlsrate", "%s", err);
        goto out;
    }
    for (i = 0; i < runs; i++) {
        if (one_run(NULL, mib, &r) < 0) {
            bench_err("tlsrate", "raw TCP run %d failed", i + 1);
            goto out;
        }
        raw_mb[i] = r.mbps;
        raw_cpu[i] = r.cpu_s_per_gib;
        if (one_run(&e, mib, &r) < 0) {
            bench_err("tlsrate", "TLS run %d failed", i + 1);
            goto out;
        }
        tls_mb[i] = r.mbps;
        tls_cpu[i] = r.cpu_s_per_gib;
        path = path_name(&r);
        memcpy(cipher, r.cipher, sizeof(cipher));
    }
    printf("mib=%u\nruns=%d\n", mib, runs);
    printf("raw_mbps=%.1f\nraw_cpu_s_per_gib=%.2f\n", median(raw_mb, runs),
           median(raw_cpu, runs));
    printf("tls_mbps=%.1f\ntls_cpu_s_per_gib=%.2f\n", median(tls_mb, runs),
           median(tls_cpu, runs));
    printf("tls_path=%s\ncipher=%s\n", path, cipher);
    printf("ratio=%.2f\n", median(tls_mb, runs) / median(raw_mb, runs));
    rc = 0;
out:
    tls_ctx_free(e.cli);
    tls_ctx_free(e.srv);
    return rc;
}
