/*
 * msg.c - JSON control messages, with yajl.
 *
 * Decoding is defensive: the payload must be one JSON object with no NUL
 * inside and nesting no deeper than MSG_MAX_DEPTH (yajl frees trees
 * recursively), every member we need must have the right type, and strings
 * must fit their fields.  Unknown members are ignored.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "config/diag.h"
#include "wire/buf.h"
#include "wire/json.h"
#include "wire/msg.h"

#define MSG_MAX_DEPTH 16

/* --- encoding --------------------------------------------------------------
 */

/* Closes the object, frames it into out and frees the generator. */
static int gen_finish(yajl_gen g, struct buf *out, unsigned type)
{
    const unsigned char *text;
    size_t len;
    int rc = -1;

    if (!g) {
        errno = ENOMEM;
        return -1;
    }
    if (json_end(g, &text, &len) == 0)
        rc = proto_frame_put(out, type, text, len);
    else
        errno = EINVAL;
    json_free(g);
    return rc;
}

int msg_put_hello(struct buf *out, const struct msg_hello *m)
{
    yajl_gen g = json_begin();

    if (g) {
        json_kv_str(g, "proto", "relocd");
        json_kv_int(g, "version", m->version);
        json_kv_int(g, "min_version", m->min_version);
        json_kv_str(g, "software", m->software);
        json_kv_str(g, "host", m->host);
    }
    return gen_finish(g, out, PROTO_HELLO);
}

int msg_put_error(struct buf *out, enum proto_err code, const char *fmt, ...)
{
    char text[1024];
    va_list ap;
    yajl_gen g;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    g = json_begin();
    if (g) {
        json_kv_str(g, "code", proto_err_name(code));
        json_kv_str(g, "message", text);
    }
    return gen_finish(g, out, PROTO_ERROR);
}

/* One array of unsigned 32-bit numbers. */
static void gen_u32s(yajl_gen g, const uint32_t *v, size_t n)
{
    size_t i;

    yajl_gen_array_open(g);
    for (i = 0; i < n; i++)
        yajl_gen_integer(g, v[i]);
    yajl_gen_array_close(g);
}

/*
 * "cpu": {"cpuid": [[leaf, subleaf, a, b, c, d], ...],
 *         "msr": [[index, flags, value >> 32, value & 0xffffffff], ...]}
 * (JSON numbers are not safe beyond 2^53: 64-bit values go in halves).
 */
static void gen_cpu_policy(yajl_gen g, const struct msg_cpu_policy *p)
{
    unsigned i;

    json_str(g, "cpu");
    yajl_gen_map_open(g);
    json_str(g, "cpuid");
    yajl_gen_array_open(g);
    for (i = 0; i < p->nleaves; i++) {
        const struct msg_cpuid_leaf *l = &p->leaves[i];
        uint32_t v[6] = {l->leaf, l->subleaf, l->a, l->b, l->c, l->d};

        gen_u32s(g, v, 6);
    }
    yajl_gen_array_close(g);
    json_str(g, "msr");
    yajl_gen_array_open(g);
    for (i = 0; i < p->nmsrs; i++) {
        const struct msg_msr *m = &p->msrs[i];
        uint32_t v[4] = {m->idx, m->flags, (uint32_t)(m->val >> 32),
                         (uint32_t)m->val};

        gen_u32s(g, v, 4);
    }
    yajl_gen_array_close(g);
    yajl_gen_map_close(g);
}

