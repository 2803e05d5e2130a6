/*
 * disksize.h - how big a disk is, a regular file or a block device alike:
 * the one place block migration's source, receiver, engine and pre-flight
 * ask it.
 */
#ifndef RELOCD_DISKSIZE_H
#define RELOCD_DISKSIZE_H

#include <stdint.h>

struct disk_size {
    uint64_t size;      /* bytes */
    uint64_t allocated; /* what holds data: a file's blocks, a device all */
    int is_blk;
};

/*
 * The disk open at fd: 0, or -1 with errno (EINVAL: neither a file nor a
 * block device).
 */
int disk_size(int fd, struct disk_size *d);

#endif
