/*
 * ctl.h - relocd's local control socket (UNIX, root only): xl-relocate
 * asks it to migrate, list and cancel.  Same frames as the wire protocol.
 *
 * The parent reads requests without blocking; a complete request is handed
 * to the daemon through struct ctl_ops.
 */
#ifndef RELOCD_CTL_H
#define RELOCD_CTL_H

#include <poll.h>

struct buf;
struct proto_frame;

#define CTL_MAX_CONNS 16

/* What becomes of a control connection after a frame. */
enum ctl_fate {
    CTL_KEEP,        /* wait for more bytes */
    CTL_CLOSE,       /* answered (or broken): close it */
    CTL_HANDED_OVER, /* a worker owns the fd now: forget it, don't close */
};

struct ctl_ops {
    /* Answers one request on fd: CTL_CLOSE, or CTL_HANDED_OVER. */
    enum ctl_fate (*request)(void *data, int fd, const struct proto_frame *f);
    void *data;
};

struct ctl {
    int lfd;
    int fd[CTL_MAX_CONNS];
    struct buf *in[CTL_MAX_CONNS];
    unsigned n;
    struct ctl_ops ops;
};

/*
 * Listens on path (its directory is created 0700; a stale socket is
 * replaced).  Returns 0, or -1 with errno.
 */
int ctl_open(struct ctl *c, const char *path, const struct ctl_ops *ops);
/* Closes everything; path (NULL: none) is the socket file to remove. */
void ctl_close(struct ctl *c, const char *path);
/* Adds the pollfds to watch; returns how many were added. */
unsigned ctl_pollfds(const struct ctl *c, struct pollfd *pfd);
/* Handles the events of the pollfds ctl_pollfds() added. */
void ctl_handle(struct ctl *c, const struct pollfd *pfd, unsigned n);
/* Writes one reply frame to fd without blocking for long; 0 or -1. */
int ctl_reply(int fd, struct buf *out);

#endif
