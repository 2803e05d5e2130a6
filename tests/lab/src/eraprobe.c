/*
 * eraprobe - the storage-era-probe scenario's copier, in dom0: copies
 * disks that a guest keeps writing with relocd's dm-era tracker
 * (relocd/disktrack_era.c), pass after pass, and checks the copies.
 *
 * usage: eraprobe [-b block] [-p passes] [-i interval_ms] [-d dir]
 *                 [-P pause_cmd] [-U unpause_cmd] [-S] NODE:COPY...
 *
 * For each NODE (/dev/mapper/NODE, the device blkback holds): tracking
 * starts, pass 0 copies the whole disk to the file COPY, then `passes`
 * passes (interval_ms apart) copy only the blocks the tracker reports;
 * then pause_cmd (e.g. "xl pause g"), the final pass (skipped with -S,
 * the mutation that must be caught), a byte-for-byte comparison of each
 * source with its copy, one more era (which must be empty: nothing
 * writes a paused guest's disk), unpause_cmd, and tracking stops (the
 * node's table is put back).  The source is read with O_DIRECT: blkback's
 * writes bypass dom0's page cache.  Lines on stdout:
 *
 *   ERAPROBE start NODE size=B block=B era_ms=T
 *   ERAPROBE pass K NODE blocks=N bytes=B close_ms=T suspend_ms=T copy_ms=T
 *   ERAPROBE compare NODE src=HASH copy=HASH differ=N (4 KiB blocks)
 *   ERAPROBE after-final NODE blocks=N
 *   ERAPROBE stop NODE ok | error REASON
 *   ERAPROBE verdict same|differ
 *
 * Exit 0 when every copy equals its source (with -S: when one differs),
 * 1 otherwise, 2 on a usage or setup error.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "relocd/diskmap.h"
#include "relocd/disktrack.h"

#define MAX_DISKS 8
#define CHUNK (1 << 20)
#define GRAIN 4096

struct disk {
    char node[101];
    const char *copy;
    int src, dst;
    uint64_t size;
    struct disktrack *t;
    struct diskmap *map;
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int full_io(int fd, void *buf, size_t len, off_t off, int wr)
{
    ssize_t n;
    size_t done = 0;

    while (done < len) {
        n = wr ? pwrite(fd, (char *)buf + done, len - done, off + done)
               : pread(fd, (char *)buf + done, len - done, off + done);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return -1;
        done += (size_t)n;
    }
    return 0;
}

/* Copies the blocks of d->map from the source to the copy. */
static int copy_map(struct disk *d, void *buf)
{
    uint64_t b = 0, n, bs = diskmap_block_size(d->map), off, end, len;

    while (diskmap_next_run(d->map, 1, &b, &n)) {
        off = b * bs;
        end = (b + n) * bs < d->size ? (b + n) * bs : d->size;
        for (; off < end; off += len) {
            len = end - off < CHUNK ? end - off : CHUNK;
            if (full_io(d->src, buf, len, (off_t)off, 0) < 0 ||
                full_io(d->dst, buf, len, (off_t)off, 1) < 0) {
                printf("ERAPROBE error %s copy at %" PRIu64 ": %s\n", d->node,
                       off, strerror(errno));
                return -1;
            }
        }
        b += n;
    }
    return 0;
}

static uint64_t fnv(uint64_t h, const unsigned char *p, size_t n)
{
    while (n--)
        h = (h ^ *p++) * 0x100000001b3ULL;
    return h;
}

