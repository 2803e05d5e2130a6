/*
 * disktrack.c - what every tracker shares: the order of start, the first
 * pass's blocks, stop on every path.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relocd/diskmap.h"
#include "relocd/disktrack.h"

/*
 * Adds the allocated extents of fd to map.  1 when done, 0 when fd has no
 * notion of holes (every block is then data), -1 on error.
 */
static int disktrack_allocated(struct disktrack *t, int fd, struct diskmap *map)
{
    off_t off = 0, data, hole, size = (off_t)t->size;

    while (off < size) {
        data = lseek(fd, off, SEEK_DATA);
        if (data < 0 && errno == ENXIO) return 1; /* only a hole is left */
        if (data < 0 && errno == EINVAL && off == 0) return 0;
        if (data < 0) {
            snprintf(t->err, sizeof(t->err), "SEEK_DATA at %lld: %s",
                     (long long)off, strerror(errno));
            return -1;
        }
        if (data >= size) return 1;
        hole = lseek(fd, data, SEEK_HOLE);
        if (hole < 0 || hole > size) hole = size;
        diskmap_mark(map, (uint64_t)data, (uint64_t)(hole - data));
        off = hole;
    }
    return 1;
}

int disktrack_begin(struct disktrack *t, int fd, enum disktrack_first how,
                    struct diskmap *first)
{
    int r = 0, saved;

    if (diskmap_size(first) != t->size ||
        diskmap_block_size(first) != t->block_size) {
        snprintf(t->err, sizeof(t->err), "map and tracker disagree");
        errno = EINVAL;
        return -1;
    }
    if (t->ops->start(t) < 0) return -1;
    t->started = 1;
    diskmap_clear(first);
    if (how == DISKTRACK_ALLOCATED) r = disktrack_allocated(t, fd, first);
    if (r < 0) {
        saved = errno;
        disktrack_end(t);
        errno = saved;
        return -1;
    }
    if (r == 0) diskmap_fill(first);
    return 0;
}

int disktrack_close(struct disktrack *t, struct diskmap *map)
{
    if (!t->started) {
        snprintf(t->err, sizeof(t->err), "tracking is not running");
        errno = EINVAL;
        return -1;
    }
    if (diskmap_size(map) != t->size ||
        diskmap_block_size(map) != t->block_size) {
        snprintf(t->err, sizeof(t->err), "map and tracker disagree");
        errno = EINVAL;
        return -1;
    }
    return t->ops->close(t, map);
}

void disktrack_end(struct disktrack *t)
{
    if (!t->started) return;
    t->started = 0;
    t->ops->stop(t);
}

void disktrack_free(struct disktrack *t)
{
    if (!t) return;
    disktrack_end(t);
    t->ops->free(t->impl);
    free(t);
}

const char *disktrack_error(const struct disktrack *t)
{
    return t->err[0] ? t->err : "no error";
}
