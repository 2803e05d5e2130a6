/*
 * admit.c - the parent's admission of new connections (admit.h).
 */
#include <stdio.h>
#include <string.h>

#include "relocd/admit.h"

/*
 * OpenSSH's drop() (sshd.c): below start nothing is dropped, at full
 * everything; between them the chance rises linearly from rate % to 100 %.
 */
static int admit_early_drop(const struct admit_limits *l, unsigned pending,
                            unsigned rnd)
{
    unsigned p;

    if (pending < l->drop_start || l->drop_start >= l->full) return 0;
    p = (100 - l->drop_rate) * (pending - l->drop_start) /
        (l->full - l->drop_start);
    return rnd < p + l->drop_rate;
}

enum admit_verdict admit_decide(const struct admit_limits *l, unsigned pending,
                                unsigned from_host, int exempt, unsigned rnd)
{
    if (from_host >= l->per_host) return ADMIT_HOST;
    if (exempt) return ADMIT_OK;
    if (pending >= l->full) return ADMIT_FULL;
    if (admit_early_drop(l, pending, rnd)) return ADMIT_DROP;
    return ADMIT_OK;
}

const char *admit_reason(enum admit_verdict v)
{
    switch (v) {
    case ADMIT_FULL:
        return "too many connections are authenticating "
               "(relocd-max-pending)";
    case ADMIT_HOST:
        return "too many connections from this address are authenticating "
               "(relocd-max-pending-per-host)";
    case ADMIT_DROP:
        return "many connections are authenticating; dropped at random "
               "(relocd-pending-drop-start)";
    case ADMIT_PENALTY:
        return "connections from this address keep failing before they "
               "authenticate; refused for a while";
    default:
        return "admitted";
    }
}

static struct admit_log_host *admit_log_host(struct admit_log *al,
                                             const char *ip)
{
    struct admit_log_host *h;
    unsigned i;

    for (i = 0; i < ADMIT_LOG_HOSTS; i++)
        if (!strcmp(al->host[i].ip, ip)) return &al->host[i];
    h = &al->host[al->next];
    al->next = (al->next + 1) % ADMIT_LOG_HOSTS;
    snprintf(h->ip, sizeof(h->ip), "%s", ip);
    h->last_ms = -1;
    return h;
}

int admit_log_note(struct admit_log *al, const char *ip, long long now_ms)
{
    struct admit_log_host *h = admit_log_host(al, ip);

    if (!al->window_ms) al->window_ms = now_ms ? now_ms : 1;
    al->refused++;
    if (al->logged >= ADMIT_LOG_BURST ||
        (h->last_ms >= 0 && now_ms - h->last_ms < ADMIT_LOG_HOST_S * 1000LL))
        return 0;
    h->last_ms = now_ms;
    al->logged++;
    return 1;
}

int admit_log_summary(struct admit_log *al, long long now_ms,
                      unsigned *refused_r, unsigned *secs_r)
{
    int due;

    if (!al->window_ms || now_ms - al->window_ms < ADMIT_LOG_SUMMARY_S * 1000LL)
        return 0;
    due = al->refused > al->logged;
    *refused_r = al->refused;
    *secs_r = (unsigned)((now_ms - al->window_ms) / 1000);
    al->window_ms = 0;
    al->refused = al->logged = 0;
    return due;
}

/*
 * The slot of ip, or one to take over for it: a free or run-down slot
 * first, else the one whose penalty ends soonest (a flood of addresses
 * can only push out the mildest penalties).
 */
static struct admit_penalty_host *penalty_slot(struct admit_penalties *p,
                                               const char *ip, long long now_ms)
{
    struct admit_penalty_host *h, *best = &p->host[0];
    unsigned i;

    for (i = 0; i < ADMIT_PENALTY_HOSTS; i++) {
        h = &p->host[i];
        if (h->until_ms && !strcmp(h->ip, ip)) {
            if (h->until_ms <= now_ms) h->told = 0;
            return h;
        }
        if (h->until_ms <= now_ms) {
            if (best->until_ms > now_ms) best = h;
        } else if (best->until_ms > now_ms && h->until_ms < best->until_ms) {
            best = h;
        }
    }
    snprintf(best->ip, sizeof(best->ip), "%s", ip);
    best->until_ms = 0;
    best->told = 0;
    return best;
}

int admit_penalize(struct admit_penalties *p, const char *ip, long long now_ms)
{
    struct admit_penalty_host *h = penalty_slot(p, ip, now_ms);
    long long from = h->until_ms > now_ms ? h->until_ms : now_ms;

    h->until_ms = from + ADMIT_PENALTY_MS;
    if (h->until_ms > now_ms + ADMIT_PENALTY_MAX_MS)
        h->until_ms = now_ms + ADMIT_PENALTY_MAX_MS;
    if (h->told || h->until_ms - now_ms < ADMIT_PENALTY_MIN_MS) return 0;
    h->told = 1;
    return 1;
}

long long admit_penalty_left(const struct admit_penalties *p, const char *ip,
                             long long now_ms)
{
    unsigned i;

    for (i = 0; i < ADMIT_PENALTY_HOSTS; i++) {
        const struct admit_penalty_host *h = &p->host[i];

        if (!h->until_ms || strcmp(h->ip, ip)) continue;
        return h->until_ms - now_ms >= ADMIT_PENALTY_MIN_MS
                   ? h->until_ms - now_ms
                   : 0;
    }
    return 0;
}

unsigned admit_penalty_dropped(const struct admit_penalties *p,
                               long long now_ms, const char **ips, unsigned cap)
{
    unsigned i, n = 0;

    for (i = 0; i < ADMIT_PENALTY_HOSTS && n < cap; i++)
        if (p->host[i].told && p->host[i].until_ms > now_ms)
            ips[n++] = p->host[i].ip;
    return n;
}
