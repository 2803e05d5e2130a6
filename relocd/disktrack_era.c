/*
 * disktrack_era.c - write tracking with dm-era on the device-mapper node
 * that blkback already holds (README.xen 3.5; the kernel's
 * Documentation/admin-guide/device-mapper/era.rst).
 *
 * blkback never lets go of the device it opened, so tracking goes inside
 * it: start moves the node's table to a new linear device (the origin)
 * and reloads the node as `era <meta> <origin> <block>`, the metadata on
 * a loop device over a sparse file in a tmpfs directory.  era is a
 * pass-through: the disk's bytes never move.
 *
 * An era boundary is a suspend and a resume of the node (DM_DEV_SUSPEND,
 * made here: two dmsetup start-ups would stall the guest's I/O for as
 * long, 0.4-2 s under the lab's TCG): suspend waits for every write in
 * flight (era_postsuspend archives the era), resume starts a new
 * one (era_preresume rolls over).  A write that started before the
 * boundary has reached the disk when the blocks are read afterwards, and
 * one that starts after it is in the new era, so no write falls between
 * two passes.  The `checkpoint` message alone would not wait for writes in
 * flight.  The blocks written since the previous boundary are those of
 * eras >= the era that boundary started: era_invalidate reads them from a
 * metadata snapshot (take_metadata_snap itself rolls the era over, so
 * writes between resume and the snapshot show up twice, never not at all).
 * Reading dm-era's on-disk btrees ourselves would duplicate
 * thin-provisioning-tools for no gain: its output is a bounded XML list.
 * The era number (status) and the snapshot's take and drop messages are
 * ioctls too (dmctl.c): era_invalidate is the one process a pass starts,
 * and the last pass runs while the guest is suspended.
 *
 * Files in dir, named after the node: NODE.table (the saved table, kept
 * until it is back), NODE.meta (era's metadata), NODE.era (the era
 * table), NODE.blocks (era_invalidate's answer).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/loop.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "relocd/cmdrun.h"
#include "relocd/diskmap.h"
#include "relocd/disktrack.h"
#include "relocd/dmctl.h"

#define ERA_TABLE_MAX 8192 /* `dmsetup table`: 64 segments and more */
#define ERA_TABLE_LINES 64 /* segments of a node we accept */
#define ERA_STATUS_MAX 512 /* `dmsetup status`: one era line */
#define ERA_LINE_MAX 256   /* a line of era_invalidate's XML */
#define ERA_NODE_MAX 100   /* a node name; dm allows 127 */
#define ERA_ORIGIN "relocd-era-"
#define ERA_META_MIN (8ULL << 20)

enum era_stage {
    ERA_IDLE,      /* nothing of ours exists */
    ERA_SAVED,     /* NODE.table written */
    ERA_META,      /* + the metadata file and its loop device */
    ERA_ORIGIN_UP, /* + the origin device */
    ERA_ACTIVE,    /* the node runs era */
};

struct era_track {
    char node[ERA_NODE_MAX + 1];
    char origin[ERA_NODE_MAX + sizeof(ERA_ORIGIN)];
    char dir[256];
    char table_path[512], meta_path[512], era_path[512], blocks_path[512];
    char loop_dev[64];
    int loop_fd;
    enum era_stage stage;
    uint32_t since; /* the era the previous boundary started */
    struct disktrack_era_stats st;
    struct disktrack_era_sys sys;
};

/* ---- parsers ----------------------------------------------------------- */

static const char *skip_blank(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* A decimal u64 at *p, advanced past it; -1 when there is none. */
static int parse_u64(const char **p, uint64_t *v_r)
{
    const char *s = *p;
    uint64_t v = 0;

    if (*s < '0' || *s > '9') return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10) return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *p = s;
    *v_r = v;
    return 0;
}