/* 1 when the copy equals the source, 0 when not, -1 on error. */
static int compare(struct disk *d, void *a, void *b)
{
    uint64_t hs = 0xcbf29ce484222325ULL, hc = hs, off, len, differ = 0, g;

    for (off = 0; off < d->size; off += len) {
        len = d->size - off < CHUNK ? d->size - off : CHUNK;
        if (full_io(d->src, a, len, (off_t)off, 0) < 0 ||
            full_io(d->dst, b, len, (off_t)off, 0) < 0)
            return -1;
        hs = fnv(hs, a, len);
        hc = fnv(hc, b, len);
        for (g = 0; g < len; g += GRAIN)
            if (memcmp((char *)a + g, (char *)b + g,
                       len - g < GRAIN ? len - g : GRAIN))
                differ++;
    }
    printf("ERAPROBE compare %s src=%016" PRIx64 " copy=%016" PRIx64
           " differ=%" PRIu64 "\n",
           d->node, hs, hc, differ);
    return differ == 0;
}

static int open_disk(struct disk *d, const char *arg, const char *dir,
                     uint32_t bs)
{
    struct disktrack_era_cfg cfg = {.dir = dir};
    const char *colon = strchr(arg, ':');
    char path[160], err[256];

    if (!colon || colon == arg || (size_t)(colon - arg) >= sizeof(d->node))
        return -1;
    snprintf(d->node, sizeof(d->node), "%.*s", (int)(colon - arg), arg);
    d->copy = colon + 1;
    snprintf(path, sizeof(path), "/dev/mapper/%s", d->node);
    d->src = open(path, O_RDONLY | O_DIRECT);
    d->dst = open(d->copy, O_RDWR | O_CREAT | O_TRUNC, 0600);
    if (d->src < 0 || d->dst < 0 || ioctl(d->src, BLKGETSIZE64, &d->size) < 0 ||
        ftruncate(d->dst, (off_t)d->size) < 0) {
        printf("ERAPROBE error %s: %s\n", d->node, strerror(errno));
        return -1;
    }
    cfg.node = d->node;
    d->t = disktrack_era_new(&cfg, d->size, bs, err, sizeof(err));
    d->map = diskmap_new(d->size, bs);
    if (!d->t || !d->map) {
        printf("ERAPROBE error %s: %s\n", d->node, d->t ? "no memory" : err);
        return -1;
    }
    return 0;
}

/* Closes an era and copies its blocks; prints the pass line. */
static int pass(struct disk *d, int k, void *buf)
{
    struct disktrack_era_stats st;
    double t0 = now_ms(), t1, t2;

    diskmap_clear(d->map);
    if (disktrack_close(d->t, d->map) < 0) {
        printf("ERAPROBE error %s pass %d: %s\n", d->node, k,
               disktrack_error(d->t));
        return -1;
    }
    t1 = now_ms();
    if (copy_map(d, buf) < 0) return -1;
    t2 = now_ms();
    disktrack_era_stats(d->t, &st);
    printf("ERAPROBE pass %d %s blocks=%" PRIu64 " bytes=%" PRIu64
           " close_ms=%.1f suspend_ms=%.1f copy_ms=%.1f era=%" PRIu32 "\n",
           k, d->node, diskmap_count(d->map), diskmap_bytes(d->map), t1 - t0,
           st.suspend_us / 1e3, t2 - t1, st.era);
    return 0;
}

static void run_cmd(const char *what, const char *cmd)
{
    int r;

    if (!cmd) return;
    r = system(cmd);
    printf("ERAPROBE %s \"%s\" rc=%d\n", what, cmd, r);
}

