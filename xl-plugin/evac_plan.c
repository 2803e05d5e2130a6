/*
 * evac_plan.c - where each guest goes: every guest is pre-flighted against
 * every candidate before anything moves, then placed biggest first on the
 * host with the most free memory left, counting what is already planned
 * there (free memory and each guest's need come from PREFLIGHT_RESULT's
 * free_kb / need_kb, README.xen 3.1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wire/client.h"
#include "wire/msg.h"
#include "wire/tls.h"
#include "xl-plugin/evacuate.h"
#include "xl-plugin/xl-relocate.h"

int evac_add_hosts(struct evac *ev, const char *list)
{
    const char *p = list;
    size_t n;

    while (*(p += strspn(p, " \t,"))) {
        n = strcspn(p, " \t,");
        if (ev->nhosts >= EVAC_MAX_HOSTS || n > CONF_MAX_HOST) {
            fprintf(stderr, "xl-relocate: at most %d hosts of %d characters\n",
                    EVAC_MAX_HOSTS, CONF_MAX_HOST);
            return -1;
        }
        snprintf(ev->hosts[ev->nhosts++].target, CONF_MAX_HOST + 1, "%.*s",
                 (int)n, p);
        p += n;
    }
    return 0;
}

/* The first failed check of a refusal, as the target said it. */
static void refusal(const struct msg_preflight_result *r, char *why, size_t len)
{
    unsigned i;

    snprintf(why, len, "refused (no reason given)");
    for (i = 0; i < r->nchecks; i++)
        if (!r->checks[i].ok) {
            snprintf(why, len, "pre-flight %s: %s", r->checks[i].check,
                     r->checks[i].message);
            return;
        }
}

/* One guest against host h on cl; -1 when the connection failed. */
static int preflight_one(struct evac *ev, unsigned h, struct client *cl,
                         const struct opts *o, struct evac_guest *g)
{
    struct msg_preflight_result res;

    if (client_preflight(cl, g->config, o->live, NULL, &res, g->why[h],
                         EVAC_WHY))
        return -1;
    g->why[h][0] = '\0';
    g->fits[h] = res.ok;
    g->need_kb[h] = res.mem_known ? res.need_kb : g->mem_kb;
    if (res.mem_known) {
        ev->hosts[h].mem_known = 1;
        ev->hosts[h].free_kb = res.free_kb;
    }
    if (!res.ok) refusal(&res, g->why[h], EVAC_WHY);
    return 0;
}

/*
 * One connection per host carries all its PREFLIGHTs (3.2 allows any
 * number before MIGRATE); when one fails (relocd-handshake-timeout ends
 * a slow session), that guest is asked again on a new connection.
 */
static void preflight_host(struct evac *ev, unsigned h, const struct opts *o,
                           const struct relocd_conf *conf)
{
    struct evac_host *host = &ev->hosts[h];
    struct tls_ctx *tls = NULL;
    struct client *cl = NULL;
    unsigned i, attempt;

    for (i = 0; i < ev->nguests && !host->down[0]; i++) {
        for (attempt = 0; attempt < 2; attempt++) {
            if (!cl) {
                tls_ctx_free(tls);
                cl = cli_open_target(conf, o, host->target, &tls, host->down,
                                     sizeof(host->down));
                if (cl) host->down[0] = '\0';
            }
            if (!cl || preflight_one(ev, h, cl, o, &ev->guests[i]) == 0) break;
            client_free(cl);
            cl = NULL;
        }
    }
    client_free(cl);
    tls_ctx_free(tls);
    if (host->down[0])
        fprintf(stderr, "xl-relocate: %s: %s\n", host->target, host->down);
}

void evac_preflight(struct evac *ev, const struct opts *o,
                    const struct relocd_conf *conf)
{
    unsigned h;

    for (h = 0; h < ev->nhosts; h++)
        preflight_host(ev, h, o, conf);
}

/* Free memory left on h once what is planned there has moved. */
static long long room_kb(const struct evac *ev, unsigned h)
{
    const struct evac_host *host = &ev->hosts[h];

    return (long long)host->free_kb - (long long)host->planned_kb;
}

