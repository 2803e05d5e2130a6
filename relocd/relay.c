/*
 * relay.c - a two-way copy loop driven by poll(2).
 *
 * TLS may hold decrypted bytes that poll() cannot see, so the connection
 * side is read whenever the chan reports buffered bytes too.
 */
#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fdio.h"
#include "chan.h"
#include "relay.h"
#include "tls.h"

#define RELAY_CHUNK (256 * 1024)

struct relay {
    struct chan *c;
    int rfd, wfd;
    int chan_eof, fd_eof, failed;
    struct relay_stats st;
    char data[RELAY_CHUNK];
};

static void relay_from_chan(struct relay *r)
{
    ssize_t n = chan_read_some(r->c, r->data, sizeof(r->data));

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
        if (chan_tls(r->c))
            tls_shutdown(chan_tls(r->c));
        else
            shutdown(chan_fd(r->c), SHUT_WR);
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
    struct tls_conn *tls = chan_tls(r->c);

    return chan_pending(r->c) || (tls && tls_conn_pending(tls));
}

int relay_run(struct chan *c, int rfd, int wfd, int idle_ms,
              struct relay_stats *stats_r)
{
    static struct relay r;
    struct pollfd pfd[2];
    int n;

    r = (struct relay){.c = c, .rfd = rfd, .wfd = wfd};
    chan_set_timeout(c, idle_ms);
    while (!r.failed && !(r.chan_eof && r.fd_eof)) {
        pfd[0] = (struct pollfd){chan_fd(c), r.chan_eof ? 0 : POLLIN, 0};
        pfd[1] = (struct pollfd){rfd, r.fd_eof ? 0 : POLLIN, 0};
        n = relay_pending(&r) ? 1 : poll(pfd, 2, idle_ms);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            r.failed = 1;
            break;
        }
        chan_set_timeout(c, idle_ms);
        if (!r.chan_eof && (relay_pending(&r) || pfd[0].revents))
            relay_from_chan(&r);
        if (!r.fd_eof && pfd[1].revents) relay_from_fd(&r);
    }
    if (stats_r) *stats_r = r.st;
    return r.failed ? -1 : 0;
}
