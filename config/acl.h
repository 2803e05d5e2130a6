/*
 * acl.h - the relocation allow-list, xend-relocation-hosts-allow, with
 * xend's semantics (tools/python/xen/xend/server/relocate.py and
 * tools/python/xen/web/connection.py hostAllowed(), Xen 4.4):
 *
 *   - the value is split on single spaces; each piece is a Python regular
 *     expression (PCRE2 here, unknown escapes literal as in Python 2);
 *   - a peer is allowed when any pattern matches its fully qualified name
 *     or its IP address as text, with Python's re.match(): anchored at the
 *     start only, so '10\.0\.0\.1' also admits 10.0.0.10 and 'example\.org'
 *     does not admit node.example.org (write '.*\.example\.org$');
 *   - an empty value admits everyone.
 */
#ifndef RELOCD_ACL_H
#define RELOCD_ACL_H

#include <stddef.h>

#include "config/diag.h"

/* Bounds on the work of one match (PCRE2 match context). */
#define ACL_MATCH_LIMIT 100000 /* backtracking steps */
#define ACL_DEPTH_LIMIT 10000  /* backtracking depth */
#define ACL_HEAP_LIMIT 8192    /* KiB */
#define ACL_MAX_SUBJECT 1025   /* longer names/addresses never match */

struct acl;

/* acl.c */

/*
 * Compiles hosts_allow.  An empty string admits everyone: *acl_r is then
 * NULL, which acl_match() allows.  Warnings (an empty piece, which xend
 * turned into a pattern matching every host) go to opts (NULL: stderr).
 * Returns 0, or -1 with errno set and the error in err, e.g.
 * "xend-relocation-hosts-allow: bad pattern 'x(': missing closing
 * parenthesis at offset 2" (the caller adds FILE:LINE).  The caller frees
 * *acl_r with acl_free().
 */
int acl_compile(const char *hosts_allow, struct acl **acl_r, char *err,
                size_t errlen, const struct conf_opts *opts);

/*
 * The allow-list decision for a peer: ip_text is its address as text
 * (IPv4-mapped IPv6 "::ffff:10.0.0.1" is matched as "10.0.0.1", other IPv6
 * addresses in their canonical text form), fqdn the name reverse DNS gives
 * for it as Python's socket.getfqdn() did, or NULL.  Returns 1 to allow,
 * 0 to deny; a match that runs into the limits above counts as no match.
 */
int acl_match(const struct acl *acl, const char *ip_text, const char *fqdn);

/* Number of patterns compiled (0 for NULL). */
size_t acl_count(const struct acl *acl);

/* NULL is fine. */
void acl_free(struct acl *acl);

#endif
