/*
 * conf.c - the key table and the reading of xend-config.sxp (see conf.h).
 *
 * xend (tools/python/xen/xend/XendOptions.py, Xen 4.4) parsed the whole
 * file with sxp.parse(), put 'xend-config' in front and answered every
 * get_xend_*() call with sxp.child_value(config, key, default) run through
 * get_config_bool/int/string.  It checked a value only when something asked
 * for it; we check every key we know at load time, so `relocd -n` finds a
 * bad value before a migration does.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/acl.h"
#include "config/conf.h"
#include "config/pathpat.h"
#include "config/sxp.h"

enum conf_type {
    CT_BOOL,
    CT_INT,
    CT_ENUM,
    CT_STR,
    CT_XENPATH, /* a string; a bare file name is under /etc/xen */
};

#define CF_EMPTY_UNSET 0x1 /* '' means not set (NULL) */
#define CF_NONEMPTY 0x2    /* '' is an error */

struct conf_key {
    const char *name;
    enum conf_type type;
    size_t off;      /* of the field in struct relocd_conf */
    const char *def; /* default, read like a value from the file */
    long long min, max;
    const char *const *names; /* CT_ENUM, index = value */
    unsigned flags;
};

/* Row makers; clang-format would spread each over four lines. */
/* clang-format off */
#define F(field) offsetof(struct relocd_conf, field)
#define KBOOL(n, f, d) {.name = n, .type = CT_BOOL, .off = F(f), .def = d}
#define KINT(n, f, d, lo, hi)                                                  \
    {.name = n, .type = CT_INT, .off = F(f), .def = d, .min = lo, .max = hi}
#define KENUM(n, f, d, e)                                                      \
    {.name = n, .type = CT_ENUM, .off = F(f), .def = d, .names = e}
#define KSTR(n, f, d, fl)                                                      \
    {.name = n, .type = CT_STR, .off = F(f), .def = d, .flags = fl}
#define KPATH(n, f)                                                            \
    {.name = n, .type = CT_XENPATH, .off = F(f), .flags = CF_EMPTY_UNSET}
/* clang-format on */

/*
 * Sorted by name (bsearch).  The xend defaults are XendOptions.py's
 * xend_relocation_*_default and the literal 'no' of
 * get_xend_relocation_ssl(); xend had no ranges (a port out of 1..65535
 * failed when it was bound).  A new key: one row here, one field in
 * struct relocd_conf.
 */
static const struct conf_key conf_keys[] = {
    KBOOL("relocd-allow-device-model-args", allow_dm_args, "no"),
    KBOOL("relocd-allow-insecure", allow_insecure, "no"),
    KSTR("relocd-allow-scripts", allow_scripts, CONF_DEFAULT_SCRIPTS, 0),
    KINT("relocd-bandwidth", bandwidth_mbps, "0", 0, 1048576),
    KSTR("relocd-control-socket", control_socket, "/run/relocd/relocd.sock",
         CF_NONEMPTY),
    KSTR("relocd-crl-file", crl_file, NULL, CF_EMPTY_UNSET),
    KSTR("relocd-disk-allow", disk_allow, NULL, CF_EMPTY_UNSET),
    KSTR("relocd-evacuate-hosts", evacuate_hosts, NULL, CF_EMPTY_UNSET),
    KINT("relocd-evacuate-on-shutdown", evacuate_on_shutdown, "0", 0, 3600),
    KINT("relocd-handshake-timeout", handshake_timeout, "10", 1, 3600),
    KINT("relocd-max-downtime", max_downtime_ms, "300", 1, 600000),
    KINT("relocd-max-migrations", max_migrations, "2", 1, 64),
    KINT("relocd-max-pending", max_pending, "16", 1, 1024),
    KINT("relocd-max-pending-per-host", max_pending_per_host, "4", 1, 1024),
    KENUM("relocd-on-no-converge", on_no_converge, "throttle", converge_names),
    KINT("relocd-pending-drop-rate", pending_drop_rate, "30", 0, 100),
    KINT("relocd-pending-drop-start", pending_drop_start, "8", 1, 1024),
    KSTR("relocd-privsep-user", privsep_user, "nobody", CF_NONEMPTY),
    KSTR("relocd-psk-file", psk_file, NULL, CF_EMPTY_UNSET),
    KSTR("relocd-psk-identity", psk_identity, NULL, CF_EMPTY_UNSET),
    KSTR("relocd-ssl-ca-file", ca_file, NULL, CF_EMPTY_UNSET),
    KINT("relocd-stream-idle-timeout", stream_idle_timeout, "300", 1, 86400),
    KSTR("xend-relocation-address", address, "", 0),
    KSTR("xend-relocation-hosts-allow", hosts_allow, "", 0),
    KINT("xend-relocation-port", port, "8002", 1, 65535),
    KBOOL("xend-relocation-server", relocation_server, "no"),
    KPATH("xend-relocation-server-ssl-cert-file", ssl_cert_file),
    KPATH("xend-relocation-server-ssl-key-file", ssl_key_file),
    KBOOL("xend-relocation-ssl", ssl, "no"),
    KINT("xend-relocation-ssl-port", ssl_port, "8003", 1, 65535),
    KBOOL("xend-relocation-ssl-server", ssl_server, "no"),
};

