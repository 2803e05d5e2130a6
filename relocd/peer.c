/*
 * peer.c - peer identity for the allow-list (xen/web/connection.py's
 * hostAllowed(): socket.getfqdn(addr) and the address, each matched).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

static int forward_getaddrinfo(const char *name, int af, struct addrinfo **res)
{
    struct addrinfo hints = {.ai_family = af, .ai_socktype = SOCK_STREAM};

    return getaddrinfo(name, NULL, &hints, res);
}

int (*peer_forward_lookup)(const char *name, int af,
                           struct addrinfo **res) = forward_getaddrinfo;

/*
 * Forward-confirmed reverse DNS (OpenSSH's UseDNS, tcpd's PARANOID): who
 * controls the reverse zone of an address can give it any name, so a name
 * counts only when its own addresses include the peer's.
 */
static int name_confirmed(const char *name, const void *addr, socklen_t len,
                          int af)
{
    struct addrinfo *res = NULL, *ai;
    const void *a;
    int ok = 0;

    if (peer_forward_lookup(name, af, &res) || !res) return 0;
    for (ai = res; ai && !ok; ai = ai->ai_next) {
        if (ai->ai_family != af) continue;
        if (af == AF_INET)
            a = &((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
        else
            a = &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
        ok = !memcmp(a, addr, len);
    }
    freeaddrinfo(res);
    return ok;
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
    return name_confirmed(fqdn, addr, len, af) ? 0 : -1;
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

int (*peer_lookup_confine)(void);

/* In the lookup child: the name down the pipe, then gone. */
static void fqdn_child(const char *ip, int fd, int timeout_ms)
{
    char name[NI_MAXHOST];
    size_t len;

    if (peer_lookup_confine && peer_lookup_confine() < 0) _exit(1);
    /* A backstop only: the caller kills us at its deadline anyway. */
    alarm((unsigned)(timeout_ms / 1000 + 2));
    peer_fqdn(ip, name, sizeof(name));
    len = strlen(name);
    _exit(write(fd, name, len) == (ssize_t)len ? 0 : 1);
}

/*
 * Reads the child's answer until EOF or the deadline.  Returns the byte
 * count, -1 at the deadline.
 */
static ssize_t fqdn_collect(int fd, char *name, size_t len, int timeout_ms)
{
    struct pollfd pfd = {.fd = fd, .events = POLLIN};
    size_t n = 0;
    ssize_t r;

    while (n < len - 1) {
        r = poll(&pfd, 1, timeout_ms);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        r = read(fd, name + n, len - 1 - n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break;
        n += (size_t)r;
    }
    name[n] = '\0';
    return (ssize_t)n;
}

/*
 * Why a child: the resolver's own limits are not the caller's.
 * RES_OPTIONS timeout:/attempts: bound DNS only (not NSS modules such as
 * LDAP or mDNS) and multiply by nameservers and search domains;
 * getaddrinfo_a() has no reverse lookup; a thread cannot be cancelled out
 * of a blocking NSS call safely.  A child can always be killed at the
 * deadline, whatever NSS does, and costs one fork per peer that is not
 * allowed by its address alone (rare, and capped per host by the parent).
 */
int peer_fqdn_within(const char *ip, int timeout_ms, char *fqdn, size_t fqdnlen)
{
    int fd[2], status, rc = -1;
    pid_t pid;

    if (timeout_ms < 0) return peer_fqdn(ip, fqdn, fqdnlen);
    snprintf(fqdn, fqdnlen, "%s", ip);
    if (fqdnlen < 2 || pipe2(fd, O_CLOEXEC) < 0) return -1;
    pid = fork();
    if (pid == 0) {
        close(fd[0]);
        fqdn_child(ip, fd[1], timeout_ms);
    }
    close(fd[1]);
    if (pid > 0 && fqdn_collect(fd[0], fqdn, fqdnlen, timeout_ms) > 0) rc = 0;
    if (rc < 0) snprintf(fqdn, fqdnlen, "%s", ip);
    close(fd[0]);
    if (pid > 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    }
    return rc;
}

int peer_allowed(const struct acl *acl, const char *ip, const char *fqdn,
                 int timeout_ms, char *fqdn_r, size_t fqdnlen)
{
    char name[NI_MAXHOST];

    if (fqdn_r && fqdnlen) snprintf(fqdn_r, fqdnlen, "%s", fqdn ? fqdn : ip);
    if (!acl || acl_match(acl, ip, NULL)) return 1;
    if (!fqdn) {
        peer_fqdn_within(ip, timeout_ms, name, sizeof(name));
        fqdn = name;
        if (fqdn_r && fqdnlen) snprintf(fqdn_r, fqdnlen, "%s", fqdn);
    }
    return acl_match(acl, ip, fqdn);
}
