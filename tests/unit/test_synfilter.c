/*
 * test_synfilter.c - the socket filter that drops penalised sources
 * (relocd/synfilter.c), on real loopback sockets: a SYN from a listed
 * address never completes a connection, any other does, over IPv4, IPv6
 * and IPv4 on a dual-stack socket; the program stays valid (the kernel
 * checks it at attach) at the table's full size.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relocd/synfilter.h"
#include "t.h"

/* text:port of family af into ss; its length */
static socklen_t sockaddr_of(int af, const char *text, unsigned short port,
                             struct sockaddr_storage *ss)
{
    struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

    memset(ss, 0, sizeof(*ss));
    ss->ss_family = (sa_family_t)af;
    if (af == AF_INET) {
        inet_pton(af, text, &s4->sin_addr);
        s4->sin_port = htons(port);
        return sizeof(*s4);
    }
    inet_pton(af, text, &s6->sin6_addr);
    s6->sin6_port = htons(port);
    return sizeof(*s6);
}

/* A listener on addr (port 0), its port into *port; -1 when unavailable. */
static int listener(int af, const char *addr, int v6only, unsigned short *port)
{
    struct sockaddr_storage ss;
    socklen_t len = sockaddr_of(af, addr, 0, &ss);
    int fd = socket(af, SOCK_STREAM | SOCK_CLOEXEC, 0), on = 1;

    if (af == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 ||
        listen(fd, 16) < 0 || getsockname(fd, (struct sockaddr *)&ss, &len)) {
        if (fd >= 0) close(fd);
        return -1;
    }
    *port = ntohs(af == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
                                : ((struct sockaddr_in6 *)&ss)->sin6_port);
    return fd;
}

/* 1 when a connection from src to dst:port completes within 300 ms. */
static int connects(int af, const char *src, const char *dst,
                    unsigned short port)
{
    struct sockaddr_storage s, d;
    socklen_t len = sockaddr_of(af, src, 0, &s);
    struct pollfd p;
    int fd = socket(af, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0), e = -1;
    socklen_t elen = sizeof(e);

    sockaddr_of(af, dst, port, &d);
    if (fd < 0 || bind(fd, (struct sockaddr *)&s, len) < 0) {
        if (fd >= 0) close(fd);
        return -1;
    }
    connect(fd, (struct sockaddr *)&d, len);
    p = (struct pollfd){fd, POLLOUT, 0};
    if (poll(&p, 1, 300) == 1) getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen);
    close(fd);
    return e == 0;
}

/* Takes what the listener queued, so its backlog never fills. */
static void drain(int l)
{
    int fd;

    fcntl(l, F_SETFL, O_NONBLOCK);
    while ((fd = accept(l, NULL, NULL)) >= 0)
        close(fd);
}

static void test_ipv4(void)
{
    const char *evil[] = {"10.9.9.9", "127.0.0.2", "::5"};
    unsigned short port;
    int l = listener(AF_INET, "127.0.0.1", 0, &port);

    T_OK(l >= 0, "no IPv4 listener");
    if (l < 0) return;
    T_EQ_INT(connects(AF_INET, "127.0.0.2", "127.0.0.1", port), 1);
    T_EQ_INT(synfilter_apply(&l, 1, evil, 3), 0);
    T_EQ_INT(connects(AF_INET, "127.0.0.2", "127.0.0.1", port), 0);
    T_EQ_INT(connects(AF_INET, "127.0.0.3", "127.0.0.1", port), 1);
    /* the penalty ran down: the filter goes */
    T_EQ_INT(synfilter_apply(&l, 1, NULL, 0), 0);
    T_EQ_INT(connects(AF_INET, "127.0.0.2", "127.0.0.1", port), 1);
    drain(l);
    close(l);
}

static void test_ipv6_and_dual_stack(void)
{
    const char *v6[] = {"::1"}, *other[] = {"::2", "127.0.0.9"};
    const char *mapped[] = {"::ffff:127.0.0.2"};
    unsigned short port;
    int l = listener(AF_INET6, "::", 0, &port);

    if (l < 0 || connects(AF_INET6, "::1", "::1", port) != 1) {
        printf("test_synfilter: no IPv6 loopback here, IPv6 not tested\n");
        if (l >= 0) close(l);
        return;
    }
    T_EQ_INT(synfilter_apply(&l, 1, other, 2), 0);
    T_EQ_INT(connects(AF_INET6, "::1", "::1", port), 1);
    T_EQ_INT(synfilter_apply(&l, 1, v6, 1), 0);
    T_EQ_INT(connects(AF_INET6, "::1", "::1", port), 0);
    /* IPv4 on the dual-stack socket, listed as peer_addr_text never
     * writes it but a hand might */
    T_EQ_INT(connects(AF_INET, "127.0.0.2", "127.0.0.1", port), 1);
    T_EQ_INT(synfilter_apply(&l, 1, mapped, 1), 0);
    T_EQ_INT(connects(AF_INET, "127.0.0.2", "127.0.0.1", port), 0);
    T_EQ_INT(connects(AF_INET6, "::1", "::1", port), 1);
    drain(l);
    close(l);
}

/* The whole table, half of each family: the kernel accepts it. */
static void test_full_table(void)
{
    static char text[SYNFILTER_MAX][64];
    static const char *ips[SYNFILTER_MAX + 1];
    static struct sock_filter insn[SYNFILTER_INSNS];
    unsigned short port;
    unsigned i;
    int l = listener(AF_INET, "127.0.0.1", 0, &port), len;

    for (i = 0; i < SYNFILTER_MAX; i++) {
        if (i % 2)
            snprintf(text[i], sizeof(text[i]), "127.1.%u.%u", i / 256, i % 256);
        else
            snprintf(text[i], sizeof(text[i]), "fd00::%x", i);
        ips[i] = text[i];
    }
    len = synfilter_build(ips, SYNFILTER_MAX, insn);
    T_OK(len > 0 && len <= SYNFILTER_INSNS, "length %d", len);
    T_EQ_INT(synfilter_apply(&l, 1, ips, SYNFILTER_MAX), 0);
    T_EQ_INT(connects(AF_INET, "127.1.0.255", "127.0.0.1", port), 0);
    T_EQ_INT(connects(AF_INET, "127.1.0.254", "127.0.0.1", port), 1);
    ips[SYNFILTER_MAX] = "127.0.0.1";
    T_EQ_INT(synfilter_build(ips, SYNFILTER_MAX + 1, insn), -1);
    ips[0] = "not an address";
    T_EQ_INT(synfilter_build(ips, 1, insn), -1);
    drain(l);
    close(l);
}

int main(void)
{
    test_ipv4();
    test_ipv6_and_dual_stack();
    test_full_table();
    return t_done("test_synfilter");
}
