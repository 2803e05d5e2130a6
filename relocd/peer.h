/*
 * peer.h - who is at the other end of a connection, in the terms xend's
 * allow-list used: the IP address as text and the fully qualified name.
 */
#ifndef RELOCD_PEER_H
#define RELOCD_PEER_H

#include <stddef.h>
#include <sys/socket.h>

struct acl;

/*
 * Writes the address as text into ip (plain dotted quad for IPv4-mapped
 * IPv6, so "::ffff:10.0.0.1" matches patterns written for 10.0.0.1).
 * Returns 0, or -1 with errno set (EAFNOSUPPORT, ENOSPC).
 */
int peer_addr_text(const struct sockaddr *sa, socklen_t salen, char *ip,
                   size_t iplen);

/*
 * Python's socket.getfqdn(ip), which xend used: the first of the reverse
 * name and its aliases that contains a dot, else the reverse name, else the
 * address itself when there is no reverse entry, or when the name is not
 * forward-confirmed (none of its addresses is ip).  Blocks on DNS: call it
 * only outside the daemon's poll loop.  Always returns 0.
 */
int peer_fqdn(const char *ip, char *fqdn, size_t fqdnlen);

struct addrinfo;
/* The forward lookup peer_fqdn() confirms a name with (getaddrinfo()); a
 * test may point it at its own resolver. */
extern int (*peer_forward_lookup)(const char *name, int af,
                                  struct addrinfo **res);

/*
 * peer_fqdn() within timeout_ms (< 0: no limit), in a child process killed
 * at the deadline.  Returns 0 with the name, or -1 when the lookup did not
 * finish in time (or could not start): fqdn is then the address itself,
 * as for a peer without a reverse entry.
 */
int peer_fqdn_within(const char *ip, int timeout_ms, char *fqdn,
                     size_t fqdnlen);

/*
 * When set, the lookup child of peer_fqdn_within() calls it first, and
 * exits when it returns -1: the resolver parses DNS answers that anyone
 * on the path may forge, which need not be done as root.
 */
extern int (*peer_lookup_confine)(void);

/*
 * The allow-list decision.  fqdn may be NULL: then it is looked up with
 * peer_fqdn_within(timeout_ms), and only when the address alone is not
 * already allowed, which gives the same answer as xend with fewer DNS
 * queries; a lookup past the deadline matches the address only.  The name
 * used is copied into fqdn_r (when not NULL) for the rejection log.
 * Returns 1 to allow, 0 to deny.
 */
int peer_allowed(const struct acl *acl, const char *ip, const char *fqdn,
                 int timeout_ms, char *fqdn_r, size_t fqdnlen);

#endif
