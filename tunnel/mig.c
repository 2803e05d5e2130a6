/*
 * mig.c - holding tunnels for one migration, announcing the guest after.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/conf.h"
#include "tunnel/garp.h"
#include "tunnel/guestnet.h"
#include "wire/log.h"
#include "tunnel/mig.h"
#include "tunnel/conf.h"
#include "tunnel/manager.h"
#include "tunnel/state.h"
#include "tunnel/tunnel.h"
#include "wire/clock.h"

/* One bridge of the guest that a tunnel joins to the peer's. */
struct migtun_hold {
    char bridge[IFNAMSIZ];
    int tunnelled;  /* an entry covers it: we hold a tunnel */
    int fresh;      /* our hold is new with this migration */
    int homecoming; /* the other role was held: the guest comes back */
};

struct migtun {
    enum migtun_role role;
    struct tunnel_mgr *m;
    char peer[INET_ADDRSTRLEN];
    char mine[TUNNEL_HOLDER_MAX], other[TUNNEL_HOLDER_MAX];
    struct guestnet gn;
    unsigned n;
    struct migtun_hold h[GUESTNET_MAX_NICS];
};

const char *migtun_holder_uuid(const char *holder, const char *kind)
{
    size_t n = strlen(kind);

    return strncmp(holder, kind, n) ? NULL : holder + n;
}

/* A UUID that makes a sane holder token (tunnel.c refuses others anyway). */
static int uuid_ok(const char *u)
{
    return strlen(u) == 36 && strspn(u, "0123456789abcdefABCDEF-") == 36;
}

static int is_loopback(const char *peer)
{
    return !strncmp(peer, "127.", 4);
}

/*
 * Whether our role and the other role already hold the tunnel to the peer
 * on h->bridge: one read of the state file for both.
 */
static void held_before(struct migtun *mt, struct migtun_hold *h)
{
    struct tunnel_state st;
    struct in_addr a;
    char why[128];
    size_t i, k;
    int mine = 0;

    h->homecoming = 0;
    if (inet_pton(AF_INET, mt->peer, &a) != 1 ||
        tunnel_list(mt->m, &st, why, sizeof(why)) < 0) {
        h->fresh = 1;
        return;
    }
    for (i = 0; i < st.n; i++) {
        const struct tunnel *t = &st.v[i];

        if (t->peer.s_addr != a.s_addr || strcmp(t->bridge, h->bridge))
            continue;
        for (k = 0; k < t->nholders; k++) {
            mine |= !strcmp(t->holders[k], mt->mine);
            h->homecoming |= !strcmp(t->holders[k], mt->other);
        }
    }
    tunnel_state_clear(&st);
    h->fresh = !mine;
}

/* The distinct bridges of the guest's vifs. */
static void collect_bridges(struct migtun *mt)
{
    unsigned i, k;

    for (i = 0; i < mt->gn.n; i++) {
        for (k = 0; k < mt->n; k++)
            if (!strcmp(mt->h[k].bridge, mt->gn.nic[i].bridge)) break;
        if (k == mt->n)
            memcpy(mt->h[mt->n++].bridge, mt->gn.nic[i].bridge, IFNAMSIZ);
    }
}

static void release(struct migtun *mt, struct migtun_hold *h,
                    const char *holder)
{
    char why[256];

    if (tunnel_release(mt->m, mt->peer, h->bridge, holder, why, sizeof(why)) <
            0 &&
        errno != ENOENT)
        log_warnx("tunnel to %s on %s: %s", mt->peer, h->bridge, why);
}

static void drop_fresh(struct migtun *mt)
{
    unsigned i;

    for (i = 0; i < mt->n; i++)
        if (mt->h[i].tunnelled && mt->h[i].fresh)
            release(mt, &mt->h[i], mt->mine);
}

static void migtun_free(struct migtun *mt)
{
    if (!mt) return;
    tunnel_mgr_free(mt->m);
    free(mt);
}

/* Holds every tunnel the guest needs; 1 when at least one. */
static int hold_all(struct migtun *mt, const struct tunnel_cfg *cfgs,
                    size_t ncfgs, char *err, size_t errlen)
{
    const struct tunnel_cfg *cfg;
    char reason[256];
    unsigned i;
    int any = 0;

    for (i = 0; i < mt->n; i++) {
        struct migtun_hold *h = &mt->h[i];

        if (!(cfg = tunnel_cfg_find(cfgs, ncfgs, mt->peer, h->bridge)))
            continue;
        held_before(mt, h);
        if (tunnel_acquire(mt->m, mt->peer, h->bridge, cfg, mt->mine, reason,
                           sizeof(reason)) < 0) {
            snprintf(err, errlen, "%s tunnel to %s on %s: %s",
                     tunnel_kind_name(cfg->kind), mt->peer, h->bridge, reason);
            drop_fresh(mt);
            return -1;
        }
        h->tunnelled = 1;
        any = 1;
        log_info("%s tunnel to %s on %s held for %s%s",
                 tunnel_kind_name(cfg->kind), mt->peer, h->bridge, mt->mine,
                 !h->homecoming              ? ""
                 : mt->role == MIGTUN_TARGET ? " (the guest comes home)"
                                             : " (the guest goes home)");
    }
    return any;
}