#define CONF_NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))
#define CONF_OWN_PREFIX "relocd-"
#define CONF_TUNNEL_KEY "relocd-tunnel"

struct conf_ctx {
    const char *file;
    const struct conf_opts *opts; /* the caller's warning sink */
    struct conf_opts sink;        /* counts, then passes on to opts */
    struct relocd_conf *conf;
    int seen[CONF_NKEYS]; /* line of a key's first occurrence, 0: none */
    int acl_line;         /* where hosts-allow was set, for its warnings */
    unsigned warnings;
    char *err;
    size_t errlen;
};

/* "FILE:LINE: ..." errors (-1, errno EINVAL) and counted warnings. */
#define conf_err(ctx, line, ...)                                               \
    diag_errf_at((ctx)->err, (ctx)->errlen, (ctx)->file, line, __VA_ARGS__)
#define conf_warn(ctx, line, ...)                                              \
    diag_warnf_at(&(ctx)->sink, (ctx)->file, line, __VA_ARGS__)

static int conf_nomem(struct conf_ctx *ctx, int line)
{
    conf_err(ctx, line, "out of memory");
    errno = ENOMEM;
    return -1;
}

/* Every warning passes here, ours and sxp's (which carry FILE:LINE). */
static void conf_count_warn(void *arg, const char *msg)
{
    struct conf_ctx *ctx = arg;

    ctx->warnings++;
    diag_warnf(ctx->opts, "%s", msg);
}

/* acl's do not carry FILE:LINE: they are about the hosts-allow line. */
static void conf_acl_warn(void *arg, const char *msg)
{
    struct conf_ctx *ctx = arg;

    diag_warnf(&ctx->sink, "%s:%d: %s", ctx->file, ctx->acl_line, msg);
}

static int conf_key_cmp(const void *name, const void *key)
{
    return strcmp(name, ((const struct conf_key *)key)->name);
}

static const struct conf_key *conf_key_find(const char *name)
{
    return bsearch(name, conf_keys, CONF_NKEYS, sizeof(conf_keys[0]),
                   conf_key_cmp);
}

const char *conf_key_name(size_t i)
{
    return i < CONF_NKEYS ? conf_keys[i].name : NULL;
}

/* ASCII only, as Python 2's string.lower() on a byte string. */
static int conf_caseeq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        int ca = (*a >= 'A' && *a <= 'Z') ? *a + 32 : *a;
        int cb = (*b >= 'A' && *b <= 'Z') ? *b + 32 : *b;

        if (ca != cb) return 0;
    }
    return *a == *b;
}

/*
 * XendOptionsFile.get_config_bool():
 *     v = string.lower(str(self.get_config_value(name, val)))
 *     if v in ['yes', 'y', '1', 'on',  'true',  't']: return True
 *     if v in ['no',  'n', '0', 'off', 'false', 'f']: return False
 *     raise XendError("invalid xend config %s: expected bool: %s" % ...)
 * No blanks are stripped: ' yes' is an error.  Returns 1, 0 or -1.
 */
static int conf_bool(const char *s)
{
    static const char *const yes[] = {"yes", "y", "1", "on", "true", "t"};
    static const char *const no[] = {"no", "n", "0", "off", "false", "f"};
    size_t i;

    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (conf_caseeq(s, yes[i])) return 1;
        if (conf_caseeq(s, no[i])) return 0;
    }
    return -1;
}

