/*
 * listen.h - the relocation ports, where xend had them.
 */
#ifndef RELOCD_LISTEN_H
#define RELOCD_LISTEN_H

#include <stddef.h>

#define LISTEN_MAX 16

struct listen_set {
    int fd[LISTEN_MAX];
    int tls[LISTEN_MAX]; /* 1 on the TLS port */
    unsigned n;
};

/*
 * Opens listening sockets for port on address, as xend-relocation-address
 * is understood: '' = every address (one IPv6 socket that also takes IPv4),
 * an IPv4/IPv6 literal or a host name, or a network interface name (every
 * address of that interface).  Appends to set.  Returns 0, or -1 with a
 * message in err.
 */
int listen_open(struct listen_set *set, const char *address, int port, int tls,
                char *err, size_t errlen);
void listen_close(struct listen_set *set);

#endif
