/*
 * acl.c - xend-relocation-hosts-allow (see acl.h), on PCRE2.
 *
 * xend (tools/python/xen/xend/server/relocate.py, listenRelocation()):
 *
 *     hosts_allow = xoptions.get_xend_relocation_hosts_allow()
 *     if hosts_allow == '':
 *         hosts_allow = None
 *     else:
 *         hosts_allow = map(re.compile, hosts_allow.split(" "))
 *
 * and tools/python/xen/web/connection.py, hostAllowed():
 *
 *     fqdn = socket.getfqdn(addrport[0])
 *     for h in hosts_allowed:
 *         if h.match(fqdn) or h.match(addrport[0]):
 *             return True
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/acl.h"

#define ACL_KEY "xend-relocation-hosts-allow"

struct acl {
    size_t n;
    pcre2_code **code;
    pcre2_match_context *mctx;
};

void acl_free(struct acl *acl)
{
    size_t i;

    if (!acl) return;
    for (i = 0; i < acl->n; i++)
        pcre2_code_free(acl->code[i]);
    free(acl->code);
    pcre2_match_context_free(acl->mctx);
    free(acl);
}

size_t acl_count(const struct acl *acl)
{
    return acl ? acl->n : 0;
}

static int acl_nomem(char *err, size_t errlen)
{
    diag_errf(err, errlen, ACL_KEY ": out of memory");
    errno = ENOMEM;
    return -1;
}

static struct acl *acl_new(void)
{
    struct acl *acl = calloc(1, sizeof(*acl));

    if (!acl) return NULL;
    acl->mctx = pcre2_match_context_create(NULL);
    if (!acl->mctx) {
        free(acl);
        return NULL;
    }
    /* A pattern from the admin meets a name from the peer's DNS: bound it */
    pcre2_set_match_limit(acl->mctx, ACL_MATCH_LIMIT);
    pcre2_set_depth_limit(acl->mctx, ACL_DEPTH_LIMIT);
    pcre2_set_heap_limit(acl->mctx, ACL_HEAP_LIMIT);
    return acl;
}

/*
 * Python 2's re took a backslash before a character it had no meaning for
 * as that character ('\q' is 'q'), where PCRE2 refuses it; and it worked on
 * bytes, so no (*UTF) switch.  The rest of the syntax xend configs use
 * (., *, +, ?, [], ^, $, |, (), \d, \.) means the same in both.
 */
static pcre2_code *acl_compile_one(const char *pat, size_t len, char *err,
                                   size_t errlen)
{
    pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
    PCRE2_UCHAR msg[256];
    PCRE2_SIZE off = 0;
    pcre2_code *code;
    char vis[128];
    int r;

    if (!cctx) {
        acl_nomem(err, errlen);
        return NULL;
    }
    pcre2_set_compile_extra_options(cctx, PCRE2_EXTRA_BAD_ESCAPE_IS_LITERAL);
    code = pcre2_compile((PCRE2_SPTR)pat, len, PCRE2_NEVER_UTF, &r, &off, cctx);
    pcre2_compile_context_free(cctx);
    if (code) return code;
    if (pcre2_get_error_message(r, msg, sizeof(msg)) < 0)
        snprintf((char *)msg, sizeof(msg), "error %d", r);
    diag_errf(err, errlen, ACL_KEY ": bad pattern '%s': %s at offset %zu",
              diag_vis(pat, vis, sizeof(vis)), (const char *)msg, (size_t)off);
    return NULL;
}

static int acl_add(struct acl *acl, const char *pat, size_t len, char *err,
                   size_t errlen)
{
    pcre2_code **code;
    char *copy;

    code = reallocarray(acl->code, acl->n + 1, sizeof(*code));
    if (!code) return acl_nomem(err, errlen);
    acl->code = code;
    copy = strndup(pat, len); /* for the message: the piece alone */
    if (!copy) return acl_nomem(err, errlen);
    code[acl->n] = acl_compile_one(copy, len, err, errlen);
    free(copy);
    if (!code[acl->n]) return -1;
    acl->n++;
    return 0;
}

