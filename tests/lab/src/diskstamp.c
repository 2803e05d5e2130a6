/*
 * diskstamp - the lab's disk integrity workload, run inside a guest.
 *
 * usage: diskstamp [-r MiB/s] [-n blocks] [-i report_ms] [-c count] [-q] DEV
 *        diskstamp -V [-n blocks] DEV
 *
 * Writes 4 KiB stamps to DEV (a block device or a file) with O_DIRECT,
 * at about MiB/s (-r; default as fast as it can), into random blocks of
 * the first `blocks` (default: all of DEV), or in order with -q.  A stamp
 * holds a magic, the block's number, its generation, this run's id, a fill
 * that depends on all three, and a CRC32 of the rest.  The generation of
 * every block is kept in a table in RAM, raised after each write returns:
 * in a guest, the table migrates with the guest, so it says what the disk
 * must hold wherever the guest runs.
 *
 * SIGUSR1 pauses the writes, re-reads every block and prints
 *
 *   LAB-DISKVERIFY blocks=<n> written=<w> ok=<o> stale=<s> corrupt=<c>
 *
 * then goes on writing.  stale: a block holds an older generation than
 * the table (or another run's stamp, or zeros) - a write the disk lost,
 * e.g. a migration that skipped its final pass.  corrupt: a bad CRC, magic
 * or block number, or a generation newer than the table.  The first bad
 * blocks are listed as "LAB-DISKBAD block=<b> want=<g> got=<g> <why>".
 * With -c, it verifies after count writes and exits: 0 when clean, 1 not.
 * -V only reads: it checks each stamp's CRC and block number (no table).
 * Every report_ms (default 1000): "LAB-DISKTICK <n> writes=<w> rt=<s>".
 * When DEV refuses O_DIRECT, it falls back to O_DSYNC and says so in a
 * "LAB-DISKSTAMP-NOTE" line.
 */
#define _GNU_SOURCE /* O_DIRECT */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define STAMP 4096
#define MAGIC 0x4453544d50303121ULL /* "DSTMP01!" */
#define MAX_BAD_LINES 10
#define SLICE_MS 10

struct stamp_head {
    uint64_t magic, block, gen, run;
};

struct st {
    int fd;
    uint64_t nblocks;
    uint32_t *gen; /* per block, 0 = not written by this run */
    uint64_t run, writes, rng;
    uint8_t *buf;
    int seq;
    uint64_t next;
};

static volatile sig_atomic_t want_verify;

static uint32_t crc_table[256];

static void crc_init(void)
{
    uint32_t c, i, k;

    for (i = 0; i < 256; i++) {
        for (c = i, k = 0; k < 8; k++)
            c = c & 1 ? 0xedb88320U ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffU;

    while (n--)
        c = crc_table[(c ^ *p++) & 0xff] ^ (c >> 8);
    return c ^ 0xffffffffU;
}

static uint64_t xorshift(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(double ms)
{
    struct timespec ts;

    if (ms <= 0) return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)((ms - ts.tv_sec * 1000.0) * 1e6);
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !want_verify)
        ;
}

/* Fills buf with the stamp of (block, gen). */
static void stamp_make(const struct st *s, uint8_t *buf, uint64_t block,
                       uint32_t gen)
{
    struct stamp_head h = {MAGIC, block, gen, s->run};
    uint64_t x = block * 0x9e3779b97f4a7c15ULL ^ gen ^ s->run, *w;
    size_t i;
    uint32_t crc;

    memcpy(buf, &h, sizeof(h));
    w = (uint64_t *)(buf + sizeof(h));
    for (i = 0; i < (STAMP - sizeof(h) - 8) / 8; i++)
        w[i] = xorshift(&x) | 1;
    crc = crc32(buf, STAMP - 4);
    memcpy(buf + STAMP - 4, &crc, 4);
}

/* What a block read back holds: 0 ok, or why it is not a valid stamp. */
static const char *stamp_check(const uint8_t *buf, uint64_t block,
                               struct stamp_head *h)
{
    uint32_t crc;
    size_t i;