int disktrack_era_parse_table(const char *text, uint64_t *sectors_r, char *err,
                              size_t errlen)
{
    const char *p = text, *eol;
    uint64_t start, len, total = 0;
    unsigned lines = 0;

    while (*p) {
        eol = strchr(p, '\n');
        if (!eol) eol = p + strlen(p);
        if (++lines > ERA_TABLE_LINES) {
            snprintf(err, errlen, "more than %d table lines", ERA_TABLE_LINES);
            return -1;
        }
        if (parse_u64(&p, &start) < 0 || *p++ != ' ' ||
            parse_u64(&p, &len) < 0 || *p++ != ' ' || len == 0) {
            snprintf(err, errlen, "table line %u: not <start> <length>", lines);
            return -1;
        }
        if (start != total || total + len < total) {
            snprintf(err, errlen,
                     "table line %u: starts at %" PRIu64 ", not %" PRIu64,
                     lines, start, total);
            return -1;
        }
        total += len;
        if (!strncmp(p, "era ", 4)) {
            snprintf(err, errlen,
                     "the node already runs era (tracked by "
                     "another relocd, or left over)");
            return -1;
        }
        p = *eol ? eol + 1 : eol;
    }
    if (!total) {
        snprintf(err, errlen, "the node has no live table");
        return -1;
    }
    *sectors_r = total;
    return 0;
}

int disktrack_era_parse_status(const char *text, uint32_t *era_r,
                               uint64_t *used_r, uint64_t *total_r, char *err,
                               size_t errlen)
{
    const char *p = text;
    uint64_t v[6];

    /* <start> <len> era <md block> <used>/<total> <era> <root|-> */
    if (parse_u64(&p, &v[0]) < 0 || *p++ != ' ' || parse_u64(&p, &v[1]) < 0 ||
        strncmp(p, " era ", 5)) {
        snprintf(err, errlen, "the node no longer runs era: \"%.60s\"", text);
        return -1;
    }
    p += 5;
    if (parse_u64(&p, &v[2]) < 0 || *p++ != ' ' || parse_u64(&p, &v[3]) < 0 ||
        *p++ != '/' || parse_u64(&p, &v[4]) < 0 || *p++ != ' ' ||
        parse_u64(&p, &v[5]) < 0 || *p != ' ' || v[5] > UINT32_MAX ||
        v[3] > v[4]) {
        snprintf(err, errlen, "bad era status \"%.60s\"", text);
        return -1;
    }
    p = strchr(p, '\n');
    if (p && *skip_blank(p + 1)) {
        snprintf(err, errlen, "era status has more than one line");
        return -1;
    }
    *era_r = (uint32_t)v[5];
    *used_r = v[3];
    *total_r = v[4];
    return 0;
}

/* NAME = "N" at *p (blanks around '=' allowed: 0.9.0 writes `end = "5"`). */
static int parse_attr(const char **p, const char *name, uint64_t *v_r)
{
    const char *s = skip_blank(*p);
    size_t n = strlen(name);

    if (strncmp(s, name, n)) return -1;
    s = skip_blank(s + n);
    if (*s++ != '=') return -1;
    s = skip_blank(s);
    if (*s++ != '"' || parse_u64(&s, v_r) < 0 || *s++ != '"') return -1;
    *p = s;
    return 0;
}

/* One entry line into [*b, *e); 1 for </blocks>, 0 for an entry, -1. */
static int parse_entry(const char *line, uint64_t *b, uint64_t *e)
{
    const char *p = skip_blank(line);

    if (!strncmp(p, "</blocks>", 9)) {
        p = skip_blank(p + 9);
        return *p == '\n' || !*p ? 1 : -1;
    }
    if (!strncmp(p, "<block ", 7)) {
        p += 6;
        if (parse_attr(&p, "block", b) < 0) return -1;
        *e = *b + 1;
    } else if (!strncmp(p, "<range ", 7)) {
        p += 6;
        if (parse_attr(&p, "begin", b) < 0 || parse_attr(&p, "end", e) < 0)
            return -1;
    } else {
        return -1;
    }
    p = skip_blank(p);
    if (strncmp(p, "/>", 2)) return -1;
    p = skip_blank(p + 2);
    return *p == '\n' || !*p ? 0 : -1;
}

