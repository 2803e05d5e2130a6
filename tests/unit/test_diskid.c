/*
 * test_diskid.c - a disk's kernel identity (relocd/diskid.c) on a sysfs
 * tree and mountinfo texts made here: what counts as the same storage on
 * two hosts, and every doubt answered "local".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "relocd/diskid.h"
#include "t.h"

static char root[64];

/* root/rel with text as its content, its directories made. */
static void put(const char *rel, const char *text)
{
    char path[512], cmd[600];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", root, rel);
    snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
    if (system(cmd) != 0) return;
    f = fopen(path, "w");
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* root/dev/block/MAJ:MIN -> root/devices/rel, as sysfs links them. */
static void link_dev(const char *majmin, const char *rel)
{
    char from[512], to[512];

    snprintf(from, sizeof(from), "%s/dev/block/%s", root, majmin);
    snprintf(to, sizeof(to), "%s/devices/%s", root, rel);
    mkdir(to, 0755);
    if (symlink(to, from) < 0) perror(from);
}

static void slave(const char *dm, const char *name, const char *rel)
{
    char from[512], to[512];

    snprintf(from, sizeof(from), "%s/devices/%s/slaves/%s", root, dm, name);
    snprintf(to, sizeof(to), "%s/devices/%s", root, rel);
    if (symlink(to, from) < 0) perror(from);
}

static void make_tree(void)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/dev/block", root);
    put("dev/block/.keep", "");
    /* sda: a SAN LUN (NAA), sda1 its partition */
    put("devices/sda/dev", "8:0\n");
    put("devices/sda/device/wwid", "naa.600140512345678\n");
    put("devices/sda/sda1/dev", "8:1\n");
    put("devices/sda/sda1/partition", "1\n");
    link_dev("8:0", "sda");
    link_dev("8:1", "sda/sda1");
    /* sdb: QEMU's default disk, a T10 id every such disk shares */
    put("devices/sdb/dev", "8:16\n");
    put("devices/sdb/device/wwid",
        "t10.ATA     QEMU HARDDISK                           QM00001\n");
    link_dev("8:16", "sdb");
    /* nvme0n1: EUI-64; nvme1n1: only the vendor/serial form */
    put("devices/nvme0n1/dev", "259:0\n");
    put("devices/nvme0n1/wwid", "eui.0025388b71b0a2c4\n");
    link_dev("259:0", "nvme0n1");
    put("devices/nvme1n1/dev", "259:1\n");
    put("devices/nvme1n1/wwid", "nvme.1b36-31323334-51454d55-00000001\n");
    link_dev("259:1", "nvme1n1");
    /* nbd0 with a backend identifier, nbd1 without (nbd-client 3.24) */
    put("devices/nbd0/dev", "43:0\n");
    put("devices/nbd0/backend", "nbd://10.0.0.1:10809/shared\n");
    link_dev("43:0", "nbd0");
    put("devices/nbd1/dev", "43:32\n");
    link_dev("43:32", "nbd1");
    /* dm-0: an LV on sda1 (shared); dm-1: an LV on sda1 and sdb (not);
     * dm-2: a multipath map; dm-3: a node without a UUID */
    put("devices/dm-0/dev", "254:0\n");
    put("devices/dm-0/dm/uuid", "LVM-vguuidlvuuid\n");
    put("devices/dm-0/slaves/.keep", "");
    slave("dm-0", "sda1", "sda/sda1");
    link_dev("254:0", "dm-0");
    put("devices/dm-1/dev", "254:1\n");
    put("devices/dm-1/dm/uuid", "LVM-vguuid2lvuuid2\n");
    put("devices/dm-1/slaves/.keep", "");
    slave("dm-1", "sda1", "sda/sda1");
    slave("dm-1", "sdb", "sdb");
    link_dev("254:1", "dm-1");
    put("devices/dm-2/dev", "254:2\n");
    put("devices/dm-2/dm/uuid", "mpath-3600140512345678\n");
    link_dev("254:2", "dm-2");
    put("devices/dm-3/dev", "254:3\n");
    put("devices/dm-3/dm/uuid", "\n");
    link_dev("254:3", "dm-3");
}

