/*
 * ctl.c - the control socket: accept, read one request frame per
 * connection without blocking, dispatch.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "wire/buf.h"
#include "relocd/ctl.h"
#include "wire/log.h"
#include "wire/msg.h"
#include "wire/proto.h"

int ctl_open(struct ctl *c, const char *path, const struct ctl_ops *ops)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    char dir[sizeof(sun.sun_path)];

    memset(c, 0, sizeof(*c));
    c->ops = *ops;
    c->lfd = -1;
    if (snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path) >=
        (int)sizeof(sun.sun_path)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    snprintf(dir, sizeof(dir), "%s", path);
    mkdir(dirname(dir), 0700);
    c->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (c->lfd < 0) return -1;
    unlink(path);
    /* Only root may move guests: the socket is the only door. */
    if (bind(c->lfd, (struct sockaddr *)&sun, sizeof(sun)) < 0 ||
        chmod(path, 0600) < 0 || listen(c->lfd, 16) < 0) {
        close(c->lfd);
        c->lfd = -1;
        return -1;
    }
    return 0;
}

static void ctl_drop(struct ctl *c, unsigned i, int close_fd)
{
    if (close_fd) close(c->fd[i]);
    buf_free(c->in[i]);
    c->n--;
    c->fd[i] = c->fd[c->n];
    c->in[i] = c->in[c->n];
}

void ctl_close(struct ctl *c, const char *path)
{
    while (c->n)
        ctl_drop(c, 0, 1);
    if (c->lfd >= 0) {
        close(c->lfd);
        if (path) unlink(path);
    }
    c->lfd = -1;
}

unsigned ctl_pollfds(const struct ctl *c, struct pollfd *pfd)
{
    unsigned i;

    if (c->lfd < 0) return 0;
    pfd[0] = (struct pollfd){c->lfd, POLLIN, 0};
    for (i = 0; i < c->n; i++)
        pfd[1 + i] = (struct pollfd){c->fd[i], POLLIN, 0};
    return 1 + c->n;
}

static void ctl_accept(struct ctl *c)
{
    int fd = accept4(c->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

    if (fd < 0) return;
    if (c->n >= CTL_MAX_CONNS ||
        !(c->in[c->n] = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME))) {
        log_warnx("control socket: too many clients");
        close(fd);
        return;
    }
    c->fd[c->n++] = fd;
}

/* A typed ERROR before the close, so that the client can say why. */
static void ctl_refuse(int fd, enum proto_err e)
{
    struct buf *out = buf_new(1024);

    if (out && msg_put_error(out, e, "%s", proto_strerror(e)) == 0)
        (void)ctl_reply(fd, out);
    buf_free(out);
}

/* Reads what is there; dispatches a complete frame. */
static enum ctl_fate ctl_read(struct ctl *c, unsigned i)
{
    /* Static: a frame holds up to PROTO_MAX_FRAME (256 KiB), too big for
     * the stack; the poll loop is single-threaded. */
    static struct proto_frame f;
    uint8_t *p;
    ssize_t r;
    enum proto_err e;

    if (buf_reserve(c->in[i], buf_avail(c->in[i]), &p) < 0) return CTL_CLOSE;
    r = read(c->fd[i], p, buf_avail(c->in[i]));
    if (r < 0 && (errno == EAGAIN || errno == EINTR)) return CTL_KEEP;
    if (r <= 0) return CTL_CLOSE;
    buf_commit(c->in[i], (size_t)r);
    e = proto_frame_take(c->in[i], &f);
    if (e == PERR_EOF) return CTL_KEEP;
    if (e != PERR_OK) {
        ctl_refuse(c->fd[i], e);
        return CTL_CLOSE;
    }
    return c->ops.request(c->ops.data, c->fd[i], &f);
}

void ctl_handle(struct ctl *c, const struct pollfd *pfd, unsigned n)
{
    unsigned i, nconn = c->n;
    enum ctl_fate fate;

    if (!n) return;
    /* Back to front, so that dropping a connection moves a done one. */
    for (i = nconn; i-- > 0;) {
        if (1 + i >= n || !pfd[1 + i].revents) continue;
        fate = ctl_read(c, i);
        if (fate != CTL_KEEP) ctl_drop(c, i, fate == CTL_CLOSE);
    }
    if (pfd[0].revents & POLLIN) ctl_accept(c);
}

int ctl_reply(int fd, struct buf *out)
{
    struct pollfd pfd = {fd, POLLOUT, 0};
    ssize_t r;

    while (buf_len(out)) {
        if (poll(&pfd, 1, 1000) != 1) return -1;
        r = write(fd, buf_ptr(out), buf_len(out));
        if (r < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (r <= 0) return -1;
        buf_consume(out, (size_t)r);
    }
    return 0;
}
