/*
 * hostdev.c - dom0's own block devices (see hostdev.h).
 *
 * mountinfo (proc(5)): "36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3
 * /dev/root rw": the third field is the filesystem's st_dev; after " - "
 * come its type and source.  btrfs and others report an anonymous 0:N
 * st_dev, so a source under /dev/ is looked up too.  swaps: a header line,
 * then "Filename Type Size Used Priority", Filename octal-escaped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "config/diag.h"
#include "relocd/hostdev.h"

#define HOSTDEV_PROC_MAX (1024 * 1024) /* bytes of a /proc file read */

int hostdev_has(const struct hostdev *h, dev_t dev)
{
    size_t i;

    for (i = 0; i < h->n; i++)
        if (h->dev[i] == dev) return 1;
    return 0;
}

/* Adds dev (an anonymous major 0 is no block device); -1 when full. */
static int hostdev_add(struct hostdev *h, dev_t dev)
{
    if (major(dev) == 0 || hostdev_has(h, dev)) return 0;
    if (h->n == HOSTDEV_MAX) {
        errno = E2BIG;
        return -1;
    }
    h->dev[h->n++] = dev;
    return 0;
}

/* The block device path names (a mount source, a swap partition). */
static int hostdev_add_path(struct hostdev *h, const char *path,
                            const struct hostdev_env *env)
{
    struct stat st;

    if (strncmp(path, "/dev/", 5) ||
        (env->stat ? env->stat(path, &st) : stat(path, &st)) < 0 ||
        !S_ISBLK(st.st_mode))
        return 0;
    return hostdev_add(h, st.st_rdev);
}

void hostdev_unescape(char *s)
{
    char *w = s;

    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
            s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
            *w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + s[3] - '0');
            s += 3;
        } else {
            *w++ = *s;
        }
    }
    *w = '\0';
}

/* One mountinfo line: its st_dev, and its source when that is a device. */
static int hostdev_mount(struct hostdev *h, char *line,
                         const struct hostdev_env *env)
{
    char *save = NULL, *tok, *src = NULL;
    unsigned maj, min, field = 0;
    int sep = 0;

    for (tok = strtok_r(line, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save), field++) {
        if (field == 2 && sscanf(tok, "%u:%u", &maj, &min) == 2 &&
            hostdev_add(h, makedev(maj, min)) < 0)
            return -1;
        if (sep && ++sep == 3) src = tok; /* "-", type, source */
        if (field > 5 && !sep && !strcmp(tok, "-")) sep = 1;
    }
    if (!src) return 0;
    hostdev_unescape(src);
    return hostdev_add_path(h, src, env);
}

/* One /proc/swaps line after the header. */
static int hostdev_swap(struct hostdev *h, char *line,
                        const struct hostdev_env *env)
{
    char *name = line + strspn(line, " \t");

    name[strcspn(name, " \t")] = '\0';
    hostdev_unescape(name);
    return hostdev_add_path(h, name, env);
}

/* "MAJ:MIN\n" of a sysfs dev file into *dev; -1 when there is none. */
static int hostdev_read_dev(const char *path, dev_t *dev)
{
    char buf[32];
    unsigned maj, min;
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) return -1;
    r = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (r <= 0) return -1;
    buf[r] = '\0';
    if (sscanf(buf, "%u:%u", &maj, &min) != 2) return -1;
    *dev = makedev(maj, min);
    return 0;
}

