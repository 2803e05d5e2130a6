/*
 * outgoing.c - markers of guests being sent, and settling what a dead
 * sender left (see outgoing.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wire/fdio.h"
#include "wire/log.h"
#include "relocd/outgoing.h"
#include "relocd/rundir.h"
#include "xen/xen.h"

#define OUTGOING_MAX_TEXT 2048

static const char *const phase_names[] = {"sending", "suspended", "renamed",
                                          "go"};
#define NPHASES (sizeof(phase_names) / sizeof(phase_names[0]))

int outgoing_format(const struct outgoing *o, char *buf, size_t len)
{
    int n = snprintf(buf, len,
                     "pid %d\ndomid %u\nphase %s\nname %s\naway %s\n"
                     "target %s\n",
                     (int)o->pid, o->domid, phase_names[o->phase], o->name,
                     o->away, o->target);

    return n > 0 && (size_t)n < len ? 0 : -1;
}

/* One "key value" line into the field it names; 0, or -1 when unknown. */
static int parse_line(const char *key, const char *val, struct outgoing *o)
{
    unsigned i;

    if (!strcmp(key, "pid")) {
        o->pid = (pid_t)atoi(val);
    } else if (!strcmp(key, "domid")) {
        o->domid = (unsigned)strtoul(val, NULL, 10);
    } else if (!strcmp(key, "phase")) {
        for (i = 0; i < NPHASES && strcmp(val, phase_names[i]); i++)
            ;
        if (i == NPHASES) return -1;
        o->phase = (enum outgoing_phase)i;
    } else if (!strcmp(key, "name")) {
        snprintf(o->name, sizeof(o->name), "%s", val);
    } else if (!strcmp(key, "away")) {
        snprintf(o->away, sizeof(o->away), "%s", val);
    } else if (!strcmp(key, "target")) {
        snprintf(o->target, sizeof(o->target), "%s", val);
    } else {
        return -1;
    }
    return 0;
}