/*
 * The untried host that fits g with the most room left, or -1.  A host
 * that did not tell its free memory (an older relocd) is taken only when
 * no host that did has room; its own pre-flight said yes.
 */
static int best_host(const struct evac *ev, const struct evac_guest *g)
{
    int best = -1, unknown = -1;
    unsigned h;

    for (h = 0; h < ev->nhosts; h++) {
        if (!g->fits[h] || g->tried[h] || ev->hosts[h].down[0]) continue;
        if (!ev->hosts[h].mem_known) {
            if (unknown < 0) unknown = (int)h;
            continue;
        }
        if (room_kb(ev, h) < (long long)g->need_kb[h]) continue;
        if (best < 0 || room_kb(ev, h) > room_kb(ev, (unsigned)best))
            best = (int)h;
    }
    return best >= 0 ? best : unknown;
}

static void assign(struct evac *ev, struct evac_guest *g, int h)
{
    g->host = h;
    g->state = h >= 0 ? EV_WAIT : EV_NOWHERE;
    if (h >= 0) ev->hosts[h].planned_kb += g->need_kb[h];
}

static int by_memory(const void *a, const void *b)
{
    const struct evac_guest *x = a, *y = b;

    if (x->mem_kb != y->mem_kb) return x->mem_kb < y->mem_kb ? 1 : -1;
    return strcmp(x->name, y->name);
}

void evac_place(struct evac *ev)
{
    unsigned i;

    qsort(ev->guests, ev->nguests, sizeof(*ev->guests), by_memory);
    for (i = 0; i < ev->nguests; i++)
        assign(ev, &ev->guests[i], best_host(ev, &ev->guests[i]));
}

int evac_replace(struct evac *ev, struct evac_guest *g)
{
    if (g->host >= 0) {
        g->tried[g->host] = 1;
        ev->hosts[g->host].planned_kb -= g->need_kb[g->host];
    }
    assign(ev, g, best_host(ev, g));
    if (g->host < 0) g->state = EV_FAILED;
    return g->host >= 0;
}

/* Why g cannot go to h, for the plan. */
static void why_not(const struct evac *ev, const struct evac_guest *g,
                    unsigned h, char *why, size_t len)
{
    const struct evac_host *host = &ev->hosts[h];

    if (host->down[0])
        snprintf(why, len, "not reachable: %s", host->down);
    else if (!g->fits[h])
        snprintf(why, len, "%s", g->why[h]);
    else
        snprintf(why, len,
                 "needs %llu MiB; %lld MiB of its %llu MiB free are left "
                 "after the guests planned there",
                 (unsigned long long)g->need_kb[h] / 1024,
                 room_kb(ev, h) / 1024,
                 (unsigned long long)host->free_kb / 1024);
}

unsigned evac_print_plan(const struct evac *ev, FILE *f)
{
    unsigned i, h, nowhere = 0;
    char why[EVAC_WHY + 128];

    fprintf(f, "evacuation plan: %u guest%s onto", ev->nguests,
            ev->nguests == 1 ? "" : "s");
    for (h = 0; h < ev->nhosts; h++)
        fprintf(f, " %s", ev->hosts[h].target);
    fputc('\n', f);
    for (i = 0; i < ev->nguests; i++) {
        const struct evac_guest *g = &ev->guests[i];

        if (g->host >= 0) {
            fprintf(f, "  %-24s %6llu MiB -> %s\n", g->name,
                    (unsigned long long)g->mem_kb / 1024,
                    ev->hosts[g->host].target);
            continue;
        }
        nowhere++;
        fprintf(f, "  %-24s %6llu MiB -> nowhere: no host fits it\n", g->name,
                (unsigned long long)g->mem_kb / 1024);
        for (h = 0; h < ev->nhosts; h++) {
            why_not(ev, g, h, why, sizeof(why));
            fprintf(f, "      %s: %s\n", ev->hosts[h].target, why);
        }
    }
    for (h = 0; h < ev->nhosts; h++)
        if (ev->hosts[h].mem_known)
            fprintf(f, "  %s: %llu MiB free, %llu MiB planned\n",
                    ev->hosts[h].target,
                    (unsigned long long)ev->hosts[h].free_kb / 1024,
                    (unsigned long long)ev->hosts[h].planned_kb / 1024);
    return nowhere;
}
