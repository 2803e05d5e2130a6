/*
 * daemon.c - the parent process: listeners, a poll(2) loop, one forked
 * session per connection, SIGHUP reload and SIGTERM drain (OpenBSD
 * ntpd/relayd structure).  The parent never blocks on a peer: everything a
 * peer says is read by its session process.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/acl.h"
#include "relocd/admit.h"
#include "wire/buf.h"
#include "config/conf.h"
#include "relocd/ctl.h"
#include "wire/json.h"
#include "relocd/listen.h"
#include "wire/log.h"
#include "relocd/peer.h"
#include "wire/msg.h"
#include "relocd/daemon.h"
#include "relocd/outgoing.h"
#include "relocd/rundir.h"
#include "relocd/sender.h"
#include "relocd/session.h"
#include "relocd/storage.h"
#include "relocd/synfilter.h"
#include "wire/tls.h"
#include "tunnel/conf.h"
#include "tunnel/keep.h"
#include "xen/xen.h"
#include "wire/clock.h"
#include "wire/version.h"

#define DAEMON_MAX_CHILDREN 1024
/*
 * Refusing on the TLS port takes a handshake, which a forked refuser does
 * within a hard deadline; beyond this many at once, refusals are silent.
 */
#define DAEMON_MAX_REFUSERS 4
#define REFUSER_DEADLINE_S 1
#define REFUSER_HANDSHAKE_MS 700
#define REFUSER_SEND_MS 200

enum child_kind { CHILD_SESSION, CHILD_SENDER };

struct child {
    pid_t pid;
    int slot_fd;  /* session: slot requests; sender: status lines */
    int ctl_fd;   /* sender: its client, told if the worker dies; or -1 */
    int has_slot; /* holds one of relocd-max-migrations */
    enum child_kind kind;
    int id; /* senders: what xl-relocate list/cancel name */
    char domain[128], target[300], status[256];
    char ip[64]; /* sessions: the peer's address, for the per-host cap */
};

struct daemon {
    struct relocd_conf *conf;
    const char *path;
    struct listen_set ls;
    struct tls_ctx *tls;
    struct child child[DAEMON_MAX_CHILDREN];
    unsigned nchild, running;
    pid_t refuser[DAEMON_MAX_REFUSERS]; /* 0: free */
    struct admit_log refusals;
    struct admit_penalties penalties; /* admit.h: noauth per source */
    int draining, next_id;
    struct ctl ctl;
    char hostname[256];
    char incoming_dir[300];       /* next to the control socket */
    char outgoing_dir[300];       /* markers of sender workers */
    char era_dir[300];            /* their disks' write tracking */
    long long tunnels_checked_ms; /* clock_ms() of the last tunkeep_tick */
    long long listen_rest_until;  /* clock_ms(): no accept round before */
    /* the sources the listeners' socket filter drops (synfilter.h);
     * ndropped > SYNFILTER_MAX: the listeners have none yet */
    char dropped[SYNFILTER_MAX][64];
    unsigned ndropped;
};

static volatile sig_atomic_t got_hup, got_term, got_chld;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        got_hup = 1;
    else if (sig == SIGCHLD)
        got_chld = 1;
    else
        got_term = 1;
}

static void daemon_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Opens the ports and the TLS context a configuration asks for. */
static int daemon_listen(const struct relocd_conf *conf, struct listen_set *ls,
                         struct tls_ctx **tls_r)
{
    struct tls_opts o = {conf->ssl_key_file, conf->ssl_cert_file,
                         conf->ca_file,      conf->psk_file,
                         conf->crl_file,     conf->psk_identity};
    char err[512];

    memset(ls, 0, sizeof(*ls));
    *tls_r = NULL;
    if (conf->relocation_server && !conf->allow_insecure)
        log_warnx("not opening the plain relocation port %d: it has no "
                  "authentication; use xend-relocation-ssl-server, or set "
                  "(relocd-allow-insecure yes)",
                  conf->port);
    if (conf->relocation_server && conf->allow_insecure) {
        log_warnx("WARNING: port %d accepts guests without authentication "
                  "(relocd-allow-insecure yes)",
                  conf->port);
        if (listen_open(ls, conf->address, conf->port, 0, err, sizeof(err)))
            goto fail;
    }
    if (conf->ssl_server) {
        *tls_r = tls_ctx_new(1, &o, err, sizeof(err));
        if (!*tls_r ||
            listen_open(ls, conf->address, conf->ssl_port, 1, err,
                        sizeof(err)) ||
            listen_defer(ls, conf->handshake_timeout, err, sizeof(err)))
            goto fail;
    }
    if (!ls->n) log_warnx("no relocation port open: this host sends only");
    return 0;
fail:
    log_warnx("%s", err);
    listen_close(ls);
    tls_ctx_free(*tls_r);
    *tls_r = NULL;
    return -1;
}

