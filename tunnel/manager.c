/*
 * manager.c - the tunnel manager: reference counting by holder per peer
 * and bridge.
 *
 * Every operation takes an exclusive flock on STATE.lock, reads STATE,
 * changes it and writes it back (state.c) before it lets go: the file is
 * the only truth, so a restarted relocd -- or a worker process -- sees
 * exactly what its predecessor left.  Devices and processes are touched
 * only through struct tunnel_ops.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "config/diag.h"
#include "tunnel/conf.h"
#include "tunnel/internal.h"
#include "tunnel/manager.h"
#include "tunnel/state.h"
#include "tunnel/tunnel.h"

#define MTU_FLOOR 1500 /* a guest's vif may not be on the bridge yet */

struct tunnel_mgr {
    char *path, *lock_path;
    const struct tunnel_ops *ops;
    int lock_fd;
};

/* --- holders ------------------------------------------------------------ */

static void holder_del_at(struct tunnel *t, size_t i)
{
    memmove(&t->holders[i], &t->holders[i + 1],
            (t->nholders - i - 1) * sizeof(t->holders[0]));
    t->nholders--;
}

static int holder_del(struct tunnel *t, const char *holder)
{
    ssize_t i = tunnel_holder_find(t, holder);

    if (i < 0) return -1;
    holder_del_at(t, (size_t)i);
    return 0;
}

/* --- the manager -------------------------------------------------------- */

struct tunnel_mgr *tunnel_mgr_new(const char *state_path,
                                  const struct tunnel_ops *ops)
{
    struct tunnel_mgr *m = calloc(1, sizeof(*m));

    if (!m) return NULL;
    m->ops = ops;
    m->lock_fd = -1;
    m->path = strdup(state_path);
    if (!m->path || asprintf(&m->lock_path, "%s.lock", state_path) < 0) {
        m->lock_path = NULL;
        tunnel_mgr_free(m);
        errno = ENOMEM;
        return NULL;
    }
    return m;
}

void tunnel_mgr_free(struct tunnel_mgr *m)
{
    if (!m) return;
    if (m->lock_fd >= 0) close(m->lock_fd);
    free(m->path);
    free(m->lock_path);
    free(m);
}

