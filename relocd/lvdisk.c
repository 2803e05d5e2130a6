/*
 * lvdisk.c - a migrating disk's copy as a logical volume (lvdisk.h).
 *
 * Everything goes through lvm's own commands (vgs, lvs, lvcreate,
 * lvremove), so the VG's metadata, locking and activation are lvm's
 * business as on any host an admin runs: relocd never writes lvm
 * metadata and never names a device-mapper table of its own.  Names are
 * checked against lvm's rules (lvm(8), VALID NAMES) before any command
 * sees them: a peer picks them, and one starting with '-' would be an
 * option.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "relocd/cmdrun.h"
#include "relocd/disksize.h"
#include "relocd/lvdisk.h"

#define LVDISK_OUT_MAX 16384 /* lvs of a VG: a few hundred LV names */
#define LVDISK_TRIES 20 /* lvremove while blkback or a disk session lets go */

static int real_run(void *arg, const char *const argv[], char *out,
                    size_t outlen, char *msg, size_t msglen)
{
    (void)arg;
    return cmdrun(argv, out, outlen, msg, msglen);
}

/* /sys/dev/block/MAJ:MIN/dm/name: the kernel's own word, no link read. */
static int real_dm_name(void *arg, dev_t rdev, char *name, size_t len)
{
    char path[64];
    FILE *f;

    (void)arg;
    name[0] = '\0';
    snprintf(path, sizeof(path), "/sys/dev/block/%u:%u/dm/name", major(rdev),
             minor(rdev));
    if (!(f = fopen(path, "re"))) return errno == ENOENT ? 0 : -1;
    if (!fgets(name, (int)len, f)) name[0] = '\0';
    fclose(f);
    name[strcspn(name, "\n")] = '\0';
    return 0;
}

static const struct lvdisk_sys real_sys = {
    .run = real_run,
    .dm_name = real_dm_name,
    .retry_ms = 500,
};
static const struct lvdisk_sys *sys = &real_sys;

void lvdisk_use(const struct lvdisk_sys *s)
{
    sys = s ? s : &real_sys;
}

/* Runs argv; its stdout to out.  0, or -1 with why (the tool's reason). */
static int lv_cmd(const char *const argv[], char *out, size_t outlen, char *why,
                  size_t len)
{
    char msg[512], said[1024];
    int r;

    /* lvcreate and lvremove say what they did on stdout: not an error */
    if (!out) out = said, outlen = sizeof(said);
    r = sys->run(sys->arg, argv, out, outlen, msg, sizeof(msg));

    if (r == 0) return 0;
    if (r < 0)
        snprintf(why, len, "%s: %s", argv[0], strerror(errno));
    else
        snprintf(why, len, "%s: exit %d: %s", argv[0], r,
                 cmdrun_last_line(msg));
    return -1;
}

/* lvm(8) VALID NAMES: the characters, no leading '-', not . or .. */
static int name_ok(const char *s)
{
    size_t n = strlen(s);

    return n && n < LVDISK_NAME_MAX && s[0] != '-' &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789+_.-") == n &&
           strcmp(s, ".") && strcmp(s, "..");
}

/* An LV's name: also none lvm keeps for itself or for its sub-LVs. */
static const char *lv_name_refused(const char *s)
{
    static const char *const whole[] = {"snapshot", "pvmove"};
    static const char *const part[] = {
        "_cdata",   "_cmeta",  "_corig", "_mlog",  "_mimage",
        "_pmspare", "_rimage", "_rmeta", "_tdata", "_tmeta",
        "_vorigin", "_vdata",  "_iorig", "_imeta", "_wcorig"};
    size_t i;

    if (!name_ok(s)) return "not a name lvm accepts ([A-Za-z0-9+_.-])";
    for (i = 0; i < sizeof(whole) / sizeof(whole[0]); i++)
        if (!strcmp(s, whole[i])) return "a name lvm reserves";
    for (i = 0; i < sizeof(part) / sizeof(part[0]); i++)
        if (strstr(s, part[i])) return "a name lvm reserves for its sub-LVs";
    return NULL;
}

/* /dev/X/Y into vg and lv: 0, or -1 when path is not of that shape. */
static int split(const char *path, struct lvdisk *lv)
{
    const char *x = path + 5, *slash;

    if (strncmp(path, "/dev/", 5) || !(slash = strchr(x, '/')) ||
        strchr(slash + 1, '/') || slash == x || !slash[1] ||
        (size_t)(slash - x) >= sizeof(lv->vg) ||
        strlen(slash + 1) >= sizeof(lv->lv))
        return -1;
    memset(lv, 0, sizeof(*lv));
    memcpy(lv->vg, x, (size_t)(slash - x));
    memcpy(lv->lv, slash + 1, strlen(slash + 1));
    return 0;
}

