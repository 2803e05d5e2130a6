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
/*
 * Has the TLS ports hand over a connection only once its peer has spoken
 * (a TLS client speaks first: its ClientHello) or after secs of silence
 * (nginx's "deferred"): an idle connection then costs the daemon nothing,
 * not a session waiting out the handshake deadline.  The plain port
 * answers first (a refusal, "denied"), so it takes every connection as it
 * comes.  Returns 0, or -1 with a message in err.
 */
int listen_defer(struct listen_set *set, int secs, char *err, size_t errlen);
/*
 * What a connection from a deferring TLS port brought, peeked, not read:
 * NULL when its first byte opens a TLS handshake record, else why it
 * failed before authentication (closed unasked, reset, not TLS, or silent
 * through the whole defer window), for the parent to judge without
 * forking a session.  One byte compared with a constant: nothing of the
 * peer's is parsed in the root parent.  The kernel hands over a silent
 * connection early only with SYN cookies (under a SYN flood): its SYN-ACK
 * was never resent, and it goes to a session as any other.
 */
const char *listen_first_byte(int fd);
void listen_close(struct listen_set *set);

#endif
