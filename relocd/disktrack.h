/*
 * disktrack.h - write tracking of a disk, as the copy engine sees it.
 *
 * A tracker records which blocks of a disk the guest writes, in eras: each
 * disktrack_close() ends one era and reports the blocks written in it (at
 * least those: a tracker may report more, never fewer).  The copy engine
 * sends the first set (the whole disk or its allocated blocks), then, pass
 * after pass, the blocks of each closed era, the last one while the guest
 * is suspended.
 *
 * Implementations fill in an ops table (like libxenguest's save ops):
 *   - dm-era (later, beside the Xen layer): start reloads the device's
 *     table to `era` over the saved one; close is `dmsetup suspend` +
 *     `resume` (an atomic era boundary), `take_metadata_snap` and
 *     `era_invalidate --written-since`, whose era blocks are this map's
 *     blocks; stop reloads the saved table.
 *   - memory (disktrack_mem.c): writes are told to it; for tests.
 * A tracker never writes the disk itself.
 */
#ifndef RELOCD_DISKTRACK_H
#define RELOCD_DISKTRACK_H

#include <stdint.h>

struct diskmap;
struct disktrack;

struct disktrack_ops {
    const char *name;
    /* Starts recording; 0, or -1 with errno and a reason in t->err. */
    int (*start)(struct disktrack *t);
    /* Ends the era: adds the blocks written in it to map; 0 or -1. */
    int (*close)(struct disktrack *t, struct diskmap *map);
    /* Stops recording and puts the device back as it was; may fail
     * halfway (then says so in t->err); called at most once a start. */
    void (*stop)(struct disktrack *t);
    /* Frees impl. */
    void (*free)(void *impl);
};

struct disktrack {
    const struct disktrack_ops *ops;
    void *impl;
    uint64_t size;       /* the disk, in bytes */
    uint32_t block_size; /* the tracking granularity */
    int started;
    char err[256];
};

enum disktrack_first {
    DISKTRACK_ALL,       /* every block: block devices, unknown layout */
    DISKTRACK_ALLOCATED, /* blocks with data (SEEK_DATA); holes read zero */
};

/*
 * Starts tracking, then puts the first pass's blocks in first (emptied
 * first): every block, or those that SEEK_DATA/SEEK_HOLE on fd (the disk,
 * or its backing file) find allocated; where fd has no such notion (a block
 * device), every block.  Tracking starts before the layout is read, so a
 * write into a hole meanwhile is in the first era.  0, or -1 with errno
 * and t->err (tracking is then stopped).
 */
int disktrack_begin(struct disktrack *t, int fd, enum disktrack_first how,
                    struct diskmap *first);
/* Adds the blocks written since the previous boundary to map; 0 or -1. */
int disktrack_close(struct disktrack *t, struct diskmap *map);
/* Stops tracking and restores the device; a no-op when not started. */
void disktrack_end(struct disktrack *t);
/* Ends tracking and frees t (NULL is a no-op). */
void disktrack_free(struct disktrack *t);
const char *disktrack_error(const struct disktrack *t);

/* disktrack_mem.c: a tracker that tests tell about writes. */
struct disktrack *disktrack_mem_new(uint64_t size, uint32_t block_size);
/* Records a guest write of [off, off + len) (ignored when not started). */
void disktrack_mem_write(struct disktrack *t, uint64_t off, uint64_t len);
/* Makes the nth disktrack_close() from now (1 = the next) fail with EIO. */
void disktrack_mem_fail_close(struct disktrack *t, unsigned nth);

#endif
