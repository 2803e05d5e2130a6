/*
 * storage_rx.c - block migration on the target (storage_rx.h): the disks
 * a migration brings are checked in pre-flight, created at MIGRATE, bound
 * to it by tokens that its disk connections present, and removed unless
 * the guest ended up running here.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "config/pathpat.h"
#include "relocd/diskid.h"
#include "relocd/disksize.h"
#include "relocd/lvdisk.h"
#include "relocd/storage_rx.h"
#include "wire/log.h"
#include "wire/msg.h"

/* The registration of a token: dir/TOKEN (tokens are checked hex). */
static int reg_path(const char *dir, const char *token, char *path, size_t len)
{
    if (!dir || !msg_token_ok(token)) return -1;
    return snprintf(path, len, "%s/%s", dir, token) < (int)len ? 0 : -1;
}

/* One disk to create: why it cannot be, or "" when it can. */
static void check_one(const struct msg_disk *d, const char *allow, char *why,
                      size_t len)
{
    char copy[MSG_DISK_PATH_MAX];
    struct statvfs vfs;
    struct lvdisk lv;
    struct stat st;
    const char *dir;
    uint64_t avail;
    int r;

    why[0] = 0;
    snprintf(copy, sizeof(copy), "%s", d->path);
    dir = dirname(copy);
    if (!pathpat_clean(d->path)) {
        snprintf(why, len, "%s: not a clean absolute path", d->path);
        return;
    }
    /* A peer names the file root creates: only where the admin said. */
    if (!allow || !pathpat_match(allow, d->path, NULL)) {
        snprintf(why, len,
                 "%s: not in relocd-disk-allow, so relocd creates no disk "
                 "there",
                 d->path);
        return;
    }
    /* /dev/VG/LV: an LV of the source's size, all of it allocated. */
    if ((r = lvdisk_of(d->path, &lv, why, len)) != 0) {
        if (r > 0) lvdisk_check(&lv, d->path, d->size, why, len);
        return;
    }
    if (lstat(d->path, &st) == 0)
        snprintf(why, len,
                 "%s exists already: relocd does not overwrite a disk (use "
                 "--disk-map for another path)",
                 d->path);
    else if (errno != ENOENT)
        snprintf(why, len, "%s: %s", d->path, strerror(errno));
    else if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        snprintf(why, len, "%s: no directory %s here", d->path, dir);
    else if (statvfs(dir, &vfs) < 0)
        snprintf(why, len, "%s: %s", dir, strerror(errno));
    else if ((avail = (uint64_t)vfs.f_bavail * vfs.f_frsize) < d->allocated)
        snprintf(why, len,
                 "%s needs %llu MiB (allocated on the source), %s has %llu "
                 "MiB free",
                 d->path, (unsigned long long)(d->allocated >> 20), dir,
                 (unsigned long long)(avail >> 20));
}

/* The size of the file or block device at path, or -1. */
static int64_t size_of(const char *path)
{
    struct disk_size d;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK), rc;

    if (fd < 0) return -1;
    rc = disk_size(fd, &d);
    close(fd);
    return rc < 0 ? -1 : (int64_t)d.size;
}

/*
 * Whether d's path here is the storage the source's disk is: 1 (shared,
 * nothing to create or copy), 0 (not: the copy checks go on), -1 (the
 * same identity, a different size: why says so).
 */
static int shared_here(const struct msg_disk *d, char *here, size_t herelen,
                       char *why, size_t len)
{
    struct stat st;

    here[0] = 0;
    if (!d->id[0] || lstat(d->path, &st) < 0 ||
        diskid_of(d->path, here, herelen) != 1 || strcmp(here, d->id))
        return 0;
    if (size_of(d->path) != (int64_t)d->size) {
        snprintf(why, len,
                 "%s is the source's storage (%s) but not of its size "
                 "(%llu bytes there)",
                 d->path, d->id, (unsigned long long)d->size);
        return -1;
    }
    return 1;
}

void storage_rx_check(struct msg_disk *d, unsigned *n, const char *allow,
                      struct msg_preflight_result *res)
{
    char why[900], here[DISKID_MAX];
    unsigned i, j, kept = 0;
    int sh;

