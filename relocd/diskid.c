/*
 * diskid.c - a disk's kernel identity (diskid.h): sysfs for block
 * devices, /proc/self/mountinfo for files.  Every read is bounded; what
 * does not fit, or does not parse, is no identity (local: copied).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "relocd/diskid.h"
#include "relocd/hostdev.h"

/* Stacked device-mapper nodes and partitions: deeper is not a disk. */
#define DISKID_DEPTH 4
#define DISKID_LEGS 16

static int block_id(const char *sysfs, unsigned maj, unsigned min, int depth,
                    char *id, size_t len);

/* dir/name's first line, trailing blanks cut: 0, or -1 (none, too long). */
static int read_attr(const char *dir, const char *name, char *buf, size_t len)
{
    char path[PATH_MAX];
    ssize_t n;
    int fd;

    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
        return -1;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    n = read(fd, buf, len);
    close(fd);
    /* A value that fills the buffer may be cut short: not an identity. */
    if (n <= 0 || (size_t)n >= len) return -1;
    buf[n] = 0;
    buf[strcspn(buf, "\n")] = 0;
    while (n > 0 && (buf[n - 1] == ' ' || buf[n - 1] == '\t' || !buf[n - 1]))
        buf[--n] = 0;
    return buf[0] ? 0 : -1;
}

/* "MAJ:MIN" of dir/dev. */
static int read_dev(const char *dir, unsigned *maj, unsigned *min)
{
    char buf[32];

    return read_attr(dir, "dev", buf, sizeof(buf)) == 0 &&
                   sscanf(buf, "%u:%u", maj, min) == 2
               ? 0
               : -1;
}

/* id = a b c: 1, or 0 (no identity) when it does not fit. */
static int put_id(char *id, size_t len, const char *a, const char *b,
                  const char *c)
{
    if (snprintf(id, len, "%s%s%s", a, b, c) < (int)len) return 1;
    id[0] = 0;
    return 0;
}

/* Designators unique in the world; T10 and "nvme." ones are not. */
static int wwid_id(const char *dir, char *id, size_t len)
{
    static const char *const unique[] = {"naa.", "eui.", "uuid."};
    char w[DISKID_MAX];
    size_t i;

    if (read_attr(dir, "wwid", w, sizeof(w)) < 0 &&
        read_attr(dir, "device/wwid", w, sizeof(w)) < 0)
        return 0;
    for (i = 0; i < sizeof(unique) / sizeof(unique[0]); i++)
        if (!strncmp(w, unique[i], strlen(unique[i])) && w[strlen(unique[i])])
            return put_id(id, len, "wwid:", w, "");
    return 0;
}

/* A partition: its disk's identity and its number. */
static int part_id(const char *sysfs, const char *dir, int depth, char *id,
                   size_t len)
{
    char real[PATH_MAX], part[16], parent[DISKID_MAX];
    unsigned maj, min;
    char *slash;

    if (read_attr(dir, "partition", part, sizeof(part)) < 0) return 0;
    if (!realpath(dir, real) || !(slash = strrchr(real, '/'))) return 0;
    *slash = 0;
    if (read_dev(real, &maj, &min) < 0 ||
        block_id(sysfs, maj, min, depth + 1, parent, sizeof(parent)) != 1)
        return 0;
    return put_id(id, len, parent, "/part", part);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * A device-mapper node: a multipath map by its UUID; any other node with
 * a UUID only when every leg (slaves/) has an identity, sorted so that
 * two hosts naming the legs differently agree.
 */
static int dm_id(const char *sysfs, const char *dir, int depth, char *id,
                 size_t len)
{
    char uuid[DISKID_MAX], legdir[PATH_MAX], slaves[PATH_MAX];
    char legs[DISKID_LEGS][DISKID_MAX], *sorted[DISKID_LEGS];
    unsigned maj, min, n = 0, i;
    struct dirent *e;
    size_t used;
    DIR *d;

    if (read_attr(dir, "dm/uuid", uuid, sizeof(uuid)) < 0) return 0;
    if (!strncmp(uuid, "mpath-", 6))
        return put_id(id, len, "mpath:", uuid + 6, "");
    if (snprintf(slaves, sizeof(slaves), "%s/slaves", dir) >=
            (int)sizeof(slaves) ||
        !(d = opendir(slaves)))
        return 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (n == DISKID_LEGS ||
            snprintf(legdir, sizeof(legdir), "%s/%s", slaves, e->d_name) >=
                (int)sizeof(legdir) ||
            read_dev(legdir, &maj, &min) < 0 ||
            block_id(sysfs, maj, min, depth + 1, legs[n], sizeof(legs[n])) !=
                1) {
            closedir(d);
            return 0;
        }
        sorted[n] = legs[n];
        n++;
    }
    closedir(d);
    if (!n) return 0;
    qsort(sorted, n, sizeof(sorted[0]), cmp_str);
    used = (size_t)snprintf(id, len, "dm:%s{", uuid);
    for (i = 0; i < n && used < len; i++)
        used += (size_t)snprintf(id + used, len - used, "%s%s", i ? ";" : "",
                                 sorted[i]);
    if (used < len) used += (size_t)snprintf(id + used, len - used, "}");
    return used < len ? 1 : 0;
}