int outgoing_parse(const char *text, struct outgoing *o)
{
    char copy[OUTGOING_MAX_TEXT], *line, *save, *sp;

    memset(o, 0, sizeof(*o));
    o->phase = (enum outgoing_phase) - 1;
    if (snprintf(copy, sizeof(copy), "%s", text) >= (int)sizeof(copy))
        return -1;
    for (line = strtok_r(copy, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        sp = strchr(line, ' ');
        if (!sp) return -1;
        *sp = '\0';
        if (parse_line(line, sp + 1, o)) return -1;
    }
    /* An unknown phase stays -1, a missing one too: never "before go". */
    return o->pid > 0 && o->domid && o->name[0] && o->away[0] &&
                   (unsigned)o->phase < NPHASES
               ? 0
               : -1;
}

/* Writes the marker whole or not at all: a crash never leaves half. */
static int marker_write(const struct outgoing *o)
{
    char text[OUTGOING_MAX_TEXT], tmp[sizeof(o->path) + 8];
    int fd, rc;

    if (outgoing_format(o, text, sizeof(text)) ||
        snprintf(tmp, sizeof(tmp), "%s.tmp", o->path) >= (int)sizeof(tmp)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    rc = fdio_write_all(fd, text, strlen(text));
    if (close(fd) < 0) rc = -1;
    if (rc == 0 && rename(tmp, o->path) == 0) return 0;
    unlink(tmp);
    return -1;
}

/* xl's name for the source copy during the hand-over (migrate_domain). */
static void away_name(const char *name, char *away, size_t len)
{
    snprintf(away, len, "%s--migratedaway", name);
}

int outgoing_begin(struct outgoing *o, const char *dir, unsigned domid,
                   const char *name, const char *target)
{
    memset(o, 0, sizeof(*o));
    o->pid = getpid();
    o->domid = domid;
    o->phase = OUTGOING_SENDING;
    snprintf(o->name, sizeof(o->name), "%s", name);
    away_name(name, o->away, sizeof(o->away));
    snprintf(o->target, sizeof(o->target), "%s", target);
    if (strchr(name, '\n') || strchr(target, '\n')) {
        errno = EINVAL;
        return -1;
    }
    if (snprintf(o->path, sizeof(o->path), "%s/%d", dir, (int)o->pid) >=
        (int)sizeof(o->path)) {
        o->path[0] = '\0';
        errno = ENAMETOOLONG;
        return -1;
    }
    mkdir(dir, 0700);
    if (marker_write(o) == 0) return 0;
    o->path[0] = '\0';
    return -1;
}

int outgoing_set(struct outgoing *o, enum outgoing_phase phase)
{
    o->phase = phase;
    return o->path[0] ? marker_write(o) : 0;
}

void outgoing_end(struct outgoing *o)
{
    if (o->path[0]) unlink(o->path);
    o->path[0] = '\0';
}

/* --- settling ------------------------------------------------------------- */

/* Before "go": the copy here is the only one; xl's failed_resume. */
static int settle_before_go(const struct outgoing *o, const char *what,
                            enum xen_left st, char *msg, size_t len)
{
    char err[256];

    if (st == XEN_LEFT_RUNNING) {
        snprintf(msg, len,
                 "%s before the hand-over to %s; %s keeps running "
                 "here",
                 what, o->target, o->name);
        return 1;
    }
    if (st == XEN_LEFT_GONE) {
        snprintf(msg, len,
                 "%s before the hand-over to %s; %s (domain %u) "
                 "no longer exists here: check with xl list on both hosts",
                 what, o->target, o->name, o->domid);
        return -1;
    }
    if (xen_guest_takeback(o->domid, o->name, o->away, err, sizeof(err)) == 0) {
        snprintf(msg, len,
                 "%s before the hand-over to %s; %s was resumed "
                 "here",
                 what, o->target, o->name);
        return 1;
    }
    snprintf(msg, len,
             "%s before the hand-over to %s, and resuming %s here "
             "FAILED (%s): it runs nowhere; retry with `relocd --resume %u "
             "%s` here",
             what, o->target, o->name, err, o->domid, o->name);
    return -1;
}

void outgoing_commands(const struct outgoing *o, char *buf, size_t len)
{
    snprintf(buf, len,
             "Check both hosts before resuming at most one copy: if `xl list "
             "%s` on %s shows it, run `xl destroy %u` here; if not, run "
             "`relocd --resume %u %s` here",
             o->name, o->target, o->domid, o->domid, o->name);
}

/* After "go": only the admin can look at both hosts; xl's failed_badly. */
static int settle_after_go(const struct outgoing *o, const char *what,
                           enum xen_left st, const char *cur, char *msg,
                           size_t len)
{
    char cmds[700];

    if (st == XEN_LEFT_GONE) {
        snprintf(msg, len,
                 "%s after the hand-over; %s runs on %s (its copy "
                 "here was destroyed)",
                 what, o->name, o->target);
        return 0;
    }
    if (st == XEN_LEFT_RUNNING) {
        snprintf(msg, len,
                 "%s during the final handshake with %s, and %s "
                 "runs here as %s (domain %u): check that %s does not run it "
                 "too",
                 what, o->target, o->name, cur, o->domid, o->target);
        return -1;
    }
    outgoing_commands(o, cmds, sizeof(cmds));
    snprintf(msg, len,
             "%s during the final handshake with %s: %s may run there now, "
             "and stays suspended here as %s (domain %u). %s",
             what, o->target, o->name, cur, o->domid, cmds);
    return -1;
}

int outgoing_settle(const struct outgoing *o, const char *what, char *msg,
                    size_t len)
{
    enum xen_left st;
    char cur[sizeof(o->away)];
    int rc;

    if (xen_guest_left(o->domid, o->name, o->away, &st, cur, sizeof(cur)) < 0) {
        snprintf(msg, len,
                 "%s while sending %s to %s (phase %s), and Xen "
                 "cannot be asked about domain %u: check `xl list` here and "
                 "on %s before resuming at most one copy",
                 what, o->name, o->target, phase_names[o->phase], o->domid,
                 o->target);
        rc = -1;
    } else if (o->phase < OUTGOING_GO) {
        rc = settle_before_go(o, what, st, msg, len);
    } else {
        rc = settle_after_go(o, what, st, cur, msg, len);
    }
    log_warnx("sending %s to %s: %s", o->name, o->target, msg);
    return rc;
}

int outgoing_resume(unsigned domid, const char *name, char *msg, size_t len)
{
    char away[sizeof(((struct outgoing *)0)->away)], cur[sizeof(away)];
    char err[256];
    enum xen_left st;

    away_name(name, away, sizeof(away));
    if (xen_guest_left(domid, name, away, &st, cur, sizeof(cur)) < 0) {
        snprintf(msg, len, "Xen cannot be asked about domain %u", domid);
        return -1;
    }
    if (st == XEN_LEFT_GONE) {
        snprintf(msg, len, "no domain %u named %s or %s here", domid, name,
                 away);
        return -1;
    }
    if (st == XEN_LEFT_RUNNING) {
        snprintf(msg, len, "domain %u (%s) is not suspended; left as it is",
                 domid, cur);
        return -1;
    }
    if (xen_guest_takeback(domid, name, away, err, sizeof(err)) < 0) {
        snprintf(msg, len, "resuming domain %u failed: %s", domid, err);
        return -1;
    }
    snprintf(msg, len, "domain %u resumed here as %s", domid, name);
    return 0;
}

/* Reads and parses the marker at path; 0, or -1. */
static int marker_read(const char *path, struct outgoing *o)
{
    char text[OUTGOING_MAX_TEXT];
    ssize_t r = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

    if (fd >= 0) {
        r = read(fd, text, sizeof(text) - 1);
        close(fd);
    }
    if (r < 0) return -1;
    text[r] = '\0';
    return outgoing_parse(text, o);
}

int outgoing_reap(const char *dir, pid_t pid, const char *what, char *msg,
                  size_t len)
{
    struct outgoing o;
    char path[sizeof(o.path)];
    int rc;

    if (snprintf(path, sizeof(path), "%s/%d", dir, (int)pid) >=
        (int)sizeof(path))
        return -2;
    if (marker_read(path, &o) < 0) {
        if (access(path, F_OK) == 0)
            log_warnx("%s: not a marker of a move; removed", path);
        unlink(path);
        return -2;
    }
    rc = outgoing_settle(&o, what, msg, len);
    unlink(path);
    return rc;
}

/* A marker's file name: the worker's pid, all digits. */
static int marker_name(const char *s)
{
    return s[0] && strspn(s, "0123456789") == strlen(s);
}

int outgoing_recover(const char *dir)
{
    char path[600], msg[1024];
    struct dirent *e;
    DIR *d = opendir(dir);
    int n = 0;
    pid_t pid;

    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (!marker_name(e->d_name)) {
            unlink(path); /* a marker.tmp a crash cut short */
            continue;
        }
        pid = (pid_t)atoi(e->d_name);
        if (rundir_mark_alive(pid)) {
            log_warnx("a move recorded in %s is still run by its sender "
                      "(pid %d); leaving it to that process",
                      path, (int)pid);
            continue;
        }
        if (outgoing_reap(dir, pid, "relocd died", msg, sizeof(msg)) != -2) n++;
    }
    if (d) closedir(d);
    return n;
}
