/*
 * stream.c - a session's stream phase (README.xen 3.5, 10): once the
 * monitor approved a MIGRATE, xl migrate-receive gets the stream, whose
 * head passes the gate first (gate.h); a feeder copies the rest, and a
 * watch stops a receiver whose peer fell silent.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/conf.h"
#include "relocd/gate.h"
#include "relocd/session_int.h"
#include "wire/chan.h"
#include "wire/clock.h"
#include "wire/fdio.h"
#include "wire/log.h"
#include "wire/msg.h"
#include "wire/tcp.h"
#include "wire/xlstream.h"
#include "xen/xen.h"

/* How often the stream watch looks at the socket's counters. */
#define STREAM_WATCH_MS 500

struct stream_watch {
    int fd;                /* the socket xl reads itself; -1: no watch */
    uint64_t sent0;        /* what this end had sent before the receiver */
    uint64_t received;     /* the peer's bytes at the last look */
    long long quiet_since; /* clock_ms() since when the peer sent nothing */
};

static void watch_start(struct stream_watch *w, int fd)
{
    struct tcp_progress p;

    w->fd = tcp_progress(fd, &p) < 0 ? -1 : fd;
    w->sent0 = p.sent;
    w->received = p.received;
    w->quiet_since = clock_ms();
}

/*
 * 1 when the peer has been silent for limit_ms while the receiver waits
 * for it.  Not silent: bytes arrived, or bytes wait unread (the receiver is
 * slow, not the peer).  Once the receiver wrote more than its banner it
 * has said "domain received": the guest may run here, and from then on
 * the receiver is never stopped (xl's commit handshake decides).
 */
static int watch_idle(struct stream_watch *w, long long limit_ms)
{
    struct tcp_progress p;
    long long now = clock_ms();

    if (w->fd < 0 || tcp_progress(w->fd, &p) < 0) return 0;
    if (p.sent - w->sent0 > XLS_BANNER_LEN) {
        w->fd = -1;
        return 0;
    }
    if (p.received != w->received || p.unread) {
        w->received = p.received;
        w->quiet_since = now;
        return 0;
    }
    return now - w->quiet_since >= limit_ms;
}

/*
 * Waits for the receiver.  With a watch (xl reads the socket itself, so
 * no relay's idle limit applies) a peer silent for relocd-stream-idle-
 * timeout before "domain received" gets the receiver killed: it holds a
 * migration slot and a paused NAME--incoming for nothing.  A pidfd wakes
 * us the moment the receiver exits; without one, wait without a watch.
 */
