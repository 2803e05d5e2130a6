/*
 * test_lvdisk.c - block migration's target disk as an LV (lvdisk.h,
 * storage_rx.h): which destinations are LVs and which names lvm would
 * refuse, pre-flight's reasons (no VG, too few extents, the LV exists),
 * lvcreate and lvremove in their order, the registration that makes a
 * failure, a cancel and a restarted relocd remove the LV, and lvm
 * failing.  A fake lvm plays the commands: no LVM is needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "relocd/lvdisk.h"
#include "relocd/storage_rx.h"
#include "t.h"

/* ---- the fake lvm: VG vg0 (100 MiB free), small (8 MiB), 4 MiB extents */

#define MIB (1ULL << 20)
static char lvs_vg0[8][32]; /* the LVs of vg0 */
static char cmdlog[4096];   /* every command run, one a line */
static int fail_create;     /* the Nth lvcreate from now fails (1: next) */
static int busy_removes;    /* this many lvremove fail: "in use" */
static char dmname[128];    /* what the fake sysfs says of any node */
static char dir[64], err[512];

static int lv_index(const char *name)
{
    int i;

    for (i = 0; i < 8; i++)
        if (!strcmp(lvs_vg0[i], name)) return i;
    return -1;
}

static int fake_run(void *arg, const char *const argv[], char *out,
                    size_t outlen, char *msg, size_t msglen)
{
    const char *last = argv[0];
    size_t i, n = strlen(cmdlog);
    int k;

    (void)arg;
    for (i = 0; argv[i]; i++) {
        n += (size_t)snprintf(cmdlog + n, sizeof(cmdlog) - n, "%s%s",
                              i ? " " : "", argv[i]);
        last = argv[i];
    }
    snprintf(cmdlog + n, sizeof(cmdlog) - n, "\n");
    if (out) out[0] = 0;
    if (msg) msg[0] = 0;
    if (!strcmp(argv[0], "vgs")) {
        if (!strcmp(last, "vg0"))
            snprintf(out, outlen, "  vg0 %llu 4194304\n", 100 * MIB);
        else if (!strcmp(last, "small"))
            snprintf(out, outlen, "  small %llu 4194304\n", 8 * MIB);
        else
            return snprintf(msg, msglen, "  Volume group \"%s\" not found\n",
                            last),
                   5;
        return 0;
    }
    if (!strcmp(argv[0], "lvs")) {
        for (k = 0; k < 8; k++)
            if (lvs_vg0[k][0] && out)
                snprintf(out + strlen(out), outlen - strlen(out), "  %s\n",
                         lvs_vg0[k]);
        return 0;
    }
    /* as cmdrun: what lvcreate and lvremove print must fit in out */
    if ((!strcmp(argv[0], "lvcreate") || !strcmp(argv[0], "lvremove")) &&
        (!out || outlen < 64)) {
        errno = EMSGSIZE;
        return -1;
    }
    if (!strcmp(argv[0], "lvcreate")) {
        if (fail_create && !--fail_create)
            return snprintf(msg, msglen,
                            "  Volume group \"vg0\" has "
                            "insufficient free space\n"),
                   5;
        k = lv_index("");
        snprintf(lvs_vg0[k], sizeof(lvs_vg0[k]), "%s", argv[9]);
        return 0;
    }
    if (!strcmp(argv[0], "lvremove")) {
        if (busy_removes > 0) {
            busy_removes--;
            return snprintf(msg, msglen, "  Logical volume %s in use.\n", last),
                   5;
        }
        if ((k = lv_index(strchr(last, '/') + 1)) < 0) return 5;
        lvs_vg0[k][0] = 0;
        return 0;
    }
    errno = ENOENT;
    return -1;
}

static int fake_dm_name(void *arg, dev_t rdev, char *name, size_t len)
{
    (void)arg;
    (void)rdev;
    snprintf(name, len, "%s", dmname);
    return 0;
}

