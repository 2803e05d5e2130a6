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
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/conf.h"
#include "relocd/diskrecv.h"
#include "relocd/gate.h"
#include "relocd/session_int.h"
#include "wire/anatomy.h"
#include "wire/buf.h"
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
/* Without a pidfd, how often to look whether the receiver exited. */
#define STREAM_REAP_MS 50
/* xl's longest stderr line we stamp; longer ones are passed on in parts. */
#define STREAM_LINE_MAX 1024

/*
 * The downtime's instants here (anatomy.h): xl migrate-receive's stderr,
 * read as it comes and passed on to ours, and the feeder's mark, in
 * memory shared with the feeder.
 */
struct stream_anat {
    int err_fd; /* the read end of xl's stderr; -1: none */
    struct gate_mark *mark;
    struct anat_rx rx;
    char line[STREAM_LINE_MAX];
    size_t len;
};

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

static int anat_open(struct stream_anat *an, int *err_w)
{
    int p[2];

    *an = (struct stream_anat){.err_fd = -1};
    *err_w = -1;
    an->mark = mmap(NULL, sizeof(*an->mark), PROT_READ | PROT_WRITE,
                    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (an->mark == MAP_FAILED) an->mark = NULL;
    if (!an->mark || pipe2(p, O_CLOEXEC) < 0) return -1;
    /* Our end only: xl's writes block, as they would on a terminal. */
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    an->err_fd = p[0];
    *err_w = p[1];
    return 0;
}

static void anat_close(struct stream_anat *an)
{
    if (an->err_fd >= 0) close(an->err_fd);
    if (an->mark) munmap(an->mark, sizeof(*an->mark));
    an->err_fd = -1;
    an->mark = NULL;
}

/* A line of xl's (NUL-terminated, newline kept): stamped, passed on. */
static void anat_line(struct stream_anat *an, const char *line, size_t len)
{
    long long now = (long long)(clock_s() * 1e6), last = 0;
    unsigned long long bytes = 0;

    if (an->mark) {
        bytes = __atomic_load_n(&an->mark->bytes, __ATOMIC_ACQUIRE);
        last = __atomic_load_n(&an->mark->last_us, __ATOMIC_RELAXED);
    }
    anat_rx_line(&an->rx, line, now, last, bytes);
    /* Where xl's messages went before relocd read them. */
    fdio_write_all(STDERR_FILENO, line, len);
}

/* Reads what xl wrote to stderr.  0 while it may write more, -1 at EOF. */
static int anat_read(struct stream_anat *an)
{
    char *nl;
    ssize_t n;
    size_t used;

    if (an->err_fd < 0) return -1;
    for (;;) {
        n = read(an->err_fd, an->line + an->len,
                 sizeof(an->line) - 1 - an->len);
        if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
        if (n == 0 && an->len) anat_line(an, an->line, an->len);
        if (n == 0) return -1;
        an->len += (size_t)n;
        an->line[an->len] = 0;
        while ((nl = strchr(an->line, '\n'))) {
            used = (size_t)(nl - an->line) + 1;
            nl[0] = 0;
            anat_line(an, an->line, used - 1);
            fdio_write_all(STDERR_FILENO, "\n", 1);
            memmove(an->line, an->line + used, an->len - used + 1);
            an->len -= used;
        }
        if (an->len == sizeof(an->line) - 1) {
            anat_line(an, an->line, an->len);
            an->len = 0;
        }
    }
}

/*
 * The ANATOMY frame the client asked for (README.xen 3.6), on c after
 * the receiver exited; logged here too.  Best effort: the migration is
 * decided already.
 */
static void anat_send(struct session *s, struct chan *c, int want,
                      const struct stream_anat *an)
{
    struct msg_anatomy m;
    long long us[ANAT_NTARGET];
    unsigned i;

    anat_rx_steps(&an->rx, us);
    for (i = 0; i < MSG_ANAT_NSTEPS; i++)
        m.us[i] = us[i];
    log_info("%s (%s): downtime of %s here: restore %lld us, waiting for "
             "go %lld us, start %lld us (-1: unknown)",
             s->fqdn, s->ip, s->guest, us[ANAT_T_RESTORE], us[ANAT_T_GO_WAIT],
             us[ANAT_T_START]);
    if (!want) return;
    buf_reset(s->out);
    if (msg_put_anatomy(s->out, &m) < 0) return;
    chan_set_timeout(c, SESSION_ERROR_SEND_MS);
    chan_send(c, s->out);
}

/*
 * Waits for the receiver.  With a watch (xl reads the socket itself, so
 * no relay's idle limit applies) a peer silent for relocd-stream-idle-
 * timeout before "domain received" gets the receiver killed: it holds a
 * migration slot and a paused NAME--incoming for nothing.  A pidfd wakes
 * us the moment the receiver exits; without one, we look every
 * STREAM_REAP_MS.  Meanwhile xl's stderr is stamped line by line (the
 * downtime's anatomy) and passed on.
 */
static int stream_wait(struct session *s, pid_t pid, struct stream_watch *w,
                       struct stream_anat *an)
{
    int pfd = pidfd_open(pid, 0), status = -1, r;
    struct pollfd p[2] = {{.fd = pfd, .events = POLLIN},
                          {.fd = an->err_fd, .events = POLLIN}};
    long long limit = s->env->conf->stream_idle_timeout * 1000LL;
    long long looked = clock_ms();

    /* Read all along: a full stderr pipe would stall xl. */
    while (waitpid(pid, &status, WNOHANG) == 0) {
        r = poll(p, 2, pfd >= 0 ? STREAM_WATCH_MS : STREAM_REAP_MS);
        if (r < 0 && errno != EINTR) break;
        if (r > 0 && p[1].revents && anat_read(an) < 0) p[1].fd = -1;
        if (clock_ms() - looked < STREAM_WATCH_MS) continue;
        looked = clock_ms();
        if (watch_idle(w, limit)) {
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
    anat_read(an); /* what it wrote just before it exited */
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
static pid_t stream_start(struct session *s, int fd, int err_fd,
                          char *const flags[], unsigned nflags, int *in_r)
{
    int in[2];
    pid_t pid;

    if (pipe2(in, O_CLOEXEC) < 0) {
        log_warn("%s (%s): pipe", s->fqdn, s->ip);
        return -1;
    }
    /* Fewer wake-ups of the feeder and xl: a 1 MiB pipe, where allowed. */
    fcntl(in[1], F_SETPIPE_SZ, 1024 * 1024);
    pid = xen_receive_start(in[0], fd, err_fd, flags, nflags);
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
static int stream_gated(struct session *s, struct chan *c,
                        const struct msg_migrate *m, int *status_r)
{
    struct stream_watch w = {.fd = -1};
    struct stream_anat an;
    int fd = chan_fd(c), in = -1, err_w, rc = -1;
    pid_t pid, feeder = -1;
    char why[512];
    char *flags[MSG_MAX_FLAGS];
    unsigned i;

    for (i = 0; i < m->nflags; i++)
        flags[i] = (char *)m->flags[i];
    /* Without it, xl's stderr stays ours and the anatomy unknown here. */
    anat_open(&an, &err_w);
    /* Plain TCP only: under kernel TLS the counters count records. */
    if (c == s->chan && !s->tls) watch_start(&w, fd);
    pid = stream_start(s, fd, err_w, flags, m->nflags, &in);
    if (err_w >= 0) close(err_w);
    if (pid > 0) s->relaying = c != s->chan;
    if (pid > 0 && (rc = stream_head(s, c, in, why, sizeof(why))) == 0) {
        feeder = fork();
        if (feeder == 0) _exit(gate_feed(fd, in, an.mark) ? 1 : 0);
    }
    if (in >= 0) close(in);
    if (pid > 0 && rc < 0) stream_refuse_head(s, pid, why);
    if (pid > 0 && rc == 0) {
        *status_r = stream_wait(s, pid, &w, &an);
        if (feeder > 0) {
            kill(feeder, SIGKILL);
            waitpid(feeder, NULL, 0);
        }
        /* c is still ours: the relay ends once it is closed below. */
        anat_send(s, c, m->anatomy, &an);
    }
    anat_close(&an);
    /* The relay sees the end only when no copy of its pair is left here. */
    if (c != s->chan) chan_free(c);
    return pid > 0 && rc == 0 ? 0 : -1;
}

/*
 * The channel a receive reads: the peer's own (direct: kernel TLS or
 * plain TCP) or one end of a pair whose other end the monitor hands to
 * the slave's relay.  NULL when it cannot be had (session_fail said why).
 */
static struct chan *stream_channel(struct session *s)
{
    int pair[2] = {-1, -1};
    struct chan *c;

    /* CLOEXEC: xl's monitor outlives the move and must not keep them. */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) < 0) {
        session_fail(s, PERR_INTERNAL, "socketpair: %s", strerror(errno));
        return NULL;
    }
    if (monitor_accept(s, pair) < 0) {
        close(pair[0]);
        close(pair[1]);
        return NULL;
    }
    close(pair[0]);
    if (s->direct) {
        close(pair[1]);
        return s->chan;
    }
    if (!(c = chan_new(pair[1]))) close(pair[1]);
    return c;
}

int stream_run(struct session *s, struct msg_migrate *m, int *status_r)
{
    struct chan *c;

    /* Before the receiver starts: a move within this host (verdict). */
    s->guest_before = xen_domain_lookup(s->guest, &s->domid_before);
    /*
     * ACCEPT goes first: a receiver writing to the socket itself would
     * otherwise race its banner ahead of the frame.  If it then fails to
     * start, the client times out waiting for the banner, as with xl.
     */
    if (!(c = stream_channel(s))) return -1;
    return stream_gated(s, c, m, status_r);
}

int stream_disk(struct session *s)
{
    struct diskrecv *r = NULL;
    struct chan *c;
    char why[512] = "";
    enum proto_err e = PERR_INTERNAL;
    int rc = -1;

    if (!(c = stream_channel(s))) return -1;
    s->relaying = !s->direct;
    if ((r = diskrecv_new(s->disk_fd, s->disk_size)))
        e = diskrecv_run(r, c, stream_idle_ms(s), why, sizeof(why));
    if (e == PERR_OK) {
        struct disk_count n;

        diskrecv_count(r, &n);
        log_info("%s (%s): disk %s received: %u passes, %llu bytes of data, "
                 "%llu of zeros, synced",
                 s->fqdn, s->ip, s->disk_path, n.pass,
                 (unsigned long long)n.data_bytes,
                 (unsigned long long)n.zero_bytes);
        rc = 0;
    } else {
        log_warnx("%s (%s): disk %s: %s%s%s; the copy is incomplete", s->fqdn,
                  s->ip, s->disk_path, proto_strerror(e), why[0] ? ": " : "",
                  why);
    }
    diskrecv_free(r);
    /* The relay sees the end only when no copy of its pair is left here. */
    if (c != s->chan) chan_free(c);
    return rc;
}