int disktrack_era_parse_blocks(FILE *f, struct diskmap *map, char *err,
                               size_t errlen)
{
    char line[ERA_LINE_MAX];
    uint64_t b, e, n = diskmap_nblocks(map), entries = 0;
    uint32_t bs = diskmap_block_size(map);
    unsigned lineno = 0;
    int r, opened = 0, closed = 0;

    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            snprintf(err, errlen, "era_invalidate line %u is too long", lineno);
            return -1;
        }
        if (!*skip_blank(line) || *skip_blank(line) == '\n') continue;
        if (closed) {
            snprintf(err, errlen, "era_invalidate line %u: after </blocks>",
                     lineno);
            return -1;
        }
        if (!opened) {
            const char *p = skip_blank(line);

            if (strncmp(p, "<blocks>", 8) || *skip_blank(p + 8) != '\n') {
                snprintf(err, errlen, "era_invalidate: no <blocks>");
                return -1;
            }
            opened = 1;
            continue;
        }
        r = parse_entry(line, &b, &e);
        if (r == 1) {
            closed = 1;
            continue;
        }
        /* every entry has a block of its own: at most n of them */
        if (r < 0 || b >= e || e > n || ++entries > n) {
            snprintf(err, errlen, "era_invalidate line %u: bad entry \"%.40s\"",
                     lineno, skip_blank(line));
            return -1;
        }
        diskmap_mark(map, b * bs, (e - b) * bs);
    }
    if (ferror(f) || !closed) {
        snprintf(err, errlen, "era_invalidate: %s",
                 ferror(f) ? strerror(errno) : "no </blocks>");
        return -1;
    }
    return 0;
}

/* ---- the real commands and loop devices -------------------------------- */

/* The real commands: the shared runner (cmdrun.h). */
static int real_run(void *arg, const char *const argv[], char *out,
                    size_t outlen, char *msg, size_t msglen)
{
    (void)arg;
    return cmdrun(argv, out, outlen, msg, msglen);
}

/*
 * Autoclear: the loop device goes away by itself once era and we have
 * both let go of it, so a relocd that dies leaves no loop behind once
 * the node's table is back.
 */
static int real_loop_attach(void *arg, const char *path, char *dev,
                            size_t devlen)
{
    struct loop_info64 info = {.lo_flags = LO_FLAGS_AUTOCLEAR};
    int ctl = -1, fd = -1, file = -1, n, tries, saved;

    (void)arg;
    file = open(path, O_RDWR | O_CLOEXEC);
    ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (file < 0 || ctl < 0) goto fail;
    /* another process may take the free device first: try again */
    for (tries = 0; tries < 8; tries++) {
        n = ioctl(ctl, LOOP_CTL_GET_FREE);
        if (n < 0) goto fail;
        snprintf(dev, devlen, "/dev/loop%d", n);
        fd = open(dev, O_RDWR | O_CLOEXEC);
        if (fd < 0) goto fail;
        if (ioctl(fd, LOOP_SET_FD, file) == 0) break;
        saved = errno;
        close(fd);
        fd = -1;
        if (saved != EBUSY) {
            errno = saved;
            goto fail;
        }
    }
    if (fd < 0) goto fail;
    if (ioctl(fd, LOOP_SET_STATUS64, &info) < 0) {
        saved = errno;
        ioctl(fd, LOOP_CLR_FD, 0);
        errno = saved;
        goto fail;
    }
    close(ctl);
    close(file);
    return fd;
fail:
    saved = errno ? errno : EBUSY;
    if (fd >= 0) close(fd);
    if (ctl >= 0) close(ctl);
    if (file >= 0) close(file);
    errno = saved;
    return -1;
}

static void real_loop_detach(void *arg, int fd)
{
    (void)arg;
    ioctl(fd, LOOP_CLR_FD, 0);
    close(fd);
}

/* The device-mapper requests by ioctl (dmctl.h). */
static int real_suspend(void *arg, const char *node, int suspend)
{
    (void)arg;
    return dmctl_suspend(node, suspend);
}

static int real_status(void *arg, const char *node, char *out, size_t outlen)
{
    (void)arg;
    return dmctl_status(node, out, outlen);
}

static int real_message(void *arg, const char *node, const char *message)
{
    (void)arg;
    return dmctl_message(node, 0, message);
}