/* A character of a host name or an address, where a longer one goes on. */
static int acl_namechar(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

/*
 * The text a pattern of literal characters matches (the leading '^'
 * dropped, "\." as "."), or 0 when it is more than a literal.
 */
static int acl_literal(const char *pat, size_t len, char *buf, size_t buflen)
{
    size_t i = pat[0] == '^', n = 0;

    for (; i < len && n + 1 < buflen; i++) {
        if (pat[i] == '\\' && i + 1 < len &&
            (pat[i + 1] == '.' || pat[i + 1] == '-'))
            i++;
        else if (!acl_namechar(pat[i]) && pat[i] != '.')
            return 0;
        buf[n++] = pat[i];
    }
    buf[n] = '\0';
    return i == len && n > 0;
}

/*
 * re.match() anchors the start only: '^10\.0\.0\.1' also admits 10.0.0.15,
 * and 'node1' a name node1.attacker.example that whoever owns an address
 * can give it in reverse DNS.  Kept for xend's sake, but said aloud for a
 * pattern that ends inside a name or a number without '$'.
 */
static void acl_warn_prefix(const char *pat, size_t len,
                            const struct conf_opts *opts)
{
    char raw[128], vis[128], lit[128];
    size_t bs = 0;

    while (bs < len - 1 && pat[len - 2 - bs] == '\\')
        bs++;
    if (memchr(pat, '$', len) || !acl_namechar(pat[len - 1]) || bs % 2) return;
    snprintf(raw, sizeof(raw), "%.*s", (int)len, pat);
    diag_vis(raw, vis, sizeof(vis));
    if (acl_literal(pat, len, lit, sizeof(lit)))
        diag_warnf(opts,
                   "warning: " ACL_KEY ": '%s' also admits %s0 and "
                   "%s.attacker.example (a pattern matches the start of an "
                   "address or name, as in xend); end it with '$' to admit "
                   "%s alone",
                   vis, lit, lit, lit);
    else
        diag_warnf(opts,
                   "warning: " ACL_KEY ": '%s' also admits every address or "
                   "name that goes on after what it matches (a pattern "
                   "matches the start, as in xend); end it with '$'",
                   vis);
}

/*
 * DEVIATION: xend split on " " exactly, so two spaces in a row, or one at
 * either end, made an empty pattern, and re.match('', anything) matches:
 * a stray space admitted every host.  Here an empty piece is ignored with
 * a warning, and a value of nothing but spaces admits no one.  Tabs and
 * newlines are not separators, as in xend: they belong to the pattern.
 */
static int acl_split(struct acl *acl, const char *s, char *err, size_t errlen,
                     const struct conf_opts *opts)
{
    for (;;) {
        const char *sp = strchr(s, ' ');
        size_t len = sp ? (size_t)(sp - s) : strlen(s);

        if (!len)
            diag_warnf(opts,
                       "warning: " ACL_KEY ": empty pattern (two spaces, or "
                       "a space at either end) ignored; xend let every host "
                       "in with it");
        else if (acl_add(acl, s, len, err, errlen) < 0)
            return -1;
        else
            acl_warn_prefix(s, len, opts);
        if (!sp) return 0;
        s = sp + 1;
    }
}

int acl_compile(const char *hosts_allow, struct acl **acl_r, char *err,
                size_t errlen, const struct conf_opts *opts)
{
    struct acl *acl;

    *acl_r = NULL;
    if (!hosts_allow || !*hosts_allow) return 0;
    acl = acl_new();
    if (!acl) return acl_nomem(err, errlen);
    if (acl_split(acl, hosts_allow, err, errlen, opts) < 0) {
        int saved = errno;

        acl_free(acl);
        errno = saved;
        return -1;
    }
    if (!acl->n)
        diag_warnf(opts, "warning: " ACL_KEY ": no patterns: every peer "
                         "will be rejected");
    *acl_r = acl;
    return 0;
}

/*
 * xend listened on AF_INET only, so it matched dotted quads.  A dual-stack
 * socket reports IPv4 peers as ::ffff:a.b.c.d: use the dotted quad, so old
 * patterns keep working.  Other IPv6 text is made canonical (RFC 5952, as
 * inet_ntop writes it), so "2001:DB8:0::1" and "2001:db8::1" are one peer.
 */
static const char *acl_ip_text(const char *ip, char *buf, size_t len)
{
    struct in6_addr a6;

    if (!ip || inet_pton(AF_INET6, ip, &a6) != 1) return ip;
    if (IN6_IS_ADDR_V4MAPPED(&a6)) {
        if (!inet_ntop(AF_INET, &a6.s6_addr[12], buf, (socklen_t)len))
            return ip;
    } else if (!inet_ntop(AF_INET6, &a6, buf, (socklen_t)len)) {
        return ip;
    }
    return buf;
}

/* re.match(): PCRE2_ANCHORED at match time anchors at the start only. */
static int acl_match_one(const struct acl *acl, const pcre2_code *code,
                         const char *subject, pcre2_match_data *md)
{
    size_t len;

    if (!subject) return 0;
    len = strnlen(subject, ACL_MAX_SUBJECT + 1);
    if (len > ACL_MAX_SUBJECT) return 0;
    return pcre2_match(code, (PCRE2_SPTR)subject, len, 0, PCRE2_ANCHORED, md,
                       acl->mctx) >= 0;
}

int acl_match(const struct acl *acl, const char *ip_text, const char *fqdn)
{
    char buf[INET6_ADDRSTRLEN];
    pcre2_match_data *md;
    const char *ip;
    int allow = 0;
    size_t i;

    if (!acl) return 1;
    ip = acl_ip_text(ip_text, buf, sizeof(buf));
    md = pcre2_match_data_create(1, NULL);
    if (!md) return 0;
    for (i = 0; i < acl->n && !allow; i++)
        allow = acl_match_one(acl, acl->code[i], fqdn, md) ||
                acl_match_one(acl, acl->code[i], ip, md);
    pcre2_match_data_free(md);
    return allow;
}
