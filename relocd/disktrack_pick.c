/*
 * disktrack_pick.c - the write tracker a disk gets on a real dom0: dm-era
 * on the device-mapper node its backend holds (README.xen 3.5).  Alone in
 * its file: tests/net links a double of disktrack_pick() into relocd-fake,
 * which has no device-mapper, instead of this object.
 */
#include "relocd/disktrack.h"
#include "relocd/storage.h"

struct disktrack *disktrack_pick(const char *path, const char *node,
                                 const char *dir, uint64_t size, uint32_t block,
                                 char *err, size_t errlen)
{
    struct disktrack_era_cfg cfg = {node, dir, NULL};

    (void)path;
    return disktrack_era_new(&cfg, size, block, err, errlen);
}

int disktrack_restore(const char *dir, const char *node, char *err,
                      size_t errlen)
{
    struct disktrack_era_cfg cfg = {node, dir, NULL};

    return disktrack_era_recover(&cfg, err, errlen);
}
