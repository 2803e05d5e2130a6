/*
 * lvdisk.h - block migration's target disk as a logical volume: a
 * destination /dev/VG/LV (what xl disk configs name) is created with
 * lvcreate in a volume group of this host and removed with lvremove
 * (README.xen 3.5).  LVM is reached through the commands an admin would
 * type; tests replace them with a struct lvdisk_sys of their own.
 */
#ifndef RELOCD_LVDISK_H
#define RELOCD_LVDISK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LVDISK_NAME_MAX 128 /* lvm's NAME_LEN, with its NUL */

struct lvdisk {
    char vg[LVDISK_NAME_MAX];
    char lv[LVDISK_NAME_MAX];
    uint64_t vg_free, extent; /* bytes: what vgs said in lvdisk_of */
};

struct lvdisk_sys {
    /* As cmdrun() (cmdrun.h), which the real one is. */
    int (*run)(void *arg, const char *const argv[], char *out, size_t outlen,
               char *msg, size_t msglen);
    /* The device-mapper name of block device rdev into name; "" when it
     * is no dm node.  0, or -1 with errno. */
    int (*dm_name)(void *arg, dev_t rdev, char *name, size_t len);
    unsigned retry_ms; /* between two lvremove of an LV still open */
    void *arg;
};

/* Replaces the commands (tests); NULL: the real ones again. */
void lvdisk_use(const struct lvdisk_sys *sys);

/*
 * Whether a destination path asks for an LV: /dev/X/Y, where X is a
 * volume group here, or /dev/X does not exist (what else could be
 * meant?).  1 with the names in lv_r; 0 (a file: /dev/shm/x, say); -1
 * with why (an LV asked for by a name lvm refuses, or a VG that is not
 * here).
 */
int lvdisk_of(const char *path, struct lvdisk *lv_r, char *why, size_t len);
/*
 * /dev/VG/LV into lv_r, names checked, no command run (for an LV that
 * relocd registered): 0, or -1.
 */
int lvdisk_parse(const char *path, struct lvdisk *lv_r);
/*
 * Pre-flight of an LV of size bytes (lv from lvdisk_of): why it cannot
 * be created (the LV exists, the VG has too few free extents), "" when
 * it can.
 */
void lvdisk_check(const struct lvdisk *lv, const char *path, uint64_t size,
                  char *why, size_t len);
/*
 * Creates the LV (lv from lvdisk_of): size rounded up to the VG's
 * extents.  0, or -1 with why (lvcreate's reason).
 */
int lvdisk_create(const struct lvdisk *lv, uint64_t size, char *why,
                  size_t len);
/*
 * Removes the LV (lvremove -f), trying again a few times while something
 * (a disk session ending) still holds it.  0 (also when it is gone
 * already), or -1 with why.
 */
int lvdisk_remove(const struct lvdisk *lv, char *why, size_t len);
/*
 * Opens the LV at path read-write: path resolved, and the node it leads
 * to must be the device-mapper device lvm named VG-LV, never another
 * one a link points at.  Its bytes past size (the extents' rounding)
 * are zeroed: the copy writes only the source's size.  The fd, or -1
 * with why.
 */
int lvdisk_open(const struct lvdisk *lv, const char *path, uint64_t size,
                char *why, size_t len);
/* The dm name lvm gives the LV (VG-LV, '-' in either doubled): 0, -1. */
int lvdisk_dm_name(const struct lvdisk *lv, char *buf, size_t len);

#endif