static const struct disktrack_era_sys real_sys = {
    .run = real_run,
    .loop_attach = real_loop_attach,
    .loop_detach = real_loop_detach,
    .suspend = real_suspend,
    .status = real_status,
    .message = real_message,
};

/* ---- steps ------------------------------------------------------------- */

/* A reason in t->err; a long one is cut short (paths, tool messages). */
static void __attribute__((format(printf, 2, 3)))
era_fail(struct disktrack *t, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(t->err, sizeof(t->err), fmt, ap);
    va_end(ap);
}

static uint64_t now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

/*
 * Runs a command; stdout to out.  0, or -1 with t->err saying which
 * command failed and why (what reason the tool gave).
 */
static int era_cmd(struct disktrack *t, char *out, size_t outlen,
                   const char *const argv[])
{
    struct era_track *e = t->impl;
    char msg[256];
    int r = e->sys.run(e->sys.arg, argv, out, outlen, msg, sizeof(msg));

    if (r == 0) return 0;
    if (r < 0)
        era_fail(t, "%s %s: %s", argv[0], argv[1] ? argv[1] : "",
                 strerror(errno));
    else
        era_fail(t, "%s %s %s: exit %d: %s", argv[0], argv[1] ? argv[1] : "",
                 argv[1] && argv[2] ? argv[2] : "", r, cmdrun_last_line(msg));
    errno = EIO;
    return -1;
}

#define DM(t, out, len, ...)                                                   \
    era_cmd((t), (out), (len),                                                 \
            (const char *const[]){"dmsetup", __VA_ARGS__, NULL})

static int write_file(struct disktrack *t, const char *path, const char *text)
{
    FILE *f = fopen(path, "we");

    if (f && fputs(text, f) >= 0 && fclose(f) == 0) return 0;
    era_fail(t, "%s: %s", path, strerror(errno));
    if (f) fclose(f);
    return -1;
}

/* The node's table into NODE.table; checks that it covers the disk. */
static int era_save_table(struct disktrack *t)
{
    struct era_track *e = t->impl;
    char table[ERA_TABLE_MAX], why[160];
    uint64_t sectors;

    if (DM(t, table, sizeof(table), "table", e->node) < 0) return -1;
    if (disktrack_era_parse_table(table, &sectors, why, sizeof(why)) < 0) {
        era_fail(t, "%s: %s", e->node, why);
        errno = EINVAL;
        return -1;
    }
    if (sectors * 512 != t->size) {
        snprintf(t->err, sizeof(t->err),
                 "%s: its table covers %" PRIu64 " bytes, the disk is %" PRIu64,
                 e->node, sectors * 512, t->size);
        errno = EINVAL;
        return -1;
    }
    return write_file(t, e->table_path, table);
}