/*
 * Sessions (from ip; NULL: from anywhere) that have not taken a migration
 * slot yet.  Not nchild - running: a sender that told its result has
 * given its slot back while its process ends, and is no pending peer.
 */
static unsigned daemon_pending_from(const struct daemon *d, const char *ip)
{
    unsigned i, n = 0;

    for (i = 0; i < d->nchild; i++)
        if (d->child[i].kind == CHILD_SESSION && !d->child[i].has_slot &&
            (!ip || !strcmp(d->child[i].ip, ip)))
            n++;
    return n;
}

/* Drops what the parent holds open, in a child that serves one peer. */
static void daemon_child_close(struct daemon *d)
{
    unsigned i;

    listen_close(&d->ls);
    for (i = 0; i < d->nchild; i++) {
        close(d->child[i].slot_fd);
        if (d->child[i].ctl_fd >= 0) close(d->child[i].ctl_fd);
    }
}

/*
 * In a refuser: ERROR busy inside TLS.  alarm() is the hard deadline for
 * everything, handshake included, whatever the peer does.
 */
static void refuser_run(struct daemon *d, int fd, const char *why)
{
    struct buf *out = buf_new(1024);
    struct tls_conn *tls;
    char err[256];

    signal(SIGALRM, SIG_DFL);
    alarm(REFUSER_DEADLINE_S);
    daemon_child_close(d);
    log_procname("relocd refuser");
    tls = tls_accept(d->tls, fd, REFUSER_HANDSHAKE_MS, err, sizeof(err));
    if (tls && out && msg_put_error(out, PERR_BUSY, "%s", why) == 0 &&
        tls_write(tls, buf_ptr(out), buf_len(out), REFUSER_SEND_MS) >= 0)
        tls_shutdown(tls);
    _exit(0);
}

/* Forks a refuser for a TLS connection; 0, or -1 to close it silently. */
static int daemon_refuse_tls(struct daemon *d, int fd, const char *why)
{
    unsigned i;
    pid_t pid;

    for (i = 0; i < DAEMON_MAX_REFUSERS && d->refuser[i]; i++)
        ;
    if (i == DAEMON_MAX_REFUSERS || !d->tls) return -1;
    pid = fork();
    if (pid == 0) refuser_run(d, fd, why);
    if (pid < 0) return -1;
    d->refuser[i] = pid;
    return 0;
}

/*
 * A connection from ip failed before it authenticated, as its session or
 * the parent at accept saw it: it counts towards the source's penalty.
 * Returns whether to log the failure (rate limited per source).
 */
static int daemon_noauth(struct daemon *d, const char *ip)
{
    if (admit_penalize(&d->penalties, ip, clock_ms()))
        log_warnx("%s: its connections keep failing before they "
                  "authenticate; refusing it at once for a while "
                  "(per-source penalty: its packets to the relocation "
                  "ports are dropped until it runs down)",
                  ip);
    return admit_log_note(&d->refusals, ip, clock_ms());
}

/*
 * Refuses a connection without reading from it: ERROR busy on the plain
 * port at once, on the TLS port by a refuser.  The log line is rate
 * limited per source (admit.h); a summary tells what it left out.
 */
static void daemon_refuse(struct daemon *d, int fd, int tls, const char *ip,
                          enum admit_verdict v)
{
    const char *why = admit_reason(v);
    struct buf *out;

    if (admit_log_note(&d->refusals, ip, clock_ms()))
        log_warnx("refused a connection from %s (busy): %s", ip, why);
    if (tls) {
        /* A penalised source has had its answers: no TLS work for it. */
        if (v != ADMIT_PENALTY) daemon_refuse_tls(d, fd, why);
        close(fd);
        return;
    }
    out = buf_new(1024);
    if (out && msg_put_error(out, PERR_BUSY, "%s", why) == 0)
        (void)!send(fd, buf_ptr(out), buf_len(out),
                    MSG_DONTWAIT | MSG_NOSIGNAL);
    buf_free(out);
    close(fd);
}