static int block_id(const char *sysfs, unsigned maj, unsigned min, int depth,
                    char *id, size_t len)
{
    char dir[PATH_MAX], v[DISKID_MAX];
    int rc;

    id[0] = 0;
    if (depth > DISKID_DEPTH || snprintf(dir, sizeof(dir), "%s/dev/block/%u:%u",
                                         sysfs, maj, min) >= (int)sizeof(dir))
        return 0;
    if ((rc = wwid_id(dir, id, len))) return rc;
    /* Set by whoever connected it (nbd-client -i, since nbd 3.27). */
    if (read_attr(dir, "backend", v, sizeof(v)) == 0)
        return put_id(id, len, "nbd:", v, "");
    if ((rc = part_id(sysfs, dir, depth, id, len))) return rc;
    return dm_id(sysfs, dir, depth, id, len);
}

int diskid_block(const char *sysfs, unsigned major, unsigned minor, char *id,
                 size_t len)
{
    int rc = block_id(sysfs, major, minor, 0, id, len);

    if (rc != 1) id[0] = 0;
    return rc;
}

/* Filesystems whose files other hosts see as the same files. */
static int fs_shared(const char *type)
{
    static const char *const shared[] = {"nfs",   "nfs4",          "cifs",
                                         "smb3",  "ceph",          "gfs2",
                                         "ocfs2", "fuse.glusterfs"};
    size_t i;

    for (i = 0; i < sizeof(shared) / sizeof(shared[0]); i++)
        if (!strcmp(type, shared[i])) return 1;
    return 0;
}

/* How much of path the mount point mnt covers, or 0 when it does not. */
static size_t mount_covers(const char *mnt, const char *path)
{
    size_t n = strlen(mnt);

    if (!strcmp(mnt, "/")) return 1;
    return !strncmp(path, mnt, n) && (path[n] == '/' || !path[n]) ? n : 0;
}

struct mount {
    char root[PATH_MAX], point[PATH_MAX], type[64], source[DISKID_MAX];
};

/*
 * One mountinfo line: "ID PARENT MAJ:MIN ROOT POINT OPTS [TAGS...] -
 * TYPE SOURCE SUPEROPTS".  0 with m filled when it is dev's, else -1.
 */
static int mount_parse(char *line, dev_t dev, struct mount *m)
{
    char *f[6], *save = NULL, *t;
    unsigned maj, min;
    int i;

    for (i = 0; i < 6 && (t = strtok_r(i ? NULL : line, " \n", &save)); i++)
        f[i] = t;
    if (i < 6 || sscanf(f[2], "%u:%u", &maj, &min) != 2 ||
        makedev(maj, min) != dev)
        return -1;
    while ((t = strtok_r(NULL, " \n", &save)) && strcmp(t, "-"))
        ;
    if (!t || !(t = strtok_r(NULL, " \n", &save)) ||
        snprintf(m->type, sizeof(m->type), "%s", t) >= (int)sizeof(m->type) ||
        !(t = strtok_r(NULL, " \n", &save)) ||
        snprintf(m->source, sizeof(m->source), "%s", t) >=
            (int)sizeof(m->source) ||
        snprintf(m->root, sizeof(m->root), "%s", f[3]) >=
            (int)sizeof(m->root) ||
        snprintf(m->point, sizeof(m->point), "%s", f[4]) >=
            (int)sizeof(m->point))
        return -1;
    hostdev_unescape(m->root);
    hostdev_unescape(m->point);
    hostdev_unescape(m->source);
    return 0;
}

int diskid_file(const char *mountinfo, const char *path, dev_t dev, ino_t ino,
                char *id, size_t len)
{
    struct mount best, m;
    char line[4 * PATH_MAX];
    const char *p = mountinfo, *nl, *rel;
    size_t n, cover = 0, c;

    id[0] = 0;
    for (; *p; p = *nl ? nl + 1 : nl) {
        nl = p + strcspn(p, "\n");
        n = (size_t)(nl - p);
        if (n >= sizeof(line)) continue;
        memcpy(line, p, n);
        line[n] = 0;
        /* The last mount over the path wins, as the kernel's does. */
        if (mount_parse(line, dev, &m) == 0 &&
            (c = mount_covers(m.point, path)) && c >= cover) {
            best = m;
            cover = c;
        }
    }
    if (!cover || !fs_shared(best.type)) return 0;
    rel = strcmp(best.point, "/") ? path + cover : path;
    if (snprintf(id, len, "file:%s:%s:%s%s:%llu", best.type, best.source,
                 strcmp(best.root, "/") ? best.root : "", rel,
                 (unsigned long long)ino) >= (int)len) {
        id[0] = 0;
        return 0;
    }
    return 1;
}

/* /proc/self/mountinfo, whole (a dom0's is a few KiB), or NULL. */
static char *mountinfo_read(void)
{
    size_t cap = 1 << 20, n = 0;
    char *buf = malloc(cap + 1);
    ssize_t r;
    int fd = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);

    if (fd < 0 || !buf) goto fail;
    while (n < cap && (r = read(fd, buf + n, cap - n)) > 0)
        n += (size_t)r;
    if (n == cap) goto fail; /* cut short: a wrong mount could be taken */
    close(fd);
    buf[n] = 0;
    return buf;
fail:
    if (fd >= 0) close(fd);
    free(buf);
    return NULL;
}

int diskid_of(const char *path, char *id, size_t len)
{
    char real[PATH_MAX], *info;
    struct stat st;
    int rc;

    id[0] = 0;
    if (!realpath(path, real) || stat(real, &st) < 0) return -1;
    if (S_ISBLK(st.st_mode))
        return diskid_block("/sys", major(st.st_rdev), minor(st.st_rdev), id,
                            len);
    if (!S_ISREG(st.st_mode)) return 0;
    if (!(info = mountinfo_read())) return 0;
    rc = diskid_file(info, real, st.st_dev, st.st_ino, id, len);
    free(info);
    return rc;
}