/* A sparse metadata file, zero (era formats it), on a loop device. */
static int era_make_meta(struct disktrack *t)
{
    struct era_track *e = t->impl;
    uint64_t blocks = (t->size + t->block_size - 1) / t->block_size;
    uint64_t bytes = ERA_META_MIN + blocks * 8;
    int fd;

    bytes = (bytes + 4095) & ~4095ULL;
    fd = open(e->meta_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || ftruncate(fd, (off_t)bytes) < 0) {
        era_fail(t, "%s: %s", e->meta_path, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    close(fd);
    e->loop_fd = e->sys.loop_attach(e->sys.arg, e->meta_path, e->loop_dev,
                                    sizeof(e->loop_dev));
    if (e->loop_fd < 0) {
        era_fail(t, "a loop device for %s: %s", e->meta_path, strerror(errno));
        unlink(e->meta_path);
        return -1;
    }
    return 0;
}

/* Suspends or resumes the node: by ioctl where the sys can, else dmsetup. */
static int era_suspend(struct disktrack *t, int suspend)
{
    struct era_track *e = t->impl;

    if (!e->sys.suspend)
        return DM(t, NULL, 0, suspend ? "suspend" : "resume", e->node);
    if (e->sys.suspend(e->sys.arg, e->node, suspend) == 0) return 0;
    era_fail(t, "%s %s: %s", suspend ? "suspending" : "resuming", e->node,
             strerror(errno));
    errno = EIO;
    return -1;
}

/* The node's status line: by ioctl where the sys can, else dmsetup. */
static int era_status(struct disktrack *t, char *out, size_t outlen)
{
    struct era_track *e = t->impl;

    if (!e->sys.status) return DM(t, out, outlen, "status", e->node);
    if (e->sys.status(e->sys.arg, e->node, out, outlen) == 0) return 0;
    era_fail(t, "status of %s: %s", e->node, strerror(errno));
    errno = EIO;
    return -1;
}

/* A message to the node's era target (sector 0), likewise. */
static int era_message(struct disktrack *t, const char *message)
{
    struct era_track *e = t->impl;

    if (!e->sys.message)
        return DM(t, NULL, 0, "message", e->node, "0", message);
    if (e->sys.message(e->sys.arg, e->node, message) == 0) return 0;
    era_fail(t, "message %s to %s: %s", message, e->node, strerror(errno));
    errno = EIO;
    return -1;
}

/* The node's table (a file) swapped in: reload, suspend, resume. */
static int era_swap(struct disktrack *t, const char *table_path)
{
    struct era_track *e = t->impl;

    if (DM(t, NULL, 0, "reload", e->node, table_path) < 0) return -1;
    if (era_suspend(t, 1) < 0) {
        DM(t, NULL, 0, "clear", e->node);
        return -1;
    }
    return era_suspend(t, 0);
}

static int era_current(struct disktrack *t, uint32_t *era_r)
{
    struct era_track *e = t->impl;
    char status[ERA_STATUS_MAX], why[160];
    uint64_t used, total;

    if (era_status(t, status, sizeof(status)) < 0) return -1;
    if (disktrack_era_parse_status(status, era_r, &used, &total, why,
                                   sizeof(why)) < 0) {
        era_fail(t, "%s: %s", e->node, why);
        errno = EIO;
        return -1;
    }
    /* full metadata would fail the guest's writes: stop well before */
    if (used * 10 > total * 9) {
        snprintf(t->err, sizeof(t->err),
                 "%s: era metadata %" PRIu64 "/%" PRIu64 " blocks used",
                 e->node, used, total);
        errno = ENOSPC;
        return -1;
    }
    e->st.era = *era_r;
    return 0;
}

/* Undoes the stages down to ERA_IDLE, or stops where the node still
 * needs what is left (then says so in t->err). */
static void era_undo(struct disktrack *t)
{
    struct era_track *e = t->impl;

    if (e->stage == ERA_ACTIVE) {
        if (era_swap(t, e->table_path) < 0) {
            char why[sizeof(t->err)];

            snprintf(why, sizeof(why), "%s", t->err);
            era_fail(t,
                     "%s still runs era (restore: dmsetup reload %s %s; "
                     "dmsetup resume %s): %.80s",
                     e->node, e->node, e->table_path, e->node, why);
            return;
        }
        e->stage = ERA_ORIGIN_UP;
    }
    if (e->stage == ERA_ORIGIN_UP) {
        if (DM(t, NULL, 0, "remove", e->origin) < 0) return;
        e->stage = ERA_META;
    }
    if (e->stage == ERA_META) {
        /* none when recovering: autoclear took the dead tracker's loop */
        if (e->loop_fd >= 0) e->sys.loop_detach(e->sys.arg, e->loop_fd);
        e->loop_fd = -1;
        unlink(e->meta_path);
        e->stage = ERA_SAVED;
    }
    unlink(e->era_path);
    unlink(e->blocks_path);
    unlink(e->table_path);
    e->stage = ERA_IDLE;
}

/* ---- ops --------------------------------------------------------------- */

/*
 * The origin as MAJOR:MINOR, which a table names without a /dev/mapper
 * node (made by udev, which a minimal dom0 may not run).
 */
static int era_origin_dev(struct disktrack *t, char *dev, size_t devlen)
{
    struct era_track *e = t->impl;
    char out[64];
    unsigned maj, min;
    int n = 0;

    if (DM(t, out, sizeof(out), "info", "-c", "--noheadings", "--separator",
           ":", "-o", "major,minor", e->origin) < 0)
        return -1;
    if (sscanf(out, "%u:%u%n", &maj, &min, &n) != 2 ||
        (out[n] && out[n] != '\n')) {
        era_fail(t, "dmsetup info %s: \"%.20s\"", e->origin, out);
        errno = EIO;
        return -1;
    }
    snprintf(dev, devlen, "%u:%u", maj, min);
    return 0;
}

static int era_start(struct disktrack *t)
{
    struct era_track *e = t->impl;
    char table[512], dev[32];
    int saved;

    t->err[0] = '\0';
    if (era_save_table(t) < 0) return -1;
    e->stage = ERA_SAVED;
    if (era_make_meta(t) < 0) goto fail;
    e->stage = ERA_META;
    if (DM(t, NULL, 0, "create", e->origin, e->table_path) < 0) goto fail;
    e->stage = ERA_ORIGIN_UP;
    if (era_origin_dev(t, dev, sizeof(dev)) < 0) goto fail;
    snprintf(table, sizeof(table), "0 %" PRIu64 " era %s %s %u\n",
             t->size / 512, e->loop_dev, dev, t->block_size / 512);
    if (write_file(t, e->era_path, table) < 0) goto fail;
    if (era_swap(t, e->era_path) < 0) {
        /* a failed resume may leave era loaded: put the table back */
        e->stage = ERA_ACTIVE;
        goto fail;
    }
    e->stage = ERA_ACTIVE;
    if (era_current(t, &e->since) < 0) goto fail;
    return 0;
fail:
    saved = errno;
    {
        char why[sizeof(t->err)];

        snprintf(why, sizeof(why), "%s", t->err);
        era_undo(t);
        if (e->stage != ERA_IDLE) {
            char undo[sizeof(t->err)];

            snprintf(undo, sizeof(undo), "%s", t->err);
            era_fail(t, "%s; and undoing: %s", why, undo);
        } else {
            era_fail(t, "%s", why);
        }
    }
    errno = saved;
    return -1;
}

/* The atomic boundary: suspend waits for the writes in flight. */
static int era_boundary(struct disktrack *t)
{
    struct era_track *e = t->impl;
    uint64_t t0, us;

    t0 = now_us();
    if (era_suspend(t, 1) < 0) return -1;
    if (era_suspend(t, 0) < 0 && era_suspend(t, 0) < 0) {
        char why[sizeof(t->err)];

        snprintf(why, sizeof(why), "%s", t->err);
        era_fail(t, "%s (%s is left suspended)", why, e->node);
        return -1;
    }
    us = now_us() - t0;
    e->st.boundaries++;
    e->st.suspend_us = us;
    if (us > e->st.suspend_max_us) e->st.suspend_max_us = us;
    return 0;
}

static int era_read_blocks(struct disktrack *t, struct diskmap *map)
{
    struct era_track *e = t->impl;
    char since[16], why[160];
    FILE *f;
    int r;

    snprintf(since, sizeof(since), "%" PRIu32, e->since);
    if (era_cmd(t, NULL, 0,
                (const char *const[]){"era_invalidate", "--metadata-snapshot",
                                      "--written-since", since, "-o",
                                      e->blocks_path, e->loop_dev, NULL}) < 0)
        return -1;
    f = fopen(e->blocks_path, "re");
    if (!f) {
        era_fail(t, "%s: %s", e->blocks_path, strerror(errno));
        return -1;
    }
    r = disktrack_era_parse_blocks(f, map, why, sizeof(why));
    fclose(f);
    unlink(e->blocks_path);
    if (r < 0) {
        era_fail(t, "%s", why);
        errno = EIO;
    }
    return r;
}

static int era_close(struct disktrack *t, struct diskmap *map)
{
    struct era_track *e = t->impl;
    uint32_t next;
    int r, saved;

    if (era_boundary(t) < 0 || era_current(t, &next) < 0) return -1;
    if (era_message(t, "take_metadata_snap") < 0) return -1;
    r = era_read_blocks(t, map);
    saved = errno;
    if (era_message(t, "drop_metadata_snap") < 0 && r == 0) return -1;
    if (r < 0) {
        errno = saved;
        return -1;
    }
    /* writes since the boundary are in era `next` or later */
    e->since = next;
    return 0;
}

static void era_stop(struct disktrack *t)
{
    t->err[0] = '\0';
    era_undo(t);
}

static void era_free(void *impl)
{
    free(impl);
}

static const struct disktrack_ops era_ops = {
    .name = "dm-era",
    .start = era_start,
    .close = era_close,
    .stop = era_stop,
    .free = era_free,
};

static int node_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > ERA_NODE_MAX || s[0] == '.' || s[0] == '-') return 0;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789._+-") == n;
}