static const struct lvdisk_sys fake = {
    .run = fake_run, .dm_name = fake_dm_name, .retry_ms = 0};

static void reset(void)
{
    memset(lvs_vg0, 0, sizeof(lvs_vg0));
    cmdlog[0] = 0;
    fail_create = busy_removes = 0;
}

/* ---- tests ------------------------------------------------------------ */

static void test_names(void)
{
    static const struct {
        const char *path;
        int want;
        const char *why;
    } c[] = {
        {"/dev/vg0/web-1.disk_0+", 1, ""},
        {"/srv/xen/a.img", 0, ""},
        {"/dev/vg0/a/b", 0, ""},
        {"/dev/vg0", 0, ""},
        {"/dev/shm/a.img", 0, ""}, /* a directory no VG made: a file */
        {"/dev/novg/a", -1, "novg: no volume group of that name here"},
        {"/dev/vg0/snapshot", -1, "a name lvm reserves"},
        {"/dev/vg0/pvmove", -1, "a name lvm reserves"},
        {"/dev/vg0/x_rimage_0", -1, "reserves for its sub-LVs"},
        {"/dev/vg0/a_tmeta", -1, "reserves for its sub-LVs"},
        {"/dev/vg0/-x", -1, "not a name lvm accepts"},
        {"/dev/vg0/..", -1, "not a name lvm accepts"},
        {"/dev/vg0/a:b", -1, "not a name lvm accepts"},
        {"/dev/-vg/x", -1, "not a volume group name"},
        {"/dev/v%g/x", -1, "not a volume group name"},
    };
    struct lvdisk lv;
    char name[300];
    size_t i;
    int r;

    for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        r = lvdisk_of(c[i].path, &lv, err, sizeof(err));
        T_OK(r == c[i].want && strstr(err, c[i].why), "%s: %d \"%s\"",
             c[i].path, r, err);
    }
    /* a name that could be an option never reaches a command */
    T_OK(!strstr(cmdlog, "-x") && !strstr(cmdlog, "-vg"), "%s", cmdlog);
    T_EQ_INT(lvdisk_of("/dev/vg0/web-1", &lv, err, sizeof(err)), 1);
    T_EQ_STR(lv.vg, "vg0");
    T_EQ_STR(lv.lv, "web-1");
    /* LVM's dm name: '-' doubled in each part, one '-' between */
    snprintf(lv.vg, sizeof(lv.vg), "my-vg");
    T_EQ_INT(lvdisk_dm_name(&lv, name, sizeof(name)), 0);
    T_EQ_STR(name, "my--vg-web--1");
    T_EQ_INT(lvdisk_dm_name(&lv, name, 8), -1);
    T_EQ_INT(lvdisk_parse("/dev/vg0/snapshot", &lv), -1);
    T_EQ_INT(lvdisk_parse("/dev/vg0/ok", &lv), 0);
}

/* PREFLIGHT of one disk here: its one check's message ("" when ok). */
static const char *check1(const char *path, uint64_t size)
{
    static struct msg_preflight_result res;
    struct msg_disk d;
    unsigned n = 1;

    memset(&d, 0, sizeof(d));
    memset(&res, 0, sizeof(res));
    res.ok = 1;
    snprintf(d.path, sizeof(d.path), "%s", path);
    d.size = size;
    d.allocated = 4096; /* an LV takes all of size, whatever this says */
    storage_rx_check(&d, &n, "/dev/vg0/* /dev/small/* /dev/novg/*", &res);
    return res.ok ? "" : res.checks[0].message;
}

