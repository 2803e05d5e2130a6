/*
 * session.c - one incoming connection, in its own process: allow-list,
 * TLS, HELLO, PREFLIGHT, MIGRATE, then the raw xl stream (README.xen 3).
 *
 * Nothing here touches Xen until the peer is allow-listed, authenticated,
 * has said HELLO and asked to MIGRATE with valid flags; pre-flight only
 * reads.  Every reply to a bad peer is a typed ERROR frame.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <libgen.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config/diag.h"
#include "config/acl.h"
#include "wire/buf.h"
#include "wire/chan.h"
#include "config/conf.h"
#include "relocd/guestpol.h"
#include "relocd/hostdev.h"
#include "tunnel/guestnet.h"
#include "wire/log.h"
#include "tunnel/mig.h"
#include "wire/msg.h"
#include "relocd/gate.h"
#include "relocd/peer.h"
#include "relocd/privsep.h"
#include "relocd/sandbox.h"
#include "wire/relay.h"
#include "relocd/session.h"
#include "wire/clock.h"
#include "wire/fdio.h"
#include "wire/tcp.h"
#include "wire/tls.h"
#include "wire/version.h"
#include "wire/xlstream.h"
#include "xen/xen.h"

struct session {
    const struct session_env *env;
    struct chan *chan; /* the peer's connection */
    struct chan *mon;  /* the monitor <-> slave socket (privsep.h) */
    struct buf *out;
    struct proto_frame *frame;
    char ip[64];
    /* The peer's name for the log, then "NAME as IDENTITY" once TLS has
     * proved who it is (tls_conn_peer), so every later line says so. */
    char fqdn[NI_MAXHOST + 256];
    int slave;    /* 1 in the sandboxed process that speaks to the peer */
    int admitted; /* allow-listed (and authenticated on the TLS port) */
    int log_ok;   /* before admission: the parent's verdict, -1: not asked */
    int preflight_ok;
    char *config;          /* the last PREFLIGHT's guest config: gate.h */
    enum privsep_state st; /* the monitor's view of the slave */
    pid_t slave_pid;       /* the monitor's child; -1: none */
    int direct, tls;       /* PS_ACCEPTED: xl reads the socket; over TLS */
    int relaying;          /* the slave relays to a running receiver */
    struct sandbox_id id;  /* relocd-privsep-user */
    unsigned slave_lines;  /* PS_LOG lines taken */
    char peer_id[256];     /* the slave's: who TLS authenticated */
    char guest[128];
    int guest_before;       /* a domain had the guest's name before: 1 */
    uint32_t domid_before;  /* its domid (a move within this host) */
    struct guestnet net;    /* the guest's vifs, from its PREFLIGHT config */
    struct migtun *tunnels; /* held from MIGRATE to the end of the stream */
};

/* An ERROR frame gets this long to leave; the session ends either way. */
#define SESSION_ERROR_SEND_MS 2000
/* The monitor waits this much longer than the slave's deadline. */
#define SESSION_MONITOR_SLACK_MS 5000

/*
 * Before admission a peer is anyone: its failures share the parent's
 * per-source log limit (admit.h), asked once per session ('L').  After
 * it, or without a parent to ask, everything is logged.
 */
static int session_may_log(struct session *s)
{
    struct pollfd pfd = {.fd = s->env->slot_fd, .events = POLLIN};
    char reply = 'Y';

    if (s->admitted || s->env->slot_fd < 0) return 1;
    if (s->log_ok >= 0) return s->log_ok;
    if (write(s->env->slot_fd, "L", 1) != 1 || poll(&pfd, 1, 1000) != 1 ||
        read(s->env->slot_fd, &reply, 1) != 1)
        reply = 'Y';
    s->log_ok = reply == 'Y';
    return s->log_ok;
}

/*
 * Logs a line: level 'W' or 'I'.  The slave has neither the parent's log
 * limit nor, in its chroot, syslog: it hands the line to the monitor.
 */
