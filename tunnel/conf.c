/*
 * conf.c - the relocd-tunnel entries of xend-config.sxp given their
 * meaning: the words of one entry (tunnel_cfg_parse, with a sorted keyword
 * table), and the entries of a loaded configuration with FILE:LINE errors
 * (tunconf_parse).  The small word parsers serve the state file too
 * (internal.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf.h"
#include "config/diag.h"
#include "tunnel/conf.h"
#include "tunnel/etherip.h"
#include "tunnel/internal.h"
#include "tunnel/tunnel.h"

static const char *const kind_names[] = {
    [TUNNEL_ETHERIP] = "etherip",
    [TUNNEL_VXLAN] = "vxlan",
    [TUNNEL_GRETAP] = "gretap",
};

const char *tunnel_kind_name(enum tunnel_kind kind)
{
    return (unsigned)kind < 3 ? kind_names[kind] : "?";
}

int tunnel_kind_parse(const char *s, enum tunnel_kind *kind_r)
{
    unsigned k;

    for (k = 0; k < 3; k++)
        if (!strcmp(s, kind_names[k])) {
            *kind_r = (enum tunnel_kind)k;
            return 0;
        }
    errno = EINVAL;
    return -1;
}

/* --- small parsers ------------------------------------------------------ */

int tunnel_parse_ulong(const char *s, unsigned long long max,
                       unsigned long long *v_r)
{
    char *end;

    if (!*s || *s < '0' || *s > '9') return -1;
    errno = 0;
    *v_r = strtoull(s, &end, 10);
    if (errno || *end || *v_r > max) return -1;
    return 0;
}

int tunnel_parse_ip4(const char *s, struct in_addr *a_r)
{
    return inet_pton(AF_INET, s, a_r) == 1 ? 0 : -1;
}

/* A network interface name the kernel would take. */
int tunnel_ifname_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    for (i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] == '/' || s[i] == ':' || s[i] > '~') return 0;
    return 1;
}

/* A holder name: one printable token. */
int tunnel_holder_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n >= TUNNEL_HOLDER_MAX) return 0;
    for (i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~') return 0;
    return 1;
}

/* --- configuration ------------------------------------------------------ */

#define CFG_SEEN_VNI 0x1
#define CFG_SEEN_KEY 0x2
#define CFG_SEEN_PORT 0x4
#define CFG_SEEN_REV 0x8
#define CFG_SEEN_PEER 0x10
#define CFG_SEEN_KIND 0x20
#define CFG_SEEN_FRAG 0x40

struct cfg_parse {
    struct tunnel_cfg *c;
    unsigned seen;
};

static int cfg_peer(struct cfg_parse *p, const char *v)
{
    char ip[INET_ADDRSTRLEN];
    const char *slash = strchr(v, '/');
    unsigned long long plen = 32;
    uint32_t mask;

    p->seen |= CFG_SEEN_PEER;
    if (!strcmp(v, "*") || !strcmp(v, "any")) {
        p->c->peer_plen = 0;
        return 0;
    }
    if (slash && (tunnel_parse_ulong(slash + 1, 32, &plen) < 0 ||
                  (size_t)(slash - v) >= sizeof(ip)))
        return -1;
    snprintf(ip, sizeof(ip), "%.*s", slash ? (int)(slash - v) : (int)sizeof(ip),
             v);
    if (tunnel_parse_ip4(ip, &p->c->peer_net) < 0) return -1;
    mask = plen ? htonl(~0u << (32 - plen)) : 0;
    p->c->peer_net.s_addr &= mask;
    p->c->peer_plen = (unsigned)plen;
    return 0;
}

static int cfg_kind(struct cfg_parse *p, const char *v)
{
    p->seen |= CFG_SEEN_KIND;
    return tunnel_kind_parse(v, &p->c->kind);
}

static int cfg_bridge(struct cfg_parse *p, const char *v)
{
    if (!tunnel_ifname_ok(v)) return -1;
    snprintf(p->c->bridge, sizeof(p->c->bridge), "%s", v);
    return 0;
}

static int cfg_vni(struct cfg_parse *p, const char *v)
{
    unsigned long long n;

    p->seen |= CFG_SEEN_VNI;
    if (tunnel_parse_ulong(v, TUNNEL_VNI_MAX, &n) < 0 || n == 0) return -1;
    p->c->id = (uint32_t)n;
    return 0;
}

