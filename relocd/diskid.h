/*
 * diskid.h - a disk's kernel identity: what tells that the source's disk
 * and a path on the target are one storage, which --copy-storage then
 * leaves alone (README.xen 3.5, "Shared storage").
 *
 * Only names that the storage itself gives and that no two storages
 * share: a SCSI or NVMe WWID of a globally unique kind (NAA, EUI-64,
 * UUID; a T10 vendor id is built from vendor, model and serial, and every
 * QEMU disk of a default serial has the same one), the NBD backend
 * identifier the kernel keeps for a netlink-connected device, a multipath
 * map's UUID, a device-mapper node whose every leg has an identity (an LV
 * of a shared VG), a partition of a disk that has one, and a file on a
 * network or cluster filesystem (its type, the mount's source, the path
 * inside it and the inode number).  Content is never an identity: two
 * copies read the same until one is written.  A disk without an identity
 * is local and copied; a wrong "local" costs a copy, a wrong "shared"
 * would lose the guest's writes, so every doubt answers local.
 */
#ifndef RELOCD_DISKID_H
#define RELOCD_DISKID_H

#include <stddef.h>
#include <sys/types.h>

#define DISKID_MAX 256

/*
 * The identity of the disk at path into id: 1, or 0 when it has none
 * (local storage; id ""), or -1 with errno when path cannot be looked at.
 */
int diskid_of(const char *path, char *id, size_t len);

/* The parts, on a sysfs root and a mountinfo text of the caller's (tests). */
int diskid_block(const char *sysfs, unsigned major, unsigned minor, char *id,
                 size_t len);
int diskid_file(const char *mountinfo, const char *path, dev_t dev, ino_t ino,
                char *id, size_t len);

#endif