static void test_preflight(void)
{
    const char *m;

    reset();
    snprintf(lvs_vg0[0], sizeof(lvs_vg0[0]), "taken");
    T_EQ_STR(check1("/dev/vg0/new", 10 * MIB), "");
    m = check1("/dev/novg/x", MIB);
    T_OK(strstr(m, "novg: no volume group of that name here"), "%s", m);
    /* 10 MiB: 3 extents of 4 MiB, 12 MiB, more than small's 8 */
    m = check1("/dev/small/x", 10 * MIB);
    T_OK(strstr(m, "/dev/small/x needs 12 MiB (3 extents of 4096 KiB), "
                   "volume group small has 8 MiB free"),
         "%s", m);
    T_EQ_STR(check1("/dev/small/x", 8 * MIB), "");
    /* never overwrite: an LV of that name, active or not */
    m = check1("/dev/vg0/taken", MIB);
    T_OK(strstr(m, "/dev/vg0/taken exists already"), "%s", m);
    m = check1("/dev/vg0/snapshot", MIB);
    T_OK(strstr(m, "a name lvm reserves"), "%s", m);
    /* not listed: refused before lvm is asked anything */
    cmdlog[0] = 0;
    m = check1("/dev/other/x", MIB);
    T_OK(strstr(m, "relocd-disk-allow") && !cmdlog[0], "%s / %s", m, cmdlog);
    T_EQ_INT(lv_index("new"), -1); /* pre-flight creates nothing */
}

/* The registration file of token: its first line into buf. */
static const char *reg_line(const char *regdir, const char *token)
{
    static char buf[512];
    char path[256];
    FILE *f;

    buf[0] = 0;
    snprintf(path, sizeof(path), "%s/%s", regdir, token);
    if ((f = fopen(path, "r"))) {
        if (!fgets(buf, sizeof(buf), f)) buf[0] = 0;
        fclose(f);
    }
    return buf;
}

static void test_create_remove(void)
{
    char tokens[2][MSG_TOKEN_LEN + 1] = {"0123456789abcdef0123456789abcdef",
                                         "fedcba9876543210fedcba9876543210"};
    char regdir[128], path[256];
    struct msg_disk d[2];
    uint64_t size;

    memset(d, 0, sizeof(d));
    snprintf(regdir, sizeof(regdir), "%s/disks", dir);
    snprintf(d[0].path, sizeof(d[0].path), "/dev/vg0/a");
    snprintf(d[1].path, sizeof(d[1].path), "/dev/vg0/b");
    d[0].size = 10 * MIB + 512; /* rounded up: 3 extents */
    d[1].size = 4 * MIB;

    reset();
    T_EQ_INT(storage_rx_create(regdir, d, 2, tokens, err, sizeof(err)), 0);
    T_OK(strstr(cmdlog, "lvcreate --yes -W y -Z y -l 3 -n a vg0\n") &&
             strstr(cmdlog, "lvcreate --yes -W y -Z y -l 1 -n b vg0\n"),
         "%s", cmdlog);
    T_OK(lv_index("a") >= 0 && lv_index("b") >= 0, "%s", cmdlog);
    /* the registration says LV, with the source's size (not the LV's) */
    T_EQ_STR(reg_line(regdir, tokens[0]), "lv 10486272 /dev/vg0/a\n");
    /* a disk connection opens the LV, not a file: /dev/vg0 is not here */
    T_EQ_INT(storage_rx_open(regdir, tokens[0], &size, path, sizeof(path), err,
                             sizeof(err)),
             -1);
    T_OK(strstr(err, "/dev/vg0/a") && !strstr(err, "regular file"), "%s", err);
    /* a failed receive: the LVs go, with lvremove, in order */
    cmdlog[0] = 0;
    storage_rx_finish(regdir, d, 2, tokens, 0);
    T_EQ_STR(cmdlog, "lvremove -f vg0/a\nlvremove -f vg0/b\n");
    T_OK(lv_index("a") < 0 && lv_index("b") < 0, "LVs kept");
    T_EQ_STR(reg_line(regdir, tokens[0]), "");
    /* a received guest keeps them */
    reset();
    T_EQ_INT(storage_rx_create(regdir, d, 2, tokens, err, sizeof(err)), 0);
    cmdlog[0] = 0;
    storage_rx_finish(regdir, d, 2, tokens, 1);
    T_OK(!strstr(cmdlog, "lvremove") && lv_index("a") >= 0, "%s", cmdlog);
    T_EQ_STR(reg_line(regdir, tokens[1]), "");
    rmdir(regdir);
}

