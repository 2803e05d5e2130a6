/*
 * peer.c - peer identity for the allow-list (xen/web/connection.py's
 * hostAllowed(): socket.getfqdn(addr) and the address, each matched).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "config/acl.h"
#include "relocd/peer.h"

int peer_addr_text(const struct sockaddr *sa, socklen_t salen, char *ip,
                   size_t iplen)
{
    const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
    const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
    const void *src;
    int af = sa->sa_family;

    if (af == AF_INET && salen >= (socklen_t)sizeof(*s4)) {
        src = &s4->sin_addr;
    } else if (af == AF_INET6 && salen >= (socklen_t)sizeof(*s6)) {
        src = &s6->sin6_addr;
        if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
            /* The last four bytes are the IPv4 address. */
            src = &s6->sin6_addr.s6_addr[12];
            af = AF_INET;
        }
    } else {
        errno = EAFNOSUPPORT;
        return -1;
    }
    if (!inet_ntop(af, src, ip, iplen)) return -1;
    return 0;
}

/* Python's getfqdn() takes the first name with a dot, else the primary. */
static const char *fqdn_pick(const struct hostent *he)
{
    char **alias;

    if (strchr(he->h_name, '.')) return he->h_name;
    for (alias = he->h_aliases; alias && *alias; alias++)
        if (strchr(*alias, '.')) return *alias;
    return he->h_name;
}

static int fqdn_lookup(const void *addr, socklen_t len, int af, char *fqdn,
                       size_t fqdnlen)
{
    struct hostent he, *res = NULL;
    char buf[8192];
    int r, herr;

    r = gethostbyaddr_r(addr, len, af, &he, buf, sizeof(buf), &res, &herr);
    if (r || !res || !res->h_name) return -1;
    if (snprintf(fqdn, fqdnlen, "%s", fqdn_pick(res)) >= (int)fqdnlen)
        return -1;
    return 0;
}

int peer_fqdn(const char *ip, char *fqdn, size_t fqdnlen)
{
    struct in6_addr a6;
    struct in_addr a4;
    int done = -1;

    if (inet_pton(AF_INET, ip, &a4) == 1)
        done = fqdn_lookup(&a4, sizeof(a4), AF_INET, fqdn, fqdnlen);
    else if (inet_pton(AF_INET6, ip, &a6) == 1)
        done = fqdn_lookup(&a6, sizeof(a6), AF_INET6, fqdn, fqdnlen);
    if (done < 0) snprintf(fqdn, fqdnlen, "%s", ip);
    return 0;
}

int peer_allowed(const struct acl *acl, const char *ip, const char *fqdn,
                 char *fqdn_r, size_t fqdnlen)
{
    char name[NI_MAXHOST];

    if (fqdn_r && fqdnlen) snprintf(fqdn_r, fqdnlen, "%s", fqdn ? fqdn : ip);
    if (!acl || acl_match(acl, ip, NULL)) return 1;
    if (!fqdn) {
        peer_fqdn(ip, name, sizeof(name));
        fqdn = name;
        if (fqdn_r && fqdnlen) snprintf(fqdn_r, fqdnlen, "%s", fqdn);
    }
    return acl_match(acl, ip, fqdn);
}
