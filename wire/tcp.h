/*
 * tcp.h - socket options and progress counters of migration sockets.
 */
#ifndef RELOCD_TCP_H
#define RELOCD_TCP_H

#include <stdint.h>

/*
 * A peer that vanished (power loss, a cut link) never sends FIN or RST:
 * keepalive probes find it after TCP_KEEP_IDLE_S + TCP_KEEP_CNT probes
 * TCP_KEEP_INTVL_S apart, and TCP_USER_TIMEOUT_MS bounds how long sent data
 * may stay unacknowledged.  Neither notices a peer that is alive but
 * silent: the stream phase has its own idle limit for that.
 */
#define TCP_KEEP_IDLE_S 30
#define TCP_KEEP_INTVL_S 10
#define TCP_KEEP_CNT 3
#define TCP_USER_TIMEOUT_MS (60 * 1000)

struct tcp_progress {
    uint64_t received; /* payload bytes that arrived from the peer */
    uint64_t sent;     /* payload bytes written by this end */
    unsigned unread;   /* of those received, not read by anyone yet */
};

/* tcp.c */

/*
 * Sets SO_KEEPALIVE, TCP_KEEPIDLE/INTVL/CNT and TCP_USER_TIMEOUT on every
 * migration socket, accepted or connected.  Returns 0, or -1 with errno
 * (not a TCP socket); the socket stays usable either way.
 */
int tcp_tune(int fd);

/*
 * The kernel's byte counters of a connected TCP socket, whoever reads and
 * writes it (xl reads the socket itself on plain TCP).  Returns 0, or -1
 * with errno when the kernel does not tell (then watch nothing).
 */
int tcp_progress(int fd, struct tcp_progress *p);

#endif