static void daemon_spawn(struct daemon *d, int fd, int tls, const char *ip,
                         struct sockaddr_storage *ss, socklen_t sslen)
{
    struct session_env env = {d->conf, tls ? d->tls : NULL, -1, d->hostname,
                              d->incoming_dir};
    int sp[2];
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
        log_warn("socketpair");
        close(fd);
        return;
    }
    pid = fork();
    if (pid == 0) {
        daemon_child_close(d);
        close(sp[0]);
        /* The session waits for its children itself (waitpid, pidfds). */
        signal(SIGCHLD, SIG_DFL);
        env.slot_fd = sp[1];
        log_procname("relocd session");
        _exit(session_serve(&env, fd, (struct sockaddr *)ss, sslen));
    }
    close(fd);
    close(sp[1]);
    if (pid < 0) {
        log_warn("fork");
        close(sp[0]);
        return;
    }
    d->child[d->nchild] = (struct child){
        .pid = pid, .slot_fd = sp[0], .ctl_fd = -1, .kind = CHILD_SESSION};
    snprintf(d->child[d->nchild].ip, sizeof(d->child[0].ip), "%s", ip);
    d->nchild++;
}

/*
 * Pending limits by address (admit.h), decided before the session exists.
 * An address the allow-list admits by itself faces the per-host cap only:
 * acl_match() on an address is bounded (acl.h), no DNS is involved.
 */
static enum admit_verdict daemon_admit(const struct daemon *d, const char *ip)
{
    const struct relocd_conf *c = d->conf;
    struct admit_limits l = {
        (unsigned)c->max_pending, (unsigned)c->max_pending_per_host,
        (unsigned)c->pending_drop_start, (unsigned)c->pending_drop_rate};
    int exempt = c->acl && acl_match(c->acl, ip, NULL);

    if (admit_penalty_left(&d->penalties, ip, clock_ms())) return ADMIT_PENALTY;
    if (d->nchild >= DAEMON_MAX_CHILDREN) return ADMIT_FULL;
    return admit_decide(&l, daemon_pending_from(d, NULL),
                        daemon_pending_from(d, ip), exempt,
                        arc4random_uniform(100));
}

/* Connections accepted per listener and poll round, before anyone else. */
#define DAEMON_ACCEPT_BATCH 32
/*
 * After a round that took a connection the listeners rest this long:
 * what arrives meanwhile waits in the backlog and is taken in one round.
 * Under a flood a round's poll(2) and the accept4(2) that finds the queue
 * empty are then paid once for several connections, not for each (in the
 * lab's emulated dom0 every system call costs about a millisecond).  A
 * legitimate client waits at most this much longer; its deadlines are
 * seconds.
 */
#define DAEMON_ACCEPT_REST_MS 100

/* Accepts and admits one connection; -1 when none was waiting. */
static int daemon_accept(struct daemon *d, unsigned li)
{
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    enum admit_verdict v;
    const char *why;
    char ip[64];
    int fd;

    fd = accept4(d->ls.fd[li], (struct sockaddr *)&ss, &sslen, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            log_warn("accept");
        return errno == ECONNABORTED ? 0 : -1;
    }
    if (peer_addr_text((struct sockaddr *)&ss, sslen, ip, sizeof(ip)) < 0)
        snprintf(ip, sizeof(ip), "?");
    v = daemon_admit(d, ip);
    /* A deferred TLS connection that brought no ClientHello needs no
     * session (nor a refuser) to fail it. */
    if (v != ADMIT_PENALTY && d->ls.tls[li] && (why = listen_first_byte(fd))) {
        if (daemon_noauth(d, ip))
            log_warnx("closed a connection from %s: %s", ip, why);
        close(fd);
    } else if (v != ADMIT_OK)
        daemon_refuse(d, fd, d->ls.tls[li], ip, v);
    else
        daemon_spawn(d, fd, d->ls.tls[li], ip, &ss, sslen);
    return 0;
}

/* The refusals the rate limit kept out of the log, once a window. */
static void daemon_refusal_summary(struct daemon *d)
{
    unsigned n, secs;

    if (admit_log_summary(&d->refusals, clock_ms(), &n, &secs))
        log_warnx("refused %u connections in the last %u s; not all were "
                  "logged",
                  n, secs);
}