static struct migtun *migtun_new(const struct relocd_conf *conf,
                                 enum migtun_role role, const char *peer,
                                 const struct guestnet *gn)
{
    struct migtun *mt = calloc(1, sizeof(*mt));
    char path[600];

    if (!mt) return NULL;
    tunconf_state_path(conf, path, sizeof(path));
    if (!(mt->m = tunnel_mgr_new(path, &tunnel_sys_ops))) {
        free(mt);
        return NULL;
    }
    mt->role = role;
    snprintf(mt->peer, sizeof(mt->peer), "%s", peer);
    snprintf(mt->mine, sizeof(mt->mine), "%s%s",
             role == MIGTUN_TARGET ? MIGTUN_HERE : MIGTUN_AWAY, gn->uuid);
    snprintf(mt->other, sizeof(mt->other), "%s%s",
             role == MIGTUN_TARGET ? MIGTUN_AWAY : MIGTUN_HERE, gn->uuid);
    mt->gn = *gn;
    collect_bridges(mt);
    return mt;
}

int migtun_prepare(const struct relocd_conf *conf, enum migtun_role role,
                   const char *peer, const struct guestnet *gn,
                   struct migtun **mt_r, char *err, size_t errlen)
{
    struct tunnel_cfg *cfgs;
    struct migtun *mt;
    size_t ncfgs;
    int rc;

    *mt_r = NULL;
    if (!conf->ntunnels || !gn->n || is_loopback(peer)) return 0;
    if (!uuid_ok(gn->uuid)) {
        snprintf(err, errlen, "the guest's configuration has no UUID");
        return -1;
    }
    if (tunconf_parse(conf, &cfgs, &ncfgs, err, errlen) < 0) return -1;
    if (!(mt = migtun_new(conf, role, peer, gn))) {
        free(cfgs);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    rc = hold_all(mt, cfgs, ncfgs, err, errlen);
    free(cfgs);
    if (rc <= 0) {
        migtun_free(mt);
        return rc;
    }
    *mt_r = mt;
    return 0;
}

/*
 * The target: the bridge forgets that the MACs were behind the tunnel,
 * then RARP and gratuitous ARP tell everyone, the source's bridge and its
 * switches included, where they are now; three rounds against losses.
 */
static void announce(const struct migtun *mt)
{
    static const long delay_ms[] = {0, 50, 250};
    char why[256];
    unsigned r, i;

    for (i = 0; i < mt->gn.n; i++) {
        const struct guestnet_nic *nic = &mt->gn.nic[i];

        if (garp_forget(nic->bridge, nic->mac, NULL, why, sizeof(why)) < 0)
            log_warnx("vif %u on %s: %s", i, nic->bridge, why);
    }
    for (r = 0; r < sizeof(delay_ms) / sizeof(delay_ms[0]); r++) {
        clock_sleep_ms(delay_ms[r]);
        for (i = 0; i < mt->gn.n; i++) {
            const struct guestnet_nic *nic = &mt->gn.nic[i];

            if (garp_announce(nic->bridge, nic->mac,
                              nic->has_ip ? &nic->ip : NULL, why,
                              sizeof(why)) < 0 &&
                r == 0)
                log_warnx("announcing vif %u on %s: %s", i, nic->bridge, why);
        }
    }
}

/* The source: its bridge still points the MACs at the old vif ports. */
static void forget(const struct migtun *mt)
{
    char why[256];
    unsigned i;

    for (i = 0; i < mt->gn.n; i++)
        if (garp_forget(mt->gn.nic[i].bridge, mt->gn.nic[i].mac, NULL, why,
                        sizeof(why)) < 0)
            log_warnx("vif %u on %s: %s", i, mt->gn.nic[i].bridge, why);
}

void migtun_finish(struct migtun *mt, int ok)
{
    unsigned i;

    if (!mt) return;
    if (!ok) {
        drop_fresh(mt);
        migtun_free(mt);
        return;
    }
    if (mt->role == MIGTUN_TARGET)
        announce(mt);
    else
        forget(mt);
    for (i = 0; i < mt->n; i++) {
        if (!mt->h[i].tunnelled || !mt->h[i].homecoming) continue;
        release(mt, &mt->h[i], mt->mine);
        release(mt, &mt->h[i], mt->other);
        log_info("tunnel to %s on %s: %s is home, holds dropped", mt->peer,
                 mt->h[i].bridge, mt->gn.uuid);
    }
    migtun_free(mt);
}
