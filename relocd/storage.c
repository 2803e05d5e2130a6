/*
 * storage.c - block migration on the source (storage.h): which disks,
 * where they go, and the passes over their connections.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "relocd/diskcopy.h"
#include "relocd/disksize.h"
#include "relocd/disktrack.h"
#include "relocd/rundir.h"
#include "relocd/storage.h"
#include "wire/log.h"
#include "wire/chan.h"
#include "wire/client.h"
#include "wire/clock.h"
#include "xen/xen.h"

struct storage_disk {
    struct storage_disk_info info;
    char token[MSG_TOKEN_LEN + 1];
    int fd; /* the source, read-only */
    struct disktrack *t;
    struct client *cl;
    struct diskcopy *dc;
};

struct storage {
    char *config; /* with the target's paths */
    unsigned n, nshared;
    struct storage_disk d[MSG_MAX_DISKS];
    struct storage_disk_info shared[MSG_MAX_DISKS];
    uint64_t last_bytes;
    double last_pass_ms;
};

static const char *jstr(yajl_val obj, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(obj, path, yajl_t_string);

    return v ? YAJL_GET_STRING(v) : NULL;
}

static long long jint(yajl_val obj, const char *key, long long def)
{
    const char *path[] = {key, NULL};
    yajl_val v = yajl_tree_get(obj, path, yajl_t_any);

    if (v && YAJL_IS_INTEGER(v)) return YAJL_GET_INTEGER(v);
    if (v && YAJL_IS_TRUE(v)) return 1;
    if (v && YAJL_IS_FALSE(v)) return 0;
    return def;
}

/* Paths that are their own JSON text, so the rewrite can find them. */
static int path_plain(const char *p)
{
    for (; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) return 0;
    return 1;
}

/*
 * The next `"pdev_path": "VALUE"` at or after p: the value's first byte
 * and its length, or NULL.
 */
static const char *next_pdev(const char *p, size_t *len_r)
{
    static const char key[] = "\"pdev_path\"";
    const char *q, *end;

    while ((p = strstr(p, key))) {
        q = p + sizeof(key) - 1;
        q += strspn(q, " \t\r\n");
        if (*q++ != ':') {
            p += sizeof(key) - 1;
            continue;
        }
        q += strspn(q, " \t\r\n");
        if (*q++ != '"' || !(end = strchr(q, '"'))) {
            p += sizeof(key) - 1;
            continue;
        }
        *len_r = (size_t)(end - q);
        return q;
    }
    return NULL;
}

char *storage_rewrite(const char *config, const struct msg_disk_map *maps,
                      unsigned nmaps, char *err, size_t errlen)
{
    size_t cap = strlen(config) + 1, n = 0, len, i;
    const char *p = config, *v;
    char *out;
    int *hits = calloc(nmaps ? nmaps : 1, sizeof(*hits));

    for (i = 0; i < nmaps; i++)
        cap += strlen(maps[i].dst) + 1;
    out = malloc(cap * 2);
    if (!out || !hits) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    while ((v = next_pdev(p, &len))) {
        memcpy(out + n, p, (size_t)(v - p));
        n += (size_t)(v - p);
        for (i = 0; i < nmaps; i++)
            if (strlen(maps[i].src) == len && !memcmp(v, maps[i].src, len))
                break;
        if (i < nmaps && hits[i]++) {
            snprintf(err, errlen, "%s is the path of more than one disk",
                     maps[i].src);
            goto fail;
        }
        if (i < nmaps) {
            memcpy(out + n, maps[i].dst, strlen(maps[i].dst));
            n += strlen(maps[i].dst);
        } else {
            memcpy(out + n, v, len);
            n += len;
        }
        p = v + len;
    }
    memcpy(out + n, p, strlen(p) + 1);
    for (i = 0; i < nmaps; i++)
        if (!hits[i]) {
            snprintf(err, errlen, "--disk-map %s=%s: the guest has no disk %s",
                     maps[i].src, maps[i].dst, maps[i].src);
            goto fail;
        }
    free(hits);
    return out;
fail:
    free(out);
    free(hits);
    return NULL;
}

/* The source's size and the bytes allocated to it. */
static int source_measure(struct storage_disk_info *di, int fd, char *err,
                          size_t errlen)
{
    struct disk_size d;

    if (disk_size(fd, &d) < 0) {
        snprintf(err, errlen, "%s: %s", di->src,
                 errno == EINVAL ? "neither a file nor a block device"
                                 : strerror(errno));
        return -1;
    }
    di->size = d.size;
    di->allocated = d.allocated;
    if (!di->size || di->size % 512 || di->size % 4096) {
        snprintf(err, errlen, "%s: %llu bytes is not a multiple of 4096",
                 di->src, (unsigned long long)di->size);
        return -1;
    }
    return 0;
}