/* Python 2's isspace() in the C locale. */
static int conf_isspace(int c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

/*
 * XendOptionsFile.get_config_int() is Python 2's int(v), i.e.
 * PyInt_FromString(v, NULL, 10): blanks allowed around the number and
 * between the sign and the digits ('- 5'), decimal only ('0x10' is an
 * error, '010' is 10).  Returns 0, -1 if s is no integer, 1 if it is one
 * too big for *v (Python made a long of it; it is out of range here).
 */
static int conf_pyint(const char *s, long long *v)
{
    long long n = 0;
    int neg = 0, digits = 0, big = 0;

    while (conf_isspace(*s))
        s++;
    if (*s == '+' || *s == '-') neg = *s++ == '-';
    while (conf_isspace(*s))
        s++;
    for (; *s >= '0' && *s <= '9'; s++, digits++) {
        if (n > (LLONG_MAX - 9) / 10)
            big = 1;
        else
            n = n * 10 + (*s - '0');
    }
    while (conf_isspace(*s))
        s++;
    if (!digits || *s) return -1;
    *v = neg ? -n : n;
    return big;
}

static int conf_set_bool(struct conf_ctx *ctx, const struct conf_key *key,
                         const char *val, int line, int *field)
{
    char vis[128];
    int b = conf_bool(val);

    if (b < 0)
        return conf_err(ctx, line,
                        "%s: expected bool (yes/no, y/n, 1/0, on/off, "
                        "true/false, t/f): '%s'",
                        key->name, diag_vis(val, vis, sizeof(vis)));
    *field = b;
    return 0;
}

static int conf_set_int(struct conf_ctx *ctx, const struct conf_key *key,
                        const char *val, int line, int *field)
{
    char vis[128];
    long long v = 0;
    int r = conf_pyint(val, &v);

    if (r < 0)
        return conf_err(ctx, line, "%s: expected int: '%s'", key->name,
                        diag_vis(val, vis, sizeof(vis)));
    if (r > 0 || v < key->min || v > key->max)
        return conf_err(ctx, line, "%s: %s is out of range %lld..%lld",
                        key->name, diag_vis(val, vis, sizeof(vis)), key->min,
                        key->max);
    *field = (int)v;
    return 0;
}

static int conf_set_enum(struct conf_ctx *ctx, const struct conf_key *key,
                         const char *val, int line, int *field)
{
    char vis[128], names[128] = "";
    int i;

    for (i = 0; key->names[i]; i++) {
        if (conf_caseeq(val, key->names[i])) {
            *field = i;
            return 0;
        }
        strncat(names, i ? ", " : "", sizeof(names) - strlen(names) - 1);
        strncat(names, key->names[i], sizeof(names) - strlen(names) - 1);
    }
    return conf_err(ctx, line, "%s: expected one of %s: '%s'", key->name, names,
                    diag_vis(val, vis, sizeof(vis)));
}

/*
 * XendOptions.get_xend_relocation_server_ssl_key_file() (and _cert_file):
 *     if os.path.dirname(file) == "":
 *         file = auxbin.xen_configdir() + '/' + file
 * so 'xmlrpc.key' in xend's sample means /etc/xen/xmlrpc.key.  DEVIATION:
 * xend made '' into '/etc/xen/' (a directory); here '' means not set.
 */
static int conf_set_str(struct conf_ctx *ctx, const struct conf_key *key,
                        const char *val, int line, char **field)
{
    char *copy = NULL;

    if (val && !*val && (key->flags & CF_NONEMPTY))
        return conf_err(ctx, line, "%s: must not be empty", key->name);
    if (val && (*val || !(key->flags & CF_EMPTY_UNSET))) {
        if (key->type == CT_XENPATH && !strchr(val, '/')) {
            size_t n = sizeof(CONF_XEN_CONFIG_DIR "/") + strlen(val);

            copy = malloc(n);
            if (copy) snprintf(copy, n, "%s/%s", CONF_XEN_CONFIG_DIR, val);
        } else {
            copy = strdup(val);
        }
        if (!copy) return conf_nomem(ctx, line);
    }
    free(*field);
    *field = copy;
    return 0;
}

/* val NULL: the key's default is "not set" (strings only). */
static int conf_set(struct conf_ctx *ctx, const struct conf_key *key,
                    const char *val, int line)
{
    void *field = (char *)ctx->conf + key->off;

    switch (key->type) {
    case CT_BOOL:
        return conf_set_bool(ctx, key, val, line, field);
    case CT_INT:
        return conf_set_int(ctx, key, val, line, field);
    case CT_ENUM:
        return conf_set_enum(ctx, key, val, line, field);
    case CT_STR:
    case CT_XENPATH:
        return conf_set_str(ctx, key, val, line, field);
    }
    return conf_err(ctx, line, "%s: bad key type", key->name);
}

/*
 * Something at the top level that is not a (key ...) form: xend's
 * child_value() never looked at it, so a lone atom is ignored; it is
 * probably a form that lost its parentheses.
 */
static int conf_stray(struct conf_ctx *ctx, const struct sxp_node *node)
{
    char vis[64];

    if (node->type == SXP_LIST)
        conf_warn(ctx, node->line, "list without a key name ignored");
    else
        conf_warn(ctx, node->line, "'%s' outside parentheses ignored",
                  diag_vis(node->text, vis, sizeof(vis)));
    return 0;
}

static void conf_tunnel_clear(struct conf_tunnel *t)
{
    size_t i;

    for (i = 0; i < t->n; i++) {
        free(t->keys[i]);
        free(t->vals[i]);
    }
    t->n = 0;
}

/* One (key value) pair of a relocd-tunnel entry into t. */
static int conf_tunnel_pair(struct conf_ctx *ctx, struct conf_tunnel *t,
                            const struct sxp_node *pair)
{
    const char *key = pair->type == SXP_LIST ? sxp_name(pair) : NULL;
    const struct sxp_node *val = key ? sxp_children(pair) : NULL;
    char vis[64];
    size_t i;

    if (!key || !val || val->type == SXP_LIST || val->next)
        return conf_err(ctx, pair->line,
                        "%s: expected (key value) pairs, e.g. (peer 10.2.0.2)",
                        CONF_TUNNEL_KEY);
    for (i = 0; i < t->n; i++)
        if (!strcmp(t->keys[i], key))
            return conf_err(ctx, pair->line, "%s: '%s' given twice",
                            CONF_TUNNEL_KEY, diag_vis(key, vis, sizeof(vis)));
    if (t->n == CONF_TUNNEL_MAX_PAIRS)
        return conf_err(ctx, pair->line, "%s: more than %d pairs",
                        CONF_TUNNEL_KEY, CONF_TUNNEL_MAX_PAIRS);
    t->keys[t->n] = strdup(key);
    t->vals[t->n] = strdup(val->text);
    t->lines[t->n] = pair->line;
    if (!t->keys[t->n] || !t->vals[t->n]) {
        t->n++;
        return conf_nomem(ctx, pair->line);
    }
    t->n++;
    return 0;
}

/*
 * (relocd-tunnel (peer P) (kind K) ...): an entry of its own each time it
 * appears; only its shape is checked here.
 */
static int conf_tunnel_form(struct conf_ctx *ctx, const struct sxp_node *form)
{
    struct relocd_conf *c = ctx->conf;
    const struct sxp_node *pair = sxp_children(form);
    struct conf_tunnel *t, *v;

    if (!pair)
        return conf_err(ctx, form->line, "%s: empty entry", CONF_TUNNEL_KEY);
    if (c->ntunnels == CONF_MAX_TUNNELS)
        return conf_err(ctx, form->line, "%s: more than %d entries",
                        CONF_TUNNEL_KEY, CONF_MAX_TUNNELS);
    v = realloc(c->tunnels, (c->ntunnels + 1) * sizeof(*v));
    if (!v) return conf_nomem(ctx, form->line);
    c->tunnels = v;
    t = &v[c->ntunnels++];
    memset(t, 0, sizeof(*t));
    t->line = form->line;
    for (; pair; pair = pair->next)
        if (conf_tunnel_pair(ctx, t, pair) < 0) return -1;
    return 0;
}

/*
 * One top-level form.  sxp.child_value() returns the first value of the
 * first form with the name, so a repeated key's first occurrence wins,
 * values after the first are ignored and "(key)" means the default.
 */
static int conf_form(struct conf_ctx *ctx, const struct sxp_node *form)
{
    const char *name = form->type == SXP_LIST ? sxp_name(form) : NULL;
    const struct conf_key *key;
    const struct sxp_node *val;
    size_t k;

    if (!name) return conf_stray(ctx, form);
    if (!strcmp(name, CONF_TUNNEL_KEY)) return conf_tunnel_form(ctx, form);
    key = conf_key_find(name);
    if (!key && !strncmp(name, CONF_OWN_PREFIX, strlen(CONF_OWN_PREFIX))) {
        char vis[128];

        return conf_err(ctx, form->line, "unknown key '%s'",
                        diag_vis(name, vis, sizeof(vis)));
    }
    if (!key) return 0; /* one of xend's other keys */
    k = (size_t)(key - conf_keys);
    if (ctx->seen[k]) {
        conf_warn(ctx, form->line,
                  "%s: ignored, already set at line %d (the first one "
                  "counts, as in xend)",
                  name, ctx->seen[k]);
        return 0;
    }
    ctx->seen[k] = form->line;
    val = sxp_children(form);
    if (!val) {
        conf_warn(ctx, form->line, "%s: no value, default used", name);
        return 0;
    }
    if (val->next)
        conf_warn(ctx, val->next->line, "%s: values after the first ignored",
                  name);
    if (val->type == SXP_LIST)
        return conf_err(ctx, val->line, "%s: expected a value, not a list",
                        name);
    return conf_set(ctx, key, val->text, val->line);
}

static int conf_seen(const struct conf_ctx *ctx, const char *name)
{
    return ctx->seen[conf_key_find(name) - conf_keys];
}

/*
 * relocate.py listenRelocation() refused to start the SSL listener
 * without both files ("ssl_key_file or ssl_cert_file for ssl relocation
 * server is missing").  DEVIATION: with relocd-psk-file the TLS port
 * authenticates by the pre-shared key alone and needs no certificate; a
 * key without its certificate (or the reverse) is still an error.
 */
static int conf_check_ssl(struct conf_ctx *ctx)
{
    const struct relocd_conf *c = ctx->conf;
    int line = conf_seen(ctx, "xend-relocation-ssl-server");

    if (!c->ssl_server) return 0;
    if (c->psk_file && !c->ssl_key_file && !c->ssl_cert_file) return 0;
    if (!c->ssl_key_file)
        return conf_err(ctx, line,
                        "xend-relocation-ssl-server is on but "
                        "xend-relocation-server-ssl-key-file is not set");
    if (!c->ssl_cert_file)
        return conf_err(ctx, line,
                        "xend-relocation-ssl-server is on but "
                        "xend-relocation-server-ssl-cert-file is not set");
    return 0;
}

/*
 * The plain port has no authentication; with an empty allow-list as well
 * any host could push a guest into root's xl migrate-receive.  xend did
 * allow that; relocd refuses to start so.
 */
static int conf_check_insecure(struct conf_ctx *ctx)
{
    const struct relocd_conf *c = ctx->conf;

    if (!c->relocation_server || !c->allow_insecure ||
        (c->hosts_allow && *c->hosts_allow))
        return 0;
    return conf_err(ctx, conf_seen(ctx, "relocd-allow-insecure"),
                    "relocd-allow-insecure is yes and "
                    "xend-relocation-hosts-allow is empty: any host could "
                    "send a guest to the unauthenticated port %d; list the "
                    "peers in xend-relocation-hosts-allow",
                    c->port);
}

/* Revocations mean something only against the CA they come from. */
static int conf_check_crl(struct conf_ctx *ctx)
{
    const struct relocd_conf *c = ctx->conf;

    if (!c->crl_file || c->ca_file) return 0;
    return conf_err(ctx, conf_seen(ctx, "relocd-crl-file"),
                    "relocd-crl-file is set but relocd-ssl-ca-file is not: "
                    "revocations need the CA whose certificates they revoke");
}

/* What a received guest may use in dom0: lists of path patterns. */
static int conf_check_paths(struct conf_ctx *ctx)
{
    const struct relocd_conf *c = ctx->conf;
    char msg[512];

    if (pathpat_check(c->disk_allow, "relocd-disk-allow", 0, msg, sizeof(msg)) <
        0)
        return conf_err(ctx, conf_seen(ctx, "relocd-disk-allow"), "%s", msg);
    if (pathpat_check(c->allow_scripts, "relocd-allow-scripts", 1, msg,
                      sizeof(msg)) < 0)
        return conf_err(ctx, conf_seen(ctx, "relocd-allow-scripts"), "%s", msg);
    return 0;
}

/*
 * relocd-evacuate-hosts: where xl-relocate evacuate sends guests when --to
 * is not given.  Checked here so a typo shows at `relocd -n`, not in the
 * middle of a maintenance window; and so does an evacuation at shutdown
 * (relocd-evacuate-on-shutdown) with no host to go to, which would
 * otherwise be found only while the host goes down.
 */
static int conf_check_evacuate(struct conf_ctx *ctx)
{
    static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]";
    const char *p = ctx->conf->evacuate_hosts;
    size_t n;

    while (p && *(p += strspn(p, " \t,"))) {
        n = strcspn(p, " \t,");
        if (strspn(p, ok) < n || n > CONF_MAX_HOST)
            return conf_err(ctx, conf_seen(ctx, "relocd-evacuate-hosts"),
                            "relocd-evacuate-hosts: '%.*s' is not a host "
                            "name or address (HOST or HOST:PORT)",
                            (int)(n > 64 ? 64 : n), p);
        p += n;
    }
    if (ctx->conf->evacuate_on_shutdown && !ctx->conf->evacuate_hosts)
        return conf_err(ctx, conf_seen(ctx, "relocd-evacuate-on-shutdown"),
                        "relocd-evacuate-on-shutdown is %d but "
                        "relocd-evacuate-hosts is empty: there is nowhere "
                        "to send the guests",
                        ctx->conf->evacuate_on_shutdown);
    return 0;
}

