/*
 * manager.c - the tunnel manager: relocd-tunnel configuration entries, the
 * state file, and reference counting by holder per peer and bridge.
 *
 * Every operation takes an exclusive flock on STATE.lock, reads STATE,
 * changes it and writes it back (new file, fsync, rename) before it lets
 * go: the file is the only truth, so a restarted relocd -- or a worker
 * process -- sees exactly what its predecessor left.  Devices and
 * processes are touched only through struct tunnel_ops.
 *
 * State file, version 1 (one tunnel line, then its holder lines):
 *   relocd-tunnels 1
 *   tunnel IFNAME KIND PEER LOCAL BRIDGE ID PORT MTU EFLAGS PID PSTART
 *   holder IFNAME NAME
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
#include "tunnel/etherip.h"
#include "tunnel/tunnel.h"
#include "wire/fdio.h"

#define STATE_MAX_BYTES (4 << 20)
#define STATE_MAX_TUNNELS 1024
#define STATE_MAX_HOLDERS 4096
#define STATE_VERSION 1
#define MTU_MIN 68
#define MTU_MAX 65535
#define MTU_FLOOR 1500 /* a guest's vif may not be on the bridge yet */

struct tunnel_mgr {
    char *path, *lock_path;
    const struct tunnel_ops *ops;
    int lock_fd;
};

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

static int parse_ulong(const char *s, unsigned long long max,
                       unsigned long long *v_r)
{
    char *end;

    if (!*s || *s < '0' || *s > '9') return -1;
    errno = 0;
    *v_r = strtoull(s, &end, 10);
    if (errno || *end || *v_r > max) return -1;
    return 0;
}

static int parse_ip4(const char *s, struct in_addr *a_r)
{
    return inet_pton(AF_INET, s, a_r) == 1 ? 0 : -1;
}

/* A network interface name the kernel would take. */
static int ifname_ok(const char *s)
{
    size_t i, n = strlen(s);

    if (n == 0 || n >= IFNAMSIZ || !strcmp(s, ".") || !strcmp(s, ".."))
        return 0;
    for (i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] == '/' || s[i] == ':' || s[i] > '~') return 0;
    return 1;
}

/* A holder name: one printable token. */
static int holder_ok(const char *s)
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
    if (slash && (parse_ulong(slash + 1, 32, &plen) < 0 ||
                  (size_t)(slash - v) >= sizeof(ip)))
        return -1;
    snprintf(ip, sizeof(ip), "%.*s", slash ? (int)(slash - v) : (int)sizeof(ip),
             v);
    if (parse_ip4(ip, &p->c->peer_net) < 0) return -1;
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
    if (!ifname_ok(v)) return -1;
    snprintf(p->c->bridge, sizeof(p->c->bridge), "%s", v);
    return 0;
}

static int cfg_vni(struct cfg_parse *p, const char *v)
{
    unsigned long long n;

    p->seen |= CFG_SEEN_VNI;
    if (parse_ulong(v, TUNNEL_VNI_MAX, &n) < 0 || n == 0) return -1;
    p->c->id = (uint32_t)n;
    return 0;
}

static int cfg_key(struct cfg_parse *p, const char *v)
{
    unsigned long long n;

    p->seen |= CFG_SEEN_KEY;
    if (parse_ulong(v, UINT32_MAX, &n) < 0) return -1;
    p->c->id = (uint32_t)n;
    return 0;
}

static int cfg_port(struct cfg_parse *p, const char *v)
{
    unsigned long long n;

    p->seen |= CFG_SEEN_PORT;
    if (parse_ulong(v, 65535, &n) < 0 || n == 0) return -1;
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
    if (parse_ulong(v, MTU_MAX, &n) < 0 || n < MTU_MIN) return -1;
    p->c->mtu = (unsigned)n;
    return 0;
}