    for (i = 0; i < *n; i++) {
        why[0] = 0;
        if ((sh = shared_here(&d[i], here, sizeof(here), why, sizeof(why))) >
            0) {
            res->shared |= 1u << i;
            msg_check_add(res, "storage", 1,
                          "%s is the storage the source's disk is (%s): not "
                          "copied",
                          d[i].path, d[i].id);
            continue;
        }
        if (!sh) check_one(&d[i], allow, why, sizeof(why));
        /* The source's disk: say why this one is not it. */
        if (!sh && why[0] && d[i].id[0] && !access(d[i].path, F_OK))
            snprintf(why + strlen(why), sizeof(why) - strlen(why),
                     "; it is not the storage the source's disk is (%s "
                     "there, %s here)",
                     d[i].id, here[0] ? here : "no identity");
        for (j = 0; !why[0] && j < kept; j++)
            if (!strcmp(d[i].path, d[j].path))
                snprintf(why, sizeof(why), "%s named twice", d[i].path);
        if (why[0]) {
            msg_check_add(res, "storage", 0, "%s", why);
            return;
        }
        if (kept != i) d[kept] = d[i];
        kept++;
    }
    *n = kept;
    if (kept)
        msg_check_add(res, "storage", 1, "%u disk(s) can be created here",
                      kept);
}

/*
 * Removes a disk that MIGRATE made: unlinks a file, lvremove of an LV.
 * 0 (also when it is gone), or -1 with why.
 */
static int disk_remove(const char *path, int is_lv, char *why, size_t len)
{
    struct lvdisk lv;

    if (is_lv && lvdisk_parse(path, &lv) < 0) {
        snprintf(why, len, "%s: not an LV's path", path);
        return -1;
    }
    if (is_lv) return lvdisk_remove(&lv, why, len);
    if (unlink(path) == 0 || errno == ENOENT) return 0;
    snprintf(why, len, "%s: %s", path, strerror(errno));
    return -1;
}

/*
 * Makes d's disk: the LV lv (lvdisk_of's), or when lv is NULL a sparse
 * file (O_EXCL).  0, or -1 with why.
 */
static int disk_make(const struct msg_disk *d, const struct lvdisk *lv,
                     char *why, size_t len)
{
    int fd;

    if (lv) return lvdisk_create(lv, d->size, why, len);
    /* O_EXCL: pre-flight saw no such file; never take an existing one. */
    fd = open(d->path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(why, len, "creating %s: %s", d->path, strerror(errno));
        return -1;
    }
    /* Sparse: the copy allocates what the source has. */
    if (ftruncate(fd, (off_t)d->size) < 0 || close(fd) < 0) {
        snprintf(why, len, "sizing %s: %s", d->path, strerror(errno));
        unlink(d->path);
        return -1;
    }
    return 0;
}

int storage_rx_create(const char *dir, const struct msg_disk *d, unsigned n,
                      char tokens[][MSG_TOKEN_LEN + 1], char *why, size_t len)
{
    char reg[512], scratch[256];
    struct lvdisk lv;
    unsigned i;
    int is_lv;
    FILE *f;

    if (n && mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(why, len, "%s: %s", dir, strerror(errno));
        return -1;
    }
    for (i = 0; i < n; i++) {
        is_lv = lvdisk_of(d[i].path, &lv, why, len);
        /*
         * The disk first, its registration after: a death in between
         * leaves a disk nobody removes, never a registration that would
         * make a restarted relocd remove an LV that lvcreate refused
         * because it was someone else's.  An lvcreate that fails after
         * it made the LV (activation, wiping) removes it itself (lvm2's
         * revert_new_lv) or says "Manual intervention may be required":
         * its message is in why, and the LV is left to the admin.
         */
        if (is_lv < 0 || disk_make(&d[i], is_lv ? &lv : NULL, why, len) < 0) {
            storage_rx_finish(dir, d, i, tokens, 0);
            return -1;
        }
        f = reg_path(dir, tokens[i], reg, sizeof(reg)) == 0 ? fopen(reg, "wx")
                                                            : NULL;
        if (!f ||
            fprintf(f, "%s%llu %s\n", is_lv ? "lv " : "",
                    (unsigned long long)d[i].size, d[i].path) < 0 ||
            fclose(f) != 0) {
            snprintf(why, len, "registering %s: %s", d[i].path,
                     strerror(errno));
            if (reg_path(dir, tokens[i], reg, sizeof(reg)) == 0) unlink(reg);
            disk_remove(d[i].path, is_lv, scratch, sizeof(scratch));
            storage_rx_finish(dir, d, i, tokens, 0);
            return -1;
        }
    }
    return 0;
}