/* A sender's latest status line, for xl-relocate list. */
static void daemon_status(struct child *c)
{
    char text[sizeof(c->status)], *nl;
    ssize_t r = read(c->slot_fd, text, sizeof(text) - 1);

    if (r <= 0) return;
    text[r] = '\0';
    nl = strrchr(text, '\n');
    if (nl) *nl = '\0';
    nl = strrchr(text, '\n');
    snprintf(c->status, sizeof(c->status), "%s", nl ? nl + 1 : text);
}

/*
 * Reads a sender worker's status.  Once it told its result, its migration
 * is settled (sender_run) and its slot free, though the process may go on
 * for seconds (reaping a TLS relay, closing the guest's handles): a
 * client that starts the next move on that result must not find
 * relocd-max-migrations still taken.
 */
static void daemon_settled(struct daemon *d, struct child *c)
{
    daemon_status(c);
    if (c->has_slot && strstr(c->status, "\"event\":\"result\"")) {
        c->has_slot = 0;
        d->running--;
    }
}

/* Sessions holding a migration slot (for a guest of that name, if not
 * NULL): guests coming in now. */
static unsigned daemon_receiving(const struct daemon *d, const char *name)
{
    unsigned i, n = 0;

    for (i = 0; i < d->nchild; i++)
        n += d->child[i].kind == CHILD_SESSION && d->child[i].has_slot &&
             (!name || !strcmp(d->child[i].domain, name));
    return n;
}

/* 'M' NAME NUL: a slot and the name; Y, N (no slot) or D (name taken). */
static char daemon_take_slot(struct daemon *d, struct child *c,
                             const char *name)
{
    if (c->has_slot || d->running >= (unsigned)d->conf->max_migrations)
        return 'N';
    if (daemon_receiving(d, name)) return 'D';
    c->has_slot = 1;
    d->running++;
    snprintf(c->domain, sizeof(c->domain), "%s", name);
    return 'Y';
}

/*
 * A session asks for a migration slot ('M' and the guest's name), or
 * whether to log a failure of a peer not admitted yet ('L', rate limited
 * per source as refusals are).  It waits for the one-byte answer before it
 * asks again, so one read holds one whole request.
 */
static void daemon_slot(struct daemon *d, struct child *c)
{
    char req[1 + sizeof(c->domain)], reply;
    ssize_t r;

    if (c->kind == CHILD_SENDER) {
        daemon_settled(d, c);
        return;
    }
    r = read(c->slot_fd, req, sizeof(req) - 1);
    if (r <= 0) return; /* the session is ending; SIGCHLD reaps it */
    req[r] = '\0';
    /* 'L' comes only from a session that failed before authentication. */
    if (req[0] == 'L')
        reply = daemon_noauth(d, c->ip) ? 'Y' : 'N';
    else if (req[0] == 'M')
        reply = daemon_take_slot(d, c, req + 1);
    else
        reply = 'N';
    (void)!write(c->slot_fd, &reply, 1);
}

/* --- sending, on request of the control socket ---------------------------- */

struct worker_out {
    int ctl_fd, status_fd;
    struct buf *out;
};

static void on_cancel(int sig)
{
    (void)sig;
    sender_cancel();
}

/*
 * In the worker: each event, briefly, to the parent, then to the client.
 * In that order: a client that starts the next migration on this one's
 * result finds the parent knowing of it (daemon_settled).
 */
static void worker_emit(void *data, const char *json)
{
    struct worker_out *w = data;
    char line[250];

    snprintf(line, sizeof(line), "%s\n", json);
    (void)!write(w->status_fd, line, strlen(line));
    if (w->ctl_fd >= 0 && msg_put_ctl_event(w->out, json) == 0 &&
        ctl_reply(w->ctl_fd, w->out) < 0) {
        /* The client went away: the migration goes on without it. */
        close(w->ctl_fd);
        w->ctl_fd = -1;
    }
    buf_reset(w->out);
}

static void worker_run(struct daemon *d, int ctl_fd, int status_fd,
                       const struct sender_req *req)
{
    /* ctl_close() below closes every control connection, this one too. */
    int fd = dup(ctl_fd);
    struct worker_out w = {fd, status_fd,
                           buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME)};
    int flags = fcntl(fd, F_GETFL);

    daemon_child_close(d);
    ctl_close(&d->ctl, NULL);
    signal(SIGUSR1, on_cancel);
    signal(SIGTERM, on_cancel);
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGCHLD, SIG_DFL);
    fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    log_procname("relocd sender");
    _exit(w.out ? sender_run(d->conf, req, worker_emit, &w) : 1);
}