static int conf_check(struct conf_ctx *ctx)
{
    return conf_check_ssl(ctx) < 0 || conf_check_insecure(ctx) < 0 ||
                   conf_check_crl(ctx) < 0 || conf_check_paths(ctx) < 0 ||
                   conf_check_evacuate(ctx) < 0
               ? -1
               : 0;
}

static int conf_acl(struct conf_ctx *ctx)
{
    struct conf_opts warn = {conf_acl_warn, ctx};
    char msg[512];

    ctx->acl_line = conf_seen(ctx, "xend-relocation-hosts-allow");
    if (acl_compile(ctx->conf->hosts_allow, &ctx->conf->acl, msg, sizeof(msg),
                    &warn) < 0) {
        int saved = errno;

        conf_err(ctx, ctx->acl_line, "%s", msg);
        errno = saved;
        return -1;
    }
    return 0;
}

static int conf_build(struct conf_ctx *ctx, const struct sxp_node *root)
{
    const struct sxp_node *form;
    size_t i;

    for (i = 0; i < CONF_NKEYS; i++)
        if (conf_set(ctx, &conf_keys[i], conf_keys[i].def, 0) < 0) return -1;
    for (form = root->child; form; form = form->next)
        if (conf_form(ctx, form) < 0) return -1;
    if (conf_check(ctx) < 0 || conf_acl(ctx) < 0) return -1;
    return 0;
}

