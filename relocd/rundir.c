/*
 * rundir.c - the control socket's directory, made or checked (see
 * rundir.h).
 */
#include <errno.h>
#include <signal.h>
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

/* The command name and state letter of /proc/PID/stat; 0, or -1. */
static int proc_stat(pid_t pid, char *comm, size_t len, char *state_r)
{
    char path[64], line[512], *open_p, *close_p;
    FILE *f;
    int rc = -1;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (!(f = fopen(path, "r"))) return -1;
    /* "PID (COMM) S ...": COMM may hold spaces and parentheses. */
    if (fgets(line, sizeof(line), f) && (open_p = strchr(line, '(')) &&
        (close_p = strrchr(line, ')')) && close_p[1] == ' ') {
        *close_p = '\0';
        snprintf(comm, len, "%s", open_p + 1);
        *state_r = close_p[2];
        rc = 0;
    }
    fclose(f);
    return rc;
}

int rundir_mark_alive(pid_t pid)
{
    char comm[64], self[64], state, self_state;

    if (pid == getpid() || (kill(pid, 0) < 0 && errno == ESRCH)) return 0;
    if (proc_stat(pid, comm, sizeof(comm), &state) < 0 ||
        proc_stat(getpid(), self, sizeof(self), &self_state) < 0)
        return kill(pid, 0) == 0 || errno != ESRCH; /* assume the worst */
    return state != 'Z' && state != 'X' && !strcmp(comm, self);
}
