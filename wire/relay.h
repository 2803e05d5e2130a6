/*
 * relay.h - copying a migration stream both ways between a connection (TLS
 * without kernel offload) and a local descriptor (xl's stdin/stdout).
 */
#ifndef RELOCD_RELAY_H
#define RELOCD_RELAY_H

#include <stdint.h>

struct chan;

/* A stream that moves no byte either way for this long is dead. */
#define RELAY_IDLE_MS (300 * 1000)

struct relay_stats {
    uint64_t to_fd, to_chan; /* bytes copied in each direction */
};

/*
 * Copies chan -> wfd and rfd -> chan until both directions reached EOF, an
 * error occurred, or nothing moved for idle_ms.  When chan reaches EOF,
 * wfd's write side is shut down (a socket: rfd == wfd) or closed (a pipe).
 * Returns 0 after a clean end of both directions, -1 otherwise; stats_r
 * may be NULL.
 */
int relay_run(struct chan *c, int rfd, int wfd, int idle_ms,
              struct relay_stats *stats_r);

#endif