int conf_parse_opts(const char *text, size_t len, const char *filename,
                    const struct conf_opts *opts, struct relocd_conf **conf_r,
                    char *err, size_t errlen)
{
    struct conf_ctx ctx = {
        .file = filename ? filename : "<input>",
        .opts = opts,
        .err = err,
        .errlen = errlen,
    };
    struct sxp_node *root = NULL;
    int rc = -1, saved;

    *conf_r = NULL;
    ctx.sink = (struct conf_opts){conf_count_warn, &ctx};
    if (sxp_parse_opts(text, len, ctx.file, &ctx.sink, &root, err, errlen) < 0)
        return -1;
    ctx.conf = calloc(1, sizeof(*ctx.conf));
    if (!ctx.conf || !(ctx.conf->file = strdup(ctx.file)))
        conf_nomem(&ctx, 0);
    else if (conf_build(&ctx, root) == 0)
        rc = 0;
    saved = errno;
    if (rc == 0) {
        ctx.conf->warnings = ctx.warnings;
        *conf_r = ctx.conf;
    } else {
        conf_free(ctx.conf);
    }
    sxp_free(root);
    errno = saved;
    return rc;
}

int conf_parse(const char *text, size_t len, const char *filename,
               struct relocd_conf **conf_r, char *err, size_t errlen)
{
    return conf_parse_opts(text, len, filename, NULL, conf_r, err, errlen);
}