static void usage(void)
{
    fprintf(stderr, "usage: eraprobe [-b block] [-p passes] [-i interval_ms] "
                    "[-d dir] [-P pause_cmd] [-U unpause_cmd] [-S] "
                    "NODE:COPY...\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct disk disks[MAX_DISKS];
    const char *dir = "/run/relocd-era", *pause_cmd = NULL, *unpause = NULL;
    long passes = 3, interval = 2000, bs = 65536;
    int c, i, k, n, skip_final = 0, same = 1, rc = 0;
    void *buf, *buf2;
    double t0;

    while ((c = getopt(argc, argv, "b:p:i:d:P:U:S")) != -1) {
        switch (c) {
        case 'b':
            bs = atol(optarg);
            break;
        case 'p':
            passes = atol(optarg);
            break;
        case 'i':
            interval = atol(optarg);
            break;
        case 'd':
            dir = optarg;
            break;
        case 'P':
            pause_cmd = optarg;
            break;
        case 'U':
            unpause = optarg;
            break;
        case 'S':
            skip_final = 1;
            break;
        default:
            usage();
        }
    }
    n = argc - optind;
    if (n < 1 || n > MAX_DISKS || bs < 4096 || passes < 0 || interval < 0)
        usage();
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (posix_memalign(&buf, GRAIN, CHUNK) ||
        posix_memalign(&buf2, GRAIN, CHUNK))
        return 2;
    memset(disks, 0, sizeof(disks));
    for (i = 0; i < n; i++) {
        if (open_disk(&disks[i], argv[optind + i], dir, (uint32_t)bs) < 0)
            return 2;
    }
    for (i = 0; i < n; i++) {
        struct disk *d = &disks[i];
        struct disktrack_era_stats st;

        t0 = now_ms();
        if (disktrack_begin(d->t, d->src, DISKTRACK_ALL, d->map) < 0) {
            printf("ERAPROBE error %s start: %s\n", d->node,
                   disktrack_error(d->t));
            rc = 2;
            goto out;
        }
        disktrack_era_stats(d->t, &st);
        printf("ERAPROBE start %s size=%" PRIu64 " block=%ld era=%" PRIu32
               " start_ms=%.1f\n",
               d->node, d->size, bs, st.era, now_ms() - t0);
        t0 = now_ms();
        if (copy_map(d, buf) < 0) {
            rc = 2;
            goto out;
        }
        printf("ERAPROBE pass 0 %s blocks=%" PRIu64 " bytes=%" PRIu64
               " copy_ms=%.1f\n",
               d->node, diskmap_count(d->map), diskmap_bytes(d->map),
               now_ms() - t0);
    }
    for (k = 1; k <= passes; k++) {
        usleep((useconds_t)interval * 1000);
        for (i = 0; i < n; i++)
            if (pass(&disks[i], k, buf) < 0) {
                rc = 2;
                goto out;
            }
    }
    /* the mutation must have writes to miss: give the writers a second */
    if (skip_final) usleep(1000000);
    run_cmd("pause", pause_cmd);
    /* what is on blkback's ring when the guest stops is done by now */
    usleep(500000);
    for (i = 0; i < n && !skip_final; i++)
        if (pass(&disks[i], (int)passes + 1, buf) < 0) {
            rc = 2;
            goto out;
        }
    if (skip_final) printf("ERAPROBE final pass skipped (-S)\n");
    for (i = 0; i < n; i++) {
        int r = compare(&disks[i], buf, buf2);

        if (r < 0) {
            printf("ERAPROBE error %s compare: %s\n", disks[i].node,
                   strerror(errno));
            rc = 2;
            goto out;
        }
        same &= r;
    }
    for (i = 0; i < n; i++) {
        diskmap_clear(disks[i].map);
        if (disktrack_close(disks[i].t, disks[i].map) == 0)
            printf("ERAPROBE after-final %s blocks=%" PRIu64 "\n",
                   disks[i].node, diskmap_count(disks[i].map));
    }
    printf("ERAPROBE verdict %s\n", same ? "same" : "differ");
    rc = skip_final ? same : !same;
out:
    run_cmd("unpause", unpause);
    for (i = 0; i < n; i++) {
        if (!disks[i].t) continue;
        t0 = now_ms();
        disktrack_end(disks[i].t);
        if (disks[i].t->err[0])
            printf("ERAPROBE stop %s error %s\n", disks[i].node,
                   disktrack_error(disks[i].t));
        else
            printf("ERAPROBE stop %s ok stop_ms=%.1f\n", disks[i].node,
                   now_ms() - t0);
        disktrack_free(disks[i].t);
        diskmap_free(disks[i].map);
    }
    return rc;
}