/* What dev is built on: its whole disk if a partition, its slaves. */
static int hostdev_below(struct hostdev *h, dev_t dev,
                         const struct hostdev_env *env)
{
    char base[512], path[1024];
    struct dirent *de;
    DIR *d;
    dev_t lower;
    int rc = 0;

    snprintf(base, sizeof(base), "%s/dev/block/%u:%u", env->sysfs, major(dev),
             minor(dev));
    /* base is a link into /sys/devices: ".." is the physical parent */
    snprintf(path, sizeof(path), "%s/partition", base);
    if (access(path, F_OK) == 0) {
        snprintf(path, sizeof(path), "%s/../dev", base);
        if (hostdev_read_dev(path, &lower) == 0 && hostdev_add(h, lower) < 0)
            return -1;
    }
    snprintf(path, sizeof(path), "%s/slaves", base);
    if (!(d = opendir(path))) return 0;
    while (rc == 0 && (de = readdir(d))) {
        if (de->d_name[0] == '.') continue;
        snprintf(path, sizeof(path), "%s/slaves/%s/dev", base, de->d_name);
        if (hostdev_read_dev(path, &lower) == 0) rc = hostdev_add(h, lower);
    }
    closedir(d);
    return rc;
}

/* Each line of text (a copy) through fn, from line number first on. */
static int hostdev_lines(struct hostdev *h, const char *text, int first,
                         int (*fn)(struct hostdev *, char *,
                                   const struct hostdev_env *),
                         const struct hostdev_env *env)
{
    char *copy = text ? strdup(text) : NULL, *line, *save = NULL;
    int n = 0, rc = 0;

    if (text && !copy) return -1;
    for (line = copy ? strtok_r(copy, "\n", &save) : NULL; line && rc == 0;
         line = strtok_r(NULL, "\n", &save))
        if (n++ >= first) rc = fn(h, line, env);
    free(copy);
    return rc;
}

int hostdev_build(struct hostdev *h, const char *mountinfo, const char *swaps,
                  const struct hostdev_env *env)
{
    size_t i;

    h->n = 0;
    if (hostdev_lines(h, mountinfo, 0, hostdev_mount, env) < 0 ||
        hostdev_lines(h, swaps, 1, hostdev_swap, env) < 0)
        return -1;
    /* h grows as it is walked: the walk reaches the bottom of each stack */
    for (i = 0; i < h->n; i++)
        if (hostdev_below(h, h->dev[i], env) < 0) return -1;
    return 0;
}

/*
 * A /proc file's text (malloc'd), or NULL with errno set.  The buffer
 * starts small and doubles: mountinfo is a few KiB on a dom0, and every
 * PREFLIGHT reads it.
 */
static char *hostdev_slurp(const char *path)
{
    size_t len = 0, cap = 16384;
    char *buf = malloc(cap + 1), *bigger;
    ssize_t r;
    int fd = open(path, O_RDONLY | O_CLOEXEC), saved;

    if (!buf || fd < 0) goto fail;
    for (;;) {
        if (len == cap) {
            if (cap == HOSTDEV_PROC_MAX) {
                errno = EFBIG;
                goto fail;
            }
            cap *= 2;
            if (!(bigger = realloc(buf, cap + 1))) goto fail;
            buf = bigger;
        }
        r = read(fd, buf + len, cap - len);
        if (r == 0) break;
        if (r < 0 && errno != EINTR) goto fail;
        if (r > 0) len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    return buf;
fail:
    saved = errno;
    if (fd >= 0) close(fd);
    free(buf);
    errno = saved;
    return NULL;
}

int hostdev_load(struct hostdev *h, char *err, size_t errlen)
{
    static const struct hostdev_env live = {"/sys", NULL};
    char *mounts = hostdev_slurp("/proc/self/mountinfo");
    char *swaps = mounts ? hostdev_slurp("/proc/swaps") : NULL;
    int rc = -1, saved;

    h->n = 0;
    if (!mounts || !swaps)
        diag_errnof(err, errlen, errno, "reading %s: %s",
                    mounts ? "/proc/swaps" : "/proc/self/mountinfo",
                    strerror(errno));
    else if ((rc = hostdev_build(h, mounts, swaps, &live)) < 0)
        diag_errnof(err, errlen, errno, "dom0's block devices: %s",
                    strerror(errno));
    saved = errno;
    free(mounts);
    free(swaps);
    errno = saved;
    return rc;
}