/* "disks": only when there are some, so old servers see what they saw. */
static void gen_disks(yajl_gen g, const struct msg_preflight *m)
{
    unsigned i;

    json_str(g, "disks");
    yajl_gen_array_open(g);
    for (i = 0; i < m->ndisks; i++) {
        yajl_gen_map_open(g);
        json_kv_str(g, "path", m->disks[i].path);
        json_kv_int(g, "size", (long long)m->disks[i].size);
        json_kv_int(g, "allocated", (long long)m->disks[i].allocated);
        if (m->disks[i].id[0]) json_kv_str(g, "id", m->disks[i].id);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
}

int msg_put_preflight(struct buf *out, const struct msg_preflight *m)
{
    yajl_gen g = json_begin();

    if (g) {
        json_kv_str(g, "config", m->config ? m->config : "");
        json_kv_bool(g, "live", m->live);
        if (m->cpu) gen_cpu_policy(g, m->cpu);
        if (m->ndisks) gen_disks(g, m);
    }
    return gen_finish(g, out, PROTO_PREFLIGHT);
}

/* "shared": only when some disk is, so old clients see what they saw. */
static void gen_shared(yajl_gen g, uint32_t shared)
{
    unsigned i;

    json_str(g, "shared");
    yajl_gen_array_open(g);
    for (i = 0; i < MSG_MAX_DISKS; i++)
        if (shared & (1u << i)) yajl_gen_integer(g, i);
    yajl_gen_array_close(g);
}

int msg_put_preflight_result(struct buf *out,
                             const struct msg_preflight_result *m)
{
    yajl_gen g = json_begin();
    unsigned i;

    if (g) {
        json_kv_bool(g, "ok", m->ok);
        if (m->mem_known) {
            json_kv_int(g, "free_kb", (long long)m->free_kb);
            json_kv_int(g, "need_kb", (long long)m->need_kb);
        }
        if (m->shared) gen_shared(g, m->shared);
        json_str(g, "checks");
        yajl_gen_array_open(g);
        for (i = 0; i < m->nchecks; i++) {
            yajl_gen_map_open(g);
            json_kv_str(g, "check", m->checks[i].check);
            json_kv_bool(g, "ok", m->checks[i].ok);
            json_kv_str(g, "message", m->checks[i].message);
            yajl_gen_map_close(g);
        }
        yajl_gen_array_close(g);
    }
    return gen_finish(g, out, PROTO_PREFLIGHT_RESULT);
}

int msg_put_migrate(struct buf *out, const struct msg_migrate *m)
{
    yajl_gen g = json_begin();
    unsigned i;

    if (g) {
        json_kv_str(g, "mode", m->mode);
        json_str(g, "flags");
        yajl_gen_array_open(g);
        for (i = 0; i < m->nflags; i++)
            json_str(g, m->flags[i]);
        yajl_gen_array_close(g);
        /* Only when asked: an old server must see what it always saw. */
        if (m->anatomy) json_kv_bool(g, "anatomy", 1);
        if (m->ntokens) {
            json_str(g, "disks");
            yajl_gen_array_open(g);
            for (i = 0; i < m->ntokens; i++)
                json_str(g, m->tokens[i]);
            yajl_gen_array_close(g);
        }
    }
    return gen_finish(g, out, PROTO_MIGRATE);
}

int msg_put_accept(struct buf *out)
{
    return gen_finish(json_begin(), out, PROTO_ACCEPT);
}

static const char *const anatomy_keys[MSG_ANAT_NSTEPS] = {
    "restore_us", "go_wait_us", "start_us"};

int msg_put_anatomy(struct buf *out, const struct msg_anatomy *m)
{
    yajl_gen g = json_begin();
    unsigned i;

    for (i = 0; g && i < MSG_ANAT_NSTEPS; i++)
        if (m->us[i] >= 0 && m->us[i] <= MSG_ANATOMY_MAX_US)
            json_kv_int(g, anatomy_keys[i], m->us[i]);
    return gen_finish(g, out, PROTO_ANATOMY);
}

/* --- decoding --------------------------------------------------------------
 */

static enum proto_err why_bad(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum proto_err why_bad(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_verrf(why, whylen, fmt, ap);
    va_end(ap);
    return PERR_BAD_MESSAGE;
}

/* Parses the payload into an object tree; the caller yajl_tree_free()s. */
static enum proto_err msg_parse(const struct proto_frame *f, unsigned type,
                                yajl_val *root_r, char *why, size_t whylen)
{
    char err[128];
    yajl_val root;

    *root_r = NULL;
    if (f->type != type)
        return why_bad(why, whylen, "expected %s, got %s",
                       proto_type_name(type), proto_type_name(f->type));
    if (memchr(f->payload, '\0', f->len))
        return why_bad(why, whylen, "NUL byte in %s", proto_type_name(type));
    if (json_too_deep(f->payload, f->len, MSG_MAX_DEPTH))
        return why_bad(why, whylen, "%s nested too deeply",
                       proto_type_name(type));
    root = yajl_tree_parse((const char *)f->payload, err, sizeof(err));
    if (!root)
        return why_bad(why, whylen, "%s is not JSON: %s", proto_type_name(type),
                       strtok(err, "\n"));
    if (!YAJL_IS_OBJECT(root)) {
        yajl_tree_free(root);
        return why_bad(why, whylen, "%s is not a JSON object",
                       proto_type_name(type));
    }
    *root_r = root;
    return PERR_OK;
}

static yajl_val member(yajl_val obj, const char *key)
{
    const char *path[] = {key, NULL};

    return yajl_tree_get(obj, path, yajl_t_any);
}

/* Copies string member key into dst; missing or too long is an error. */
static enum proto_err get_str(yajl_val obj, const char *key, char *dst,
                              size_t dstlen, char *why, size_t whylen)
{
    yajl_val v = member(obj, key);

    if (!v || !YAJL_IS_STRING(v))
        return why_bad(why, whylen, "'%s' missing or not a string", key);
    if (snprintf(dst, dstlen, "%s", YAJL_GET_STRING(v)) >= (int)dstlen)
        return why_bad(why, whylen, "'%s' longer than %zu bytes", key,
                       dstlen - 1);
    return PERR_OK;
}

static enum proto_err get_int(yajl_val obj, const char *key, int lo, int hi,
                              int *v_r, char *why, size_t whylen)
{
    yajl_val v = member(obj, key);

    if (!v || !YAJL_IS_INTEGER(v))
        return why_bad(why, whylen, "'%s' missing or not an integer", key);
    if (YAJL_GET_INTEGER(v) < lo || YAJL_GET_INTEGER(v) > hi)
        return why_bad(why, whylen, "'%s' out of range %d..%d", key, lo, hi);
    *v_r = (int)YAJL_GET_INTEGER(v);
    return PERR_OK;
}

static enum proto_err get_bool(yajl_val obj, const char *key, int *v_r,
                               char *why, size_t whylen)
{
    yajl_val v = member(obj, key);

    if (!v || !(YAJL_IS_TRUE(v) || YAJL_IS_FALSE(v)))
        return why_bad(why, whylen, "'%s' missing or not a boolean", key);
    *v_r = YAJL_IS_TRUE(v);
    return PERR_OK;
}

/*
 * The optional memory pair of PREFLIGHT_RESULT: both or neither; absent
 * leaves mem_known 0 (an older server), malformed is an error.
 */
static enum proto_err get_mem(yajl_val root, struct msg_preflight_result *m,
                              char *why, size_t whylen)
{
    yajl_val f = member(root, "free_kb"), n = member(root, "need_kb");

    if (!f && !n) return PERR_OK;
    if (!f || !n || !YAJL_IS_INTEGER(f) || !YAJL_IS_INTEGER(n) ||
        YAJL_GET_INTEGER(f) < 0 || YAJL_GET_INTEGER(n) < 0)
        return why_bad(why, whylen,
                       "'free_kb' and 'need_kb' must come together, as "
                       "integers >= 0");
    m->free_kb = (uint64_t)YAJL_GET_INTEGER(f);
    m->need_kb = (uint64_t)YAJL_GET_INTEGER(n);
    m->mem_known = 1;
    return PERR_OK;
}

/*
 * The optional "shared" of PREFLIGHT_RESULT: distinct disk indices below
 * MSG_MAX_DISKS (which of them PREFLIGHT had is the client's check).
 */
static enum proto_err get_shared(yajl_val root, struct msg_preflight_result *m,
                                 char *why, size_t whylen)
{
    yajl_val v = member(root, "shared"), x;
    size_t i;

    if (!v) return PERR_OK;
    if (!YAJL_IS_ARRAY(v) || YAJL_GET_ARRAY(v)->len > MSG_MAX_DISKS)
        return why_bad(why, whylen, "'shared' is not an array of at most %d",
                       MSG_MAX_DISKS);
    for (i = 0; i < YAJL_GET_ARRAY(v)->len; i++) {
        x = YAJL_GET_ARRAY(v)->values[i];
        if (!YAJL_IS_INTEGER(x) || YAJL_GET_INTEGER(x) < 0 ||
            YAJL_GET_INTEGER(x) >= MSG_MAX_DISKS ||
            (m->shared & (1u << YAJL_GET_INTEGER(x))))
            return why_bad(why, whylen,
                           "'shared' holds a disk index that is not 0..%d or "
                           "is there twice",
                           MSG_MAX_DISKS - 1);
        m->shared |= 1u << YAJL_GET_INTEGER(x);
    }
    return PERR_OK;
}

enum proto_err msg_get_hello(const struct proto_frame *f, struct msg_hello *m,
                             char *why, size_t whylen)
{
    char proto[16];
    yajl_val root;
    enum proto_err e;

    memset(m, 0, sizeof(*m));
    e = msg_parse(f, PROTO_HELLO, &root, why, whylen);
    if (e) return e;
    if (!(e = get_str(root, "proto", proto, sizeof(proto), why, whylen)) &&
        strcmp(proto, "relocd"))
        e = why_bad(why, whylen, "not a relocd peer (proto '%s')", proto);
    if (!e) e = get_int(root, "version", 1, 65535, &m->version, why, whylen);
    if (!e)
        e = get_int(root, "min_version", 1, m->version, &m->min_version, why,
                    whylen);
    if (!e)
        e = get_str(root, "software", m->software, sizeof(m->software), why,
                    whylen);
    if (!e) e = get_str(root, "host", m->host, sizeof(m->host), why, whylen);
    yajl_tree_free(root);
    return e;
}

enum proto_err msg_get_error(const struct proto_frame *f, struct msg_error *m,
                             char *why, size_t whylen)
{
    char code[32];
    yajl_val root;
    enum proto_err e;

    memset(m, 0, sizeof(*m));
    e = msg_parse(f, PROTO_ERROR, &root, why, whylen);
    if (e) return e;
    e = get_str(root, "code", code, sizeof(code), why, whylen);
    if (!e)
        e = get_str(root, "message", m->message, sizeof(m->message), why,
                    whylen);
    m->code = e ? PERR_INTERNAL : proto_err_from_name(code);
    yajl_tree_free(root);
    return e;
}

/* An array of exactly n numbers in 0..2^32-1. */
static int get_u32s(yajl_val v, uint32_t *out, size_t n)
{
    size_t i;

    if (!YAJL_IS_ARRAY(v) || YAJL_GET_ARRAY(v)->len != n) return -1;
    for (i = 0; i < n; i++) {
        yajl_val x = YAJL_GET_ARRAY(v)->values[i];

        if (!YAJL_IS_INTEGER(x) || YAJL_GET_INTEGER(x) < 0 ||
            YAJL_GET_INTEGER(x) > 0xffffffffLL)
            return -1;
        out[i] = (uint32_t)YAJL_GET_INTEGER(x);
    }
    return 0;
}

/* The "cpuid" (6 numbers each) or "msr" (4) array of "cpu"; *n_r entries. */
static enum proto_err get_rows(yajl_val cpu, const char *key, size_t width,
                               size_t max, uint32_t *rows, unsigned *n_r,
                               char *why, size_t whylen)
{
    yajl_val v = member(cpu, key);
    size_t i;

    if (!v || !YAJL_IS_ARRAY(v))
        return why_bad(why, whylen, "'cpu.%s' missing or not an array", key);
    if (YAJL_GET_ARRAY(v)->len > max)
        return why_bad(why, whylen, "'cpu.%s' has more than %zu entries", key,
                       max);
    for (i = 0; i < YAJL_GET_ARRAY(v)->len; i++)
        if (get_u32s(YAJL_GET_ARRAY(v)->values[i], rows + i * width, width))
            return why_bad(why, whylen,
                           "'cpu.%s' entry %zu is not %zu numbers "
                           "of 32 bits",
                           key, i, width);
    *n_r = (unsigned)i;
    return PERR_OK;
}

static enum proto_err get_cpu_policy(yajl_val cpu, struct msg_preflight *m,
                                     char *why, size_t whylen)
{
    uint32_t *leaves = malloc(MSG_MAX_CPUID_LEAVES * 6 * sizeof(uint32_t));
    uint32_t *msrs = malloc(MSG_MAX_MSRS * 4 * sizeof(uint32_t));
    struct msg_cpu_policy *p = calloc(1, sizeof(*p));
    enum proto_err e = PERR_OK;
    unsigned i;

    m->cpu = p;
    if (!leaves || !msrs || !p)
        e = why_bad(why, whylen, "out of memory");
    else if (!YAJL_IS_OBJECT(cpu))
        e = why_bad(why, whylen, "'cpu' is not an object");
    if (!e)
        e = get_rows(cpu, "cpuid", 6, MSG_MAX_CPUID_LEAVES, leaves, &p->nleaves,
                     why, whylen);
    if (!e)
        e = get_rows(cpu, "msr", 4, MSG_MAX_MSRS, msrs, &p->nmsrs, why, whylen);
    for (i = 0; !e && i < p->nleaves; i++)
        p->leaves[i] = (struct msg_cpuid_leaf){
            leaves[i * 6],     leaves[i * 6 + 1], leaves[i * 6 + 2],
            leaves[i * 6 + 3], leaves[i * 6 + 4], leaves[i * 6 + 5]};
    for (i = 0; !e && i < p->nmsrs; i++)
        p->msrs[i] =
            (struct msg_msr){msrs[i * 4], msrs[i * 4 + 1],
                             (uint64_t)msrs[i * 4 + 2] << 32 | msrs[i * 4 + 3]};
    free(leaves);
    free(msrs);
    return e;
}

/* An integer member from 0 to max; missing or anything else is an error. */
static enum proto_err get_u64(yajl_val obj, const char *key, uint64_t max,
                              uint64_t *v_r, char *why, size_t whylen)
{
    yajl_val v = member(obj, key);

    if (!v || !YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0 ||
        (uint64_t)YAJL_GET_INTEGER(v) > max)
        return why_bad(why, whylen, "'%s' missing or not an integer 0..%llu",
                       key, (unsigned long long)max);
    *v_r = (uint64_t)YAJL_GET_INTEGER(v);
    return PERR_OK;
}

/* PREFLIGHT's "disks": absolute paths, sizes a multiple of 512. */
static enum proto_err get_disks(yajl_val v, struct msg_preflight *m, char *why,
                                size_t whylen)
{
    struct msg_disk *d;
    enum proto_err e = PERR_OK;
    size_t i;

    if (!YAJL_IS_ARRAY(v) || YAJL_GET_ARRAY(v)->len > MSG_MAX_DISKS)
        return why_bad(why, whylen, "'disks' is not an array of at most %d",
                       MSG_MAX_DISKS);
    for (i = 0; !e && i < YAJL_GET_ARRAY(v)->len; i++) {
        yajl_val x = YAJL_GET_ARRAY(v)->values[i];

        d = &m->disks[i];
        if (!YAJL_IS_OBJECT(x))
            return why_bad(why, whylen, "a disk is not an object");
        e = get_str(x, "path", d->path, sizeof(d->path), why, whylen);
        if (!e)
            e = get_u64(x, "size", MSG_DISK_SIZE_MAX, &d->size, why, whylen);
        if (!e)
            e = get_u64(x, "allocated", d->size, &d->allocated, why, whylen);
        if (!e && member(x, "id"))
            e = get_str(x, "id", d->id, sizeof(d->id), why, whylen);
        if (!e && (d->path[0] != '/' || !d->size || d->size % 512))
            e = why_bad(why, whylen,
                        "disk %zu: an absolute path and a size that is a "
                        "multiple of 512 are needed",
                        i);
        m->ndisks = (unsigned)i + 1;
    }
    return e;
}

enum proto_err msg_get_preflight(const struct proto_frame *f,
                                 struct msg_preflight *m, char *why,
                                 size_t whylen)
{
    yajl_val root, v;
    enum proto_err e;

    memset(m, 0, sizeof(*m));
    e = msg_parse(f, PROTO_PREFLIGHT, &root, why, whylen);
    if (e) return e;
    v = member(root, "config");
    if (!v || !YAJL_IS_STRING(v))
        e = why_bad(why, whylen, "'config' missing or not a string");
    if (!e) e = get_bool(root, "live", &m->live, why, whylen);
    if (!e) {
        const char *text = YAJL_GET_STRING(v);

        m->config = strdup(text ? text : "");
        if (!m->config) e = why_bad(why, whylen, "out of memory");
    }
    if (!e && (v = member(root, "cpu"))) e = get_cpu_policy(v, m, why, whylen);
    if (!e && (v = member(root, "disks"))) e = get_disks(v, m, why, whylen);
    yajl_tree_free(root);
    if (e) msg_preflight_clear(m);
    return e;
}

static enum proto_err get_check(yajl_val v, struct msg_check *c, char *why,
                                size_t whylen)
{
    enum proto_err e;

    if (!YAJL_IS_OBJECT(v))
        return why_bad(why, whylen, "a check is not an object");
    e = get_str(v, "check", c->check, sizeof(c->check), why, whylen);
    if (!e) e = get_bool(v, "ok", &c->ok, why, whylen);
    if (!e)
        e = get_str(v, "message", c->message, sizeof(c->message), why, whylen);
    return e;
}

enum proto_err msg_get_preflight_result(const struct proto_frame *f,
                                        struct msg_preflight_result *m,
                                        char *why, size_t whylen)
{
    yajl_val root, checks;
    enum proto_err e;
    size_t i;

    memset(m, 0, sizeof(*m));
    e = msg_parse(f, PROTO_PREFLIGHT_RESULT, &root, why, whylen);
    if (e) return e;
    e = get_bool(root, "ok", &m->ok, why, whylen);
    if (!e) e = get_mem(root, m, why, whylen);
    if (!e) e = get_shared(root, m, why, whylen);
    checks = member(root, "checks");
    if (!e && (!checks || !YAJL_IS_ARRAY(checks)))
        e = why_bad(why, whylen, "'checks' missing or not an array");
    for (i = 0; !e && i < YAJL_GET_ARRAY(checks)->len; i++) {
        if (i >= MSG_MAX_CHECKS) {
            e = why_bad(why, whylen, "more than %d checks", MSG_MAX_CHECKS);
            break;
        }
        e = get_check(YAJL_GET_ARRAY(checks)->values[i], &m->checks[i], why,
                      whylen);
        m->nchecks = i + 1;
    }
    yajl_tree_free(root);
    return e;
}

/* 1 for a token: MSG_TOKEN_LEN lowercase hex digits. */
int msg_token_ok(const char *t)
{
    return strlen(t) == MSG_TOKEN_LEN &&
           strspn(t, "0123456789abcdef") == MSG_TOKEN_LEN;
}

/* MIGRATE's "disks": tokens. */
static enum proto_err get_tokens(yajl_val v, struct msg_migrate *m, char *why,
                                 size_t whylen)
{
    size_t i;

    if (!YAJL_IS_ARRAY(v) || YAJL_GET_ARRAY(v)->len > MSG_MAX_DISKS)
        return why_bad(why, whylen, "'disks' is not an array of at most %d",
                       MSG_MAX_DISKS);
    for (i = 0; i < YAJL_GET_ARRAY(v)->len; i++) {
        yajl_val x = YAJL_GET_ARRAY(v)->values[i];

        if (!YAJL_IS_STRING(x) || !msg_token_ok(YAJL_GET_STRING(x)))
            return why_bad(why, whylen, "a disk token is not %d hex digits",
                           MSG_TOKEN_LEN);
        snprintf(m->tokens[i], sizeof(m->tokens[i]), "%s", YAJL_GET_STRING(x));
        m->ntokens = (unsigned)i + 1;
    }
    return PERR_OK;
}

enum proto_err msg_get_migrate(const struct proto_frame *f,
                               struct msg_migrate *m, char *why, size_t whylen)
{
    yajl_val root, flags, v;
    enum proto_err e;
    size_t i;

    memset(m, 0, sizeof(*m));
    e = msg_parse(f, PROTO_MIGRATE, &root, why, whylen);
    if (e) return e;
    e = get_str(root, "mode", m->mode, sizeof(m->mode), why, whylen);
    flags = member(root, "flags");
    if (!e && (!flags || !YAJL_IS_ARRAY(flags)))
        e = why_bad(why, whylen, "'flags' missing or not an array");
    for (i = 0; !e && i < YAJL_GET_ARRAY(flags)->len; i++) {
        v = YAJL_GET_ARRAY(flags)->values[i];
        if (i >= MSG_MAX_FLAGS)
            e = why_bad(why, whylen, "more than %d flags", MSG_MAX_FLAGS);
        else if (!YAJL_IS_STRING(v) ||
                 snprintf(m->flags[i], sizeof(m->flags[i]), "%s",
                          YAJL_GET_STRING(v)) >= (int)sizeof(m->flags[i]))
            e = why_bad(why, whylen, "a flag is not a short string");
        else
            m->nflags = i + 1;
    }
    if (!e && member(root, "anatomy"))
        e = get_bool(root, "anatomy", &m->anatomy, why, whylen);
    if (!e && (v = member(root, "disks"))) e = get_tokens(v, m, why, whylen);
    yajl_tree_free(root);
    return e;
}

enum proto_err msg_get_accept(const struct proto_frame *f, char *why,
                              size_t whylen)
{
    yajl_val root;
    enum proto_err e = msg_parse(f, PROTO_ACCEPT, &root, why, whylen);

    yajl_tree_free(root);
    return e;
}

enum proto_err msg_get_anatomy(const struct proto_frame *f,
                               struct msg_anatomy *m, char *why, size_t whylen)
{
    yajl_val root, v;
    enum proto_err e;
    unsigned i;

    for (i = 0; i < MSG_ANAT_NSTEPS; i++)
        m->us[i] = MSG_ANATOMY_UNKNOWN;
    e = msg_parse(f, PROTO_ANATOMY, &root, why, whylen);
    if (e) return e;
    for (i = 0; !e && i < MSG_ANAT_NSTEPS; i++) {
        if (!(v = member(root, anatomy_keys[i]))) continue;
        if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0 ||
            YAJL_GET_INTEGER(v) > MSG_ANATOMY_MAX_US)
            e = why_bad(why, whylen, "'%s' is not an integer from 0 to %lld",
                        anatomy_keys[i], MSG_ANATOMY_MAX_US);
        else
            m->us[i] = YAJL_GET_INTEGER(v);
    }
    yajl_tree_free(root);
    if (e)
        for (i = 0; i < MSG_ANAT_NSTEPS; i++)
            m->us[i] = MSG_ANATOMY_UNKNOWN;
    return e;
}

/* --- control socket ------------------------------------------------------- */

static void gen_disk_maps(yajl_gen g, const struct msg_ctl_migrate *r)
{
    unsigned i;

    json_kv_bool(g, "copy_storage", 1);
    json_str(g, "disk_map");
    yajl_gen_array_open(g);
    for (i = 0; i < r->nmaps; i++) {
        yajl_gen_map_open(g);
        json_kv_str(g, "src", r->maps[i].src);
        json_kv_str(g, "dst", r->maps[i].dst);
        yajl_gen_map_close(g);
    }
    yajl_gen_array_close(g);
}

int msg_put_ctl_migrate(struct buf *out, const struct msg_ctl_migrate *r)
{
    yajl_gen g = json_begin();

    json_kv_str(g, "domain", r->domain);
    json_kv_str(g, "target", r->target);
    json_kv_int(g, "port", r->port);
    json_kv_int(g, "ssl", r->ssl);
    json_kv_bool(g, "live", r->live);
    if (r->max_downtime_ms)
        json_kv_int(g, "max_downtime_ms", r->max_downtime_ms);
    if (r->bandwidth_mbps >= 0)
        json_kv_int(g, "bandwidth_mbps", r->bandwidth_mbps);
    if (r->converge_set)
        json_kv_str(g, "on_no_converge", converge_name(r->on_no_converge));
    json_kv_int(g, "timeout_s", r->timeout_s);
    if (r->via_set) json_kv_str(g, "via", r->via);
    if (r->paused) json_kv_bool(g, "paused", 1);
    if (r->copy_storage) gen_disk_maps(g, r);
    return gen_finish(g, out, PROTO_CTL_MIGRATE);
}

static enum proto_err get_converge(yajl_val root, enum converge *c_r, char *why,
                                   size_t whylen)
{
    char name[16];
    enum proto_err e =
        get_str(root, "on_no_converge", name, sizeof(name), why, whylen);

    if (e || converge_parse(name, c_r) == 0) return e;
    return why_bad(why, whylen, "unknown on_no_converge '%s'", name);
}

static enum proto_err get_disk_maps(yajl_val root, struct msg_ctl_migrate *r,
                                    char *why, size_t whylen)
{
    yajl_val v = member(root, "disk_map"), x;
    enum proto_err e = PERR_OK;
    size_t i;

    if (!YAJL_IS_ARRAY(v) || YAJL_GET_ARRAY(v)->len > MSG_MAX_DISKS)
        return why_bad(why, whylen, "'disk_map' is not an array of at most %d",
                       MSG_MAX_DISKS);
    for (i = 0; !e && i < YAJL_GET_ARRAY(v)->len; i++) {
        x = YAJL_GET_ARRAY(v)->values[i];
        if (!YAJL_IS_OBJECT(x))
            return why_bad(why, whylen, "a disk_map entry is not an object");
        e = get_str(x, "src", r->maps[i].src, sizeof(r->maps[i].src), why,
                    whylen);
        if (!e)
            e = get_str(x, "dst", r->maps[i].dst, sizeof(r->maps[i].dst), why,
                        whylen);
        r->nmaps = (unsigned)i + 1;
    }
    return e;
}

/* The optional members of a migration request; absent = the daemon's. */
static enum proto_err get_ctl_migrate_defaults(yajl_val root,
                                               struct msg_ctl_migrate *r,
                                               char *why, size_t whylen)
{
    enum proto_err e = PERR_OK;

    r->bandwidth_mbps = -1;
    if (member(root, "max_downtime_ms"))
        e = get_int(root, "max_downtime_ms", 1, 600000, &r->max_downtime_ms,
                    why, whylen);
    if (!e && member(root, "bandwidth_mbps"))
        e = get_int(root, "bandwidth_mbps", 0, 1000000, &r->bandwidth_mbps, why,
                    whylen);
    if (!e && member(root, "on_no_converge")) {
        r->converge_set = 1;
        e = get_converge(root, &r->on_no_converge, why, whylen);
    }
    if (!e && member(root, "via")) {
        r->via_set = 1;
        e = get_str(root, "via", r->via, sizeof(r->via), why, whylen);
    }
    if (!e && member(root, "paused"))
        e = get_bool(root, "paused", &r->paused, why, whylen);
    if (!e && member(root, "copy_storage"))
        e = get_bool(root, "copy_storage", &r->copy_storage, why, whylen);
    if (!e && member(root, "disk_map")) e = get_disk_maps(root, r, why, whylen);
    return e;
}

enum proto_err msg_get_ctl_migrate(const struct proto_frame *f,
                                   struct msg_ctl_migrate *r, char *why,
                                   size_t whylen)
{
    yajl_val root;
    enum proto_err e;

    memset(r, 0, sizeof(*r));
    e = msg_parse(f, PROTO_CTL_MIGRATE, &root, why, whylen);
    if (e) return e;
    if (!(e = get_str(root, "domain", r->domain, sizeof(r->domain), why,
                      whylen)) &&
        !(e = get_str(root, "target", r->target, sizeof(r->target), why,
                      whylen)) &&
        !(e = get_int(root, "port", 0, 65535, &r->port, why, whylen)) &&
        !(e = get_int(root, "ssl", -1, 1, &r->ssl, why, whylen)) &&
        !(e = get_bool(root, "live", &r->live, why, whylen)) &&
        !(e = get_int(root, "timeout_s", 0, 86400 * 7, &r->timeout_s, why,
                      whylen)))
        e = get_ctl_migrate_defaults(root, r, why, whylen);
    yajl_tree_free(root);
    return e;
}

int msg_put_ctl_cancel(struct buf *out, int id)
{
    yajl_gen g = json_begin();

    json_kv_int(g, "id", id);
    return gen_finish(g, out, PROTO_CTL_CANCEL);
}

enum proto_err msg_get_ctl_cancel(const struct proto_frame *f, int *id_r,
                                  char *why, size_t whylen)
{
    yajl_val root;
    enum proto_err e = msg_parse(f, PROTO_CTL_CANCEL, &root, why, whylen);

    if (e) return e;
    e = get_int(root, "id", 1, 1 << 30, id_r, why, whylen);
    yajl_tree_free(root);
    return e;
}

int msg_put_ctl_event(struct buf *out, const char *json)
{
    return proto_frame_put(out, PROTO_CTL_EVENT, json, strlen(json));
}

void msg_preflight_clear(struct msg_preflight *m)
{
    free(m->config);
    m->config = NULL;
    free(m->cpu);
    m->cpu = NULL;
}

void msg_check_add(struct msg_preflight_result *r, const char *check, int ok,
                   const char *fmt, ...)
{
    struct msg_check *c;
    va_list ap;

    if (!ok) r->ok = 0;
    if (r->nchecks >= MSG_MAX_CHECKS) return;
    c = &r->checks[r->nchecks++];
    snprintf(c->check, sizeof(c->check), "%s", check);
    c->ok = ok;
    va_start(ap, fmt);
    vsnprintf(c->message, sizeof(c->message), fmt, ap);
    va_end(ap);
}