/* Answers ERROR; the connection is done. */
static enum ctl_fate ctl_error(int fd, enum proto_err e, const char *text)
{
    struct buf *out = buf_new(2048);

    if (out && msg_put_error(out, e, "%s", text) == 0) ctl_reply(fd, out);
    buf_free(out);
    return CTL_CLOSE;
}

/* Starts a sender worker that owns fd; the accepted event names its id. */
static enum ctl_fate daemon_send(struct daemon *d, int fd,
                                 const struct sender_req *req)
{
    char ev[128];
    struct buf *out = buf_new(1024);
    int sp[2];
    pid_t pid;
    unsigned i;

    for (i = 0; i < d->nchild; i++)
        if (d->child[i].kind == CHILD_SENDER) daemon_settled(d, &d->child[i]);
    if (d->running >= (unsigned)d->conf->max_migrations || d->draining ||
        d->nchild >= DAEMON_MAX_CHILDREN) {
        buf_free(out);
        return ctl_error(fd, PERR_BUSY,
                         "relocd-max-migrations migrations "
                         "are running; try again later");
    }
    if (!out || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
        buf_free(out);
        return ctl_error(fd, PERR_INTERNAL, "out of resources");
    }
    d->next_id++;
    snprintf(ev, sizeof(ev), "{\"event\":\"accepted\",\"id\":%d}", d->next_id);
    msg_put_ctl_event(out, ev);
    ctl_reply(fd, out);
    buf_free(out);
    pid = fork();
    if (pid == 0) {
        close(sp[0]);
        worker_run(d, fd, sp[1], req);
    }
    close(sp[1]);
    if (pid < 0) {
        close(sp[0]);
        return ctl_error(fd, PERR_INTERNAL, "fork failed");
    }
    fcntl(sp[0], F_SETFL, O_NONBLOCK);
    d->child[d->nchild] = (struct child){.pid = pid,
                                         .slot_fd = sp[0],
                                         .ctl_fd = fd,
                                         .has_slot = 1,
                                         .kind = CHILD_SENDER,
                                         .id = d->next_id};
    snprintf(d->child[d->nchild].domain, sizeof(d->child[0].domain), "%s",
             req->domain);
    snprintf(d->child[d->nchild].target, sizeof(d->child[0].target), "%s",
             req->target);
    d->nchild++;
    d->running++;
    log_info("migration %d: sending %s to %s", d->next_id, req->domain,
             req->target);
    return CTL_HANDED_OVER;
}

static enum ctl_fate daemon_list(struct daemon *d, int fd)
{
    struct buf *out = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME);
    yajl_gen g = json_begin();
    const unsigned char *text;
    size_t len;
    unsigned i;

    json_str(g, "migrations");
    if (g) yajl_gen_array_open(g);
    for (i = 0; i < d->nchild; i++) {
        if (d->child[i].kind != CHILD_SENDER) continue;
        if (g) yajl_gen_map_open(g);
        json_kv_int(g, "id", d->child[i].id);
        json_kv_str(g, "domain", d->child[i].domain);
        json_kv_str(g, "target", d->child[i].target);
        json_kv_int(g, "pid", d->child[i].pid);
        json_kv_str(g, "last_event", d->child[i].status);
        if (g) yajl_gen_map_close(g);
    }
    if (g) yajl_gen_array_close(g);
    json_kv_int(g, "receiving", daemon_receiving(d, NULL));
    if (out && json_end(g, &text, &len) == 0 &&
        proto_frame_put(out, PROTO_CTL_LIST_RESULT, text, len) == 0)
        ctl_reply(fd, out);
    json_free(g);
    buf_free(out);
    return CTL_CLOSE;
}

static enum ctl_fate daemon_cancel(struct daemon *d, int fd, int id)
{
    char ev[128];
    struct buf *out;
    unsigned i;