static void expect_block(unsigned maj, unsigned min, const char *want)
{
    char id[DISKID_MAX];
    int rc = diskid_block(root, maj, min, id, sizeof(id));

    T_OK(rc == (want != NULL), "%u:%u: %d (%s)", maj, min, rc, id);
    T_EQ_STR(id, want ? want : "");
}

static void test_block(void)
{
    char id[16];

    expect_block(8, 0, "wwid:naa.600140512345678");
    expect_block(8, 1, "wwid:naa.600140512345678/part1");
    expect_block(8, 16, NULL);
    expect_block(259, 0, "wwid:eui.0025388b71b0a2c4");
    expect_block(259, 1, NULL);
    expect_block(43, 0, "nbd:nbd://10.0.0.1:10809/shared");
    expect_block(43, 32, NULL);
    expect_block(254, 0, "dm:LVM-vguuidlvuuid{wwid:naa.600140512345678/part1}");
    expect_block(254, 1, NULL);
    expect_block(254, 2, "mpath:3600140512345678");
    expect_block(254, 3, NULL);
    expect_block(7, 0, NULL); /* not there at all */
    /* an identity that does not fit is none */
    T_EQ_INT(diskid_block(root, 43, 0, id, sizeof(id)), 0);
    T_EQ_STR(id, "");
}

static const char mounts[] =
    "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/mapper/vg-root rw\n"
    "40 22 0:45 / /var/lib/xen/images rw - nfs4 "
    "filer:/export/images rw,vers=4.2\n"
    "41 22 0:46 /guests /srv/bind rw - nfs filer:/vol rw\n"
    "42 22 0:47 / /srv/my\\040disks rw master:3 - cifs //nas/vm rw\n"
    "43 22 0:48 / /mnt/fuse rw - fuse.sshfs user@h: rw\n"
    "44 40 0:49 / /var/lib/xen/images/local rw - ext4 /dev/sdc1 rw\n"
    "45 22 0:50 / /srv/cut rw\n";

static void expect_file(const char *path, unsigned maj, unsigned min,
                        const char *want)
{
    char id[DISKID_MAX];
    int rc = diskid_file(mounts, path, makedev(maj, min), 1234, id, sizeof(id));

    T_OK(rc == (want != NULL), "%s: %d (%s)", path, rc, id);
    T_EQ_STR(id, want ? want : "");
}

static void test_file(void)
{
    expect_file("/var/lib/xen/images/g.img", 0, 45,
                "file:nfs4:filer:/export/images:/g.img:1234");
    /* a bind of a subtree: the path inside the export */
    expect_file("/srv/bind/a/g.img", 0, 46,
                "file:nfs:filer:/vol:/guests/a/g.img:1234");
    /* mountinfo's octal escapes */
    expect_file("/srv/my disks/g.img", 0, 47, "file:cifs://nas/vm:/g.img:1234");
    /* local filesystems, a FUSE one that is not a cluster's */
    expect_file("/root/g.img", 254, 0, NULL);
    expect_file("/mnt/fuse/g.img", 0, 48, NULL);
    /* the local mount over the NFS one is the file's (its device) */
    expect_file("/var/lib/xen/images/local/g.img", 0, 49, NULL);
    /* a device no line has; a line without its fields */
    expect_file("/var/lib/xen/images/g.img", 0, 99, NULL);
    expect_file("/srv/cut/g.img", 0, 50, NULL);
    /* /var/lib/xen/imagesX is not under /var/lib/xen/images */
    expect_file("/var/lib/xen/imagesX/g.img", 0, 45, NULL);
}

static void test_of(void)
{
    char id[DISKID_MAX];

    /* this host's own files: local; a missing path: an error */
    T_EQ_INT(diskid_of("/proc/self/status", id, sizeof(id)), 0);
    T_EQ_INT(diskid_of("/nonexistent/disk.img", id, sizeof(id)), -1);
    T_EQ_STR(id, "");
}

int main(void)
{
    char cmd[128];

    snprintf(root, sizeof(root), "/tmp/test_diskid.XXXXXX");
    if (!mkdtemp(root)) return 1;
    make_tree();
    test_block();
    test_file();
    test_of();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0) return 1;
    return t_done("test_diskid");
}
