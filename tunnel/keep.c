/*
 * keep.c - the daemon's upkeep of tunnels: at start-up and then every
 * TUNKEEP_TICK_S (keep.h).
 *
 * Holders (tunnel.h) are named by role and domain UUID (mig.c):
 * "here:UUID" while a guest that came over a tunnel runs on this host,
 * "away:UUID" for a guest this host sent over it, "static" for (on-demand
 * no) entries.  Only "here:" holders can be checked locally, so only they
 * are pruned when their domain is gone.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "config/conf.h"
#include "wire/log.h"
#include "tunnel/mig.h"
#include "tunnel/conf.h"
#include "tunnel/keep.h"
#include "tunnel/manager.h"
#include "tunnel/state.h"
#include "tunnel/tunnel.h"

/* What tunnel_prune() passes holder_alive(): a function in a struct. */
struct keep_guests {
    tunkeep_guest_exists_fn *exists;
};

/* tunnel_prune()'s question: may this holder stay? */
static int holder_alive(const char *holder, void *arg)
{
    const struct keep_guests *g = arg;
    const char *uuid = migtun_holder_uuid(holder, MIGTUN_HERE);

    /* Unknown (Xen cannot be asked) keeps it, as does any other role. */
    return !uuid || g->exists(uuid) != 0;
}

static struct tunnel_mgr *mgr_open(const struct relocd_conf *conf)
{
    char path[600];
    struct tunnel_mgr *m;

    tunconf_state_path(conf, path, sizeof(path));
    if (!(m = tunnel_mgr_new(path, &tunnel_sys_ops)))
        log_warnx("tunnels: out of memory");
    return m;
}

/* Each kind once: a kernel without it says so in its own words. */
static void probe_kinds(struct tunnel_mgr *m, const struct tunnel_cfg *cfgs,
                        size_t n)
{
    unsigned done = 0;
    char why[256];
    size_t i;

    for (i = 0; i < n; i++) {
        unsigned bit = 1u << cfgs[i].kind;

        if (done & bit) continue;
        done |= bit;
        if (tunnel_probe(m, cfgs[i].kind, why, sizeof(why)) < 0)
            log_warnx("tunnels: this host cannot make %s tunnels: %s",
                      tunnel_kind_name(cfgs[i].kind), why);
    }
}

static void upkeep(struct tunnel_mgr *m, int quiet,
                   tunkeep_guest_exists_fn *guest_exists)
{
    struct keep_guests g = {guest_exists};
    unsigned repaired = 0;
    char why[256];

    if (tunnel_restore_state(m, &repaired, why, sizeof(why)) < 0)
        log_warnx("tunnels: %s", why);
    else if (repaired || !quiet)
        log_info("tunnels: %u re-created", repaired);
    if (tunnel_prune(m, holder_alive, &g, why, sizeof(why)) < 0)
        log_warnx("tunnels: %s", why);
}

static void bring_up_static(struct tunnel_mgr *m, const struct tunnel_cfg *cfgs,
                            size_t n)
{
    char peer[INET_ADDRSTRLEN], why[256];
    size_t i;

    for (i = 0; i < n; i++) {
        if (cfgs[i].on_demand) continue;
        inet_ntop(AF_INET, &cfgs[i].peer_net, peer, sizeof(peer));
        if (tunnel_acquire(m, peer, cfgs[i].bridge, &cfgs[i],
                           TUNNEL_HOLDER_STATIC, why, sizeof(why)) < 0)
            log_warnx("tunnels: %s tunnel to %s on %s: %s",
                      tunnel_kind_name(cfgs[i].kind), peer, cfgs[i].bridge,
                      why);
    }
}

void tunkeep_start(const struct relocd_conf *conf,
                   tunkeep_guest_exists_fn *guest_exists)
{
    struct tunnel_cfg *cfgs;
    struct tunnel_mgr *m;
    char err[512], path[600];
    size_t n;

    /* No entries and nothing left from an earlier configuration. */
    tunconf_state_path(conf, path, sizeof(path));
    if (!conf->ntunnels && access(path, F_OK) < 0) return;
    if (tunconf_parse(conf, &cfgs, &n, err, sizeof(err)) < 0) {
        log_warnx("%s", err);
        return;
    }
    if (!(m = mgr_open(conf))) {
        free(cfgs);
        return;
    }
    probe_kinds(m, cfgs, n);
    upkeep(m, 1, guest_exists);
    bring_up_static(m, cfgs, n);
    tunnel_mgr_free(m);
    free(cfgs);
}

void tunkeep_tick(const struct relocd_conf *conf,
                  tunkeep_guest_exists_fn *guest_exists)
{
    struct tunnel_mgr *m;
    char path[600];

    /* Nothing to keep up before the first tunnel was ever made. */
    tunconf_state_path(conf, path, sizeof(path));
    if (access(path, F_OK) < 0 || !(m = mgr_open(conf))) return;
    upkeep(m, 1, guest_exists);
    tunnel_mgr_free(m);
}

int tunkeep_list(const struct relocd_conf *conf, FILE *f, char *err,
                 size_t errlen)
{
    char peer[INET_ADDRSTRLEN], why[256];
    struct tunnel_state st;
    struct tunnel_mgr *m = mgr_open(conf);
    size_t i, k;

    if (!m || tunnel_list(m, &st, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "tunnels: %s", m ? why : "out of memory");
        tunnel_mgr_free(m);
        return -1;
    }
    for (i = 0; i < st.n; i++) {
        const struct tunnel *t = &st.v[i];

        inet_ntop(AF_INET, &t->peer, peer, sizeof(peer));
        fprintf(f, "%s %s peer %s bridge %s id %u mtu %u held by", t->ifname,
                tunnel_kind_name(t->kind), peer, t->bridge, t->id, t->mtu);
        for (k = 0; k < t->nholders; k++)
            fprintf(f, " %s", t->holders[k]);
        fprintf(f, "\n");
    }
    tunnel_state_clear(&st);
    tunnel_mgr_free(m);
    return 0;
}

int tunkeep_release(const struct relocd_conf *conf, const char *holder,
                    char *err, size_t errlen)
{
    struct tunnel_mgr *m = mgr_open(conf);
    char why[256];
    int rc;

    if (!m) {
        snprintf(err, errlen, "tunnels: out of memory");
        return -1;
    }
    rc = tunnel_release_holder(m, holder, why, sizeof(why));
    if (rc < 0) snprintf(err, errlen, "tunnels: %s", why);
    tunnel_mgr_free(m);
    return rc;
}