/*
 * The VG's free bytes and extent size: 1, 0 when lvm knows no such VG
 * (or cannot say: the reason in why), -1 when its answer is not vgs's.
 */
static int vg_query(const char *vg, uint64_t *free_r, uint64_t *extent_r,
                    char *why, size_t len)
{
    const char *argv[] = {"vgs",
                          "--noheadings",
                          "--units",
                          "b",
                          "--nosuffix",
                          "-o",
                          "vg_name,vg_free,vg_extent_size",
                          vg,
                          NULL};
    char out[1024], name[LVDISK_NAME_MAX];
    unsigned long long fr, ext;

    if (lv_cmd(argv, out, sizeof(out), why, len) < 0) return 0;
    if (sscanf(out, " %127s %llu %llu", name, &fr, &ext) != 3 ||
        strcmp(name, vg) || !ext) {
        snprintf(why, len, "%s: vgs answered \"%.60s\"", vg, out);
        return -1;
    }
    *free_r = fr;
    *extent_r = ext;
    return 1;
}

int lvdisk_parse(const char *path, struct lvdisk *lv_r)
{
    return split(path, lv_r) == 0 && name_ok(lv_r->vg) &&
                   !lv_name_refused(lv_r->lv)
               ? 0
               : -1;
}

int lvdisk_of(const char *path, struct lvdisk *lv_r, char *why, size_t len)
{
    char dir[LVDISK_NAME_MAX + 8], reason[512] = "";
    const char *bad;
    struct stat st;
    int there, r;

    why[0] = '\0';
    if (split(path, lv_r) < 0) return 0;
    snprintf(dir, sizeof(dir), "/dev/%s", lv_r->vg);
    /* /dev/shm and friends: a directory that no VG made holds files. */
    there = lstat(dir, &st) == 0;
    if (there && (!S_ISDIR(st.st_mode) || !name_ok(lv_r->vg))) return 0;
    if (!there && !name_ok(lv_r->vg)) {
        snprintf(why, len, "%s: \"%s\" is not a volume group name lvm accepts",
                 path, lv_r->vg);
        return -1;
    }
    r = vg_query(lv_r->vg, &lv_r->vg_free, &lv_r->extent, reason,
                 sizeof(reason));
    if (r == 0 && there) return 0;
    if (r == 0) {
        snprintf(why, len, "%s: no volume group of that name here", lv_r->vg);
        return -1;
    }
    if (r < 0) {
        snprintf(why, len, "%s", reason);
        return -1;
    }
    if ((bad = lv_name_refused(lv_r->lv))) {
        snprintf(why, len, "%s: \"%s\" is %s", path, lv_r->lv, bad);
        return -1;
    }
    return 1;
}

/* Whether the VG holds an LV of that name: 1, 0, or -1 with why. */
static int lv_exists(const struct lvdisk *lv, char *why, size_t len)
{
    const char *argv[] = {"lvs", "--noheadings", "-o", "lv_name", lv->vg, NULL};
    char *out = malloc(LVDISK_OUT_MAX), *line, *save = NULL;
    int found = 0;

    if (!out) {
        snprintf(why, len, "lvs: %s", strerror(errno));
        return -1;
    }
    if (lv_cmd(argv, out, LVDISK_OUT_MAX, why, len) < 0) {
        free(out);
        return -1;
    }
    for (line = strtok_r(out, " \t\n", &save); line && !found;
         line = strtok_r(NULL, " \t\n", &save))
        found = !strcmp(line, lv->lv);
    free(out);
    return found;
}

/* Extents of ext bytes that hold size bytes (at least one). */
static uint64_t extents_for(uint64_t size, uint64_t ext)
{
    uint64_t n = ext ? size / ext + (size % ext != 0) : 0;

    return n ? n : 1;
}

void lvdisk_check(const struct lvdisk *lv, const char *path, uint64_t size,
                  char *why, size_t len)
{
    uint64_t ext = lv->extent, need;
    int r;

    why[0] = '\0';
    if ((r = lv_exists(lv, why, len)) != 0) {
        if (r > 0)
            snprintf(why, len,
                     "%s exists already: relocd does not overwrite a disk "
                     "(use --disk-map for another path)",
                     path);
        return;
    }
    need = extents_for(size, ext) * ext;
    if (lv->vg_free < need)
        snprintf(why, len,
                 "%s needs %llu MiB (%llu extents of %llu KiB), volume group "
                 "%s has %llu MiB free",
                 path, (unsigned long long)((need + (1 << 20) - 1) >> 20),
                 (unsigned long long)(need / ext),
                 (unsigned long long)(ext >> 10), lv->vg,
                 (unsigned long long)(lv->vg_free >> 20));
}