static int cfg_key(struct cfg_parse *p, const char *v)
{
    unsigned long long n;

    p->seen |= CFG_SEEN_KEY;
    if (tunnel_parse_ulong(v, UINT32_MAX, &n) < 0) return -1;
    p->c->id = (uint32_t)n;
    return 0;
}

static int cfg_port(struct cfg_parse *p, const char *v)
{
    unsigned long long n;

    p->seen |= CFG_SEEN_PORT;
    if (tunnel_parse_ulong(v, 65535, &n) < 0 || n == 0) return -1;
    p->c->dstport = (uint16_t)n;
    return 0;
}

static int cfg_mtu(struct cfg_parse *p, const char *v)
{
    unsigned long long n;

    if (!strcmp(v, "auto")) {
        p->c->mtu = TUNNEL_MTU_AUTO;
        return 0;
    }
    if (tunnel_parse_ulong(v, TUNNEL_MTU_MAX, &n) < 0 || n < TUNNEL_MTU_MIN)
        return -1;
    p->c->mtu = (unsigned)n;
    return 0;
}

static int cfg_local(struct cfg_parse *p, const char *v)
{
    return tunnel_parse_ip4(v, &p->c->local);
}

static int cfg_on_demand(struct cfg_parse *p, const char *v)
{
    if (!strcmp(v, "yes"))
        p->c->on_demand = 1;
    else if (!strcmp(v, "no"))
        p->c->on_demand = 0;
    else
        return -1;
    return 0;
}

static int cfg_reversed(struct cfg_parse *p, const char *v)
{
    unsigned *f = &p->c->etherip_flags;

    p->seen |= CFG_SEEN_REV;
    *f &= ~(ETHERIP_F_ACCEPT_REV | ETHERIP_F_SEND_REV);
    if (!strcmp(v, "accept"))
        *f |= ETHERIP_F_ACCEPT_REV;
    else if (!strcmp(v, "send"))
        *f |= ETHERIP_F_ACCEPT_REV | ETHERIP_F_SEND_REV;
    else if (strcmp(v, "no"))
        return -1;
    return 0;
}

/* Super-frames leave whole, as outer IP fragments (relocd peers only). */
static int cfg_fragment(struct cfg_parse *p, const char *v)
{
    p->seen |= CFG_SEEN_FRAG;
    if (!strcmp(v, "yes"))
        p->c->etherip_flags |= ETHERIP_F_FRAGMENT;
    else if (!strcmp(v, "no"))
        p->c->etherip_flags &= ~ETHERIP_F_FRAGMENT;
    else
        return -1;
    return 0;
}

struct cfg_keyword {
    const char *name;
    int (*set)(struct cfg_parse *p, const char *v);
    const char *what;
};

/* Sorted by name, for bsearch. */
static const struct cfg_keyword cfg_keywords[] = {
    {"bridge", cfg_bridge, "an interface name"},
    {"etherip-fragment", cfg_fragment, "yes or no"},
    {"etherip-reversed", cfg_reversed, "no, accept or send"},
    {"key", cfg_key, "a number 0..4294967295"},
    {"kind", cfg_kind, "etherip, vxlan or gretap"},
    {"local", cfg_local, "an IPv4 address"},
    {"mtu", cfg_mtu, "auto or a number 68..65535"},
    {"on-demand", cfg_on_demand, "yes or no"},
    {"peer", cfg_peer, "an IPv4 address, ADDRESS/PREFIX or *"},
    {"port", cfg_port, "a UDP port 1..65535"},
    {"vni", cfg_vni, "a number 1..16777215"},
};

static int cfg_keyword_cmp(const void *k, const void *e)
{
    return strcmp(k, ((const struct cfg_keyword *)e)->name);
}