/* Where a disk goes: its map's dst, or the same path. */
static const char *disk_dst(const char *src, const struct msg_disk_map *maps,
                            unsigned nmaps)
{
    unsigned i;

    for (i = 0; i < nmaps; i++)
        if (!strcmp(maps[i].src, src)) return maps[i].dst;
    return src;
}

/* One disk of the config: copied (1), left alone (0), or refused (-1). */
static int disk_add(struct storage *st, yajl_val d,
                    const struct msg_disk_map *maps, unsigned nmaps, char *err,
                    size_t errlen)
{
    const char *path = jstr(d, "pdev_path"), *vdev = jstr(d, "vdev");
    const char *fmt = jstr(d, "format");
    struct storage_disk *sd;

    if (!YAJL_IS_OBJECT(d) || !path || !*path || jint(d, "is_cdrom", 0) ||
        !jint(d, "readwrite", 1))
        return 0;
    if (fmt && strcmp(fmt, "raw") && strcmp(fmt, "unknown")) {
        snprintf(err, errlen, "%s: --copy-storage copies raw disks, not %s",
                 path, fmt);
        return -1;
    }
    if (st->n >= MSG_MAX_DISKS) {
        snprintf(err, errlen, "more than %d disks", MSG_MAX_DISKS);
        return -1;
    }
    sd = &st->d[st->n];
    if (!path_plain(path) || !path_plain(disk_dst(path, maps, nmaps)) ||
        snprintf(sd->info.src, sizeof(sd->info.src), "%s", path) >=
            (int)sizeof(sd->info.src) ||
        snprintf(sd->info.dst, sizeof(sd->info.dst), "%s",
                 disk_dst(path, maps, nmaps)) >= (int)sizeof(sd->info.dst) ||
        sd->info.dst[0] != '/') {
        snprintf(err, errlen,
                 "%s: an absolute path of plain characters is "
                 "needed on both hosts",
                 path);
        return -1;
    }
    snprintf(sd->info.vdev, sizeof(sd->info.vdev), "%s", vdev ? vdev : "?");
    sd->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (sd->fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    st->n++;
    if (source_measure(&sd->info, sd->fd, err, errlen) < 0) return -1;
    /* No identity (or none readable) is local storage: copied. */
    if (diskid_of(path, sd->info.id, sizeof(sd->info.id)) != 1)
        sd->info.id[0] = 0;
    return 1;
}

static int storage_disks(struct storage *st, const char *config,
                         const struct msg_disk_map *maps, unsigned nmaps,
                         char *err, size_t errlen)
{
    const char *path[] = {"disks", NULL};
    char perr[128];
    yajl_val root = yajl_tree_parse(config, perr, sizeof(perr)), disks;
    size_t i;
    int rc = 0;

    disks = root ? yajl_tree_get(root, path, yajl_t_array) : NULL;
    for (i = 0; disks && rc >= 0 && i < YAJL_GET_ARRAY(disks)->len; i++)
        rc = disk_add(st, YAJL_GET_ARRAY(disks)->values[i], maps, nmaps, err,
                      errlen);
    yajl_tree_free(root);
    if (rc < 0) return -1;
    if (!root) {
        snprintf(err, errlen, "the guest's config is not JSON");
        return -1;
    }
    if (!st->n) {
        snprintf(err, errlen, "--copy-storage: the guest has no disk to copy");
        return -1;
    }
    return 0;
}

struct storage *storage_new(const char *config, const struct msg_disk_map *maps,
                            unsigned nmaps, char *err, size_t errlen)
{
    struct storage *st = calloc(1, sizeof(*st));
    unsigned i;

    if (!st) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (i = 0; i < MSG_MAX_DISKS; i++)
        st->d[i].fd = -1;
    if (storage_disks(st, config, maps, nmaps, err, errlen) < 0 ||
        !(st->config = storage_rewrite(config, maps, nmaps, err, errlen))) {
        storage_free(st);
        return NULL;
    }
    return st;
}

void storage_free(struct storage *st)
{
    unsigned i;

    if (!st) return;
    for (i = 0; i < st->n; i++) {
        diskcopy_free(st->d[i].dc);
        /* Tracking ends here on every path: the table goes back. */
        disktrack_free(st->d[i].t);
        client_free(st->d[i].cl);
        if (st->d[i].fd >= 0) close(st->d[i].fd);
    }
    free(st->config);
    free(st);
}

const char *storage_config(const struct storage *st)
{
    return st->config;
}

unsigned storage_ndisks(const struct storage *st)
{
    return st->n;
}

const struct storage_disk_info *storage_disk(const struct storage *st,
                                             unsigned i)
{
    return i < st->n ? &st->d[i].info : NULL;
}

void storage_preflight(const struct storage *st, struct msg_preflight *m)
{
    unsigned i;

    m->ndisks = st->n;
    for (i = 0; i < st->n; i++) {
        snprintf(m->disks[i].path, sizeof(m->disks[i].path), "%s",
                 st->d[i].info.dst);
        m->disks[i].size = st->d[i].info.size;
        m->disks[i].allocated = st->d[i].info.allocated;
        snprintf(m->disks[i].id, sizeof(m->disks[i].id), "%s",
                 st->d[i].info.id);
    }
}

int storage_leave_shared(struct storage *st, uint32_t shared)
{
    unsigned i, kept = 0;

    if (st->n < 32 && shared >> st->n) return -1;
    for (i = 0; i < st->n; i++) {
        if (!(shared & (1u << i))) {
            if (kept != i) {
                st->d[kept] = st->d[i];
                st->d[i].fd = -1;
            }
            kept++;
            continue;
        }
        st->shared[st->nshared++] = st->d[i].info;
        close(st->d[i].fd);
        st->d[i].fd = -1;
    }
    st->n = kept;
    return 0;
}

unsigned storage_nshared(const struct storage *st)
{
    return st->nshared;
}

const struct storage_disk_info *storage_shared_disk(const struct storage *st,
                                                    unsigned i)
{
    return i < st->nshared ? &st->shared[i] : NULL;
}

int storage_migrate(struct storage *st, struct msg_migrate *m)
{
    uint8_t rnd[MSG_TOKEN_LEN / 2];
    unsigned i, j;

    for (i = 0; i < st->n; i++) {
        if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) return -1;
        for (j = 0; j < sizeof(rnd); j++)
            snprintf(st->d[i].token + 2 * j, 3, "%02x", rnd[j]);
        snprintf(m->tokens[i], sizeof(m->tokens[i]), "%s", st->d[i].token);
    }
    m->ntokens = st->n;
    return 0;
}