/* MIGRATE of a and b where b's lvcreate fails: a is removed, in order. */
static void test_create_fails(void)
{
    char tokens[2][MSG_TOKEN_LEN + 1] = {"0123456789abcdef0123456789abcdef",
                                         "fedcba9876543210fedcba9876543210"};
    char regdir[128];
    struct msg_disk d[2];

    memset(d, 0, sizeof(d));
    snprintf(regdir, sizeof(regdir), "%s/disks", dir);
    snprintf(d[0].path, sizeof(d[0].path), "/dev/vg0/a");
    snprintf(d[1].path, sizeof(d[1].path), "/dev/vg0/b");
    d[0].size = d[1].size = 4 * MIB;
    /* a made, b's lvcreate fails: a goes again, lvm's reason is told,
     * no registration is left */
    reset();
    fail_create = 2;
    T_EQ_INT(storage_rx_create(regdir, d, 2, tokens, err, sizeof(err)), -1);
    T_OK(strstr(err, "lvcreate: exit 5: ") &&
             strstr(err, "insufficient free space"),
         "%s", err);
    T_OK(strstr(cmdlog, "-n a vg0\nvgs --noheadings --units b --nosuffix -o "
                        "vg_name,vg_free,vg_extent_size vg0\nlvcreate "
                        "--yes -W y -Z y -l 1 -n b vg0\nlvremove -f vg0/a\n"),
         "%s", cmdlog);
    T_OK(lv_index("a") < 0, "a kept: %s", cmdlog);
    T_EQ_STR(reg_line(regdir, tokens[0]), "");
    T_EQ_STR(reg_line(regdir, tokens[1]), "");
    /* b appeared since pre-flight (someone else's): lvcreate refuses, and
     * relocd removes nothing it did not make */
    reset();
    snprintf(lvs_vg0[5], sizeof(lvs_vg0[5]), "b");
    fail_create = 1;
    T_EQ_INT(storage_rx_create(regdir, d + 1, 1, tokens + 1, err, sizeof(err)),
             -1);
    T_OK(!strstr(cmdlog, "lvremove") && lv_index("b") >= 0, "%s", cmdlog);
    cmdlog[0] = 0;
    storage_rx_finish(regdir, d + 1, 1, tokens + 1, 0);
    T_OK(!strstr(cmdlog, "lvremove") && lv_index("b") >= 0, "%s", cmdlog);
    rmdir(regdir);
}