static int cfg_local(struct cfg_parse *p, const char *v)
{
    return parse_ip4(v, &p->c->local);
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
static int cfg_check(const struct cfg_parse *p, char *why, size_t whylen)
{
    const struct tunnel_cfg *c = p->c;

    if (!(p->seen & CFG_SEEN_PEER)) return diag_errf(why, whylen, "no peer");
    if (!(p->seen & CFG_SEEN_KIND)) return diag_errf(why, whylen, "no kind");
    if (c->kind == TUNNEL_VXLAN && !(p->seen & CFG_SEEN_VNI))
        return diag_errf(why, whylen, "vxlan needs a vni");
    if (c->kind != TUNNEL_VXLAN && (p->seen & (CFG_SEEN_VNI | CFG_SEEN_PORT)))
        return diag_errf(why, whylen, "vni and port are for vxlan");
    if (c->kind != TUNNEL_GRETAP && (p->seen & CFG_SEEN_KEY))
        return diag_errf(why, whylen, "key is for gretap");
    if (c->kind != TUNNEL_ETHERIP && (p->seen & CFG_SEEN_REV))
        return diag_errf(why, whylen, "etherip-reversed is for etherip");
    if (c->kind != TUNNEL_ETHERIP && (p->seen & CFG_SEEN_FRAG))
        return diag_errf(why, whylen, "etherip-fragment is for etherip");
    if (!c->on_demand && (c->peer_plen != 32 || !c->bridge[0]))
        return diag_errf(why, whylen,
                         "(on-demand no) needs one peer address and a bridge");
    return 0;
}

int tunnel_cfg_parse(struct tunnel_cfg *cfg, const char *const *keys,
                     const char *const *vals, size_t n, char *why,
                     size_t whylen)
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
            return diag_errf(why, whylen, "unknown tunnel key '%s'", keys[i]);
        if (kw->set(&p, vals[i]) < 0)
            return diag_errf(why, whylen, "%s '%s': expected %s", keys[i],
                             vals[i], kw->what);
    }
    return cfg_check(&p, why, whylen);
}