/* One disk's connection: MIGRATE "disk", then the engine's HELLO. */
static int disk_connect(struct storage_disk *sd, struct xen_guest *g,
                        const char *dir, const struct client_opts *o, char *err,
                        size_t errlen)
{
    struct msg_migrate m = {.mode = "disk", .ntokens = 1};
    struct diskcopy_cfg cfg = {DISKTRACK_ALLOCATED, STORAGE_IDLE_MS};
    char node[128], why[512];
    enum proto_err e;

    if (xen_guest_disk_node(g, sd->info.vdev, node, sizeof(node), why,
                            sizeof(why)) < 0 ||
        !(sd->t = disktrack_pick(sd->info.src, node, dir, sd->info.size,
                                 STORAGE_BLOCK, why, sizeof(why)))) {
        snprintf(err, errlen, "%s: %s", sd->info.vdev, why);
        return -1;
    }
    snprintf(m.tokens[0], sizeof(m.tokens[0]), "%s", sd->token);
    if (!(sd->cl = client_open(o, NULL, why, sizeof(why))) ||
        client_migrate_msg(sd->cl, &m, why, sizeof(why))) {
        snprintf(err, errlen, "%s's connection: %s", sd->info.vdev, why);
        return -1;
    }
    sd->dc = diskcopy_new(sd->fd, sd->t, client_chan(sd->cl), &cfg, why,
                          sizeof(why));
    if (!sd->dc) {
        snprintf(err, errlen, "%s: %s", sd->info.vdev, why);
        return -1;
    }
    if ((e = diskcopy_begin(sd->dc))) {
        snprintf(err, errlen, "%s: %s", sd->info.vdev, diskcopy_error(sd->dc));
        return -1;
    }
    return 0;
}

int storage_connect(struct storage *st, struct xen_guest *g, const char *dir,
                    const struct client_opts *o, char *err, size_t errlen)
{
    unsigned i;

    for (i = 0; i < st->n; i++)
        if (disk_connect(&st->d[i], g, dir, o, err, errlen) < 0) return -1;
    return 0;
}

int storage_fd(const struct storage *st, unsigned i)
{
    return i < st->n && st->d[i].cl ? chan_fd(client_chan(st->d[i].cl)) : -1;
}

/* Runs step on every disk; the DATA bytes and time it took are kept. */
static int storage_each(struct storage *st,
                        enum proto_err (*step)(struct diskcopy *), char *err,
                        size_t errlen)
{
    struct diskcopy_stats s;
    uint64_t before = 0, after = 0;
    double t0 = clock_s();
    unsigned i;

    for (i = 0; i < st->n; i++) {
        diskcopy_stats(st->d[i].dc, &s);
        before += s.data_bytes;
        if (step(st->d[i].dc)) {
            snprintf(err, errlen, "%s: %s", st->d[i].info.vdev,
                     diskcopy_error(st->d[i].dc));
            return -1;
        }
        diskcopy_stats(st->d[i].dc, &s);
        after += s.data_bytes;
    }
    st->last_bytes = after - before;
    st->last_pass_ms = (clock_s() - t0) * 1000;
    return 0;
}