    for (i = 0; i < d->nchild; i++)
        if (d->child[i].kind == CHILD_SENDER && d->child[i].id == id) break;
    if (i == d->nchild)
        return ctl_error(fd, PERR_UNEXPECTED, "no such migration");
    kill(d->child[i].pid, SIGUSR1);
    log_info("migration %d: cancel requested", id);
    out = buf_new(1024);
    snprintf(ev, sizeof(ev), "{\"event\":\"cancel-requested\",\"id\":%d}", id);
    if (out && msg_put_ctl_event(out, ev) == 0) ctl_reply(fd, out);
    buf_free(out);
    return CTL_CLOSE;
}

/*
 * The worker's request: what the client chose, the rest from this daemon's
 * configuration as it is now (SIGHUP reloads it; the client never read it).
 */
static void daemon_fill_req(const struct relocd_conf *conf,
                            const struct msg_ctl_migrate *m,
                            struct sender_req *r)
{
    memset(r, 0, sizeof(*r));
    snprintf(r->domain, sizeof(r->domain), "%s", m->domain);
    snprintf(r->target, sizeof(r->target), "%s", m->target);
    r->port = m->port;
    r->ssl = m->ssl;
    r->live = m->live;
    r->max_downtime_ms =
        m->max_downtime_ms ? m->max_downtime_ms : conf->max_downtime_ms;
    r->bandwidth_mbps =
        m->bandwidth_mbps >= 0 ? m->bandwidth_mbps : conf->bandwidth_mbps;
    r->on_stuck = m->converge_set ? m->on_no_converge
                                  : (enum converge)conf->on_no_converge;
    r->timeout_s = m->timeout_s;
    r->via_set = m->via_set;
    snprintf(r->via, sizeof(r->via), "%s", m->via);
    r->paused = m->paused;
    r->copy_storage = m->copy_storage;
    r->nmaps = m->nmaps;
    memcpy(r->maps, m->maps, sizeof(r->maps));
}

static enum ctl_fate daemon_ctl_request(void *data, int fd,
                                        const struct proto_frame *f)
{
    struct daemon *d = data;
    struct msg_ctl_migrate m;
    struct sender_req req;
    char why[256];
    int id;

    switch (f->type) {
    case PROTO_CTL_MIGRATE:
        if (msg_get_ctl_migrate(f, &m, why, sizeof(why)))
            return ctl_error(fd, PERR_BAD_MESSAGE, why);
        daemon_fill_req(d->conf, &m, &req);
        return daemon_send(d, fd, &req);
    case PROTO_CTL_LIST:
        return daemon_list(d, fd);
    case PROTO_CTL_CANCEL:
        if (msg_get_ctl_cancel(f, &id, why, sizeof(why)))
            return ctl_error(fd, PERR_BAD_MESSAGE, why);
        return daemon_cancel(d, fd, id);
    default:
        return ctl_error(fd, PERR_UNEXPECTED, "unknown control request");
    }
}

/* Tells the client of a dead worker how its migration ended. */
static void daemon_tell_result(struct child *c, int ok, const char *msg)
{
    struct buf *out = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME);
    yajl_gen g = json_begin();
    const unsigned char *text;
    size_t len;

    json_kv_str(g, "event", "result");
    json_kv_bool(g, "ok", ok);
    json_kv_str(g, "domain", c->domain);
    json_kv_str(g, "target", c->target);
    json_kv_str(g, "message", msg);
    if (out && json_end(g, &text, &len) == 0 &&
        msg_put_ctl_event(out, (const char *)text) == 0)
        ctl_reply(c->ctl_fd, out);
    json_free(g);
    buf_free(out);
}

/*
 * A sender worker ended.  One that died before its result (a signal, a
 * crash) may have left its guest suspended: its marker says where the
 * move was, and the guest is settled as xl would (outgoing.h).
 */
static void daemon_sender_ended(struct daemon *d, struct child *c, int status)
{
    char what[128], msg[1024], last[sizeof(c->status)];
    int rc;

    daemon_status(c); /* its last words, if still unread */
    snprintf(last, sizeof(last), "%s", c->status);
    if (WIFSIGNALED(status))
        snprintf(what, sizeof(what), "the sender worker died of signal %d",
                 WTERMSIG(status));
    else
        snprintf(what, sizeof(what), "the sender worker exited with status %d",
                 WEXITSTATUS(status));
    rc = outgoing_reap(d->outgoing_dir, c->pid, what, msg, sizeof(msg));
    storage_recover(d->era_dir);
    if (strstr(last, "\"event\":\"result\"")) return; /* it told already */
    if (rc == -2) {
        if (!WIFSIGNALED(status)) return;
        snprintf(msg, sizeof(msg),
                 "%s before it recorded a move of %s: check with xl list "
                 "that it runs here",
                 what, c->domain);
        log_warnx("migration %d: %s", c->id, msg);
    }
    daemon_tell_result(c, rc == 0, msg);
}