/* Locks the state and reads it. */
static int mgr_begin(struct tunnel_mgr *m, struct tunnel_state *st, char *err,
                     size_t errlen)
{
    char dir[PATH_MAX], *slash;
    int saved;

    snprintf(dir, sizeof(dir), "%s", m->path);
    if ((slash = strrchr(dir, '/')) && slash != dir) {
        *slash = '\0';
        mkdir(dir, 0755); /* /run/relocd may not exist yet */
    }
    m->lock_fd = open(m->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (m->lock_fd < 0 || flock(m->lock_fd, LOCK_EX) < 0) {
        saved = errno;
        if (m->lock_fd >= 0) close(m->lock_fd);
        m->lock_fd = -1;
        return diag_errnof(err, errlen, saved, "%s: %s", m->lock_path,
                           strerror(saved));
    }
    if (tunnel_state_load(m->path, st, err, errlen) < 0) {
        saved = errno;
        close(m->lock_fd);
        m->lock_fd = -1;
        errno = saved;
        return -1;
    }
    return 0;
}

/* Writes the state back when save and rc == 0, then unlocks. */
static int mgr_end(struct tunnel_mgr *m, struct tunnel_state *st, int rc,
                   int save, char *err, size_t errlen)
{
    int saved = errno;

    /* After a failure, err keeps the failure's reason. */
    if (save &&
        tunnel_state_save(m->path, st, rc < 0 ? NULL : err, errlen) < 0 &&
        rc == 0) {
        rc = -1;
        saved = errno;
    }
    tunnel_state_clear(st);
    close(m->lock_fd);
    m->lock_fd = -1;
    errno = saved;
    return rc;
}

int tunnel_probe(struct tunnel_mgr *m, enum tunnel_kind kind, char *err,
                 size_t errlen)
{
    return m->ops->probe(kind, err, errlen);
}

static struct tunnel *state_find(struct tunnel_state *st, struct in_addr peer,
                                 const char *bridge)
{
    size_t i;

    for (i = 0; i < st->n; i++)
        if (st->v[i].peer.s_addr == peer.s_addr &&
            !strcmp(st->v[i].bridge, bridge))
            return &st->v[i];
    return NULL;
}

/* Removes st->v[i], which must hold nobody. */
static void state_remove(struct tunnel_state *st, size_t i)
{
    tunnel_clear(&st->v[i]);
    memmove(&st->v[i], &st->v[i + 1], (st->n - i - 1) * sizeof(st->v[0]));
    st->n--;
}

static int args_check(const char *peer, struct in_addr *peer_r,
                      const char *bridge, const char *holder, char *err,
                      size_t errlen)
{
    if (tunnel_parse_ip4(peer, peer_r) < 0)
        return diag_errf(err, errlen, "peer '%s' is not an IPv4 address", peer);
    if (!tunnel_ifname_ok(bridge))
        return diag_errf(err, errlen, "bad bridge name '%s'", bridge);
    if (holder && !tunnel_holder_ok(holder))
        return diag_errf(err, errlen, "bad holder name '%s'", holder);
    return 0;
}

/* The MTU the tunnel port needs: never below a port of its bridge. */
static int mtu_choose(struct tunnel_mgr *m, const struct tunnel_cfg *cfg,
                      const char *bridge, const char *self, unsigned *mtu_r,
                      char *err, size_t errlen)
{
    unsigned need = 0;

    if (m->ops->port_mtu(bridge, self, &need, err, errlen) < 0) return -1;
    if (need < MTU_FLOOR) need = MTU_FLOOR;
    if (cfg->mtu == TUNNEL_MTU_AUTO) {
        *mtu_r = need;
        return 0;
    }
    if (cfg->mtu < need)
        return diag_errf(err, errlen,
                         "mtu %u is below %u, the largest on bridge %s: the "
                         "bridge would drop bigger frames without a word",
                         cfg->mtu, need, bridge);
    *mtu_r = cfg->mtu;
    return 0;
}

/* A device name from peer and bridge ("rtx" + 8 hex digits), unique. */
static void name_make(const struct tunnel_state *st, struct tunnel *t)
{
    static const char kc[] = {'e', 'x', 'g'};
    uint32_t h = 2166136261u, salt;
    const uint8_t *p;
    size_t i;
    int clash;

    for (p = (const uint8_t *)&t->peer; p < (const uint8_t *)(&t->peer + 1);
         p++)
        h = (h ^ *p) * 16777619u;
    for (p = (const uint8_t *)t->bridge; *p; p++)
        h = (h ^ *p) * 16777619u;
    for (salt = 0;; salt++) {
        snprintf(t->ifname, sizeof(t->ifname), "rt%c%08x", kc[t->kind],
                 h + salt * 0x9e3779b9u);
        for (clash = 0, i = 0; i < st->n; i++)
            clash |= !strcmp(st->v[i].ifname, t->ifname);
        if (!clash) return;
    }
}

/* Whether cfg asks for what the existing tunnel t is. */
static int cfg_same(const struct tunnel *t, const struct tunnel_cfg *cfg)
{
    if (t->kind != cfg->kind || t->id != cfg->id) return 0;
    if (t->kind == TUNNEL_VXLAN && t->dstport != cfg->dstport) return 0;
    if (t->kind == TUNNEL_ETHERIP && t->etherip_flags != cfg->etherip_flags)
        return 0;
    return !cfg->local.s_addr || cfg->local.s_addr == t->local.s_addr;
}

/* A new tunnel that the kernel or the wire could not tell from t. */
static const struct tunnel *state_clash(const struct tunnel_state *st,
                                        const struct tunnel *t)
{
    const struct tunnel *o;
    size_t i;

    for (i = 0; i < st->n; i++) {
        o = &st->v[i];
        if (o->kind != t->kind) continue;
        if (t->kind == TUNNEL_VXLAN && o->id == t->id &&
            o->dstport == t->dstport)
            return o;
        if (t->kind != TUNNEL_VXLAN && o->peer.s_addr == t->peer.s_addr &&
            o->local.s_addr == t->local.s_addr &&
            (t->kind == TUNNEL_ETHERIP || o->id == t->id))
            return o;
    }
    return NULL;
}

static int acq_fill(struct tunnel_mgr *m, const struct tunnel_state *st,
                    struct tunnel *t, const struct tunnel_cfg *cfg, char *err,
                    size_t errlen)
{
    const struct tunnel *o;

    t->kind = cfg->kind;
    t->id = cfg->id;
    t->dstport = t->kind == TUNNEL_VXLAN ? cfg->dstport : 0;
    t->etherip_flags = t->kind == TUNNEL_ETHERIP ? cfg->etherip_flags : 0;
    t->local = cfg->local;
    if (!t->local.s_addr && m->ops->source(t->peer, &t->local, err, errlen) < 0)
        return -1;
    if ((o = state_clash(st, t)))
        return diag_errnof(err, errlen, EEXIST,
                           "%s to %s on %s is a %s tunnel already; one %s per "
                           "%s",
                           o->ifname, inet_ntoa(o->peer), o->bridge,
                           tunnel_kind_name(o->kind), tunnel_kind_name(t->kind),
                           t->kind == TUNNEL_VXLAN ? "VNI and port"
                                                   : "peer (and key)");
    name_make(st, t);
    return mtu_choose(m, cfg, t->bridge, NULL, &t->mtu, err, errlen);
}

static int acq_new(struct tunnel_mgr *m, struct tunnel_state *st,
                   struct in_addr peer, const char *bridge,
                   const struct tunnel_cfg *cfg, const char *holder, char *err,
                   size_t errlen)
{
    struct tunnel t;

    memset(&t, 0, sizeof(t));
    t.peer = peer;
    snprintf(t.bridge, sizeof(t.bridge), "%s", bridge);
    if (!cfg->on_demand && strcmp(holder, TUNNEL_HOLDER_STATIC))
        return diag_errnof(err, errlen, EPERM,
                           "no tunnel to %s on %s, and (on-demand no)",
                           inet_ntoa(peer), bridge);
    if (acq_fill(m, st, &t, cfg, err, errlen) < 0) return -1;
    if (m->ops->create(&t, err, errlen) < 0) return -1;
    if (tunnel_holder_add(&t, holder) < 0 || tunnel_state_append(st, &t) < 0) {
        m->ops->destroy(&t, NULL, 0);
        tunnel_clear(&t);
        return diag_errnof(err, errlen, ENOMEM, "out of memory");
    }
    return 0;
}

/* Destroys what is left of t and creates it again. */
static int recreate(struct tunnel_mgr *m, struct tunnel *t, char *err,
                    size_t errlen)
{
    m->ops->destroy(t, NULL, 0);
    t->pid = 0;
    t->pid_start = 0;
    return m->ops->create(t, err, errlen);
}

static int acq_existing(struct tunnel_mgr *m, struct tunnel *t,
                        const struct tunnel_cfg *cfg, const char *holder,
                        char *err, size_t errlen)
{
    unsigned mtu;

    if (!cfg_same(t, cfg))
        return diag_errnof(
            err, errlen, EEXIST,
            "%s to %s on %s is a %s tunnel (id %u) that the "
            "configuration no longer describes; release it first",
            t->ifname, inet_ntoa(t->peer), t->bridge, tunnel_kind_name(t->kind),
            t->id);
    if (m->ops->check(t) != 1 && recreate(m, t, err, errlen) < 0) return -1;
    if (mtu_choose(m, cfg, t->bridge, t->ifname, &mtu, err, errlen) < 0)
        return -1;
    if (mtu > t->mtu) {
        if (m->ops->set_mtu(t, mtu, err, errlen) < 0) return -1;
        t->mtu = mtu;
    }
    if (tunnel_holder_add(t, holder) < 0)
        return diag_errnof(err, errlen, errno, "%s: too many holders",
                           t->ifname);
    return 0;
}

int tunnel_acquire(struct tunnel_mgr *m, const char *peer, const char *bridge,
                   const struct tunnel_cfg *cfg, const char *holder, char *err,
                   size_t errlen)
{
    struct tunnel_state st;
    struct in_addr pa;
    struct tunnel *t;
    int rc;

    if (args_check(peer, &pa, bridge, holder, err, errlen) < 0) return -1;
    if (mgr_begin(m, &st, err, errlen) < 0) return -1;
    t = state_find(&st, pa, bridge);
    if (t)
        rc = acq_existing(m, t, cfg, holder, err, errlen);
    else
        rc = acq_new(m, &st, pa, bridge, cfg, holder, err, errlen);
    /* The state is saved even on failure: a repair may have changed it. */
    return mgr_end(m, &st, rc, 1, err, errlen);
}

/* Removes st->v[i] when nobody holds it any more. */
static int drop_if_unheld(struct tunnel_mgr *m, struct tunnel_state *st,
                          size_t i, char *err, size_t errlen)
{
    if (st->v[i].nholders) return 0;
    if (m->ops->destroy(&st->v[i], err, errlen) < 0) return -1;
    state_remove(st, i);
    return 0;
}

int tunnel_release(struct tunnel_mgr *m, const char *peer, const char *bridge,
                   const char *holder, char *err, size_t errlen)
{
    struct tunnel_state st;
    struct in_addr pa;
    struct tunnel *t;
    int rc;

    if (args_check(peer, &pa, bridge, holder, err, errlen) < 0) return -1;
    if (mgr_begin(m, &st, err, errlen) < 0) return -1;
    t = state_find(&st, pa, bridge);
    if (!t)
        rc = diag_errnof(err, errlen, ENOENT, "no tunnel to %s on %s", peer,
                         bridge);
    else if (holder_del(t, holder) < 0)
        rc = diag_errnof(err, errlen, ENOENT, "%s does not hold %s", holder,
                         t->ifname);
    else
        rc = drop_if_unheld(m, &st, (size_t)(t - st.v), err, errlen);
    return mgr_end(m, &st, rc, t != NULL, err, errlen);
}

/* Drops the holders alive() rejects (holder == NULL) or that holder. */
static int release_where(struct tunnel_mgr *m, const char *holder,
                         int (*alive)(const char *, void *), void *arg,
                         char *err, size_t errlen)
{
    struct tunnel_state st;
    struct tunnel *t;
    size_t i, j;
    int rc = 0;

    if (mgr_begin(m, &st, err, errlen) < 0) return -1;
    for (i = st.n; i-- > 0;) {
        t = &st.v[i];
        for (j = t->nholders; j-- > 0;)
            if (holder ? !strcmp(t->holders[j], holder)
                       : !alive(t->holders[j], arg))
                holder_del_at(t, j);
        if (drop_if_unheld(m, &st, i, err, errlen) < 0) rc = -1;
    }
    return mgr_end(m, &st, rc, 1, err, errlen);
}

int tunnel_release_holder(struct tunnel_mgr *m, const char *holder, char *err,
                          size_t errlen)
{
    if (!tunnel_holder_ok(holder))
        return diag_errf(err, errlen, "bad holder name '%s'", holder);
    return release_where(m, holder, NULL, NULL, err, errlen);
}

int tunnel_prune(struct tunnel_mgr *m, int (*alive)(const char *, void *),
                 void *arg, char *err, size_t errlen)
{
    return release_where(m, NULL, alive, arg, err, errlen);
}

int tunnel_restore_state(struct tunnel_mgr *m, unsigned *repaired_r, char *err,
                         size_t errlen)
{
    struct tunnel_state st;
    unsigned repaired = 0;
    size_t i;
    int rc = 0;

    if (mgr_begin(m, &st, err, errlen) < 0) return -1;
    for (i = st.n; i-- > 0;) {
        if (!st.v[i].nholders) {
            if (drop_if_unheld(m, &st, i, err, errlen) < 0) rc = -1;
        } else if (m->ops->check(&st.v[i]) != 1) {
            if (recreate(m, &st.v[i], err, errlen) < 0)
                rc = -1;
            else
                repaired++;
        }
    }
    if (repaired_r) *repaired_r = repaired;
    return mgr_end(m, &st, rc, 1, err, errlen);
}

int tunnel_list(struct tunnel_mgr *m, struct tunnel_state *st_r, char *err,
                size_t errlen)
{
    struct tunnel_state st;

    if (mgr_begin(m, &st, err, errlen) < 0) return -1;
    *st_r = st;
    memset(&st, 0, sizeof(st));
    return mgr_end(m, &st, 0, 0, err, errlen);
}