/*
 * A token's registration: the disk's size and path, and whether it is an
 * LV ("lv SIZE PATH"; a file's has no prefix).  0, or -1.
 */
static int reg_read(const char *dir, const char *token, uint64_t *size_r,
                    char *path_r, size_t pathlen, int *lv_r)
{
    char reg[512], line[MSG_DISK_PATH_MAX + 32], *p = line, *sp, *nl;
    unsigned long long size;
    FILE *f = NULL;
    int rc = -1;

    if (reg_path(dir, token, reg, sizeof(reg)) == 0 && (f = fopen(reg, "re")) &&
        fgets(line, sizeof(line), f)) {
        *lv_r = !strncmp(line, "lv ", 3);
        p += *lv_r ? 3 : 0;
        if (sscanf(p, "%llu", &size) == 1 && (sp = strchr(p, ' ')) &&
            (nl = strchr(sp, '\n'))) {
            *nl = 0;
            snprintf(path_r, pathlen, "%s", sp + 1);
            *size_r = size;
            rc = 0;
        }
    }
    if (f) fclose(f);
    return rc;
}

void storage_rx_finish(const char *dir, const struct msg_disk *d, unsigned n,
                       char tokens[][MSG_TOKEN_LEN + 1], int keep)
{
    char reg[512], path[MSG_DISK_PATH_MAX], why[512];
    uint64_t size;
    unsigned i;
    int is_lv;

    for (i = 0; i < n; i++) {
        /* The registration says what was made, and that it was made. */
        if (reg_read(dir, tokens[i], &size, path, sizeof(path), &is_lv) < 0 ||
            strcmp(path, d[i].path) ||
            reg_path(dir, tokens[i], reg, sizeof(reg)) < 0)
            continue;
        unlink(reg);
        if (!keep && disk_remove(d[i].path, is_lv, why, sizeof(why)) < 0)
            log_warnx("could not remove the disk copy %s: %s", d[i].path, why);
    }
}

int storage_rx_open(const char *dir, const char *token, uint64_t *size_r,
                    char *path_r, size_t pathlen, char *why, size_t len)
{
    struct lvdisk lv;
    struct stat st;
    int fd, is_lv;

    if (reg_read(dir, token, size_r, path_r, pathlen, &is_lv) < 0) {
        snprintf(why, len, "no migration here awaits this disk");
        return -1;
    }
    if (is_lv) {
        if (lvdisk_parse(path_r, &lv) == 0)
            return lvdisk_open(&lv, path_r, *size_r, why, len);
        snprintf(why, len, "%s: not an LV's path", path_r);
        return -1;
    }
    /* Only the file MIGRATE made: a regular file, never followed links. */
    fd = open(path_r, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(why, len, "%s: %s", path_r,
                 fd < 0 ? strerror(errno) : "not a regular file");
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

int storage_rx_reap(const char *dir, const char *token, int keep, char *path_r,
                    size_t pathlen)
{
    char reg[512], why[512];
    uint64_t size;
    int is_lv;

    if (reg_read(dir, token, &size, path_r, pathlen, &is_lv) < 0 ||
        reg_path(dir, token, reg, sizeof(reg)) < 0)
        return -1;
    /* The registration goes first: a disk connection must find nothing. */
    unlink(reg);
    if (!keep && disk_remove(path_r, is_lv, why, sizeof(why)) < 0) {
        log_warnx("could not remove the disk copy %s: %s", path_r, why);
        errno = EIO;
        return -1;
    }
    return 0;
}

int storage_rx_lookup(const char *dir, const char *token, uint64_t *size_r,
                      char *path_r, size_t pathlen)
{
    int is_lv;

    return reg_read(dir, token, size_r, path_r, pathlen, &is_lv);
}