static int stream_wait(struct session *s, pid_t pid, struct stream_watch *w)
{
    int pfd = w->fd >= 0 ? pidfd_open(pid, 0) : -1, status = -1, r;
    struct pollfd p = {.fd = pfd, .events = POLLIN};
    long long limit = s->env->conf->stream_idle_timeout * 1000LL;

    while (pfd >= 0 && waitpid(pid, &status, WNOHANG) == 0) {
        r = poll(&p, 1, STREAM_WATCH_MS);
        if (r < 0 && errno != EINTR) break;
        if (r == 0 && watch_idle(w, limit)) {
            log_warnx("%s (%s): timeout: the peer was idle for %d s "
                      "during the stream; stopping the receiver",
                      s->fqdn, s->ip, s->env->conf->stream_idle_timeout);
            kill(pid, SIGKILL);
            w->fd = -1;
        }
    }
    if (pfd >= 0) close(pfd);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

/* How long the peer may stay silent while the stream's head is due. */
static int stream_idle_ms(const struct session *s)
{
    return s->env->conf->stream_idle_timeout * 1000;
}

/* The stream's head did not pass the gate: the receiver gets nothing. */
static int stream_refuse_head(struct session *s, pid_t pid, const char *why)
{
    log_warnx("%s (%s): refusing the stream of %s: %s", s->fqdn, s->ip,
              s->guest, why);
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return -1;
}

/*
 * Starts xl migrate-receive, which writes to fd itself and reads a pipe
 * whose write end goes to *in_r.  Its pid, or -1 (logged).
 */
static pid_t stream_start(struct session *s, int fd, char *const flags[],
                          unsigned nflags, int *in_r)
{
    int in[2];
    pid_t pid;

    if (pipe2(in, O_CLOEXEC) < 0) {
        log_warn("%s (%s): pipe", s->fqdn, s->ip);
        return -1;
    }
    /* Fewer wake-ups of the feeder and xl: a 1 MiB pipe, where allowed. */
    fcntl(in[1], F_SETPIPE_SZ, 1024 * 1024);
    pid = xen_receive_start(in[0], fd, flags, nflags);
    close(in[0]);
    if (pid < 0) {
        log_warnx("%s (%s): cannot start the receiver", s->fqdn, s->ip);
        close(in[1]);
        return -1;
    }
    *in_r = in[1];
    return pid;
}

/*
 * The stream's head from c through the gate into the pipe in, then what
 * c read past it.  0, or -1 with why filled.
 */
static int stream_head(struct session *s, struct chan *c, int in, char *why,
                       size_t whylen)
{
    uint8_t tail[4096];
    ssize_t n;

    if (gate_pass_head(c, in, s->config, stream_idle_ms(s), why, whylen) < 0)
        return -1;
    while (chan_buffered(c) && (n = chan_read_ready(c, tail, sizeof(tail))) > 0)
        if (fdio_write_all(in, tail, (size_t)n) < 0) break;
    return 0;
}

/*
 * xl writes to fd itself and reads a pipe, which gets the stream's head
 * from c once it passed the gate, then the rest straight from fd in a
 * feeder process.  fd is the peer's socket (plain TCP, or kernel TLS both
 * ways), or with TLS in user space the monitor's end of the pair the
 * slave relays: either way the gate runs here, in the monitor, where a
 * subverted slave cannot skip it.  c is freed (and so fd closed) when it
 * is not s->chan.  0 with xl's wait status, or -1.
 */
static int stream_gated(struct session *s, struct chan *c, char *const flags[],
                        unsigned nflags, int *status_r)
{
    struct stream_watch w = {.fd = -1};
    int fd = chan_fd(c), in = -1, rc = -1;
    pid_t pid, feeder = -1;
    char why[512];

    /* Plain TCP only: under kernel TLS the counters count records. */
    if (c == s->chan && !s->tls) watch_start(&w, fd);
    pid = stream_start(s, fd, flags, nflags, &in);
    if (pid > 0) s->relaying = c != s->chan;
    if (pid > 0 && (rc = stream_head(s, c, in, why, sizeof(why))) == 0) {
        feeder = fork();
        if (feeder == 0) _exit(gate_feed(fd, in) ? 1 : 0);
    }
    if (in >= 0) close(in);
    /* The relay sees the end only when no copy of its pair is left here. */
    if (c != s->chan) chan_free(c);
    if (pid < 0) return -1;
    if (rc < 0) return stream_refuse_head(s, pid, why);
    *status_r = stream_wait(s, pid, &w);
    if (feeder > 0) {
        kill(feeder, SIGKILL);
        waitpid(feeder, NULL, 0);
    }
    return 0;
}

int stream_run(struct session *s, struct msg_migrate *m, int *status_r)
{
    char *flags[MSG_MAX_FLAGS];
    int pair[2] = {-1, -1};
    struct chan *c;
    unsigned i;

    for (i = 0; i < m->nflags; i++)
        flags[i] = m->flags[i];
    /* CLOEXEC: xl's monitor outlives the move and must not keep them. */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0)
        return session_fail(s, PERR_INTERNAL, "socketpair: %s",
                            strerror(errno));
    /*
     * ACCEPT goes first: a receiver writing to the socket itself would
     * otherwise race its banner ahead of the frame.  If it then fails to
     * start, the client times out waiting for the banner, as with xl.
     */
    /* Before the receiver starts: a move within this host (verdict). */
    s->guest_before = xen_domain_lookup(s->guest, &s->domid_before);
    if (monitor_accept(s, pair) < 0) {
        close(pair[0]);
        close(pair[1]);
        return -1;
    }
    close(pair[0]);
    if (s->direct) close(pair[1]);
    if (!(c = s->direct ? s->chan : chan_new(pair[1]))) {
        close(pair[1]);
        return -1;
    }
    return stream_gated(s, c, flags, m->nflags, status_r);
}