struct disktrack *disktrack_era_new(const struct disktrack_era_cfg *cfg,
                                    uint64_t size, uint32_t block_size,
                                    char *err, size_t errlen)
{
    struct disktrack *t = NULL;
    struct era_track *e = NULL;
    int n;

    if (!cfg->node || !node_name_ok(cfg->node) || !cfg->dir ||
        cfg->dir[0] != '/' || strlen(cfg->dir) > 200) {
        snprintf(err, errlen, "bad node name or directory");
        errno = EINVAL;
        return NULL;
    }
    if (!size || size % 512 || !block_size || block_size % 4096 ||
        size / block_size >= DISKMAP_MAX_BLOCKS) {
        snprintf(err, errlen, "bad disk size %" PRIu64 " or block size %u",
                 size, block_size);
        errno = EINVAL;
        return NULL;
    }
    t = calloc(1, sizeof(*t));
    e = calloc(1, sizeof(*e));
    if (!t || !e) {
        free(t);
        free(e);
        snprintf(err, errlen, "out of memory");
        errno = ENOMEM;
        return NULL;
    }
    snprintf(e->node, sizeof(e->node), "%s", cfg->node);
    snprintf(e->origin, sizeof(e->origin), ERA_ORIGIN "%s", cfg->node);
    snprintf(e->dir, sizeof(e->dir), "%s", cfg->dir);
    n = snprintf(e->table_path, sizeof(e->table_path), "%s/%s.table", e->dir,
                 e->node);
    n |= snprintf(e->meta_path, sizeof(e->meta_path), "%s/%s.meta", e->dir,
                  e->node);
    n |= snprintf(e->era_path, sizeof(e->era_path), "%s/%s.era", e->dir,
                  e->node);
    n |= snprintf(e->blocks_path, sizeof(e->blocks_path), "%s/%s.blocks",
                  e->dir, e->node);
    (void)n; /* dir <= 200 and node <= 100 fit 512 */
    e->loop_fd = -1;
    e->sys = cfg->sys ? *cfg->sys : real_sys;
    t->ops = &era_ops;
    t->impl = e;
    t->size = size;
    t->block_size = block_size;
    return t;
}

