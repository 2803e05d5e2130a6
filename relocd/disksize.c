/*
 * disksize.c - how big a disk is (disksize.h).
 */
#include <errno.h>
#include <linux/fs.h> /* BLKGETSIZE64 */
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "relocd/disksize.h"

int disk_size(int fd, struct disk_size *d)
{
    struct stat st;

    if (fstat(fd, &st) < 0) return -1;
    d->is_blk = S_ISBLK(st.st_mode);
    if (d->is_blk) {
        if (ioctl(fd, BLKGETSIZE64, &d->size) < 0) return -1;
        d->allocated = d->size;
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        return -1;
    }
    d->size = (uint64_t)st.st_size;
    d->allocated = (uint64_t)st.st_blocks * 512;
    if (d->allocated > d->size) d->allocated = d->size;
    return 0;
}
