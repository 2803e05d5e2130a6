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
 *   - dm-era (disktrack_era.c): start reloads the device's table to `era`
 *     over a linear copy of the saved one; close is a suspend + resume
 *     of the node (an atomic era boundary), `take_metadata_snap` and
 *     `era_invalidate --written-since`, whose era blocks are this map's
 *     blocks; stop reloads the saved table.
 *   - memory (disktrack_mem.c): writes are told to it; for tests.
 * A tracker never writes the disk itself.
 */
#ifndef RELOCD_DISKTRACK_H
#define RELOCD_DISKTRACK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

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

/*
 * disktrack_era.c: dm-era on the device-mapper node that blkback holds
 * (README.xen 3.5).  Device-mapper is reached through the commands an
 * admin would type (dmsetup, era_invalidate) and loop ioctls; tests
 * replace them with a disktrack_era_sys of their own.
 */
struct disktrack_era_sys {
    /*
     * Runs argv (argv[0] looked up in PATH), stdin from /dev/null.  Its
     * stdout, NUL-terminated, goes to out (at most outlen - 1 bytes, or
     * the run fails with EMSGSIZE), the start of its stderr to msg (for
     * the reason of a failure).  The exit status (0-255), or -1 with
     * errno when it could not run or died of a signal.
     */
    int (*run)(void *arg, const char *const argv[], char *out, size_t outlen,
               char *msg, size_t msglen);
    /* A free loop device over path (O_RDWR): its fd, its name in dev;
     * -1 with errno. */
    int (*loop_attach)(void *arg, const char *path, char *dev, size_t devlen);
    /* Detaches and closes what loop_attach gave. */
    void (*loop_detach)(void *arg, int fd);
    /*
     * Suspends (suspend 1) or resumes (0) /dev/mapper/node as `dmsetup
     * suspend|resume` would; 0, or -1 with errno.  NULL: dmsetup is run
     * (two process start-ups inside the window in which the guest's I/O
     * waits: the real one makes the DM_DEV_SUSPEND ioctls itself).
     */
    int (*suspend)(void *arg, const char *node, int suspend);
    /*
     * `dmsetup status node` (its output in out, as dmsetup prints it) and
     * `dmsetup message node 0 message`; 0, or -1 with errno.  NULL:
     * dmsetup is run (the last disk pass runs both while the guest is
     * suspended: the real ones are ioctls, dmctl.h).
     */
    int (*status)(void *arg, const char *node, char *out, size_t outlen);
    int (*message)(void *arg, const char *node, const char *message);
    void *arg;
};

struct disktrack_era_cfg {
    const char *node; /* the dm name blkback holds: /dev/mapper/NODE */
    const char *dir;  /* a tmpfs directory for the metadata and state */
    const struct disktrack_era_sys *sys; /* NULL: the real commands */
};

/* What the boundaries cost the guest: the node stays suspended from
 * suspend to resume, its I/O queued. */
struct disktrack_era_stats {
    uint32_t era;            /* the current era */
    uint32_t boundaries;     /* closes so far */
    uint64_t suspend_us;     /* the last boundary's suspended time */
    uint64_t suspend_max_us; /* the longest */
};

/*
 * A tracker of the disk /dev/mapper/<cfg->node> (size bytes, a multiple
 * of 512) in blocks of block_size bytes (a multiple of 4096: dm-era's
 * minimum).  Nothing is touched before disktrack_begin().  The node's
 * table is saved in <dir>/<node>.table while tracking runs (and stays
 * there when it could not be put back), so that an admin or a restarted
 * relocd can reload it.  NULL with errno and a reason in err.  Freed by
 * disktrack_free().
 */
struct disktrack *disktrack_era_new(const struct disktrack_era_cfg *cfg,
                                    uint64_t size, uint32_t block_size,
                                    char *err, size_t errlen);
void disktrack_era_stats(const struct disktrack *t,
                         struct disktrack_era_stats *s_r);
/*
 * After the death of the process that tracked cfg->node (a sender
 * worker, or relocd): whatever its files in cfg->dir say it left is
 * undone, as a stop would have: the saved table back on the node (which
 * also resumes a node left suspended in a boundary), the origin removed,
 * the files gone.  0, or -1 with the reason in err (what the node still
 * needs is kept, and err says how to restore it by hand).
 */
int disktrack_era_recover(const struct disktrack_era_cfg *cfg, char *err,
                          size_t errlen);
/*
 * The parsers of the tools' output, for tests.  Each returns 0, or -1
 * with a reason in err.
 *   table:  `dmsetup table` of a node: contiguous lines from sector 0,
 *           none of them era already; the length in sectors.
 *   status: `dmsetup status` of an era node: the current era, the
 *           metadata blocks used and their total.
 *   blocks: era_invalidate's XML (<blocks>, <block block=N/>, <range
 *           begin=B end=E/>, </blocks>) into map, each block checked
 *           against the map.
 */
int disktrack_era_parse_table(const char *text, uint64_t *sectors_r, char *err,
                              size_t errlen);
int disktrack_era_parse_status(const char *text, uint32_t *era_r,
                               uint64_t *used_r, uint64_t *total_r, char *err,
                               size_t errlen);
int disktrack_era_parse_blocks(FILE *f, struct diskmap *map, char *err,
                               size_t errlen);

#endif
