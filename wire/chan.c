/*
 * chan.c - blocking connection I/O with a deadline, plain or TLS.
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "wire/buf.h"
#include "wire/chan.h"
#include "wire/tls.h"
#include "wire/clock.h"

struct chan {
    int fd;
    struct tls_conn *tls;
    struct buf *in;
    long long deadline_ms; /* CLOCK_MONOTONIC, -1 = none */
};

struct chan *chan_new(int fd)
{
    struct chan *c = calloc(1, sizeof(*c));

    if (!c) return NULL;
    c->in = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME);
    if (!c->in) {
        free(c);
        return NULL;
    }
    c->fd = fd;
    c->deadline_ms = -1;
    return c;
}

void chan_free(struct chan *c)
{
    if (!c) return;
    if (c->tls) {
        tls_shutdown(c->tls);
        tls_conn_free(c->tls);
    }
    if (c->fd >= 0) close(c->fd);
    buf_free(c->in);
    free(c);
}

void chan_set_tls(struct chan *c, struct tls_conn *tls)
{
    c->tls = tls;
}

void chan_drop_tls(struct chan *c)
{
    tls_conn_free(c->tls);
    c->tls = NULL;
}

int chan_has_tls(const struct chan *c)
{
    return c->tls != NULL;
}

void chan_kernel_io(const struct chan *c, int *tx_r, int *rx_r)
{
    *tx_r = *rx_r = 1;
    if (c->tls) tls_conn_ktls(c->tls, tx_r, rx_r);
}

int chan_ktls_rx(struct chan *c, const char **why_r)
{
    *why_r = NULL;
    if (!c->tls) return 1;
    if (buf_len(c->in)) {
        *why_r = "received bytes wait in user space";
        return 0;
    }
    if (tls_conn_ktls_rx(c->tls)) return 1;
    *why_r = tls_conn_error(c->tls);
    return 0;
}

int chan_fd(const struct chan *c)
{
    return c->fd;
}

void chan_set_timeout(struct chan *c, int ms)
{
    c->deadline_ms = ms < 0 ? -1 : clock_ms() + ms;
}

size_t chan_pending(const struct chan *c)
{
    return buf_len(c->in);
}

int chan_buffered(const struct chan *c)
{
    return buf_len(c->in) || (c->tls && tls_conn_pending(c->tls));
}

int chan_shutdown(struct chan *c)
{
    if (c->tls) return tls_shutdown(c->tls);
    return shutdown(c->fd, SHUT_WR);
}

void chan_hold_nonblock(struct chan *c, int on)
{
    if (c->tls) tls_conn_hold_nonblock(c->tls, on);
}

/* Milliseconds left before the deadline: -1 = forever, 0 = expired. */
static int chan_left(const struct chan *c)
{
    long long left;

    if (c->deadline_ms < 0) return -1;
    left = c->deadline_ms - clock_ms();
    if (left <= 0) return 0;
    return left > 1 << 30 ? 1 << 30 : (int)left;
}

int chan_time_left(const struct chan *c)
{
    return chan_left(c);
}