    memcpy(h, buf, sizeof(*h));
    memcpy(&crc, buf + STAMP - 4, 4);
    for (i = 0; i < STAMP && !buf[i]; i++)
        ;
    if (i == STAMP) return "zeros";
    if (h->magic != MAGIC) return "no-stamp";
    if (crc != crc32(buf, STAMP - 4)) return "bad-crc";
    if (h->block != block) return "wrong-block";
    return NULL;
}

static int rw_full(int fd, uint8_t *buf, uint64_t block, int wr)
{
    ssize_t n;
    off_t off = (off_t)(block * STAMP);

    do {
        n = wr ? pwrite(fd, buf, STAMP, off) : pread(fd, buf, STAMP, off);
    } while (n < 0 && errno == EINTR);
    return n == STAMP ? 0 : -1;
}

static int stamp_write(struct st *s)
{
    uint64_t b =
        s->seq ? s->next++ % s->nblocks : xorshift(&s->rng) % s->nblocks;
    uint32_t g = s->gen[b] + 1;

    stamp_make(s, s->buf, b, g);
    if (rw_full(s->fd, s->buf, b, 1) < 0) {
        printf("LAB-DISKSTAMP-ERROR write block=%llu: %s\n",
               (unsigned long long)b, strerror(errno));
        return -1;
    }
    s->gen[b] = g;
    s->writes++;
    return 0;
}

struct verdict {
    uint64_t ok, stale, corrupt, written, lines;
};

static void bad(struct verdict *v, uint64_t b, uint32_t want, uint64_t got,
                const char *why)
{
    if (v->lines++ < MAX_BAD_LINES)
        printf("LAB-DISKBAD block=%llu want=%u got=%llu %s\n",
               (unsigned long long)b, want, (unsigned long long)got, why);
}

static void corrupt(struct verdict *v, uint64_t b, uint32_t want, uint64_t got,
                    const char *why)
{
    v->corrupt++;
    bad(v, b, want, got, why);
}

/* Not the stamp the table wants: stale, unless we never wrote there. */
static void stale_unless_unwritten(struct verdict *v, uint64_t b, uint32_t want,
                                   uint64_t got, const char *why)
{
    if (!want) {
        v->ok++;
        return;
    }
    v->stale++;
    bad(v, b, want, got, why);
}

/* One block against the table (gen NULL: against itself only). */
static void verify_block(struct st *s, uint64_t b, struct verdict *v)
{
    struct stamp_head h;
    uint32_t want = s->gen ? s->gen[b] : 0;
    const char *why;

    if (rw_full(s->fd, s->buf, b, 0) < 0) {
        corrupt(v, b, want, 0, "read-error");
        return;
    }
    why = stamp_check(s->buf, b, &h);
    if (want) v->written++;
    if (why && (!strcmp(why, "zeros") || !strcmp(why, "no-stamp")))
        stale_unless_unwritten(v, b, want, 0, why);
    else if (why)
        corrupt(v, b, want, h.gen, why);
    else if (s->gen && (h.run != s->run || h.gen < want))
        /* an earlier run's stamp is fine where we never wrote */
        stale_unless_unwritten(v, b, want, h.gen, "stale");
    else if (s->gen && h.gen > want)
        corrupt(v, b, want, h.gen, "newer-than-table");
    else
        v->ok++;
}

static int verify(struct st *s)
{
    struct verdict v = {0};
    uint64_t b;

    for (b = 0; b < s->nblocks; b++)
        verify_block(s, b, &v);
    printf("LAB-DISKVERIFY blocks=%llu written=%llu ok=%llu stale=%llu "
           "corrupt=%llu\n",
           (unsigned long long)s->nblocks, (unsigned long long)v.written,
           (unsigned long long)v.ok, (unsigned long long)v.stale,
           (unsigned long long)v.corrupt);
    return v.stale || v.corrupt ? 1 : 0;
}

static void on_usr1(int sig)
{
    (void)sig;
    want_verify = 1;
}

static int open_dev(const char *path, int ro)
{
    int fd = open(path, (ro ? O_RDONLY : O_RDWR) | O_DIRECT);

    if (fd >= 0 || errno != EINVAL) return fd;
    printf("LAB-DISKSTAMP-NOTE %s refuses O_DIRECT: using O_DSYNC\n", path);
    return open(path, (ro ? O_RDONLY : O_RDWR) | O_DSYNC);
}

