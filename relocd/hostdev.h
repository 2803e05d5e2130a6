/*
 * hostdev.h - the block devices dom0 itself uses, which a received guest
 * must never be given: what is mounted (/proc/self/mountinfo) or swapped
 * on (/proc/swaps), and below each of those, through sysfs, the devices
 * it is built on (a dm or md device's slaves, transitively) and the whole
 * disk of every partition among them.  Devices are compared by number
 * (st_rdev), so /dev/disk/by-* and /dev/mapper names cannot hide one.
 *
 * Not covered: storage dom0 holds open without mounting it (a database's
 * raw device, an iSCSI export); relocd-disk-allow is the real boundary.
 *
 * Pure apart from the reads the caller asks for: the text of mountinfo and
 * swaps and the sysfs root are inputs, so tests need no real disks.
 */
#ifndef RELOCD_HOSTDEV_H
#define RELOCD_HOSTDEV_H

#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

#define HOSTDEV_MAX 512

struct hostdev {
    size_t n;
    dev_t dev[HOSTDEV_MAX];
};

struct hostdev_env {
    const char *sysfs; /* "/sys" */
    /* stat(2) of a device a mount or a swap names; NULL: stat(2) */
    int (*stat)(const char *path, struct stat *st);
};

/* hostdev.c */

/*
 * Fills h from the text of /proc/self/mountinfo and /proc/swaps (either
 * may be NULL) and the sysfs tree under env->sysfs.  Returns 0, or -1
 * with errno E2BIG when more than HOSTDEV_MAX devices are in use (h then
 * holds the first ones).
 */
int hostdev_build(struct hostdev *h, const char *mountinfo, const char *swaps,
                  const struct hostdev_env *env);

/*
 * hostdev_build() for this host: /proc/self/mountinfo, /proc/swaps,
 * /sys.  Returns 0, or -1 with errno set and a reason in err (dom0's
 * devices unknown: the caller must refuse every block device).
 */
int hostdev_load(struct hostdev *h, char *err, size_t errlen);

/* 1 when dev is one of dom0's devices in h, else 0. */
int hostdev_has(const struct hostdev *h, dev_t dev);

/* /proc's octal escapes (\040 for a blank) undone in place (mountinfo). */
void hostdev_unescape(char *s);

#endif