int lvdisk_create(const struct lvdisk *lv, uint64_t size, char *why, size_t len)
{
    char n[32];
    /*
     * -W y -Z y, though the copy writes every byte the guest can see:
     * until it does, recycled extents could carry an old signature (md,
     * a PV, a filesystem) that this host's udev rules would act on and
     * hold the new LV open.  Both cost a few KiB of I/O.  --yes: no
     * question on a terminal we do not have.
     */
    const char *argv[] = {"lvcreate", "--yes", "-W", "y",    "-Z",   "y",
                          "-l",       n,       "-n", lv->lv, lv->vg, NULL};

    snprintf(n, sizeof(n), "%llu",
             (unsigned long long)extents_for(size, lv->extent));
    return lv_cmd(argv, NULL, 0, why, len);
}

int lvdisk_remove(const struct lvdisk *lv, char *why, size_t len)
{
    char name[2 * LVDISK_NAME_MAX], reason[512];
    const char *argv[] = {"lvremove", "-f", name, NULL};
    struct timespec ts = {.tv_sec = sys->retry_ms / 1000,
                          .tv_nsec = (long)(sys->retry_ms % 1000) * 1000000};
    int i;

    snprintf(name, sizeof(name), "%s/%s", lv->vg, lv->lv);
    for (i = 0; i < LVDISK_TRIES; i++) {
        if (lv_cmd(argv, NULL, 0, why, len) == 0) return 0;
        /* Gone already (a second cleanup): what was asked is done. */
        if (lv_exists(lv, reason, sizeof(reason)) == 0) return 0;
        if (i + 1 < LVDISK_TRIES) nanosleep(&ts, NULL);
    }
    return -1;
}

int lvdisk_dm_name(const struct lvdisk *lv, char *buf, size_t len)
{
    const char *parts[] = {lv->vg, lv->lv};
    size_t o = 0, i;
    const char *p;

    for (i = 0; i < 2; i++) {
        if (i && o + 1 < len) buf[o++] = '-';
        for (p = parts[i]; *p && o + 2 < len; p++) {
            if (*p == '-') buf[o++] = '-';
            buf[o++] = *p;
        }
        if (*p) return -1;
    }
    if (o >= len) return -1;
    buf[o] = '\0';
    return 0;
}

/* The bytes of fd past size (the last extent's rounding) read zero. */
static int zero_tail(int fd, uint64_t size, uint64_t devsize)
{
    static const char zeros[512];
    uint64_t start = (size + 511) & ~(uint64_t)511, range[2];

    if (size >= devsize) return 0;
    if (start > size && pwrite(fd, zeros, (size_t)(start - size),
                               (off_t)size) != (ssize_t)(start - size))
        return -1;
    if (start >= devsize) return 0;
    range[0] = start;
    range[1] = devsize - start;
    return ioctl(fd, BLKZEROOUT, range);
}

int lvdisk_open(const struct lvdisk *lv, const char *path, uint64_t size,
                char *why, size_t len)
{
    char real[PATH_MAX], want[2 * LVDISK_NAME_MAX + 2], have[256];
    struct stat st, fst;
    struct disk_size d = {0};
    int fd;

    if (lvdisk_dm_name(lv, want, sizeof(want)) < 0 || !realpath(path, real)) {
        snprintf(why, len, "%s: %s", path, strerror(errno ? errno : EINVAL));
        return -1;
    }
    /* The node the link leads to must be the LV before anything opens
     * it; the opened one must be that node. */
    if (lstat(real, &st) < 0 || !S_ISBLK(st.st_mode) ||
        sys->dm_name(sys->arg, st.st_rdev, have, sizeof(have)) < 0 ||
        strcmp(have, want)) {
        snprintf(why, len, "%s leads to %s, not the LV %s/%s", path, real,
                 lv->vg, lv->lv);
        return -1;
    }
    /*
     * No O_EXCL: blkback opens the device for the guest that
     * migrate-receive builds while the copy still runs, and an exclusive
     * open here would fail it (or this one).
     */
    fd = open(real, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        snprintf(why, len, "%s: %s", real, strerror(errno));
        return -1;
    }
    if (fstat(fd, &fst) < 0 || !S_ISBLK(fst.st_mode) ||
        fst.st_rdev != st.st_rdev)
        snprintf(why, len, "%s changed while it was opened", real);
    else if (disk_size(fd, &d) < 0 || d.size < size)
        snprintf(why, len, "%s holds %llu bytes, the disk %llu", real,
                 (unsigned long long)d.size, (unsigned long long)size);
    else if (zero_tail(fd, size, d.size) < 0)
        snprintf(why, len, "zeroing %s past %llu bytes: %s", real,
                 (unsigned long long)size, strerror(errno));
    else
        return fd;
    close(fd);
    return -1;
}