/*
 * Where a tracker that died stopped, from the node itself: era still
 * loaded, or only the origin left, or only its files.
 */
static void era_guess_stage(struct disktrack *t)
{
    struct era_track *e = t->impl;
    char table[ERA_TABLE_MAX];

    if (DM(t, table, sizeof(table), "table", e->node) == 0 &&
        strstr(table, " era "))
        e->stage = ERA_ACTIVE;
    else if (DM(t, NULL, 0, "info", e->origin) == 0)
        e->stage = ERA_ORIGIN_UP;
    else
        e->stage = ERA_SAVED;
    t->err[0] = '\0';
}

int disktrack_era_recover(const struct disktrack_era_cfg *cfg, char *err,
                          size_t errlen)
{
    /* the size is not needed to undo: one block will do */
    struct disktrack *t = disktrack_era_new(cfg, 4096, 4096, err, errlen);
    struct era_track *e;
    int rc;

    if (!t) return -1;
    e = t->impl;
    era_guess_stage(t);
    era_undo(t);
    rc = e->stage == ERA_IDLE ? 0 : -1;
    if (rc) snprintf(err, errlen, "%s", t->err);
    free(e);
    free(t);
    return rc;
}

void disktrack_era_stats(const struct disktrack *t,
                         struct disktrack_era_stats *s_r)
{
    const struct era_track *e = t->impl;

    if (t->ops != &era_ops) {
        memset(s_r, 0, sizeof(*s_r));
        return;
    }
    *s_r = e->st;
}