static void session_log(struct session *s, char level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void session_log(struct session *s, char level, const char *fmt, ...)
{
    char line[PS_LOG_MAX];
    struct buf *b;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(line + 1, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (!s->slave) {
        if (level == 'I')
            log_info("%s", line + 1);
        else if (session_may_log(s))
            log_warnx("%s", line + 1);
        return;
    }
    line[0] = level;
    if ((b = buf_new(PROTO_HDR_LEN + PS_LOG_MAX))) {
        privsep_send(s->mon, b, PS_LOG, line, strlen(line + 1) + 1);
        buf_free(b);
    }
}

/* Where this process's frames go: the slave forwards the monitor's. */
static struct chan *session_out_chan(struct session *s)
{
    return s->slave || !s->mon ? s->chan : s->mon;
}

/* Sends ERROR and logs the same text once; returns -1. */
static int session_fail(struct session *s, enum proto_err code, const char *fmt,
                        ...) __attribute__((format(printf, 3, 4)));

static int session_fail(struct session *s, enum proto_err code, const char *fmt,
                        ...)
{
    struct chan *c = session_out_chan(s);
    char text[1024];
    va_list ap;

    va_start(ap, fmt);
    diag_verrf(text, sizeof(text), fmt, ap);
    va_end(ap);
    session_log(s, 'W', "%s (%s): %s: %s", s->fqdn, s->ip, proto_err_name(code),
                text);
    buf_reset(s->out);
    if (code != PERR_EOF && code != PERR_IO &&
        msg_put_error(s->out, code, "%s", text) == 0) {
        if (c == s->chan) chan_set_timeout(c, SESSION_ERROR_SEND_MS);
        chan_send(c, s->out);
    }
    return -1;
}

static int session_send(struct session *s)
{
    enum proto_err e = chan_send(session_out_chan(s), s->out);

    return e ? session_fail(s, e, "sending: %s", proto_strerror(e)) : 0;
}

/* Receives a frame; a peer ERROR or a transport failure ends the session. */
static int session_recv(struct session *s)
{
    enum proto_err e = chan_recv_frame(s->chan, s->frame);
    struct msg_error err;
    char why[256];

    if (e) return session_fail(s, e, "receiving: %s", proto_strerror(e));
    if (s->frame->type == PROTO_ERROR) {
        if (msg_get_error(s->frame, &err, why, sizeof(why)) == PERR_OK)
            session_log(s, 'W', "%s (%s): peer error %s: %s", s->fqdn, s->ip,
                        proto_err_name(err.code), err.message);
        return -1;
    }
    return 0;
}

static int session_hello(struct session *s)
{
    struct msg_hello h, mine = {PROTO_VERSION, PROTO_MIN_VERSION, "", ""};
    char why[256];
    enum proto_err e;

    if (session_recv(s)) return -1;
    /* A valid frame in the wrong state is "unexpected" (README.xen 3.3). */
    if (s->frame->type != PROTO_HELLO)
        return session_fail(s, PERR_UNEXPECTED, "%s not expected now",
                            proto_type_name(s->frame->type));
    e = msg_get_hello(s->frame, &h, why, sizeof(why));
    if (e) return session_fail(s, e, "%s", why);
    if (h.version < PROTO_MIN_VERSION || h.min_version > PROTO_VERSION)
        return session_fail(s, PERR_VERSION,
                            "client speaks versions %d..%d, this relocd "
                            "%d..%d",
                            h.min_version, h.version, PROTO_MIN_VERSION,
                            PROTO_VERSION);
    snprintf(mine.software, sizeof(mine.software), "relocd %s", RELOCD_VERSION);
    snprintf(mine.host, sizeof(mine.host), "%s", s->env->hostname);
    session_log(s, 'I', "%s (%s): HELLO from %s on %s", s->fqdn, s->ip,
                h.software, h.host);
    if (msg_put_hello(s->out, &mine) < 0)
        return session_fail(s, PERR_INTERNAL, "encoding HELLO");
    return session_send(s);
}

/*
 * What the guest may use in dom0 (guestpol.h): checked here, not in xen/,
 * so that every path a config takes to xl migrate-receive (and the test
 * double) meets the same rules.
 */
static void session_guestpol(struct session *s, const char *config,
                             struct msg_preflight_result *res)
{
    const struct relocd_conf *c = s->env->conf;
    struct guestpol_env env = {
        c->disk_allow, c->allow_scripts, c->allow_dm_args, NULL, NULL, NULL};
    struct hostdev dom0;
    char why[256];

    if (hostdev_load(&dom0, why, sizeof(why)) == 0)
        env.dom0 = &dom0;
    else
        env.dom0_err = why;
    guestpol_check(config, strlen(config), &env, res);
}

static int session_preflight(struct session *s)
{
    struct msg_preflight req;
    struct msg_preflight_result res = {.ok = 1};
    char why[256];
    enum proto_err e;
    unsigned i;

    e = msg_get_preflight(s->frame, &req, why, sizeof(why));
    if (e) return session_fail(s, e, "%s", why);
    /* On loopback the running source holds the guest's name and UUID. */
    req.local = !strncmp(s->ip, "127.", 4) || !strcmp(s->ip, "::1");
    xen_preflight(&req, &res, s->guest, sizeof(s->guest));
    session_guestpol(s, req.config, &res);
    if (guestnet_parse(req.config, strlen(req.config), &s->net, why,
                       sizeof(why)) < 0)
        msg_check_add(&res, "network", 0, "%s", why);
    /* The stream must carry this very config (gate.h). */
    free(s->config);
    s->config = req.config;
    req.config = NULL;
    msg_preflight_clear(&req);
    s->preflight_ok = res.ok;
    for (i = 0; i < res.nchecks; i++)
        if (!res.checks[i].ok)
            log_warnx("%s (%s): pre-flight %s failed: %s", s->fqdn, s->ip,
                      res.checks[i].check, res.checks[i].message);
    if (msg_put_preflight_result(s->out, &res) < 0)
        return session_fail(s, PERR_INTERNAL, "encoding PREFLIGHT_RESULT");
    return session_send(s);
}

/*
 * xl migrate-receive's flags that a peer may ask for (tools/xl/xl_migrate.c:
 * the rune is "xl [-t] [-T] [-v..] migrate-receive [-e] [-d] [-p]").  Any
 * other word is refused, so a peer can never choose what relocd runs.
 */
static int flag_allowed(const char *f)
{
    static const char *const ok[] = {"-t", "-T", "-e", "-d", "-p", "-F"};
    size_t i;

    if (f[0] == '-' && f[1] == 'v' && strspn(f + 1, "v") == strlen(f + 1))
        return strlen(f) <= 6;
    for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
        if (!strcmp(f, ok[i])) return 1;
    return 0;
}

/*
 * Asks the parent for one of relocd-max-migrations slots, and to reserve
 * the guest's name: two receives of one name would both pass pre-flight,
 * and one's cleanup would destroy the other's NAME--incoming.
 */
static int session_take_slot(struct session *s)
{
    struct pollfd pfd = {.fd = s->env->slot_fd, .events = POLLIN};
    char req[1 + sizeof(s->guest)], reply = 0;
    int len = snprintf(req, sizeof(req), "M%s", s->guest);

    if (write(s->env->slot_fd, req, (size_t)len + 1) != len + 1 ||
        poll(&pfd, 1, 5000) != 1 || read(s->env->slot_fd, &reply, 1) != 1)
        return session_fail(s, PERR_INTERNAL, "no answer from relocd");
    if (reply == 'D')
        return session_fail(s, PERR_BUSY,
                            "%s is being received already, from another "
                            "connection",
                            s->guest);
    if (reply != 'Y')
        return session_fail(s, PERR_BUSY,
                            "%d migrations are already running "
                            "(relocd-max-migrations)",
                            s->env->conf->max_migrations);
    return 0;
}

static int session_migrate(struct session *s, struct msg_migrate *m)
{
    char why[256];
    enum proto_err e;
    unsigned i;

    e = msg_get_migrate(s->frame, m, why, sizeof(why));
    if (e) return session_fail(s, e, "%s", why);
    if (strcmp(m->mode, "xl-stream"))
        return session_fail(s, PERR_BAD_MESSAGE, "unknown mode '%s'", m->mode);
    for (i = 0; i < m->nflags; i++)
        if (!flag_allowed(m->flags[i]))
            return session_fail(s, PERR_BAD_FLAGS,
                                "'%s' is not a flag of xl migrate-receive "
                                "that relocd passes on",
                                m->flags[i]);
    if (!s->preflight_ok)
        return session_fail(s, PERR_UNEXPECTED,
                            "MIGRATE needs a successful PREFLIGHT first");
    if (session_take_slot(s)) return -1;
    /* Before the receiver starts: the guest may resume as soon as it ends. */
    if (migtun_prepare(s->env->conf, MIGTUN_TARGET, s->ip, &s->net, &s->tunnels,
                       why, sizeof(why)) < 0)
        return session_fail(s, PERR_PREFLIGHT, "%s", why);
    return 0;
}

/* How often the stream watch looks at the socket's counters. */
#define SESSION_WATCH_MS 500

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
static int session_wait(struct session *s, pid_t pid, struct stream_watch *w)
{
    int pfd = w->fd >= 0 ? pidfd_open(pid, 0) : -1, status = -1, r;
    struct pollfd p = {.fd = pfd, .events = POLLIN};
    long long limit = s->env->conf->stream_idle_timeout * 1000LL;

    while (pfd >= 0 && waitpid(pid, &status, WNOHANG) == 0) {
        r = poll(&p, 1, SESSION_WATCH_MS);
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

/*
 * Whether the guest runs here now, which xl migrate-receive's exit status
 * does not tell (xl_migrate.c migrate_receive()): it exits 0 when its copy
 * failed to start, after destroying it and giving the guest back, and 1
 * when writing its report failed after the guest had started.  Xen tells;
 * xl's status decides only when Xen cannot be asked.
 */
static int session_verdict(struct session *s, int status)
{
    int xl_ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    uint32_t domid;
    int here = s->guest[0] ? xen_domain_lookup(s->guest, &domid) : -1;

    if (here < 0) return xl_ok ? 0 : -1;
    /* Still the source's own copy: the guest moves within this host. */
    if (here && s->guest_before == 1 && domid == s->domid_before) here = 0;
    if (here != xl_ok)
        log_warnx("%s (%s): xl migrate-receive %s, but %s %s here", s->fqdn,
                  s->ip, xl_ok ? "exited 0" : "failed", s->guest,
                  here ? "runs" : "does not run");
    return here ? 0 : -1;
}

/*
 * The slave's next message other than a log line, which it logs: 0 with
 * s->frame, or -1 when the slave ended or broke the sequence.
 */
static int monitor_recv(struct session *s)
{
    enum proto_err e;
    unsigned type;

    for (;;) {
        if ((e = chan_recv_frame(s->mon, s->frame))) {
            if (e != PERR_EOF)
                session_log(s, 'W', "%s (%s): the session's sandbox: %s",
                            s->fqdn, s->ip, proto_strerror(e));
            return -1;
        }
        type = s->frame->type;
        if (!privsep_step(&s->st, type)) {
            session_log(s, 'W',
                        "%s (%s): the session's sandbox sent %s (0x%x) out "
                        "of sequence; ending the session",
                        s->fqdn, s->ip, proto_type_name(type), type);
            return -1;
        }
        if (type != PS_LOG) return 0;
        if (s->frame->len < 2 || s->frame->len > PS_LOG_MAX ||
            (s->frame->payload[0] != 'W' && s->frame->payload[0] != 'I'))
            return -1;
        /*
         * A subverted slave must not flood the log either: a cap per
         * session, and session_log() takes warnings before admission
         * through the parent's limit.  Not info lines: asking the parent
         * counts as a refusal of the peer's address.
         */
        if (++s->slave_lines > PS_LOG_LINES) continue;
        session_log(s, (char)s->frame->payload[0], "%.*s",
                    (int)s->frame->len - 1, s->frame->payload + 1);
    }
}

/*
 * The slave's PS_ACCEPTED: ACCEPT left, and whether xl may use the socket
 * itself (plain TCP, kernel TLS both ways).  Then, for a relay, the
 * slave gets its end of the pair.  0, or -1.
 */
static int session_accepted(struct session *s, int pair[2])
{
    if (monitor_recv(s) < 0 || s->frame->type != PS_ACCEPTED ||
        s->frame->len != 2)
        return -1;
    s->direct = s->frame->payload[0] == 1;
    s->tls = s->frame->payload[1] == 1;
    log_debug("%s (%s): the stream %s", s->fqdn, s->ip,
              s->direct ? "goes to xl on the socket itself"
                        : "is relayed by the sandbox");
    if (!s->direct && privsep_send_fd(chan_fd(s->mon), pair[0]) < 0) {
        log_warn("%s (%s): passing the stream to the sandbox", s->fqdn, s->ip);
        return -1;
    }
    return 0;
}

/* How long the peer may stay silent while the stream's head is due. */
static int session_idle_ms(const struct session *s)
{
    return s->env->conf->stream_idle_timeout * 1000;
}

/* The stream's head did not pass the gate: the receiver gets nothing. */
static int session_refuse_head(struct session *s, pid_t pid, const char *why)
{
    log_warnx("%s (%s): refusing the stream of %s: %s", s->fqdn, s->ip,
              s->guest, why);
    kill(pid, SIGKILL);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    return -1;
}

/*
 * xl writes to fd itself and reads a pipe, which gets the stream's head
 * from c once it passed the gate, then the rest straight from fd by
 * splice(2) in a feeder process.  fd is the peer's socket (plain TCP, or
 * kernel TLS both ways), or with TLS in user space the monitor's end of
 * the pair the slave relays: either way the gate runs here, in the
 * monitor, where a subverted slave cannot skip it.  c is freed (and so
 * fd closed) when it is not s->chan.
 */
static int stream_gated(struct session *s, struct chan *c, char *const flags[],
                        unsigned nflags)
{
    struct stream_watch w = {.fd = -1};
    int fd = chan_fd(c), in[2], status;
    pid_t pid, feeder;
    char why[512];
    uint8_t tail[4096];
    ssize_t n;

    if (pipe2(in, O_CLOEXEC) < 0) {
        log_warn("%s (%s): pipe", s->fqdn, s->ip);
        if (c != s->chan) chan_free(c);
        return -1;
    }
    /* Fewer wake-ups of the feeder and xl: a 1 MiB pipe, where allowed. */
    fcntl(in[1], F_SETPIPE_SZ, 1024 * 1024);
    /* Plain TCP only: under kernel TLS the counters count records. */
    if (c == s->chan && !s->tls) watch_start(&w, fd);
    pid = xen_receive_start(in[0], fd, flags, nflags);
    close(in[0]);
    if (pid < 0) {
        log_warnx("%s (%s): cannot start the receiver", s->fqdn, s->ip);
        close(in[1]);
        if (c != s->chan) chan_free(c);
        return -1;
    }
    s->relaying = c != s->chan;
    if (gate_pass_head(c, in[1], s->config, session_idle_ms(s), why,
                       sizeof(why)) < 0) {
        close(in[1]);
        if (c != s->chan) chan_free(c);
        return session_refuse_head(s, pid, why);
    }
    /* What the chan read past the head is the stream's too. */
    while (chan_buffered(c) && (n = chan_read_ready(c, tail, sizeof(tail))) > 0)
        if (fdio_write_all(in[1], tail, (size_t)n) < 0) break;
    feeder = fork();
    if (feeder == 0) _exit(gate_feed(fd, in[1]) ? 1 : 0);
    close(in[1]);
    /* The relay sees the end only when no copy of its pair is left here. */
    if (c != s->chan) chan_free(c);
    status = session_wait(s, pid, &w);
    if (feeder > 0) {
        kill(feeder, SIGKILL);
        waitpid(feeder, NULL, 0);
    }
    return session_verdict(s, status);
}

/* Runs the receiver on the stream and waits for it; 0 when the guest runs
 * here now. */
static int session_stream(struct session *s, struct msg_migrate *m)
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
    if (privsep_send(s->mon, s->out, PS_OK, NULL, 0) < 0 ||
        session_accepted(s, pair) < 0) {
        close(pair[0]);
        close(pair[1]);
        return -1;
    }
    close(pair[0]);
    if (s->direct) {
        close(pair[1]);
        return stream_gated(s, s->chan, flags, m->nflags);
    }
    if (!(c = chan_new(pair[1]))) {
        close(pair[1]);
        return -1;
    }
    return stream_gated(s, c, flags, m->nflags);
}

/*
 * The monitor's half of negotiation: what the slave asks, in the order
 * privsep_step() allows.  Returns 0 once a MIGRATE was approved.
 */
static int monitor_negotiate(struct session *s, struct msg_migrate *m)
{
    for (;;) {
        if (monitor_recv(s) < 0) return -1;
        switch (s->frame->type) {
        case PS_ADMITTED:
            /* Who TLS proved the peer is, named on every later line. */
            if (s->frame->len > 0 && s->frame->len < 256)
                diag_appendf(s->fqdn, sizeof(s->fqdn), " as %.*s",
                             (int)s->frame->len, s->frame->payload);
            s->admitted = 1;
            break;
        case PROTO_PREFLIGHT:
            if (session_preflight(s)) return -1;
            break;
        case PROTO_MIGRATE:
            return session_migrate(s, m);
        }
    }
}

/*
 * The slave's half: forwards a request the peer sent, re-encoded from
 * what it parsed, and the monitor's answer back to the peer.  Returns
 * the answer's type, or 0 when the session ends.
 */
static unsigned slave_ask(struct session *s)
{
    enum proto_err e;

    if (chan_send(s->mon, s->out) != PERR_OK ||
        chan_recv_frame(s->mon, s->frame) != PERR_OK)
        return 0;
    if (s->frame->type == PS_OK) return PS_OK;
    if (s->frame->type != PROTO_ERROR &&
        s->frame->type != PROTO_PREFLIGHT_RESULT)
        return 0;
    buf_reset(s->out);
    if (proto_frame_put(s->out, s->frame->type, s->frame->payload,
                        s->frame->len) < 0)
        return 0;
    if (s->frame->type == PROTO_ERROR)
        chan_set_timeout(s->chan, SESSION_ERROR_SEND_MS);
    e = chan_send(s->chan, s->out);
    return e || s->frame->type == PROTO_ERROR ? 0 : s->frame->type;
}

static int slave_preflight(struct session *s)
{
    struct msg_preflight req;
    char why[256];
    enum proto_err e;
    int r;

    e = msg_get_preflight(s->frame, &req, why, sizeof(why));
    if (e) return session_fail(s, e, "%s", why);
    buf_reset(s->out);
    r = msg_put_preflight(s->out, &req);
    msg_preflight_clear(&req);
    if (r < 0) return session_fail(s, PERR_INTERNAL, "encoding PREFLIGHT");
    return slave_ask(s) == PROTO_PREFLIGHT_RESULT ? 0 : -1;
}

/*
 * MIGRATE to the monitor, which decides; on its PS_OK, ACCEPT to the
 * peer.  Then either the monitor's xl reads the socket itself, or this
 * process relays TLS to the descriptor the monitor passes.
 */
static int slave_migrate(struct session *s)
{
    struct msg_migrate m;
    char why[256];
    uint8_t how[2];
    enum proto_err e;
    int tx, rx, fd;

    e = msg_get_migrate(s->frame, &m, why, sizeof(why));
    if (e) return session_fail(s, e, "%s", why);
    buf_reset(s->out);
    if (msg_put_migrate(s->out, &m) < 0)
        return session_fail(s, PERR_INTERNAL, "encoding MIGRATE");
    if (slave_ask(s) != PS_OK) return -1;
    buf_reset(s->out);
    if (msg_put_accept(s->out) < 0 || session_send(s)) return -1;
    chan_kernel_io(s->chan, &tx, &rx);
    how[0] = tx && rx;
    how[1] = (uint8_t)chan_has_tls(s->chan);
    if (privsep_send(s->mon, s->out, PS_ACCEPTED, how, sizeof(how)) < 0)
        return -1;
    if (how[0]) {
        /* xl speaks on the socket now: no record may leave from here. */
        chan_drop_tls(s->chan);
        return 0;
    }
    fd = privsep_recv_fd(chan_fd(s->mon), SESSION_ERROR_SEND_MS * 5);
    if (fd < 0) return -1;
    chan_set_timeout(s->chan, -1);
    relay_run(s->chan, fd, fd, RELAY_IDLE_MS, NULL);
    close(fd);
    return 0;
}

/* TLS, on the TLS port: the first bytes the slave reads from the peer. */
static int slave_tls(struct session *s)
{
    struct tls_conn *tls;
    char err[512];

    if (!s->env->tls) return 0;
    tls = tls_accept(s->env->tls, chan_fd(s->chan),
                     chan_time_left(s->chan) ?: 1, err, sizeof(err));
    if (!tls) {
        session_log(s, 'W', "%s (%s): TLS handshake failed: %s", s->fqdn, s->ip,
                    err);
        return -1;
    }
    chan_set_tls(s->chan, tls);
    snprintf(s->peer_id, sizeof(s->peer_id), "%s", tls_conn_peer(tls));
    return 0;
}

/* The slave: TLS, HELLO, then any number of PREFLIGHTs, then MIGRATE. */
static int slave_run(struct session *s)
{
    if (slave_tls(s) || privsep_send(s->mon, s->out, PS_ADMITTED, s->peer_id,
                                     strlen(s->peer_id)))
        return -1;
    s->admitted = 1;
    if (s->peer_id[0]) {
        session_log(s, 'I', "%s (%s): authenticated as %s", s->fqdn, s->ip,
                    s->peer_id);
        diag_appendf(s->fqdn, sizeof(s->fqdn), " as %s", s->peer_id);
    }
    if (session_hello(s) || privsep_send(s->mon, s->out, PS_HELLO, NULL, 0))
        return -1;
    for (;;) {
        if (session_recv(s)) return -1;
        switch (s->frame->type) {
        case PROTO_PREFLIGHT:
            if (slave_preflight(s)) return -1;
            break;
        case PROTO_MIGRATE:
            return slave_migrate(s);
        default:
            return session_fail(s, PERR_UNEXPECTED, "%s not expected now",
                                proto_type_name(s->frame->type));
        }
    }
}

/* The sandbox's chroot: "empty" beside the incoming markers. */
static const char *session_empty_dir(const struct session *s, char *buf,
                                     size_t len)
{
    char dir[512];

    if (!s->env->incoming_dir) return NULL; /* a unit test: no run dir */
    snprintf(dir, sizeof(dir), "%s", s->env->incoming_dir);
    return snprintf(buf, len, "%s/empty", dirname(dir)) < (int)len ? buf : NULL;
}

/* The slave's process, from fork to exit. */
static void __attribute__((noreturn))
slave_main(struct session *s, int sock, const char *empty,
           const struct sandbox_id *id, pid_t monitor)
{
    char err[256];
    int rc;

    s->slave = 1;
    /* The parent's slots and log limit are the monitor's alone. */
    if (s->env->slot_fd >= 0) close(s->env->slot_fd);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != monitor) _exit(1);
    if (sandbox_enter(empty, id, err, sizeof(err)) < 0) {
        log_warnx("%s (%s): sandbox: %s", s->fqdn, s->ip, err);
        _exit(1);
    }
    s->mon = chan_new(sock);
    rc = s->mon && slave_run(s) == 0 ? 0 : 1;
    chan_free(s->chan); /* TLS's close_notify, unless xl has the socket */
    _exit(rc);
}

/*
 * Forks the slave, which speaks to the peer from now on.  Nothing of the
 * peer's has been read yet.  0, or -1 (logged).
 */
static int session_fork_slave(struct session *s)
{
    char emptybuf[600], err[256];
    const char *empty = session_empty_dir(s, emptybuf, sizeof(emptybuf));
    pid_t monitor = getpid();
    int sp[2];

    if (empty && sandbox_empty_dir(empty, err, sizeof(err)) < 0) {
        log_warnx("%s (%s): no sandbox for the session: %s", s->fqdn, s->ip,
                  err);
        return -1;
    }
    if (s->env->tls) privsep_ktls_preload();
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
        log_warn("%s (%s): socketpair", s->fqdn, s->ip);
        return -1;
    }
    s->slave_pid = fork();
    if (s->slave_pid == 0) {
        close(sp[0]);
        slave_main(s, sp[1], empty, &s->id, monitor);
    }
    close(sp[1]);
    if (s->slave_pid < 0 || !(s->mon = chan_new(sp[0]))) {
        log_warn("%s (%s): fork", s->fqdn, s->ip);
        if (!s->mon) close(sp[0]);
        return -1;
    }
    chan_set_timeout(s->mon,
                     chan_time_left(s->chan) + SESSION_MONITOR_SLACK_MS);
    return 0;
}

/*
 * Ends the slave.  A relay is waited for: it carries the end of the
 * stream.  Otherwise the slave gets the time to pass on the monitor's
 * last ERROR, then is killed.
 */
static void session_reap_slave(struct session *s)
{
    int pfd, status;
    struct pollfd p;

    if (s->slave_pid <= 0) return;
    if (!s->relaying) {
        if (s->mon) shutdown(chan_fd(s->mon), SHUT_WR);
        pfd = pidfd_open(s->slave_pid, 0);
        p = (struct pollfd){.fd = pfd, .events = POLLIN};
        if (pfd >= 0) {
            (void)!poll(&p, 1, SESSION_ERROR_SEND_MS + 500);
            close(pfd);
        }
        kill(s->slave_pid, SIGKILL);
    }
    while (waitpid(s->slave_pid, &status, 0) < 0 && errno == EINTR)
        ;
    s->slave_pid = -1;
}

/* Who the allow-list's DNS lookup runs as (peer.h). */
static const struct sandbox_id *session_lookup_id;

static int session_confine_lookup(void)
{
    char err[256];

    if (sandbox_drop_user(session_lookup_id, err, sizeof(err)) == 0) return 0;
    log_warnx("reverse DNS lookup: %s", err);
    return -1;
}

/* The allow-list, before the slave reads any byte of the peer's. */
static int session_admit(struct session *s, const struct sockaddr *sa,
                         socklen_t salen)
{
    const struct relocd_conf *conf = s->env->conf;
    char err[256];

    if (peer_addr_text(sa, salen, s->ip, sizeof(s->ip)) < 0)
        return session_fail(s, PERR_INTERNAL, "unknown address family");
    if (sandbox_id_lookup(conf->privsep_user, &s->id, err, sizeof(err)) < 0) {
        log_warnx("%s (%s): no sandbox for the session: %s", s->fqdn, s->ip,
                  err);
        return -1;
    }
    session_lookup_id = &s->id;
    peer_lookup_confine = session_confine_lookup;
    /* Reverse DNS and the TLS handshake share the handshake deadline. */
    if (!peer_allowed(conf->acl, s->ip, NULL, chan_time_left(s->chan), s->fqdn,
                      sizeof(s->fqdn))) {
        /* xend's words, so existing log watches keep working. */
        if (session_may_log(s))
            log_warnx("Rejected connection from %s (%s).", s->ip, s->fqdn);
        if (!s->env->tls)
            session_fail(s, PERR_DENIED,
                         "%s is not in "
                         "xend-relocation-hosts-allow of this host",
                         s->ip);
        return -1;
    }
    return session_fork_slave(s);
}

/* The marker of a receive in flight: dir/NAME (names never hold '/'). */
static int marker_path(const char *dir, const char *name, char *path,
                       size_t len)
{
    if (!dir || !name[0] || strchr(name, '/') || name[0] == '.') return -1;
    return snprintf(path, len, "%s/%s", dir, name) < (int)len ? 0 : -1;
}

static void marker_set(const struct session *s, int on)
{
    char path[512];
    int fd;

    if (marker_path(s->env->incoming_dir, s->guest, path, sizeof(path))) return;
    if (!on) {
        unlink(path);
        return;
    }
    mkdir(s->env->incoming_dir, 0700);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd >= 0) close(fd);
}

