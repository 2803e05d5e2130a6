/*
 * disktrack_mem.c - a write tracker held in memory, told about writes.
 *
 * For tests of the copy engine without device-mapper: the test writes the
 * source itself and tells the tracker, as dm-era would see the guest's
 * bios.  A write between two closes lands in the era the second one ends.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "relocd/diskmap.h"
#include "relocd/disktrack.h"

struct mem_track {
    struct diskmap *era; /* blocks written since the last boundary */
    unsigned fail_in;    /* closes until one fails; 0 = never */
};

static int mem_start(struct disktrack *t)
{
    struct mem_track *m = t->impl;

    diskmap_clear(m->era);
    return 0;
}

static int mem_close(struct disktrack *t, struct diskmap *map)
{
    struct mem_track *m = t->impl;

    if (m->fail_in && --m->fail_in == 0) {
        snprintf(t->err, sizeof(t->err), "closing the era failed (test)");
        errno = EIO;
        return -1;
    }
    if (diskmap_merge(map, m->era) < 0) return -1;
    diskmap_clear(m->era);
    return 0;
}

static void mem_stop(struct disktrack *t)
{
    struct mem_track *m = t->impl;

    diskmap_clear(m->era);
}

static void mem_free(void *impl)
{
    struct mem_track *m = impl;

    if (!m) return;
    diskmap_free(m->era);
    free(m);
}

static const struct disktrack_ops mem_ops = {
    .name = "memory",
    .start = mem_start,
    .close = mem_close,
    .stop = mem_stop,
    .free = mem_free,
};

struct disktrack *disktrack_mem_new(uint64_t size, uint32_t block_size)
{
    struct disktrack *t = calloc(1, sizeof(*t));
    struct mem_track *m = calloc(1, sizeof(*m));

    if (!t || !m || !(m->era = diskmap_new(size, block_size))) {
        free(t);
        mem_free(m);
        return NULL;
    }
    t->ops = &mem_ops;
    t->impl = m;
    t->size = size;
    t->block_size = block_size;
    return t;
}

void disktrack_mem_write(struct disktrack *t, uint64_t off, uint64_t len)
{
    struct mem_track *m = t->impl;

    if (t->started) diskmap_mark(m->era, off, len);
}

void disktrack_mem_fail_close(struct disktrack *t, unsigned nth)
{
    struct mem_track *m = t->impl;

    m->fail_in = nth;
}