int tunnel_cfg_match(const struct tunnel_cfg *cfg, const char *peer)
{
    struct in_addr a;
    uint32_t mask;

    if (parse_ip4(peer, &a) < 0) return 0;
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

/* --- holders ------------------------------------------------------------ */

static ssize_t holder_find(const struct tunnel *t, const char *holder)
{
    size_t i;

    for (i = 0; i < t->nholders; i++)
        if (!strcmp(t->holders[i], holder)) return (ssize_t)i;
    return -1;
}

/* Adds holder unless it is there.  Returns 0, or -1 (ENOMEM, ENOSPC). */
static int holder_add(struct tunnel *t, const char *holder)
{
    char(*nh)[TUNNEL_HOLDER_MAX];

    if (holder_find(t, holder) >= 0) return 0;
    if (t->nholders >= STATE_MAX_HOLDERS) {
        errno = ENOSPC;
        return -1;
    }
    nh = reallocarray(t->holders, t->nholders + 1, sizeof(*nh));
    if (!nh) return -1;
    t->holders = nh;
    snprintf(t->holders[t->nholders++], TUNNEL_HOLDER_MAX, "%s", holder);
    return 0;
}

static void holder_del_at(struct tunnel *t, size_t i)
{
    memmove(&t->holders[i], &t->holders[i + 1],
            (t->nholders - i - 1) * sizeof(t->holders[0]));
    t->nholders--;
}

static int holder_del(struct tunnel *t, const char *holder)
{
    ssize_t i = holder_find(t, holder);

    if (i < 0) return -1;
    holder_del_at(t, (size_t)i);
    return 0;
}

/* --- the state file: parsing -------------------------------------------- */

static void tunnel_clear(struct tunnel *t)
{
    free(t->holders);
    memset(t, 0, sizeof(*t));
}

void tunnel_state_clear(struct tunnel_state *st)
{
    size_t i;

    for (i = 0; i < st->n; i++)
        tunnel_clear(&st->v[i]);
    free(st->v);
    st->v = NULL;
    st->n = 0;
}

static struct tunnel *state_by_ifname(struct tunnel_state *st,
                                      const char *ifname)
{
    size_t i;

    for (i = 0; i < st->n; i++)
        if (!strcmp(st->v[i].ifname, ifname)) return &st->v[i];
    return NULL;
}

/* Appends a copy of t (holders moved).  Returns 0, or -1 (ENOMEM). */
static int state_append(struct tunnel_state *st, struct tunnel *t)
{
    struct tunnel *nv;

    if (st->n >= STATE_MAX_TUNNELS) {
        errno = ENOSPC;
        return -1;
    }
    nv = reallocarray(st->v, st->n + 1, sizeof(*nv));
    if (!nv) return -1;
    st->v = nv;
    st->v[st->n++] = *t;
    memset(t, 0, sizeof(*t));
    return 0;
}

/* The numbers of a tunnel line, after its names and addresses. */
static int state_nums(struct tunnel *t, char **f)
{
    unsigned long long v[6];
    static const unsigned long long max[6] = {UINT32_MAX, 65535,   MTU_MAX,
                                              0xff,       INT_MAX, ULLONG_MAX};
    int i;

    for (i = 0; i < 6; i++)
        if (parse_ulong(f[i], max[i], &v[i]) < 0) return -1;
    if (v[2] < MTU_MIN) return -1;
    if (t->kind == TUNNEL_VXLAN && (v[0] == 0 || v[0] > TUNNEL_VNI_MAX))
        return -1;
    t->id = (uint32_t)v[0];
    t->dstport = (uint16_t)v[1];
    t->mtu = (unsigned)v[2];
    t->etherip_flags = (unsigned)v[3];
    t->pid = (pid_t)v[4];
    t->pid_start = v[5];
    return 0;
}

/* "tunnel IFNAME KIND PEER LOCAL BRIDGE ID PORT MTU EFLAGS PID PSTART" */
static int state_tunnel(struct tunnel_state *st, char **f, int nf)
{
    struct tunnel t;

    memset(&t, 0, sizeof(t));
    if (nf != 12 || !ifname_ok(f[1]) || !ifname_ok(f[5])) return -1;
    if (tunnel_kind_parse(f[2], &t.kind) < 0 || parse_ip4(f[3], &t.peer) < 0 ||
        parse_ip4(f[4], &t.local) < 0 || state_nums(&t, f + 6) < 0)
        return -1;
    if (state_by_ifname(st, f[1])) return -1;
    snprintf(t.ifname, sizeof(t.ifname), "%s", f[1]);
    snprintf(t.bridge, sizeof(t.bridge), "%s", f[5]);
    return state_append(st, &t);
}

/* "holder IFNAME NAME", after its tunnel's line. */
static int state_holder(struct tunnel_state *st, char **f, int nf)
{
    struct tunnel *t;

    if (nf != 3 || !holder_ok(f[2])) return -1;
    if (!(t = state_by_ifname(st, f[1])) || holder_find(t, f[2]) >= 0)
        return -1;
    return holder_add(t, f[2]);
}

/* Splits a line into at most max fields; returns their number. */
static int split(char *line, char **f, int max)
{
    char *save = NULL, *tok;
    int n = 0;

    for (tok = strtok_r(line, " \t", &save); tok;
         tok = strtok_r(NULL, " \t", &save)) {
        if (n == max) return max + 1;
        f[n++] = tok;
    }
    return n;
}

static int state_line(struct tunnel_state *st, char *line, int *version)
{
    char *f[13];
    int nf = split(line, f, 12);

    if (nf == 0 || f[0][0] == '#') return 0;
    if (!*version) {
        if (nf != 2 || strcmp(f[0], "relocd-tunnels") || strcmp(f[1], "1"))
            return -1;
        *version = STATE_VERSION;
        return 0;
    }
    if (!strcmp(f[0], "tunnel")) return state_tunnel(st, f, nf);
    if (!strcmp(f[0], "holder")) return state_holder(st, f, nf);
    return -1;
}

int tunnel_state_parse(const char *text, size_t len, struct tunnel_state *st,
                       char *why, size_t whylen)
{
    char *copy, *line, *next;
    int version = 0, lineno = 1;

    memset(st, 0, sizeof(*st));
    if (len > STATE_MAX_BYTES || memchr(text, '\0', len))
        return diag_errf(why, whylen, "state file too big or binary");
    if (!(copy = strndup(text, len))) return -1;
    for (line = copy; line; line = next, lineno++) {
        if ((next = strchr(line, '\n'))) *next++ = '\0';
        if (state_line(st, line, &version) < 0) {
            free(copy);
            tunnel_state_clear(st);
            return diag_errf(why, whylen, "state file line %d: bad %s", lineno,
                             version ? "entry" : "header");
        }
    }
    free(copy);
    if (!version && len) {
        tunnel_state_clear(st);
        return diag_errf(why, whylen, "state file has no header");
    }
    return 0;
}

/* --- the state file: formatting ----------------------------------------- */

static int format_tunnel(FILE *f, const struct tunnel *t)
{
    char peer[INET_ADDRSTRLEN], local[INET_ADDRSTRLEN];
    size_t i;

    inet_ntop(AF_INET, &t->peer, peer, sizeof(peer));
    inet_ntop(AF_INET, &t->local, local, sizeof(local));
    fprintf(f, "tunnel %s %s %s %s %s %u %u %u %u %ld %llu\n", t->ifname,
            tunnel_kind_name(t->kind), peer, local, t->bridge, t->id,
            t->dstport, t->mtu, t->etherip_flags, (long)t->pid, t->pid_start);
    for (i = 0; i < t->nholders; i++)
        fprintf(f, "holder %s %s\n", t->ifname, t->holders[i]);
    return ferror(f) ? -1 : 0;
}

int tunnel_state_format(const struct tunnel_state *st, char **text_r,
                        size_t *len_r)
{
    FILE *f = open_memstream(text_r, len_r);
    size_t i;
    int rc = 0;

    if (!f) return -1;
    fprintf(f,
            "# relocd tunnels: written by relocd, do not edit\n"
            "relocd-tunnels %d\n",
            STATE_VERSION);
    for (i = 0; i < st->n && rc == 0; i++)
        rc = format_tunnel(f, &st->v[i]);
    if (fclose(f) != 0 || rc < 0) {
        free(*text_r);
        *text_r = NULL;
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/* --- the state file on disk --------------------------------------------- */

static int state_load(struct tunnel_mgr *m, struct tunnel_state *st, char *why,
                      size_t whylen)
{
    char *text;
    size_t len;
    int fd, rc;

    memset(st, 0, sizeof(*st));
    fd = open(m->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return 0;
    if (fd < 0 || fdio_read_file(fd, STATE_MAX_BYTES, &text, &len) < 0) {
        rc = errno;
        if (fd >= 0) close(fd);
        return diag_errnof(why, whylen, rc, "%s: %s", m->path, strerror(rc));
    }
    close(fd);
    rc = tunnel_state_parse(text, len, st, why, whylen);
    free(text);
    return rc;
}

static int state_save(struct tunnel_mgr *m, const struct tunnel_state *st,
                      char *why, size_t whylen)
{
    char *text = NULL, tmp[PATH_MAX];
    size_t len;
    int fd = -1, rc = -1, err;

    if (snprintf(tmp, sizeof(tmp), "%s.new", m->path) >= (int)sizeof(tmp))
        return diag_errnof(why, whylen, ENAMETOOLONG, "%s: name too long",
                           m->path);
    if (tunnel_state_format(st, &text, &len) < 0) goto out;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || fdio_write_all(fd, text, len) < 0 || fsync(fd) < 0) goto out;
    if (close(fd) < 0) {
        fd = -1;
        goto out;
    }
    fd = -1;
    rc = rename(tmp, m->path);
out:
    err = errno;
    if (fd >= 0) close(fd);
    free(text);
    if (rc < 0) {
        unlink(tmp);
        return diag_errnof(why, whylen, err, "%s: %s", m->path, strerror(err));
    }
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
static int mgr_begin(struct tunnel_mgr *m, struct tunnel_state *st, char *why,
                     size_t whylen)
{
    char dir[PATH_MAX], *slash;
    int err;

    snprintf(dir, sizeof(dir), "%s", m->path);
    if ((slash = strrchr(dir, '/')) && slash != dir) {
        *slash = '\0';
        mkdir(dir, 0755); /* /run/relocd may not exist yet */
    }
    m->lock_fd = open(m->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (m->lock_fd < 0 || flock(m->lock_fd, LOCK_EX) < 0) {
        err = errno;
        if (m->lock_fd >= 0) close(m->lock_fd);
        m->lock_fd = -1;
        return diag_errnof(why, whylen, err, "%s: %s", m->lock_path,
                           strerror(err));
    }
    if (state_load(m, st, why, whylen) < 0) {
        err = errno;
        close(m->lock_fd);
        m->lock_fd = -1;
        errno = err;
        return -1;
    }
    return 0;
}

/* Writes the state back when save and rc == 0, then unlocks. */
static int mgr_end(struct tunnel_mgr *m, struct tunnel_state *st, int rc,
                   int save, char *why, size_t whylen)
{
    int err = errno;

    /* After a failure, why keeps the failure's reason. */
    if (save && state_save(m, st, rc < 0 ? NULL : why, whylen) < 0 && rc == 0) {
        rc = -1;
        err = errno;
    }
    tunnel_state_clear(st);
    close(m->lock_fd);
    m->lock_fd = -1;
    errno = err;
    return rc;
}

int tunnel_probe(struct tunnel_mgr *m, enum tunnel_kind kind, char *why,
                 size_t whylen)
{
    return m->ops->probe(kind, why, whylen);
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
                      const char *bridge, const char *holder, char *why,
                      size_t whylen)
{
    if (parse_ip4(peer, peer_r) < 0)
        return diag_errf(why, whylen, "peer '%s' is not an IPv4 address", peer);
    if (!ifname_ok(bridge))
        return diag_errf(why, whylen, "bad bridge name '%s'", bridge);
    if (holder && !holder_ok(holder))
        return diag_errf(why, whylen, "bad holder name '%s'", holder);
    return 0;
}

/* The MTU the tunnel port needs: never below a port of its bridge. */
static int mtu_choose(struct tunnel_mgr *m, const struct tunnel_cfg *cfg,
                      const char *bridge, const char *self, unsigned *mtu_r,
                      char *why, size_t whylen)
{
    unsigned need = 0;

    if (m->ops->port_mtu(bridge, self, &need, why, whylen) < 0) return -1;
    if (need < MTU_FLOOR) need = MTU_FLOOR;
    if (cfg->mtu == TUNNEL_MTU_AUTO) {
        *mtu_r = need;
        return 0;
    }
    if (cfg->mtu < need)
        return diag_errf(why, whylen,
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
                    struct tunnel *t, const struct tunnel_cfg *cfg, char *why,
                    size_t whylen)
{
    const struct tunnel *o;

    t->kind = cfg->kind;
    t->id = cfg->id;
    t->dstport = t->kind == TUNNEL_VXLAN ? cfg->dstport : 0;
    t->etherip_flags = t->kind == TUNNEL_ETHERIP ? cfg->etherip_flags : 0;
    t->local = cfg->local;
    if (!t->local.s_addr && m->ops->source(t->peer, &t->local, why, whylen) < 0)
        return -1;
    if ((o = state_clash(st, t)))
        return diag_errnof(why, whylen, EEXIST,
                           "%s to %s on %s is a %s tunnel already; one %s per "
                           "%s",
                           o->ifname, inet_ntoa(o->peer), o->bridge,
                           tunnel_kind_name(o->kind), tunnel_kind_name(t->kind),
                           t->kind == TUNNEL_VXLAN ? "VNI and port"
                                                   : "peer (and key)");
    name_make(st, t);
    return mtu_choose(m, cfg, t->bridge, NULL, &t->mtu, why, whylen);
}

static int acq_new(struct tunnel_mgr *m, struct tunnel_state *st,
                   struct in_addr peer, const char *bridge,
                   const struct tunnel_cfg *cfg, const char *holder, char *why,
                   size_t whylen)
{
    struct tunnel t;

    memset(&t, 0, sizeof(t));
    t.peer = peer;
    snprintf(t.bridge, sizeof(t.bridge), "%s", bridge);
    if (!cfg->on_demand && strcmp(holder, TUNNEL_HOLDER_STATIC))
        return diag_errnof(why, whylen, EPERM,
                           "no tunnel to %s on %s, and (on-demand no)",
                           inet_ntoa(peer), bridge);
    if (acq_fill(m, st, &t, cfg, why, whylen) < 0) return -1;
    if (m->ops->create(&t, why, whylen) < 0) return -1;
    if (holder_add(&t, holder) < 0 || state_append(st, &t) < 0) {
        m->ops->destroy(&t, NULL, 0);
        tunnel_clear(&t);
        return diag_errnof(why, whylen, ENOMEM, "out of memory");
    }
    return 0;
}

/* Destroys what is left of t and creates it again. */
static int recreate(struct tunnel_mgr *m, struct tunnel *t, char *why,
                    size_t whylen)
{
    m->ops->destroy(t, NULL, 0);
    t->pid = 0;
    t->pid_start = 0;
    return m->ops->create(t, why, whylen);
}

static int acq_existing(struct tunnel_mgr *m, struct tunnel *t,
                        const struct tunnel_cfg *cfg, const char *holder,
                        char *why, size_t whylen)
{
    unsigned mtu;

    if (!cfg_same(t, cfg))
        return diag_errnof(
            why, whylen, EEXIST,
            "%s to %s on %s is a %s tunnel (id %u) that the "
            "configuration no longer describes; release it first",
            t->ifname, inet_ntoa(t->peer), t->bridge, tunnel_kind_name(t->kind),
            t->id);
    if (m->ops->check(t) != 1 && recreate(m, t, why, whylen) < 0) return -1;
    if (mtu_choose(m, cfg, t->bridge, t->ifname, &mtu, why, whylen) < 0)
        return -1;
    if (mtu > t->mtu) {
        if (m->ops->set_mtu(t, mtu, why, whylen) < 0) return -1;
        t->mtu = mtu;
    }
    if (holder_add(t, holder) < 0)
        return diag_errnof(why, whylen, errno, "%s: too many holders",
                           t->ifname);
    return 0;
}

int tunnel_acquire(struct tunnel_mgr *m, const char *peer, const char *bridge,
                   const struct tunnel_cfg *cfg, const char *holder, char *why,
                   size_t whylen)
{
    struct tunnel_state st;
    struct in_addr pa;
    struct tunnel *t;
    int rc;

    if (args_check(peer, &pa, bridge, holder, why, whylen) < 0) return -1;
    if (mgr_begin(m, &st, why, whylen) < 0) return -1;
    t = state_find(&st, pa, bridge);
    if (t)
        rc = acq_existing(m, t, cfg, holder, why, whylen);
    else
        rc = acq_new(m, &st, pa, bridge, cfg, holder, why, whylen);
    /* The state is saved even on failure: a repair may have changed it. */
    return mgr_end(m, &st, rc, 1, why, whylen);
}

/* Removes st->v[i] when nobody holds it any more. */
static int drop_if_unheld(struct tunnel_mgr *m, struct tunnel_state *st,
                          size_t i, char *why, size_t whylen)
{
    if (st->v[i].nholders) return 0;
    if (m->ops->destroy(&st->v[i], why, whylen) < 0) return -1;
    state_remove(st, i);
    return 0;
}

int tunnel_release(struct tunnel_mgr *m, const char *peer, const char *bridge,
                   const char *holder, char *why, size_t whylen)
{
    struct tunnel_state st;
    struct in_addr pa;
    struct tunnel *t;
    int rc;

    if (args_check(peer, &pa, bridge, holder, why, whylen) < 0) return -1;
    if (mgr_begin(m, &st, why, whylen) < 0) return -1;
    t = state_find(&st, pa, bridge);
    if (!t)
        rc = diag_errnof(why, whylen, ENOENT, "no tunnel to %s on %s", peer,
                         bridge);
    else if (holder_del(t, holder) < 0)
        rc = diag_errnof(why, whylen, ENOENT, "%s does not hold %s", holder,
                         t->ifname);
    else
        rc = drop_if_unheld(m, &st, (size_t)(t - st.v), why, whylen);
    return mgr_end(m, &st, rc, t != NULL, why, whylen);
}

/* Drops the holders alive() rejects (holder == NULL) or that holder. */
static int release_where(struct tunnel_mgr *m, const char *holder,
                         int (*alive)(const char *, void *), void *arg,
                         char *why, size_t whylen)
{
    struct tunnel_state st;
    struct tunnel *t;
    size_t i, j;
    int rc = 0;

    if (mgr_begin(m, &st, why, whylen) < 0) return -1;
    for (i = st.n; i-- > 0;) {
        t = &st.v[i];
        for (j = t->nholders; j-- > 0;)
            if (holder ? !strcmp(t->holders[j], holder)
                       : !alive(t->holders[j], arg))
                holder_del_at(t, j);
        if (drop_if_unheld(m, &st, i, why, whylen) < 0) rc = -1;
    }
    return mgr_end(m, &st, rc, 1, why, whylen);
}

int tunnel_release_holder(struct tunnel_mgr *m, const char *holder, char *why,
                          size_t whylen)
{
    if (!holder_ok(holder))
        return diag_errf(why, whylen, "bad holder name '%s'", holder);
    return release_where(m, holder, NULL, NULL, why, whylen);
}

int tunnel_prune(struct tunnel_mgr *m, int (*alive)(const char *, void *),
                 void *arg, char *why, size_t whylen)
{
    return release_where(m, NULL, alive, arg, why, whylen);
}

int tunnel_restore_state(struct tunnel_mgr *m, unsigned *repaired_r, char *why,
                         size_t whylen)
{
    struct tunnel_state st;
    unsigned repaired = 0;
    size_t i;
    int rc = 0;

    if (mgr_begin(m, &st, why, whylen) < 0) return -1;
    for (i = st.n; i-- > 0;) {
        if (!st.v[i].nholders) {
            if (drop_if_unheld(m, &st, i, why, whylen) < 0) rc = -1;
        } else if (m->ops->check(&st.v[i]) != 1) {
            if (recreate(m, &st.v[i], why, whylen) < 0)
                rc = -1;
            else
                repaired++;
        }
    }
    if (repaired_r) *repaired_r = repaired;
    return mgr_end(m, &st, rc, 1, why, whylen);
}

int tunnel_list(struct tunnel_mgr *m, struct tunnel_state *st_r, char *why,
                size_t whylen)
{
    struct tunnel_state st;

    if (mgr_begin(m, &st, why, whylen) < 0) return -1;
    *st_r = st;
    memset(&st, 0, sizeof(st));
    return mgr_end(m, &st, 0, 0, why, whylen);
}