/* Pass 0 sends what begin found; each later pass the era closed now. */
static enum proto_err pass_step(struct diskcopy *dc)
{
    struct diskcopy_stats s;
    enum proto_err e;

    diskcopy_stats(dc, &s);
    if (s.passes && (e = diskcopy_close(dc))) return e;
    return diskcopy_send(dc);
}

int storage_pass(struct storage *st, char *err, size_t errlen)
{
    return storage_each(st, pass_step, err, errlen);
}

int storage_finish(struct storage *st, char *err, size_t errlen)
{
    return storage_each(st, diskcopy_finish, err, errlen);
}

int storage_close(struct storage *st, char *err, size_t errlen)
{
    return storage_each(st, diskcopy_close, err, errlen);
}

int storage_done(struct storage *st, char *err, size_t errlen)
{
    return storage_each(st, diskcopy_done, err, errlen);
}

int storage_untrack(struct storage *st, char *err, size_t errlen)
{
    unsigned i;
    int rc = 0;

    for (i = 0; i < st->n; i++) {
        if (!st->d[i].t || !st->d[i].t->started) continue;
        st->d[i].t->err[0] = 0;
        disktrack_end(st->d[i].t);
        if (st->d[i].t->err[0] && rc == 0) {
            snprintf(err, errlen, "%s: stopping write tracking: %s",
                     st->d[i].info.vdev, disktrack_error(st->d[i].t));
            rc = -1;
        }
    }
    return rc;
}

void storage_stats(const struct storage *st, struct storage_stats *s_r)
{
    struct diskcopy_stats s;
    unsigned i;

    memset(s_r, 0, sizeof(*s_r));
    s_r->disks = st->n;
    s_r->shared = st->nshared;
    s_r->last_bytes = st->last_bytes;
    s_r->last_pass_ms = st->last_pass_ms;
    for (i = 0; i < st->n; i++) {
        s_r->size += st->d[i].info.size;
        s_r->allocated += st->d[i].info.allocated;
        if (!st->d[i].dc) continue;
        diskcopy_stats(st->d[i].dc, &s);
        if (s.passes > s_r->passes) s_r->passes = s.passes;
        s_r->data_bytes += s.data_bytes;
        s_r->zero_bytes += s.zero_bytes;
        s_r->wire_bytes += s.wire_bytes;
        s_r->era_bytes += s.era_bytes;
        s_r->close_ms += s.close_ms;
        s_r->done_ms += s.done_ms;
    }
}

/* ---- what dead workers left -------------------------------------------- */

/* One dead worker's directory: each NODE.table is a disk it tracked. */
static void recover_worker(const char *dir, const char *pid)
{
    char node[128], path[600], err[512];
    struct dirent *e;
    DIR *d = opendir(dir);
    size_t n;
    int kept = 0;

    while (d && (e = readdir(d))) {
        n = strlen(e->d_name);
        if (n <= 6 || n - 6 >= sizeof(node) ||
            strcmp(e->d_name + n - 6, ".table"))
            continue;
        snprintf(node, sizeof(node), "%.*s", (int)(n - 6), e->d_name);
        if (disktrack_restore(dir, node, err, sizeof(err)) == 0) {
            log_warnx("%s: the dead sender worker %s left it tracked; its "
                      "table is back",
                      node, pid);
        } else {
            log_warnx("%s: the dead sender worker %s left it tracked: %s", node,
                      pid, err);
            kept = 1;
        }
    }
    if (d) rewinddir(d);
    /* what a restore leaves (a metadata file of a failed start) goes too */
    while (!kept && d && (e = readdir(d)))
        if (e->d_name[0] != '.' && snprintf(path, sizeof(path), "%s/%s", dir,
                                            e->d_name) < (int)sizeof(path))
            unlink(path);
    if (d) closedir(d);
    if (!kept) rmdir(dir);
}

void storage_recover(const char *era_root)
{
    char dir[600];
    struct dirent *e;
    DIR *d = opendir(era_root);

    while (d && (e = readdir(d))) {
        if (!e->d_name[0] ||
            strspn(e->d_name, "0123456789") != strlen(e->d_name) ||
            rundir_mark_alive((pid_t)atoi(e->d_name)))
            continue;
        if (snprintf(dir, sizeof(dir), "%s/%s", era_root, e->d_name) <
            (int)sizeof(dir))
            recover_worker(dir, e->d_name);
    }
    if (d) closedir(d);
}