int session_recover(const char *dir)
{
    char path[512];
    struct dirent *e;
    DIR *d = opendir(dir);
    int n = 0;

    while (d && (e = readdir(d))) {
        if (marker_path(dir, e->d_name, path, sizeof(path))) continue;
        log_warnx("a receive of %s was cut short by relocd's death; "
                  "cleaning up",
                  e->d_name);
        xen_receive_cleanup(e->d_name);
        unlink(path);
        n++;
    }
    if (d) closedir(d);
    return n;
}

static int session_run(struct session *s, const struct sockaddr *sa,
                       socklen_t salen)
{
    struct msg_migrate m;
    int rc;

    chan_set_timeout(s->chan, s->env->conf->handshake_timeout * 1000);
    if (session_admit(s, sa, salen) || monitor_negotiate(s, &m)) return -1;
    log_info("%s (%s): receiving %s", s->fqdn, s->ip, s->guest);
    marker_set(s, 1);
    rc = session_stream(s, &m);
    session_reap_slave(s);
    migtun_finish(s->tunnels, rc == 0);
    s->tunnels = NULL;
    if (rc == 0) {
        log_info("%s (%s): received %s", s->fqdn, s->ip, s->guest);
    } else {
        log_warnx("%s (%s): receiving %s failed; it stays on the source",
                  s->fqdn, s->ip, s->guest);
        xen_receive_cleanup(s->guest[0] ? s->guest : NULL);
    }
    marker_set(s, 0);
    return rc ? -1 : 0;
}

int session_serve(const struct session_env *env, int fd,
                  const struct sockaddr *sa, socklen_t salen)
{
    struct session s = {.env = env, .log_ok = -1, .slave_pid = -1};
    int rc = -1;

    snprintf(s.ip, sizeof(s.ip), "?");
    snprintf(s.fqdn, sizeof(s.fqdn), "?");
    s.chan = chan_new(fd);
    s.out = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME);
    s.frame = malloc(sizeof(*s.frame));
    if (!s.chan || !s.out || !s.frame) {
        log_warnx("session: out of memory");
        if (!s.chan) close(fd);
    } else {
        rc = session_run(&s, sa, salen);
    }
    session_reap_slave(&s);
    chan_free(s.mon);
    chan_free(s.chan);
    buf_free(s.out);
    free(s.frame);
    free(s.config);
    return rc < 0 ? 1 : 0;
}
