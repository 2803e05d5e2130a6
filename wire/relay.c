/*
 * relay.c - a two-way copy loop driven by poll(2).
 *
 * TLS may hold bytes that poll() cannot see, so the connection side is read
 * whenever the chan reports buffered bytes too.  Each pass takes all the
 * connection has ready, up to RELAY_CHUNK, and hands it on in one write:
 * a TLS record is only 16 KiB, and one write(2) and one wake-up of the
 * reader per record would cost more than decrypting it.
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire/fdio.h"
#include "wire/chan.h"
#include "wire/relay.h"

#define RELAY_CHUNK (256 * 1024)

struct relay {
    struct chan *c;
    int rfd, wfd;
    int chan_eof, fd_eof, failed;
    int chan_end; /* met while draining: 1 the end, -1 an error; acted on
                     once the bytes before it are out */
    struct relay_stats st;
    char data[RELAY_CHUNK];
};

/*
 * One read that may wait, then whatever TLS gives without waiting, up to a
 * full buffer: the count, 0 at the end, -1 on error.
 */
static ssize_t relay_fill(struct relay *r)
{
    size_t room = sizeof(r->data);
    ssize_t n, m;

    if (r->chan_end) return r->chan_end > 0 ? 0 : -1;
    n = chan_read_some(r->c, r->data, room);
    while (n > 0 && (size_t)n < room) {
        m = chan_read_ready(r->c, r->data + n, room - (size_t)n);
        if (m < 0 && (errno == ETIMEDOUT || errno == EAGAIN))
            break; /* nothing more yet */
        if (m <= 0) {
            r->chan_end = m < 0 ? -1 : 1;
            break;
        }
        n += m;
    }
    return n;
}

static void relay_from_chan(struct relay *r)
{
    ssize_t n = relay_fill(r);

    if (n <= 0) {
        r->chan_eof = 1;
        r->failed |= n < 0;
        if (r->rfd == r->wfd) {
            shutdown(r->wfd, SHUT_WR);
        } else {
            close(r->wfd);
            r->wfd = -1;
        }
        return;
    }
    if (fdio_write_all(r->wfd, r->data, (size_t)n) < 0) {
        r->failed = 1;
        return;
    }
    r->st.to_fd += (uint64_t)n;
}

static void relay_from_fd(struct relay *r)
{
    ssize_t n;

    do {
        n = read(r->rfd, r->data, sizeof(r->data));
    } while (n < 0 && errno == EINTR);
    if (n <= 0) {
        r->fd_eof = 1;
        r->failed |= n < 0;
        /* TLS 1.3 close_notify half-closes like shutdown(2) does. */
        chan_shutdown(r->c);
        return;
    }
    if (chan_write_all(r->c, r->data, (size_t)n) != PERR_OK) {
        r->failed = 1;
        return;
    }
    r->st.to_chan += (uint64_t)n;
}

static int relay_pending(struct relay *r)
{
    return r->chan_end || chan_buffered(r->c);
}

int relay_run(struct chan *c, int rfd, int wfd, int idle_ms,
              struct relay_stats *stats_r)
{
    /* Static: its copy buffer (RELAY_CHUNK) is too big for the stack; one
     * relay a process. */
    static struct relay r;
    struct pollfd pfd[2];
    int n, pending;

    r = (struct relay){.c = c, .rfd = rfd, .wfd = wfd};
    /* poll() waits here: the TLS calls need not switch the flags each. */
    chan_hold_nonblock(c, 1);
    chan_set_timeout(c, idle_ms);
    while (!r.failed && !(r.chan_eof && r.fd_eof)) {
        pfd[0] = (struct pollfd){chan_fd(c), r.chan_eof ? 0 : POLLIN, 0};
        pfd[1] = (struct pollfd){rfd, r.fd_eof ? 0 : POLLIN, 0};
        /* With bytes pending, only a look at the other side. */
        pending = !r.chan_eof && relay_pending(&r);
        n = poll(pfd, 2, pending ? 0 : idle_ms);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0 && !pending) {
            r.failed = 1;
            break;
        }
        chan_set_timeout(c, idle_ms);
        if (!r.chan_eof && (pending || pfd[0].revents)) relay_from_chan(&r);
        if (!r.fd_eof && pfd[1].revents) relay_from_fd(&r);
    }
    chan_hold_nonblock(c, 0);
    if (stats_r) *stats_r = r.st;
    return r.failed ? -1 : 0;
}