int conf_load_xend(const char *path, int explicit, struct relocd_conf **conf_r,
                   char *err, size_t errlen)
{
    if (!explicit && access(path, F_OK) < 0 && errno == ENOENT)
        return conf_parse("", 0, path, conf_r, err, errlen);
    return conf_load(path, conf_r, err, errlen);
}

/* Reads at most SXP_MAX_SIZE bytes of path into *buf_r (caller frees). */
static int conf_read(const char *path, char **buf_r, size_t *len_r, char *err,
                     size_t errlen)
{
    size_t len = 0;
    ssize_t r = 1;
    char *buf;
    int fd, saved;

    *buf_r = NULL;
    buf = malloc(SXP_MAX_SIZE + 1);
    if (!buf) {
        return diag_errnof(err, errlen, ENOMEM, "%s: out of memory", path);
    }
    fd = open(path, O_RDONLY | O_CLOEXEC);
    while (fd >= 0 && r > 0 && len <= SXP_MAX_SIZE) {
        r = read(fd, buf + len, SXP_MAX_SIZE + 1 - len);
        if (r < 0 && errno == EINTR)
            r = 1;
        else if (r > 0)
            len += (size_t)r;
    }
    saved = errno;
    if (fd < 0 || r < 0) {
        diag_errf(err, errlen, "%s: %s", path, strerror(saved));
    } else if (len > SXP_MAX_SIZE) {
        diag_errf(err, errlen, "%s: larger than %d bytes", path, SXP_MAX_SIZE);
        saved = EFBIG;
    }
    if (fd >= 0) close(fd);
    if (fd < 0 || r < 0 || len > SXP_MAX_SIZE) {
        free(buf);
        errno = saved;
        return -1;
    }
    *buf_r = buf;
    *len_r = len;
    return 0;
}