static uint64_t dev_blocks(int fd)
{
    struct stat st;
    uint64_t size = 0;

    if (fstat(fd, &st) < 0) return 0;
    if (S_ISBLK(st.st_mode)) {
        if (ioctl(fd, BLKGETSIZE64, &size) < 0) return 0;
    } else {
        size = (uint64_t)st.st_size;
    }
    return size / STAMP;
}

static void usage(void)
{
    fprintf(stderr, "usage: diskstamp [-r MiB/s] [-n blocks] [-i report_ms] "
                    "[-c count] [-q] DEV\n"
                    "       diskstamp -V [-n blocks] DEV\n");
    exit(2);
}

/* Writes until count (0 = forever), verifying on SIGUSR1. */
static int run(struct st *s, double rate, long report_ms, uint64_t count)
{
    double credit = 0, last = now(), t;
    unsigned long tick = 0;
    uint64_t n, i;

    for (;;) {
        if (want_verify) {
            want_verify = 0;
            verify(s);
        }
        n = rate > 0 ? (uint64_t)(credit += rate * 256 * SLICE_MS / 1000.0)
                     : 64;
        credit -= rate > 0 ? (double)n : 0;
        for (i = 0; i < n && !want_verify; i++) {
            if (stamp_write(s) < 0) return 1;
            if (count && s->writes >= count) return verify(s);
        }
        if (rate > 0) sleep_ms(SLICE_MS);
        t = now();
        if ((t - last) * 1000 >= report_ms) {
            printf("LAB-DISKTICK %lu writes=%llu rt=%.3f\n", ++tick,
                   (unsigned long long)s->writes, t);
            last = t;
        }
    }
}

int main(int argc, char **argv)
{
    struct st s;
    double rate = 0;
    long report_ms = 1000, limit = 0;
    uint64_t count = 0;
    int c, only_verify = 0;
    void *p;

    memset(&s, 0, sizeof(s));
    while ((c = getopt(argc, argv, "r:n:i:c:qV")) != -1) {
        switch (c) {
        case 'r':
            rate = atof(optarg);
            break;
        case 'n':
            limit = atol(optarg);
            break;
        case 'i':
            report_ms = atol(optarg);
            break;
        case 'c':
            count = strtoull(optarg, NULL, 10);
            break;
        case 'q':
            s.seq = 1;
            break;
        case 'V':
            only_verify = 1;
            break;
        default:
            usage();
        }
    }
    if (optind != argc - 1 || rate < 0 || limit < 0 || report_ms <= 0) usage();
    setvbuf(stdout, NULL, _IOLBF, 0);
    crc_init();
    s.fd = open_dev(argv[optind], only_verify);
    if (s.fd < 0) {
        printf("LAB-DISKSTAMP-ERROR %s: %s\n", argv[optind], strerror(errno));
        return 1;
    }
    s.nblocks = dev_blocks(s.fd);
    if (limit && (uint64_t)limit < s.nblocks) s.nblocks = (uint64_t)limit;
    if (!s.nblocks || posix_memalign(&p, STAMP, STAMP)) {
        printf("LAB-DISKSTAMP-ERROR %s: no blocks or no memory\n",
               argv[optind]);
        return 1;
    }
    s.buf = p;
    if (only_verify) return verify(&s);
    s.gen = calloc(s.nblocks, sizeof(*s.gen));
    if (!s.gen) {
        printf("LAB-DISKSTAMP-ERROR table of %llu blocks: no memory\n",
               (unsigned long long)s.nblocks);
        return 1;
    }
    s.rng = s.run = ((uint64_t)time(NULL) << 20 ^ (uint64_t)getpid()) | 1;
    signal(SIGUSR1, on_usr1);
    printf("LAB-DISKSTAMP-START blocks=%llu rate=%.2f run=%llx\n",
           (unsigned long long)s.nblocks, rate, (unsigned long long)s.run);
    return run(&s, rate, report_ms, count);
}