static void test_reap(void)
{
    char tokens[1][MSG_TOKEN_LEN + 1] = {"0123456789abcdef0123456789abcdef"};
    char regdir[128], path[256];
    struct msg_disk d;

    memset(&d, 0, sizeof(d));
    snprintf(regdir, sizeof(regdir), "%s/disks", dir);
    snprintf(d.path, sizeof(d.path), "/dev/vg0/r");
    d.size = 4 * MIB;
    /* a restarted relocd: the dead receive's LV goes with lvremove */
    reset();
    T_EQ_INT(storage_rx_create(regdir, &d, 1, tokens, err, sizeof(err)), 0);
    cmdlog[0] = 0;
    T_EQ_INT(storage_rx_reap(regdir, tokens[0], 0, path, sizeof(path)), 0);
    T_EQ_STR(path, "/dev/vg0/r");
    T_EQ_STR(cmdlog, "lvremove -f vg0/r\n");
    T_EQ_INT(lv_index("r"), -1);
    T_EQ_INT(storage_rx_reap(regdir, tokens[0], 0, path, sizeof(path)), -1);
    /* its guest runs here: kept */
    T_EQ_INT(storage_rx_create(regdir, &d, 1, tokens, err, sizeof(err)), 0);
    cmdlog[0] = 0;
    T_EQ_INT(storage_rx_reap(regdir, tokens[0], 1, path, sizeof(path)), 0);
    T_OK(!strstr(cmdlog, "lvremove") && lv_index("r") >= 0, "%s", cmdlog);
    /* still open a moment (blkback letting go): lvremove again */
    lvs_vg0[lv_index("r")][0] = 0;
    T_EQ_INT(storage_rx_create(regdir, &d, 1, tokens, err, sizeof(err)), 0);
    busy_removes = 3;
    cmdlog[0] = 0;
    T_EQ_INT(storage_rx_reap(regdir, tokens[0], 0, path, sizeof(path)), 0);
    T_EQ_INT(lv_index("r"), -1);
    T_OK(strstr(cmdlog, "lvremove -f vg0/r\nlvs --noheadings -o lv_name "
                        "vg0\nlvremove -f vg0/r\n"),
         "%s", cmdlog);
    /* lvm that never lets go: -1, the LV is still there */
    T_EQ_INT(storage_rx_create(regdir, &d, 1, tokens, err, sizeof(err)), 0);
    busy_removes = 1000;
    T_EQ_INT(storage_rx_reap(regdir, tokens[0], 0, path, sizeof(path)), -1);
    T_OK(lv_index("r") >= 0, "gone");
    busy_removes = 0;
    /* gone already (removed by hand): nothing to fail */
    lvs_vg0[lv_index("r")][0] = 0;
    T_EQ_INT(storage_rx_create(regdir, &d, 1, tokens, err, sizeof(err)), 0);
    lvs_vg0[lv_index("r")][0] = 0;
    T_EQ_INT(storage_rx_reap(regdir, tokens[0], 0, path, sizeof(path)), 0);
    rmdir(regdir);
}

/* lvdisk_open: only the node lvm named VG-LV, whatever a link says. */
static void test_open(void)
{
    struct lvdisk lv = {.vg = "vg0", .lv = "a"};
    char file[128], link[128], node[128];
    int fd;

    snprintf(file, sizeof(file), "%s/plain", dir);
    snprintf(link, sizeof(link), "%s/link", dir);
    snprintf(node, sizeof(node), "%s/blk", dir);
    close(open(file, O_WRONLY | O_CREAT, 0600));
    T_OK(symlink(file, link) == 0, "symlink");
    snprintf(dmname, sizeof(dmname), "vg0-a");
    T_EQ_INT(lvdisk_open(&lv, link, MIB, err, sizeof(err)), -1);
    T_OK(strstr(err, "not the LV vg0/a"), "%s", err);
    /* a block device that is another dm node: refused before open */
    unlink(link);
    if (mknod(node, S_IFBLK | 0600, makedev(7, 250)) == 0) {
        T_OK(symlink(node, link) == 0, "symlink");
        snprintf(dmname, sizeof(dmname), "vg0-other");
        T_EQ_INT(lvdisk_open(&lv, link, MIB, err, sizeof(err)), -1);
        T_OK(strstr(err, "not the LV vg0/a"), "%s", err);
        /* the right name: opened (ENXIO here, no such loop: the name
         * check passed) */
        snprintf(dmname, sizeof(dmname), "vg0-a");
        fd = lvdisk_open(&lv, link, MIB, err, sizeof(err));
        T_OK(fd < 0 && !strstr(err, "not the LV"), "%s", err);
        if (fd >= 0) close(fd);
        unlink(node);
    }
    unlink(link);
    unlink(file);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/test_lvdisk.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    lvdisk_use(&fake);
    test_names();
    test_preflight();
    test_create_remove();
    test_create_fails();
    test_reap();
    test_open();
    rmdir(dir);
    return t_done("test_lvdisk");
}
