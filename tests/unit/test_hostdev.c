/*
 * test_hostdev.c - dom0's own block devices (hostdev.c) from mountinfo and
 * swaps text over a made-up sysfs tree: no real disk is looked at.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "relocd/hostdev.h"
#include "t.h"

static char root[64];

/* ROOT/devices/PATH with its dev file (and partition file), and its link
 * ROOT/dev/block/MAJ:MIN. */
static void mkdev(const char *path, unsigned maj, unsigned min, int part)
{
    char p[512], link[512];
    FILE *f;

    snprintf(p, sizeof(p), "mkdir -p %s/devices/%s %s/dev/block", root, path,
             root);
    T_EQ_INT(system(p), 0);
    snprintf(p, sizeof(p), "%s/devices/%s/dev", root, path);
    f = fopen(p, "w");
    T_OK(f != NULL, "%s", p);
    if (!f) return;
    fprintf(f, "%u:%u\n", maj, min);
    fclose(f);
    if (part) {
        snprintf(p, sizeof(p), "%s/devices/%s/partition", root, path);
        close(open(p, O_WRONLY | O_CREAT, 0644));
    }
    snprintf(p, sizeof(p), "../../devices/%s", path);
    snprintf(link, sizeof(link), "%s/dev/block/%u:%u", root, maj, min);
    T_EQ_INT(symlink(p, link), 0);
}

/* DEV's slaves/NAME -> the device at devices/TARGET */
static void mkslave(const char *dev, const char *name, const char *target)
{
    char p[512], link[512];

    snprintf(p, sizeof(p), "mkdir -p %s/devices/%s/slaves", root, dev);
    T_EQ_INT(system(p), 0);
    snprintf(p, sizeof(p), "%s/devices/%s", root, target);
    snprintf(link, sizeof(link), "%s/devices/%s/slaves/%s", root, dev, name);
    T_EQ_INT(symlink(p, link), 0);
}

/* The device nodes the mounts and swaps name. */
static int fake_stat(const char *path, struct stat *st)
{
    static const struct {
        const char *path;
        unsigned maj, min;
    } nodes[] = {
        {"/dev/sdb1", 8, 17},
        {"/dev/sdc1", 8, 33},
        {"/dev/mapper/vg0-root", 253, 0},
        {"/dev/my disk", 8, 48},
    };
    size_t i;

    memset(st, 0, sizeof(*st));
    for (i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
        if (!strcmp(path, nodes[i].path)) {
            st->st_mode = S_IFBLK | 0660;
            st->st_rdev = makedev(nodes[i].maj, nodes[i].min);
            return 0;
        }
    errno = ENOENT;
    return -1;
}

static const char mountinfo[] =
    "22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/mapper/vg0-root rw\n"
    "23 22 0:21 / /proc rw,nosuid - proc proc rw\n"
    /* btrfs: an anonymous st_dev; only its source says which disk */
    "24 22 0:45 / /data rw,relatime shared:5 master:2 - btrfs /dev/sdb1 rw\n"
    "25 22 0:46 / /mnt/x rw - ext4 /dev/my\\040disk rw\n";
static const char swaps[] =
    "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
    "/dev/sdc1                               partition\t1048572\t0\t-2\n"
    "/swapfile                               file\t\t65532\t\t0\t-3\n";

static int has(const struct hostdev *h, unsigned maj, unsigned min)
{
    return hostdev_has(h, makedev(maj, min));
}

static void test_build(void)
{
    struct hostdev_env env = {root, fake_stat};
    struct hostdev h;

    mkdev("sda", 8, 0, 0);
    mkdev("sda/sda1", 8, 1, 1);
    mkdev("sda/sda2", 8, 2, 1);
    mkdev("sdb", 8, 16, 0);
    mkdev("sdb/sdb1", 8, 17, 1);
    mkdev("sdc", 8, 32, 0);
    mkdev("sdc/sdc1", 8, 33, 1);
    mkdev("sdd", 8, 48, 0);
    mkdev("dm-0", 253, 0, 0); /* vg0-root on sda2 */
    mkslave("dm-0", "sda2", "sda/sda2");
    mkdev("dm-1", 253, 1, 0); /* a guest's LV in the same VG */
    mkslave("dm-1", "sda2", "sda/sda2");

    T_EQ_INT(hostdev_build(&h, mountinfo, swaps, &env), 0);
    T_OK(has(&h, 253, 0), "the mounted root LV");
    T_OK(has(&h, 8, 2), "the PV beneath it");
    T_OK(has(&h, 8, 0), "the disk of that PV");
    T_OK(has(&h, 8, 17), "btrfs by its source");
    T_OK(has(&h, 8, 16), "the disk of the btrfs partition");
    T_OK(has(&h, 8, 33), "the swap partition");
    T_OK(has(&h, 8, 32), "the swap partition's disk");
    T_OK(has(&h, 8, 48), "an escaped source name");
    T_OK(!has(&h, 253, 1), "another LV of dom0's VG is not dom0's");
    T_OK(!has(&h, 8, 1), "an unused partition of dom0's disk");
    T_OK(!has(&h, 0, 21), "an anonymous device");
    /* nothing mounted from a disk: nothing is dom0's */
    T_EQ_INT(
        hostdev_build(&h, "23 22 0:21 / /proc rw - proc proc rw\n", NULL, &env),
        0);
    T_EQ_INT(h.n, 0);
    T_EQ_INT(hostdev_build(&h, NULL, NULL, &env), 0);
    T_EQ_INT(h.n, 0);
}

/* More devices than fit: an error, never a silent partial answer. */
static void test_full(void)
{
    struct hostdev_env env = {root, fake_stat};
    struct hostdev h;
    size_t size = (HOSTDEV_MAX + 1) * 64, n = 0;
    char *text = malloc(size);
    unsigned i;

    T_OK(text != NULL, "malloc");
    if (!text) return;
    for (i = 0; i <= HOSTDEV_MAX; i++)
        n += (size_t)snprintf(text + n, size - n,
                              "%u 1 7:%u / /m%u rw - ext4 none rw\n", i, i, i);
    errno = 0;
    T_EQ_INT(hostdev_build(&h, text, NULL, &env), -1);
    T_EQ_INT(errno, E2BIG);
    free(text);
}

/* The live host: it must at least read, whatever it finds. */
static void test_load(void)
{
    struct hostdev h;
    char err[256] = "";

    T_EQ_INT(hostdev_load(&h, err, sizeof(err)), 0);
    T_OK(err[0] == '\0', "%s", err);
}

int main(void)
{
    char cmd[128];

    snprintf(root, sizeof(root), "/tmp/test_hostdev.XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    test_build();
    test_full();
    test_load();
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", root);
    return t_done("test_hostdev");
}