int conf_load_opts(const char *path, const struct conf_opts *opts,
                   struct relocd_conf **conf_r, char *err, size_t errlen)
{
    char *buf;
    size_t len = 0;
    int rc, saved;

    *conf_r = NULL;
    if (conf_read(path, &buf, &len, err, errlen) < 0) return -1;
    rc = conf_parse_opts(buf, len, path, opts, conf_r, err, errlen);
    saved = errno;
    free(buf);
    errno = saved;
    return rc;
}

int conf_load(const char *path, struct relocd_conf **conf_r, char *err,
              size_t errlen)
{
    return conf_load_opts(path, NULL, conf_r, err, errlen);
}

void conf_free(struct relocd_conf *conf)
{
    size_t i;

    if (!conf) return;
    for (i = 0; i < CONF_NKEYS; i++)
        if (conf_keys[i].type == CT_STR || conf_keys[i].type == CT_XENPATH)
            free(*(char **)((char *)conf + conf_keys[i].off));
    for (i = 0; i < conf->ntunnels; i++)
        conf_tunnel_clear(&conf->tunnels[i]);
    free(conf->tunnels);
    free(conf->file);
    acl_free(conf->acl);
    free(conf);
}

static void conf_print_key(FILE *f, const struct relocd_conf *conf,
                           const struct conf_key *key)
{
    const void *field = (const char *)conf + key->off;
    const char *s;

    switch (key->type) {
    case CT_BOOL:
        fprintf(f, "%s %s\n", key->name, *(const int *)field ? "yes" : "no");
        break;
    case CT_INT:
        fprintf(f, "%s %d\n", key->name, *(const int *)field);
        break;
    case CT_ENUM:
        fprintf(f, "%s %s\n", key->name, key->names[*(const int *)field]);
        break;
    case CT_STR:
    case CT_XENPATH:
        s = *(char *const *)field;
        fprintf(f, "%s %s\n", key->name, s && *s ? s : "''");
        break;
    }
}

void conf_print(FILE *f, const struct relocd_conf *conf)
{
    size_t plen = strlen(CONF_OWN_PREFIX), i;
    int pass;

    for (pass = 0; pass < 2; pass++) {
        for (i = 0; i < CONF_NKEYS; i++) {
            int own = !strncmp(conf_keys[i].name, CONF_OWN_PREFIX, plen);

            if (own == pass) conf_print_key(f, conf, &conf_keys[i]);
        }
    }
    /* After relocd-ssl-ca-file: the last relocd-* key in name order. */
    for (i = 0; i < conf->ntunnels; i++) {
        const struct conf_tunnel *t = &conf->tunnels[i];
        size_t k;

        fprintf(f, "%s", CONF_TUNNEL_KEY);
        for (k = 0; k < t->n; k++)
            fprintf(f, " (%s %s)", t->keys[k], t->vals[k]);
        fprintf(f, "\n");
    }
}