static void daemon_reap(struct daemon *d)
{
    int status;
    pid_t pid;
    unsigned i;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (i = 0; i < DAEMON_MAX_REFUSERS; i++)
            if (d->refuser[i] == pid) d->refuser[i] = 0;
        for (i = 0; i < d->nchild && d->child[i].pid != pid; i++)
            ;
        if (i == d->nchild) continue;
        if (d->child[i].kind == CHILD_SENDER)
            daemon_sender_ended(d, &d->child[i], status);
        else if (WIFSIGNALED(status))
            log_warnx("session %d died of signal %d", (int)pid,
                      WTERMSIG(status));
        if (d->child[i].ctl_fd >= 0) close(d->child[i].ctl_fd);
        close(d->child[i].slot_fd);
        if (d->child[i].has_slot) d->running--;
        d->child[i] = d->child[--d->nchild];
    }
}

/*
 * SIGHUP: parse into a fresh config and swap it in only when it loaded and
 * its ports opened; a broken file keeps the old one (OpenBSD ntpd).
 */
static void daemon_reload(struct daemon *d)
{
    struct relocd_conf *nconf = NULL;
    struct listen_set nls;
    struct tls_ctx *ntls;
    char err[512];

    if (conf_load(d->path, &nconf, err, sizeof(err)) < 0 ||
        tunconf_check(nconf, err, sizeof(err)) < 0) {
        log_warnx("reload failed, keeping the running configuration: %s", err);
        conf_free(nconf);
        return;
    }
    /* Ports in use by the old listeners would not bind twice. */
    listen_close(&d->ls);
    if (daemon_listen(nconf, &nls, &ntls) < 0) {
        log_warnx("reload failed, keeping the running configuration");
        conf_free(nconf);
        if (daemon_listen(d->conf, &d->ls, &d->tls) < 0)
            log_warnx("could not reopen the old ports either");
        d->ndropped = SYNFILTER_MAX + 1;
        return;
    }
    tls_ctx_free(d->tls);
    conf_free(d->conf);
    d->conf = nconf;
    d->ls = nls;
    d->tls = ntls;
    d->ndropped = SYNFILTER_MAX + 1; /* new sockets: no filter yet */
    log_info("configuration reloaded from %s", d->path);
}

/*
 * The kernel drops what the penalties refuse (synfilter.h): the filter
 * is set anew only when the list changed (a source penalised, or its
 * penalty run down).  Where it cannot be set, the parent still refuses
 * those sources at accept.
 */
static void daemon_synfilter(struct daemon *d)
{
    const char *ips[SYNFILTER_MAX];
    unsigned n, i = 0;

    if (d->draining) return;
    n = admit_penalty_dropped(&d->penalties, clock_ms(), ips, SYNFILTER_MAX);
    if (n == d->ndropped)
        while (i < n && !strcmp(ips[i], d->dropped[i]))
            i++;
    if (n == d->ndropped && i == n) return;
    if (synfilter_apply(d->ls.fd, d->ls.n, ips, n) < 0)
        log_warn("cannot set the socket filter for %u penalised "
                 "source(s); refusing them at accept",
                 n);
    for (i = 0; i < n; i++)
        snprintf(d->dropped[i], sizeof(d->dropped[i]), "%s", ips[i]);
    d->ndropped = n;
}

/* The listeners to poll this round: none while they rest or drain. */
static unsigned daemon_listeners(const struct daemon *d, int *timeout)
{
    long long rest = d->listen_rest_until - clock_ms();

    *timeout = 1000;
    if (d->draining) return 0;
    if (rest <= 0) return d->ls.n;
    *timeout = (int)rest;
    return 0;
}