/* Waits for the socket; 0 ready, -1 with errno (ETIMEDOUT). */
static int chan_wait(struct chan *c, short events)
{
    struct pollfd pfd = {.fd = c->fd, .events = events};
    int r, left;

    for (;;) {
        left = chan_left(c);
        if (left == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        r = poll(&pfd, 1, left);
        if (r > 0) return 0;
        if (r < 0 && errno != EINTR) return -1;
    }
}

/*
 * A socket is read at once and polled only when it has nothing (a bulk
 * stream then costs one system call a read, not two); anything else
 * (a pipe) is polled first, as it may block.
 */
static ssize_t chan_raw_read(struct chan *c, void *data, size_t len)
{
    ssize_t r;
    int left = chan_left(c);

    if (c->tls)
        return tls_read(c->tls, data, len, left < 0 ? -1 : left ? left : 1);
    do
        r = recv(c->fd, data, len, MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    if (r >= 0 || (errno != EAGAIN && errno != ENOTSOCK)) return r;
    if (chan_wait(c, POLLIN) < 0) return -1;
    do {
        r = read(c->fd, data, len);
    } while (r < 0 && errno == EINTR);
    return r;
}

ssize_t chan_read_some(struct chan *c, void *data, size_t len)
{
    size_t n = buf_len(c->in);

    if (n) {
        n = n < len ? n : len;
        buf_get(c->in, data, n);
        return (ssize_t)n;
    }
    return chan_raw_read(c, data, len);
}

ssize_t chan_read_ready(struct chan *c, void *data, size_t len)
{
    if (buf_len(c->in)) return chan_read_some(c, data, len);
    if (!c->tls) {
        errno = EAGAIN;
        return -1;
    }
    return tls_read(c->tls, data, len, 0);
}

static enum proto_err io_err(ssize_t r)
{
    if (r == 0) return PERR_EOF;
    return errno == ETIMEDOUT || errno == EAGAIN ? PERR_TIMEOUT : PERR_IO;
}

/* Moves the two pieces on past the r bytes one write took. */
static void iov_consume(struct iovec *iov, size_t r)
{
    size_t n = r < iov[0].iov_len ? r : iov[0].iov_len;

    iov[0].iov_base = (char *)iov[0].iov_base + n;
    iov[0].iov_len -= n;
    /* an empty body may have no buffer: no arithmetic on NULL, even + 0 */
    if (r == n) return;
    iov[1].iov_base = (char *)iov[1].iov_base + (r - n);
    iov[1].iov_len -= r - n;
}

/*
 * Writes every byte of the two pieces, polling a socket only when it is
 * full: each write never waits, for sessions hold a blocking socket (xl
 * reads it later), where write(2) of a large buffer would sleep until a
 * peer that stopped reading took it all, past any deadline.  Not a
 * socket: write(2).
 */
static enum proto_err chan_writev_all(struct chan *c, struct iovec *iov)
{
    struct msghdr m = {.msg_iov = iov, .msg_iovlen = 2};
    ssize_t r;

    while (iov[0].iov_len || iov[1].iov_len) {
        r = sendmsg(c->fd, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (r < 0 && errno == ENOTSOCK) r = writev(c->fd, iov, 2);
        if (r < 0 && errno == EAGAIN && chan_wait(c, POLLOUT) < 0)
            return io_err(-1);
        if (r < 0 && (errno == EINTR || errno == EAGAIN)) continue;
        if (r <= 0) return PERR_IO;
        iov_consume(iov, (size_t)r);
    }
    return PERR_OK;
}

enum proto_err chan_write_all(struct chan *c, const void *data, size_t len)
{
    struct iovec iov[2] = {{(void *)data, len}, {NULL, 0}};
    int left;
    ssize_t r;

    if (c->tls) {
        left = chan_left(c);
        r = tls_write(c->tls, data, len, left < 0 ? -1 : left ? left : 1);
        return r < 0 ? io_err(r) : PERR_OK;
    }
    return chan_writev_all(c, iov);
}

enum proto_err chan_send_with(struct chan *c, struct buf *out, const void *data,
                              size_t len)
{
    struct iovec iov[2] = {{(void *)buf_ptr(out), buf_len(out)},
                           {(void *)data, len}};
    enum proto_err e;

    if (c->tls) {
        if (buf_put(out, data, len) < 0) {
            buf_reset(out);
            return PERR_INTERNAL;
        }
        return chan_send(c, out);
    }
    e = chan_writev_all(c, iov);
    buf_reset(out);
    return e;
}

enum proto_err chan_send(struct chan *c, struct buf *out)
{
    enum proto_err e = chan_write_all(c, buf_ptr(out), buf_len(out));

    buf_reset(out);
    return e;
}

/*
 * What one read may add to the input buffer, so that the buffer grows
 * with the frames that come, not to the frame cap at the first read: a
 * session holds two chans a process, and every buffer is wiped when freed.
 * Once a frame's header is in, the read may take the rest of that frame:
 * a bulk frame (a disk's 128 KiB DATA) then comes in one read, not eight.
 */
#define CHAN_READ_MAX (16 * 1024)

/* How much one read may take now (see CHAN_READ_MAX). */
static size_t chan_read_room(const struct chan *c)
{
    size_t have = buf_len(c->in), room = buf_avail(c->in), want = 0;
    uint32_t len;

    if (have >= PROTO_HDR_LEN && buf_peek_u32(c->in, 0, &len) == 0 &&
        len <= PROTO_MAX_FRAME && PROTO_HDR_LEN + len > have)
        want = PROTO_HDR_LEN + len - have;
    if (want < CHAN_READ_MAX) want = CHAN_READ_MAX;
    return room < want ? room : want;
}

/* Reads more bytes from the socket into the input buffer. */
static enum proto_err chan_fill(struct chan *c)
{
    uint8_t *p;
    size_t room = chan_read_room(c);
    ssize_t r;

    if (!room || buf_reserve(c->in, room, &p) < 0) return PERR_BAD_FRAME;
    r = chan_raw_read(c, p, room);
    if (r <= 0) return io_err(r);
    buf_commit(c->in, (size_t)r);
    return PERR_OK;
}

enum proto_err chan_recv_frame(struct chan *c, struct proto_frame *f)
{
    enum proto_err e;

    for (;;) {
        e = proto_frame_take(c->in, f);
        if (e != PERR_EOF) return e;
        e = chan_fill(c);
        if (e) return e;
    }
}

enum proto_err chan_read_exact(struct chan *c, void *data, size_t len)
{
    char *p = data;
    ssize_t r;

    while (len) {
        r = chan_read_some(c, p, len);
        if (r <= 0) return io_err(r);
        p += r;
        len -= (size_t)r;
    }
    return PERR_OK;
}