/* Options that only make sense for some kinds, and what each kind needs. */
static int cfg_check(const struct cfg_parse *p, char *err, size_t errlen)
{
    const struct tunnel_cfg *c = p->c;

    if (!(p->seen & CFG_SEEN_PEER)) return diag_errf(err, errlen, "no peer");
    if (!(p->seen & CFG_SEEN_KIND)) return diag_errf(err, errlen, "no kind");
    if (c->kind == TUNNEL_VXLAN && !(p->seen & CFG_SEEN_VNI))
        return diag_errf(err, errlen, "vxlan needs a vni");
    if (c->kind != TUNNEL_VXLAN && (p->seen & (CFG_SEEN_VNI | CFG_SEEN_PORT)))
        return diag_errf(err, errlen, "vni and port are for vxlan");
    if (c->kind != TUNNEL_GRETAP && (p->seen & CFG_SEEN_KEY))
        return diag_errf(err, errlen, "key is for gretap");
    if (c->kind != TUNNEL_ETHERIP && (p->seen & CFG_SEEN_REV))
        return diag_errf(err, errlen, "etherip-reversed is for etherip");
    if (c->kind != TUNNEL_ETHERIP && (p->seen & CFG_SEEN_FRAG))
        return diag_errf(err, errlen, "etherip-fragment is for etherip");
    if (!c->on_demand && (c->peer_plen != 32 || !c->bridge[0]))
        return diag_errf(err, errlen,
                         "(on-demand no) needs one peer address and a bridge");
    return 0;
}

int tunnel_cfg_parse(struct tunnel_cfg *cfg, const char *const *keys,
                     const char *const *vals, size_t n, char *err,
                     size_t errlen)
{
    struct cfg_parse p;
    const struct cfg_keyword *kw;
    size_t i, nkw = sizeof(cfg_keywords) / sizeof(cfg_keywords[0]);

    memset(cfg, 0, sizeof(*cfg));
    p.c = cfg;
    p.seen = 0;
    cfg->dstport = TUNNEL_VXLAN_PORT;
    cfg->on_demand = 1;
    cfg->etherip_flags = ETHERIP_F_ACCEPT_REV;
    for (i = 0; i < n; i++) {
        kw = bsearch(keys[i], cfg_keywords, nkw, sizeof(*kw), cfg_keyword_cmp);
        if (!kw)
            return diag_errf(err, errlen, "unknown tunnel key '%s'", keys[i]);
        if (kw->set(&p, vals[i]) < 0)
            return diag_errf(err, errlen, "%s '%s': expected %s", keys[i],
                             vals[i], kw->what);
    }
    return cfg_check(&p, err, errlen);
}

int tunnel_cfg_match(const struct tunnel_cfg *cfg, const char *peer)
{
    struct in_addr a;
    uint32_t mask;

    if (tunnel_parse_ip4(peer, &a) < 0) return 0;
    mask = cfg->peer_plen ? htonl(~0u << (32 - cfg->peer_plen)) : 0;
    return (a.s_addr & mask) == cfg->peer_net.s_addr;
}

const struct tunnel_cfg *tunnel_cfg_find(const struct tunnel_cfg *cfgs,
                                         size_t n, const char *peer,
                                         const char *bridge)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (tunnel_cfg_match(&cfgs[i], peer) &&
            (!cfgs[i].bridge[0] || !strcmp(cfgs[i].bridge, bridge)))
            return &cfgs[i];
    return NULL;
}

/* --- the configuration's entries ---------------------------------------- */

int tunconf_parse(const struct relocd_conf *conf, struct tunnel_cfg **cfgs_r,
                  size_t *n_r, char *err, size_t errlen)
{
    struct tunnel_cfg *v = NULL;
    char why[256];
    size_t i;

    *cfgs_r = NULL;
    *n_r = 0;
    if (!conf->ntunnels) return 0;
    if (!(v = calloc(conf->ntunnels, sizeof(*v)))) {
        return diag_errnof(err, errlen, ENOMEM, "%s: out of memory",
                           conf->file);
    }
    for (i = 0; i < conf->ntunnels; i++) {
        const struct conf_tunnel *t = &conf->tunnels[i];

        if (tunnel_cfg_parse(&v[i], (const char *const *)t->keys,
                             (const char *const *)t->vals, t->n, why,
                             sizeof(why)) < 0) {
            free(v);
            return diag_errf(err, errlen, "%s:%d: relocd-tunnel: %s",
                             conf->file, t->line, why);
        }
    }
    *cfgs_r = v;
    *n_r = conf->ntunnels;
    return 0;
}

int tunconf_check(const struct relocd_conf *conf, char *err, size_t errlen)
{
    struct tunnel_cfg *cfgs;
    size_t n;

    if (tunconf_parse(conf, &cfgs, &n, err, errlen) < 0) return -1;
    free(cfgs);
    return 0;
}

void tunconf_state_path(const struct relocd_conf *conf, char *path, size_t len)
{
    char dir[512];

    snprintf(dir, sizeof(dir), "%s", conf->control_socket);
    snprintf(path, len, "%s/tunnels", dirname(dir));
}
