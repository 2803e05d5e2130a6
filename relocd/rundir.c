/*
 * rundir.c - the control socket's directory, made or checked (see
 * rundir.h).
 */
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/diag.h"
#include "relocd/rundir.h"

#define RUNDIR_MODE 0755

/* Why st, the directory dir, is unsafe; NULL when it is safe. */
static const char *rundir_unsafe(const struct stat *st, char *why, size_t len)
{
    if (S_ISLNK(st->st_mode)) return "it is a symbolic link";
    if (!S_ISDIR(st->st_mode)) return "it is not a directory";
    if (st->st_uid != geteuid()) {
        snprintf(why, len,
                 "it belongs to uid %u, not to uid %u, who runs relocd",
                 (unsigned)st->st_uid, (unsigned)geteuid());
        return why;
    }
    if (st->st_mode & 022) {
        snprintf(why, len, "mode %04o lets group or others write to it",
                 (unsigned)(st->st_mode & 07777));
        return why;
    }
    return NULL;
}

int rundir_check(const char *sock_path, int create, char *err, size_t errlen)
{
    char buf[4096], why[128];
    const char *dir, *bad;
    struct stat st;

    if (snprintf(buf, sizeof(buf), "%s", sock_path) >= (int)sizeof(buf))
        return diag_errnof(err, errlen, ENAMETOOLONG, "%.64s...: too long",
                           sock_path);
    dir = dirname(buf);
    if (lstat(dir, &st) < 0 && errno == ENOENT) {
        if (!create) return 0;
        if (mkdir(dir, RUNDIR_MODE) < 0 && errno != EEXIST)
            return diag_errnof(err, errlen, errno, "cannot make %s: %s", dir,
                               strerror(errno));
    }
    if (lstat(dir, &st) < 0)
        return diag_errnof(err, errlen, errno, "%s: %s", dir, strerror(errno));
    bad = rundir_unsafe(&st, why, sizeof(why));
    if (!bad) return 0;
    return diag_errnof(err, errlen, EPERM,
                       "%s: bad owner or modes for the directory of the "
                       "control socket and relocd's state: %s (chown, chmod "
                       "755 %s, or another relocd-control-socket)",
                       dir, bad, dir);
}

int rundir_path(const char *sock_path, const char *sub, char *path, size_t len)
{
    char buf[4096];

    if (snprintf(buf, sizeof(buf), "%s", sock_path) >= (int)sizeof(buf))
        return -1;
    return snprintf(path, len, "%s/%s", dirname(buf), sub) < (int)len ? 0 : -1;
}
