/*
 * disktrack_fake.c - relocd-fake's write tracker (tests/net has no
 * device-mapper): linked before librelocd.a, its disktrack_pick() replaces
 * relocd/disktrack_pick.c's.  It keeps a copy of the disk file taken when
 * tracking starts and reports, at each boundary, every block that differs
 * from the copy (then takes the disk as the new copy).  That is exact as
 * long as nothing writes during a boundary, which holds for the fake
 * guest: xen_fake.c writes its disk only inside a pre-copy round, never
 * while relocd's hook runs.  Bounded to RELOCD_FAKE_DISK_MAX (64 MiB).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relocd/diskmap.h"
#include "relocd/disktrack.h"
#include "relocd/storage.h"

#define RELOCD_FAKE_DISK_MAX (64ULL << 20)

struct diff_track {
    char path[MSG_DISK_PATH_MAX];
    char state[600]; /* DIR/NODE.table while tracking, as dm-era's */
    uint8_t *copy, *now;
};

static int diff_read(struct disktrack *t, uint8_t *into)
{
    struct diff_track *d = t->impl;
    int fd = open(d->path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : pread(fd, into, t->size, 0);

    if (fd >= 0) close(fd);
    if (n != (ssize_t)t->size) {
        snprintf(t->err, sizeof(t->err), "reading %.200s: %s", d->path,
                 n < 0 ? strerror(errno) : "short");
        errno = EIO;
        return -1;
    }
    return 0;
}

/* The state file says, like the real one, that a node is being tracked:
 * a worker that dies leaves it for storage_recover(). */
static int diff_start(struct disktrack *t)
{
    struct diff_track *d = t->impl;
    FILE *f = fopen(d->state, "we");

    if (!f || fprintf(f, "fake\n") < 0 || fclose(f) != 0) {
        snprintf(t->err, sizeof(t->err), "%.200s: %s", d->state,
                 strerror(errno));
        return -1;
    }
    return diff_read(t, d->copy);
}

static int diff_close(struct disktrack *t, struct diskmap *map)
{
    struct diff_track *d = t->impl;
    uint64_t b, off, len;
    uint8_t *swap;

    if (diff_read(t, d->now) < 0) return -1;
    for (b = 0; b * t->block_size < t->size; b++) {
        off = b * t->block_size;
        len = t->size - off < t->block_size ? t->size - off : t->block_size;
        if (memcmp(d->copy + off, d->now + off, len)) diskmap_set(map, b);
    }
    swap = d->copy;
    d->copy = d->now;
    d->now = swap;
    return 0;
}

static void diff_stop(struct disktrack *t)
{
    unlink(((struct diff_track *)t->impl)->state);
}

static void diff_free(void *impl)
{
    struct diff_track *d = impl;

    if (!d) return;
    free(d->copy);
    free(d->now);
    free(d);
}

static const struct disktrack_ops diff_ops = {
    .name = "fake-diff",
    .start = diff_start,
    .close = diff_close,
    .stop = diff_stop,
    .free = diff_free,
};

struct disktrack *disktrack_pick(const char *path, const char *node,
                                 const char *dir, uint64_t size, uint32_t block,
                                 char *err, size_t errlen)
{
    struct disktrack *t = calloc(1, sizeof(*t));
    struct diff_track *d = calloc(1, sizeof(*d));

    if (size > RELOCD_FAKE_DISK_MAX) {
        snprintf(err, errlen, "the fake tracker takes disks up to 64 MiB");
        goto fail;
    }
    if (!t || !d || !(d->copy = malloc(size)) || !(d->now = malloc(size))) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    snprintf(d->path, sizeof(d->path), "%s", path);
    snprintf(d->state, sizeof(d->state), "%s/%s.table", dir, node);
    *t = (struct disktrack){&diff_ops, d, size, block, 0, ""};
    return t;
fail:
    diff_free(d);
    free(t);
    return NULL;
}

int disktrack_restore(const char *dir, const char *node, char *err,
                      size_t errlen)
{
    char state[600];

    snprintf(state, sizeof(state), "%s/%s.table", dir, node);
    if (unlink(state) == 0) return 0;
    snprintf(err, errlen, "%s: %s", state, strerror(errno));
    return -1;
}