static void daemon_poll(struct daemon *d)
{
    static struct pollfd
        pfd[LISTEN_MAX + DAEMON_MAX_CHILDREN + 1 + CTL_MAX_CONNS];
    unsigned i, n, nl, nc = d->nchild, nctl, took = 0;
    int r, timeout;

    nl = daemon_listeners(d, &timeout);
    for (i = 0; i < nl; i++)
        pfd[i] = (struct pollfd){d->ls.fd[i], POLLIN, 0};
    for (i = 0; i < d->nchild; i++)
        pfd[nl + i] = (struct pollfd){d->child[i].slot_fd, POLLIN, 0};
    nctl = d->draining ? 0 : ctl_pollfds(&d->ctl, pfd + nl + nc);
    r = poll(pfd, nl + nc + nctl, timeout);
    if (r <= 0) return;
    for (i = 0; i < nl; i++)
        for (n = 0; pfd[i].revents & POLLIN && n < DAEMON_ACCEPT_BATCH; n++) {
            if (daemon_accept(d, i) < 0) break;
            took++;
        }
    if (took) d->listen_rest_until = clock_ms() + DAEMON_ACCEPT_REST_MS;
    /* daemon_accept() only appends children: the first nc are unchanged. */
    for (i = 0; i < nc; i++)
        if (pfd[nl + i].revents & POLLIN) daemon_slot(d, &d->child[i]);
    ctl_handle(&d->ctl, pfd + nl + nc, nctl);
}

/*
 * Tunnel upkeep (a dead EtherIP process, a guest gone) only while no
 * child runs: a session may hold a tunnel for a guest not created yet.
 */
static void daemon_tunnels(struct daemon *d)
{
    if (d->nchild || !d->conf->ntunnels ||
        clock_ms() - d->tunnels_checked_ms < TUNKEEP_TICK_S * 1000LL)
        return;
    d->tunnels_checked_ms = clock_ms();
    tunkeep_tick(d->conf, xen_domain_uuid_exists);
}

static void daemon_loop(struct daemon *d)
{
    for (;;) {
        daemon_tunnels(d);
        daemon_refusal_summary(d);
        if (got_chld) {
            got_chld = 0;
            daemon_reap(d);
        }
        if (got_hup) {
            got_hup = 0;
            daemon_reload(d);
        }
        if (got_term && !d->draining) {
            d->draining = 1;
            listen_close(&d->ls);
            ctl_close(&d->ctl, d->conf->control_socket);
            log_info("draining: %u migration(s) in flight", d->nchild);
        }
        if (d->draining && !d->nchild) return;
        daemon_synfilter(d);
        daemon_poll(d);
    }
}

/* relocd's run-time state lives beside its control socket. */
static void daemon_rundir(struct daemon *d)
{
    const char *sock = d->conf->control_socket;

    if (rundir_path(sock, "incoming", d->incoming_dir,
                    sizeof(d->incoming_dir)) < 0 ||
        rundir_path(sock, "outgoing", d->outgoing_dir,
                    sizeof(d->outgoing_dir)) < 0 ||
        rundir_path(sock, "era", d->era_dir, sizeof(d->era_dir)) < 0)
        fatalx("%s: path too long", sock);
}

int relocd_main(struct relocd_conf *conf, const char *path, int debug)
{
    /* Static: one daemon a process, and its signal handlers' flags. */
    static struct daemon d;

    d.conf = conf;
    d.path = path;
    if (gethostname(d.hostname, sizeof(d.hostname)) < 0)
        snprintf(d.hostname, sizeof(d.hostname), "unknown");
    /* Under systemd stderr is the journal already, as syslog is. */
    log_init("relocd",
             debug                      ? LOG_TO_STDERR
             : getenv("JOURNAL_STREAM") ? LOG_TO_SYSLOG
                                        : LOG_TO_SYSLOG | LOG_TO_STDERR,
             debug);
    daemon_signals();
    daemon_rundir(&d);
    session_recover(d.incoming_dir);
    outgoing_recover(d.outgoing_dir);
    storage_recover(d.era_dir);
    tunkeep_start(conf, xen_domain_uuid_exists);
    d.tunnels_checked_ms = clock_ms();
    if (daemon_listen(conf, &d.ls, &d.tls) < 0) return 1;
    if (ctl_open(&d.ctl, conf->control_socket,
                 &(struct ctl_ops){daemon_ctl_request, &d}) < 0)
        log_warn("no control socket %s: this host cannot send",
                 conf->control_socket);
    log_info("relocd %s started (%u listening socket(s))", RELOCD_VERSION,
             d.ls.n);
    daemon_loop(&d);
    tls_ctx_free(d.tls);
    conf_free(d.conf);
    log_info("relocd stopped");
    return 0;
}
