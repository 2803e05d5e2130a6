/*
 * listen.c - listening sockets for the relocation ports.
 */
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relocd/listen.h"
#include "wire/tcp.h"

static int listen_one(struct listen_set *set, const struct sockaddr *sa,
                      socklen_t salen, int tls, char *err, size_t errlen)
{
    char host[NI_MAXHOST], serv[NI_MAXSERV];
    int fd, on = 1, off = 0;

    if (set->n >= LISTEN_MAX) {
        snprintf(err, errlen, "more than %d listening addresses", LISTEN_MAX);
        return -1;
    }
    fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (sa->sa_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
    /*
     * Keepalive and TCP_USER_TIMEOUT (tcp.h), set here once: an accepted
     * connection is a clone of its listening socket and inherits them.
     * Set on each connection, they were five system calls of the
     * parent's nine per connection, most of what a flood cost it.
     */
    if (tcp_tune(fd) < 0) goto fail;
    /* A deep backlog: under a flood a legitimate SYN must not be dropped. */
    if (bind(fd, sa, salen) < 0 || listen(fd, SOMAXCONN) < 0) goto fail;
    set->fd[set->n] = fd;
    set->tls[set->n++] = tls;
    return 0;
fail:
    getnameinfo(sa, salen, host, sizeof(host), serv, sizeof(serv),
                NI_NUMERICHOST | NI_NUMERICSERV);
    snprintf(err, errlen, "cannot listen on [%s]:%s: %s", host, serv,
             strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
}

static int listen_iface(struct listen_set *set, const char *ifname, int port,
                        int tls, char *err, size_t errlen)
{
    struct ifaddrs *ifa, *i;
    struct sockaddr_storage ss;
    int found = 0, rc = 0;

    if (getifaddrs(&ifa) < 0) {
        snprintf(err, errlen, "getifaddrs: %s", strerror(errno));
        return -1;
    }
    for (i = ifa; i && rc == 0; i = i->ifa_next) {
        if (!i->ifa_addr || strcmp(i->ifa_name, ifname) ||
            (i->ifa_addr->sa_family != AF_INET &&
             i->ifa_addr->sa_family != AF_INET6))
            continue;
        memset(&ss, 0, sizeof(ss));
        if (i->ifa_addr->sa_family == AF_INET) {
            memcpy(&ss, i->ifa_addr, sizeof(struct sockaddr_in));
            ((struct sockaddr_in *)&ss)->sin_port = htons(port);
        } else {
            memcpy(&ss, i->ifa_addr, sizeof(struct sockaddr_in6));
            ((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
        }
        rc = listen_one(set, (struct sockaddr *)&ss,
                        i->ifa_addr->sa_family == AF_INET
                            ? sizeof(struct sockaddr_in)
                            : sizeof(struct sockaddr_in6),
                        tls, err, errlen);
        found = 1;
    }
    freeifaddrs(ifa);
    if (!found && rc == 0) {
        snprintf(err, errlen,
                 "'%s' is neither an address nor an interface "
                 "with addresses",
                 ifname);
        rc = -1;
    }
    return rc;
}

int listen_open(struct listen_set *set, const char *address, int port, int tls,
                char *err, size_t errlen)
{
    struct addrinfo hints = {0}, *res, *ai;
    char serv[16];
    int r, rc = 0;

    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    snprintf(serv, sizeof(serv), "%d", port);
    if (!address || !*address) {
        /* One dual-stack socket; fall back to IPv4 on IPv6-less hosts. */
        struct sockaddr_in6 s6 = {.sin6_family = AF_INET6,
                                  .sin6_port = htons(port)};
        struct sockaddr_in s4 = {.sin_family = AF_INET,
                                 .sin_port = htons(port)};

        if (listen_one(set, (struct sockaddr *)&s6, sizeof(s6), tls, err,
                       errlen) == 0)
            return 0;
        return listen_one(set, (struct sockaddr *)&s4, sizeof(s4), tls, err,
                          errlen);
    }
    if (if_nametoindex(address))
        return listen_iface(set, address, port, tls, err, errlen);
    r = getaddrinfo(address, serv, &hints, &res);
    if (r) {
        snprintf(err, errlen, "xend-relocation-address '%s': %s", address,
                 gai_strerror(r));
        return -1;
    }
    for (ai = res; ai && rc == 0; ai = ai->ai_next)
        rc = listen_one(set, ai->ai_addr, ai->ai_addrlen, tls, err, errlen);
    freeaddrinfo(res);
    return rc;
}

int listen_defer(struct listen_set *set, int secs, char *err, size_t errlen)
{
    unsigned i;

    for (i = 0; i < set->n; i++) {
        if (!set->tls[i]) continue;
        if (setsockopt(set->fd[i], IPPROTO_TCP, TCP_DEFER_ACCEPT, &secs,
                       sizeof(secs)) < 0) {
            snprintf(err, errlen, "TCP_DEFER_ACCEPT: %s", strerror(errno));
            return -1;
        }
    }
    return 0;
}

/* RFC 8446 5.1: ContentType handshake, the first byte a TLS client sends */
#define TLS_HANDSHAKE_RECORD 22

const char *listen_first_byte(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    unsigned char b;
    ssize_t r = recv(fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);

    if (r == 1) return b == TLS_HANDSHAKE_RECORD ? NULL : "not a TLS client";
    if (r == 0) return "closed before its handshake";
    if (errno != EAGAIN && errno != EWOULDBLOCK)
        return "reset before its handshake";
    /* The defer window ends when the kernel has resent the SYN-ACK. */
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 &&
        ti.tcpi_total_retrans > 0)
        return "silent for the handshake deadline";
    return NULL;
}

void listen_close(struct listen_set *set)
{
    unsigned i;

    for (i = 0; i < set->n; i++)
        close(set->fd[i]);
    set->n = 0;
}
