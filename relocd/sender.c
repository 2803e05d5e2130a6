/*
 * sender.c - one outgoing migration, in its own worker process.
 *
 * The order follows xl's migrate_domain() (tools/xl/xl_migrate.c) so that
 * stock `xl migrate-receive` on the target accepts the stream and the
 * commit handshake keeps exactly one running copy whatever fails:
 *   pre-flight -> stream (guest suspended at the end) -> "ready" ->
 *   rename NAME--migratedaway -> "go" -> target's unpause report ->
 *   destroy here on success, or rename back and resume.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <linux/tcp.h> /* glibc's tcp_info lacks tcpi_bytes_acked */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/diag.h"
#include "wire/anatomy.h"
#include "wire/fdio.h"
#include "wire/buf.h"
#include "wire/chan.h"
#include "wire/client.h"
#include "config/conf.h"
#include "relocd/floor.h"
#include "tunnel/guestnet.h"
#include "wire/json.h"
#include "wire/log.h"
#include "tunnel/mig.h"
#include "wire/msg.h"
#include "relocd/outgoing.h"
#include "relocd/peer.h"
#include "wire/relay.h"
#include "relocd/rundir.h"
#include "relocd/sender.h"
#include "relocd/storage.h"
#include "wire/tls.h"
#include "xen/xen.h"
#include "wire/xlstream.h"
#include "wire/clock.h"
#include "wire/version.h"

/* How long the target's ANATOMY frame may take, and its size at most. */
#define SEND_ANATOMY_MS 5000
#define SEND_ANATOMY_MAX 4096

static volatile sig_atomic_t sender_cancelled;
/* The stream a cancel may cut: set while pre-copy runs, -1 from the commit
 * handshake on, when cutting could leave the guest nowhere. */
static volatile sig_atomic_t cancel_fd = -1;
/* The disk connections (--copy-storage), cut likewise; -1: none. */
static volatile sig_atomic_t cancel_disk_fd[MSG_MAX_DISKS] = {-1, -1, -1, -1,
                                                              -1, -1, -1, -1};

struct send {
    const struct relocd_conf *conf;
    const struct sender_req *req;
    sender_emit_fn emit;
    void *emit_data;
    struct xen_guest *guest;
    struct client *client;
    struct tls_ctx *tls;
    struct policy policy;
    int fd;          /* the stream: the socket, or our end of the relay */
    int direct;      /* fd is the socket itself */
    struct chan *hs; /* the handshake goes through it when not NULL */
    pid_t relay;     /* the relay process, or 0 */
    double t_start, t_suspend, t_end;
    double at[ANAT_NMARKS];    /* the downtime's instants (anatomy.h) */
    struct msg_anatomy target; /* what the target measured, if it said */
    uint64_t pages_sent;
    unsigned iterations;
    int throttled;
    struct migtun *tunnels; /* held from pre-flight to the outcome */
    struct outgoing mark;   /* what the parent settles if we die */
    struct storage *st;     /* --copy-storage: the disks, or NULL */
    struct client_opts co;  /* how to reach the target (disk connections) */
    char host[256];
    char err[1024];
};

/* The config both sides see: with --copy-storage, the target's paths. */
static const char *send_config(const struct send *s)
{
    return s->st ? storage_config(s->st) : xen_guest_config(s->guest);
}

void sender_cancel(void)
{
    unsigned i;

    sender_cancelled = 1;
    /* libxenguest asks the policy once a round, which may take minutes:
     * a cut stream stops it now (shutdown(2) is async-signal-safe). */
    if (cancel_fd >= 0) shutdown(cancel_fd, SHUT_RDWR);
    for (i = 0; i < MSG_MAX_DISKS; i++)
        if (cancel_disk_fd[i] >= 0) shutdown(cancel_disk_fd[i], SHUT_RDWR);
}

static void emit_gen(struct send *s, yajl_gen g)
{
    const unsigned char *text;
    size_t len;

    if (json_end(g, &text, &len) == 0)
        s->emit(s->emit_data, (const char *)text);
    json_free(g);
}

/* A progress event with one message, e.g. a notice or a phase change. */
static void emit_note(struct send *s, const char *event, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void emit_note(struct send *s, const char *event, const char *fmt, ...)
{
    yajl_gen g = json_begin();
    char text[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    json_kv_str(g, "event", event);
    json_kv_str(g, "message", text);
    emit_gen(s, g);
}

/* Bytes the kernel has seen acknowledged on the socket, 0 if unknown. */
static uint64_t wire_bytes(const struct send *s)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);

    if (!s->client) return 0;
    memset(&ti, 0, sizeof(ti));
    if (getsockopt(chan_fd(client_chan(s->client)), IPPROTO_TCP, TCP_INFO, &ti,
                   &len) < 0)
        return 0;
    return ti.tcpi_bytes_acked;
}

/* The phases, from our marks and the target's ANATOMY frame (if any). */
static void send_anatomy(const struct send *s, struct anatomy *a)
{
    unsigned i;

    anat_init(a);
    anat_from_marks(a, s->at);
    for (i = 0; i < MSG_ANAT_NSTEPS && i < ANAT_NTARGET; i++)
        if (s->target.us[i] >= 0) a->target_ms[i] = s->target.us[i] / 1000.0;
}

/* --copy-storage's figures, as "disk":{...} of an event. */
static void disk_json(yajl_gen g, const struct storage *st)
{
    struct storage_stats d;

    storage_stats(st, &d);
    json_str(g, "disk");
    yajl_gen_map_open(g);
    json_kv_int(g, "disks", d.disks);
    json_kv_int(g, "passes", d.passes);
    json_kv_int(g, "size_bytes", (long long)d.size);
    json_kv_int(g, "allocated_bytes", (long long)d.allocated);
    json_kv_int(g, "data_bytes", (long long)d.data_bytes);
    json_kv_int(g, "zero_bytes", (long long)d.zero_bytes);
    json_kv_int(g, "wire_bytes", (long long)d.wire_bytes);
    json_kv_int(g, "era_bytes", (long long)d.era_bytes);
    json_kv_int(g, "last_pass_bytes", (long long)d.last_bytes);
    json_kv_num(g, "last_pass_ms", d.last_pass_ms);
    json_kv_num(g, "last_close_ms", d.close_ms);
    json_kv_num(g, "last_ack_ms", d.done_ms);
    json_kv_int(g, "shared", d.shared);
    yajl_gen_map_close(g);
}

static int emit_result(struct send *s, int ok)
{
    yajl_gen g = json_begin();
    uint64_t bytes = wire_bytes(s);
    struct anatomy a;
    /* Downtime ends when the target reports its unpause: not after the
     * destroy here, nor after the ANATOMY frame. */
    double down_end = s->at[ANAT_RUNNING] > 0 ? s->at[ANAT_RUNNING] : clock_s();

    s->t_end = clock_s();
    json_kv_str(g, "event", "result");
    json_kv_bool(g, "ok", ok);
    json_kv_str(g, "domain", s->req->domain);
    json_kv_str(g, "target", s->req->target);
    json_kv_str(g, "message", ok ? "the guest runs on the target" : s->err);
    json_kv_num(g, "total_s", s->t_end - s->t_start);
    if (s->t_suspend > 0)
        json_kv_num(g, "downtime_ms", (down_end - s->t_suspend) * 1000);
    json_kv_int(g, "iterations", s->iterations);
    json_kv_int(g, "bytes",
                (long long)(bytes ? bytes : s->pages_sent * POLICY_PAGE_SIZE));
    json_kv_int(
        g, "guest_bytes",
        s->guest ? (long long)xen_guest_pages(s->guest) * POLICY_PAGE_SIZE : 0);
    if (s->policy.cfg.floor_ms > 0)
        json_kv_num(g, "floor_ms", s->policy.cfg.floor_ms);
    send_anatomy(s, &a);
    if (anat_known(&a)) anat_json(g, &a);
    if (s->st) disk_json(g, s->st);
    emit_gen(s, g);
    return ok ? 0 : 1;
}

static int fail(struct send *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(struct send *s, const char *fmt, ...)
{
    char text[sizeof(s->err)];
    va_list ap;

    /* Through a copy: callers may pass s->err itself as an argument. */
    va_start(ap, fmt);
    diag_verrf(text, sizeof(text), fmt, ap);
    va_end(ap);
    memcpy(s->err, text, sizeof(text));
    log_warnx("sending %s to %s: %s", s->req->domain, s->req->target, s->err);
    return -1;
}

/* --- the precopy callback ------------------------------------------------ */

static void emit_iteration(struct send *s, const struct policy_event *ev)
{
    yajl_gen g = json_begin();

    json_kv_str(g, "event", "iteration");
    json_kv_int(g, "iteration", ev->iteration);
    json_kv_int(g, "sent_bytes", (long long)ev->sent_bytes);
    json_kv_int(g, "guest_bytes",
                (long long)xen_guest_pages(s->guest) * POLICY_PAGE_SIZE);
    json_kv_int(g, "dirty_pages", (long long)ev->dirty_pages);
    json_kv_num(g, "rate_mbps", ev->rate_bps / 1e6);
    json_kv_num(g, "dirty_mbps", ev->dirty_pps * POLICY_PAGE_SIZE / 1e6);
    json_kv_num(g, "expected_downtime_ms", ev->expected_down_ms);
    json_kv_int(g, "throttle_pct", ev->throttle_pct);
    json_kv_str(g, "decision", policy_action_name(ev->action));
    json_kv_str(g, "why", ev->why);
    if (s->st) disk_json(g, s->st);
    emit_gen(s, g);
}

/*
 * Before each memory round, a pass on every disk (--copy-storage): pass 0,
 * then the blocks of the era that ends now.  The last era's size is what
 * the final pass is expected to send: the policy counts it in.
 */
static int send_disk_pass(struct send *s)
{
    struct storage_stats d;
    char why[1024];

    if (storage_pass(s->st, why, sizeof(why)) < 0)
        return fail(s, "copying the disks: %s", why);
    storage_stats(s->st, &d);
    policy_set_disk(&s->policy, d.era_bytes);
    return 0;
}

/* With the guest suspended, before the stream's END: the last pass. */
static int on_before_end(void *data, char *err, size_t errlen)
{
    struct send *s = data;
    struct storage_stats d;

    /* No disk, or all on storage the target shares: no pass to make. */
    if (!s->st || !storage_ndisks(s->st)) return 0;
    if (getenv("RELOCD_SKIP_FINAL_PASS")) {
        /* README.xen 3.5: a demonstration that the lab catches it.  The
         * era is closed (not sent) to say how much the copy lacks. */
        if (storage_close(s->st, err, errlen) < 0) return -1;
        storage_stats(s->st, &d);
        emit_note(s, "warning",
                  "RELOCD_SKIP_FINAL_PASS: the disks' last era (%llu "
                  "bytes) is NOT copied",
                  (unsigned long long)d.era_bytes);
        return storage_done(s->st, err, errlen);
    }
    if (storage_finish(s->st, err, errlen) < 0) {
        fail(s, "the disks' last pass: %s", err);
        snprintf(err, errlen, "%s", s->err);
        return -1;
    }
    storage_stats(s->st, &d);
    emit_note(s, "disk-final",
              "last disk pass: %llu bytes in %.0f ms (era close %.0f ms, "
              "the target's sync and answer %.0f ms); the target's disks "
              "are synced",
              (unsigned long long)d.last_bytes, d.last_pass_ms, d.close_ms,
              d.done_ms);
    return 0;
}

static enum xen_precopy on_precopy(void *data, unsigned iteration,
                                   long dirty_count)
{
    struct send *s = data;
    struct policy_event ev;
    enum policy_action a;

    if (sender_cancelled) policy_abort(&s->policy);
    if (dirty_count >= 0 && s->st && !sender_cancelled && send_disk_pass(s) < 0)
        policy_abort(&s->policy);
    a = policy_step(&s->policy, iteration, dirty_count, clock_s(), &ev);
    s->pages_sent = ev.sent_bytes / POLICY_PAGE_SIZE;
    s->iterations = iteration + 1;
    if (ev.throttle_pct != s->throttled &&
        xen_guest_throttle(s->guest, ev.throttle_pct) == 0)
        s->throttled = ev.throttle_pct;
    /* The call after each batch only measures: report the decisions. */
    if (dirty_count >= 0 || a != POLICY_CONTINUE) emit_iteration(s, &ev);
    if (a == POLICY_ABORT && !s->err[0])
        fail(s, "%s",
             sender_cancelled ? "cancelled; the guest keeps running "
                                "here"
                              : ev.why);
    return a == POLICY_STOP    ? XEN_PRECOPY_STOP
           : a == POLICY_ABORT ? XEN_PRECOPY_ABORT
                               : XEN_PRECOPY_CONTINUE;
}

static void on_suspending(void *data)
{
    struct send *s = data;

    s->at[ANAT_SUSPEND_REQ] = clock_s();
    /*
     * The guest suspends itself (freezes its tasks, quiesces its devices)
     * with its own CPU: under a 10 % cap that took 18.6 s in the lab
     * against 1 s.  Lifted now, it dirties no more pages for it: what it
     * does before it stops is bounded by its CPU time, not the clock.
     */
    if (s->throttled && xen_guest_throttle(s->guest, 0) == 0) s->throttled = 0;
}

static void on_suspended(void *data)
{
    struct send *s = data;

    s->t_suspend = s->at[ANAT_SUSPENDED] = clock_s();
    outgoing_set(&s->mark, OUTGOING_SUSPENDED);
    emit_note(s, "suspended", "guest suspended; copying the rest");
}

static void on_saved(void *data)
{
    struct send *s = data;

    s->at[ANAT_SAVED] = clock_s();
}

/* --- connection and stream ------------------------------------------------ */

static int send_connect(struct send *s)
{
    const struct relocd_conf *c = s->conf;
    struct tls_opts to = {c->ssl_key_file, c->ssl_cert_file, c->ca_file,
                          c->psk_file,     c->crl_file,      c->psk_identity};
    int ssl = s->req->ssl >= 0 ? s->req->ssl : c->ssl;
    struct client_opts co = {NULL, ssl ? c->ssl_port : c->port, NULL, 30000,
                             "relocd " RELOCD_VERSION};

    if (s->req->port) co.port = s->req->port;
    if (client_parse_target(s->req->target, s->host, sizeof(s->host), &co.port))
        return fail(s, "bad target '%s'", s->req->target);
    co.host = s->host;
    if (ssl && !(s->tls = tls_ctx_new(0, &to, s->err, sizeof(s->err))))
        return fail(s, "TLS: %s", s->err);
    co.tls = s->tls;
    /* The disk connections authenticate with the very same settings. */
    s->co = co;
    s->client = client_open(&co, NULL, s->err, sizeof(s->err));
    return s->client ? 0 : fail(s, "%s", s->err);
}

/* The guest's CPU policy for the target's check; NULL: it goes unchecked. */
static struct msg_cpu_policy *send_cpu_policy(struct send *s)
{
    struct msg_cpu_policy *p = calloc(1, sizeof(*p));
    char why[256];

    if (p && xen_guest_cpu_policy(s->guest, p, why, sizeof(why)) == 0) return p;
    emit_note(s, "notice", "the target cannot check CPU features: %s",
              p ? why : "out of memory");
    free(p);
    return NULL;
}

/*
 * Pre-flight's answer for the disks: those the target sees as the same
 * storage stay where they are; the plan for each disk is said.
 */
static int send_storage_plan(struct send *s, uint32_t shared)
{
    const struct storage_disk_info *d;
    unsigned i;

    if (!s->st) return 0;
    if (storage_leave_shared(s->st, shared) < 0)
        return fail(s, "the target's pre-flight names a shared disk that "
                       "was not sent");
    for (i = 0; (d = storage_shared_disk(s->st, i)); i++)
        emit_note(s, "notice",
                  "%s: %s is shared storage with the target (%s): not "
                  "copied",
                  d->vdev, d->src, d->id);
    for (i = 0; (d = storage_disk(s->st, i)); i++)
        emit_note(s, "notice",
                  "copying disk %s: %s to %s (%llu MiB, %llu MiB allocated)",
                  d->vdev, d->src, d->dst, (unsigned long long)(d->size >> 20),
                  (unsigned long long)(d->allocated >> 20));
    return 0;
}

static int send_preflight(struct send *s)
{
    struct msg_preflight *m = calloc(1, sizeof(*m));
    struct msg_preflight_result r;
    unsigned i;
    enum proto_err e;

    if (!m) return fail(s, "out of memory");
    m->config = (char *)send_config(s);
    m->live = s->req->live;
    m->cpu = send_cpu_policy(s);
    if (s->st) storage_preflight(s->st, m);
    e = client_preflight_msg(s->client, m, &r, s->err, sizeof(s->err));
    free(m->cpu);
    free(m);
    if (e) return fail(s, "%s", s->err);
    for (i = 0; i < r.nchecks; i++)
        emit_note(s, r.checks[i].ok ? "preflight-ok" : "preflight-failed",
                  "%s: %s", r.checks[i].check, r.checks[i].message);
    for (i = 0; i < r.nchecks; i++)
        if (!r.checks[i].ok)
            return fail(s, "pre-flight %s failed on the target: %s",
                        r.checks[i].check, r.checks[i].message);
    return send_storage_plan(s, r.shared);
}

/*
 * A target on another subnet: the tunnels the guest's bridges need, up
 * before the target can resume it (migtun.h).
 */
static int send_tunnels(struct send *s)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    struct guestnet gn;
    const char *json = send_config(s);
    char ip[64], why[512];

    if (!s->conf->ntunnels) return 0;
    if (getpeername(chan_fd(client_chan(s->client)), (struct sockaddr *)&ss,
                    &len) < 0 ||
        peer_addr_text((struct sockaddr *)&ss, len, ip, sizeof(ip)) < 0)
        return fail(s, "the target's address: %s", strerror(errno));
    if (guestnet_parse(json, strlen(json), &gn, why, sizeof(why)) < 0 ||
        migtun_prepare(s->conf, MIGTUN_SOURCE, ip, &gn, &s->tunnels, why,
                       sizeof(why)) < 0)
        return fail(s, "%s", why);
    if (s->tunnels) emit_note(s, "notice", "L2 tunnel to %s is up", ip);
    return 0;
}

/*
 * The stream fd: the socket itself for plain TCP or kernel TLS (the Xen
 * library writes straight into it), else a socketpair to a relay process
 * that encrypts.
 */
static int send_stream_fd(struct send *s)
{
    struct chan *c = client_chan(s->client);
    int sp[2], tx, rx;

    /*
     * Plain TCP, or the kernel encrypting what we send (kTLS TX, which
     * Debian's OpenSSL 3.0 offers): libxenguest writes straight into the
     * socket, and the few bytes of xl's handshake go through the chan.
     */
    chan_kernel_io(c, &tx, &rx);
    s->direct = tx;
    if (s->direct) {
        /* Xen's save code wants a blocking descriptor, as libxl gives it. */
        s->fd = chan_fd(c);
        s->hs = c;
        fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) & ~O_NONBLOCK);
        if (chan_has_tls(c))
            emit_note(s, "notice", "kernel TLS encrypts the stream");
        return 0;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return fail(s, "socketpair: %s", strerror(errno));
    s->relay = fork();
    if (s->relay == 0) {
        close(sp[1]);
        _exit(relay_run(c, sp[0], sp[0], RELAY_IDLE_MS, NULL) ? 1 : 0);
    }
    close(sp[0]);
    if (s->relay < 0) {
        close(sp[1]);
        return fail(s, "fork: %s", strerror(errno));
    }
    /*
     * The relay owns the TLS connection now: a close_notify from this
     * copy of its state would reuse a record sequence number, i.e. an
     * AES-GCM nonce, that the relay already spent.
     */
    chan_drop_tls(c);
    s->fd = sp[1];
    return 0;
}

static int set_fd_timeout(int fd, int seconds)
{
    struct timeval tv = {seconds, 0};

    return setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* xl's handshake after the stream: through the chan or the stream fd. */
static int hs_read(struct send *s, void *data, size_t len)
{
    if (!s->hs) return fdio_read_exact(s->fd, data, len);
    chan_set_timeout(s->hs, XLS_RESTORE_TIMEOUT_MS);
    return chan_read_exact(s->hs, data, len) ? -1 : 0;
}

static int hs_write(struct send *s, const void *data, size_t len)
{
    if (!s->hs) return fdio_write_all(s->fd, data, len);
    chan_set_timeout(s->hs, XLS_STEP_TIMEOUT_MS);
    return chan_write_all(s->hs, data, len) ? -1 : 0;
}

/* Reads one of xl's fixed messages; 0 when it came, intact. */
static int read_fixed(struct send *s, const char *want, size_t len)
{
    char got[64];

    return len <= sizeof(got) && hs_read(s, got, len) == 0 &&
                   memcmp(got, want, len) == 0
               ? 0
               : -1;
}

/* The guest is suspended and not yet handed over: bring it back here. */
static int send_resume(struct send *s, const char *why)
{
    if (xen_guest_resume(s->guest) < 0)
        return fail(s,
                    "%s, and resuming it here FAILED: check with "
                    "xl list",
                    why);
    return fail(s, "%s; the guest was resumed here", why);
}

/*
 * What xl's failed_badly says: the target may or may not run the guest
 * now, and only the admin can look; resuming here could make two copies.
 */
static int send_undecided(struct send *s, const char *away)
{
    char cmds[700];

    outgoing_commands(&s->mark, cmds, sizeof(cmds));
    return fail(s,
                "connection lost during the final handshake: the guest is "
                "suspended here as %s (domain %u), and the target may run "
                "it. %s",
                away, s->mark.domid, cmds);
}

/*
 * One frame from the stream fd (our relay's end): header, then a payload
 * of at most SEND_ANATOMY_MAX bytes, into f.  PERR_OK, or why not.
 */
static enum proto_err fd_read_frame(int fd, struct proto_frame *f)
{
    uint8_t raw[PROTO_HDR_LEN + SEND_ANATOMY_MAX];
    struct buf *b = buf_new(sizeof(raw));
    size_t len;
    enum proto_err e = PERR_EOF;

    if (b && fdio_read_exact(fd, raw, PROTO_HDR_LEN) == 0) {
        len = (size_t)raw[0] << 24 | (size_t)raw[1] << 16 |
              (size_t)raw[2] << 8 | raw[3];
        e = PERR_BAD_FRAME;
        if (len <= SEND_ANATOMY_MAX &&
            fdio_read_exact(fd, raw + PROTO_HDR_LEN, len) == 0 &&
            buf_put(b, raw, PROTO_HDR_LEN + len) == 0)
            e = proto_frame_take(b, f);
    }
    buf_free(b);
    return e;
}

/*
 * The target's ANATOMY frame, which it sends once its receiver exited,
 * when MIGRATE asked for it.  A server before it closes instead: then the
 * target's side of the anatomy stays unknown.  Nothing here can fail the
 * migration, which is over.
 */
static void send_read_anatomy(struct send *s)
{
    struct proto_frame *f;
    char why[256];
    enum proto_err e = PERR_INTERNAL;

    if (!s->client) return; /* -s: no relocd there, nothing was asked */
    f = malloc(sizeof(*f));
    if (f && s->hs) {
        chan_set_timeout(s->hs, SEND_ANATOMY_MS);
        e = chan_recv_frame(s->hs, f);
    } else if (f) {
        set_fd_timeout(s->fd, SEND_ANATOMY_MS / 1000);
        e = fd_read_frame(s->fd, f);
    }
    if (!e && f->type == PROTO_ANATOMY)
        e = msg_get_anatomy(f, &s->target, why, sizeof(why));
    else if (!e)
        e = PERR_UNEXPECTED;
    if (e && e != PERR_EOF)
        log_debug("sending %s: no anatomy from the target: %s", s->req->domain,
                  proto_strerror(e));
    free(f);
}

/*
 * No more passes: the source's disk tables go back (storage.h).  Once
 * the stream is sent, not before the target runs the guest: with the
 * guest suspended it would only compete with the target's restore (the
 * same CPUs when one dom0 plays both hosts); and before the destroy,
 * which takes the node away.  A second call does nothing.
 */
static void send_untrack(struct send *s)
{
    char why[1024];

    if (!s->st) return;
    if (storage_untrack(s->st, why, sizeof(why)) < 0)
        emit_note(s, "warning", "%s", why);
}

/* xl's commit handshake, after the whole stream was written. */
static int send_commit(struct send *s)
{
    const char *name = xen_guest_name(s->guest), *away = s->mark.away;
    char status;

    set_fd_timeout(s->fd, 300);
    if (read_fixed(s, XLS_MSG_READY, sizeof(XLS_MSG_READY)))
        return send_resume(s, "the target did not take the guest");
    s->at[ANAT_RECEIVED] = clock_s();
    /* The last moment to cancel: without "go", xl on the target destroys
     * its copy (xl_migrate.c migrate_receive()). */
    if (sender_cancelled)
        return send_resume(s, "cancelled before the hand-over");
    outgoing_set(&s->mark, OUTGOING_RENAMED);
    if (xen_guest_rename(s->guest, away) < 0)
        return send_resume(s, "renaming the source failed");
    s->at[ANAT_RENAMED] = clock_s();
    /* Recorded first: if we die after "go", nobody may resume this copy. */
    if (outgoing_set(&s->mark, OUTGOING_GO) < 0) {
        xen_guest_rename(s->guest, name);
        return send_resume(s, "cannot record the hand-over in the run "
                              "directory");
    }
    if (hs_write(s, XLS_MSG_GO, sizeof(XLS_MSG_GO)) < 0)
        return send_undecided(s, away);
    s->at[ANAT_GO_SENT] = clock_s();
    if (read_fixed(s, XLS_MSG_REPORT, sizeof(XLS_MSG_REPORT)) ||
        hs_read(s, &status, 1) < 0)
        return send_undecided(s, away);
    if (status == 0) {
        s->at[ANAT_RUNNING] = clock_s();
        send_untrack(s);
        if (xen_guest_destroy(s->guest) < 0)
            emit_note(s, "warning", "could not destroy %s here", away);
        send_read_anatomy(s);
        return 0;
    }
    /*
     * The target says its copy failed to start, and sends permission to
     * resume only once it has destroyed that copy (xl_migrate.c): without
     * it, its copy may still exist, and xl keeps ours suspended
     * (failed_badly).
     */
    if (read_fixed(s, XLS_MSG_GO, sizeof(XLS_MSG_GO)))
        return send_undecided(s, away);
    xen_guest_rename(s->guest, name);
    return send_resume(s, "the target could not start the guest");
}

/* -s: the stream goes into a command, xl migrate -s style. */
static int send_spawn_via(struct send *s)
{
    char rune[700];
    int sp[2];

    if (s->req->via[0])
        snprintf(rune, sizeof(rune), "exec %s %s xl migrate-receive",
                 s->req->via, s->req->target);
    else
        snprintf(rune, sizeof(rune), "%s", s->req->target);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        return fail(s, "socketpair: %s", strerror(errno));
    s->relay = fdio_spawn_sh(rune, sp[0], sp[0]);
    close(sp[0]);
    s->fd = sp[1];
    if (s->relay < 0) return fail(s, "fork: %s", strerror(errno));
    emit_note(s, "notice",
              "no relocd on the target: sending through "
              "'%s'",
              rune);
    return 0;
}

/* Reads xl's banner and writes the xl header: into the chan, or the fd. */
static int send_preamble(struct send *s)
{
    struct buf *hdr = buf_new(XLS_HDR_LEN + XLS_MAX_OPTIONAL);
    struct chan *c = s->client ? client_chan(s->client) : NULL;
    char banner[XLS_BANNER_LEN];
    int rc = !hdr || xls_put_header(hdr, send_config(s));

    if (c) {
        /* Through the chan: the banner may sit in its buffer already. */
        chan_set_timeout(c, XLS_STEP_TIMEOUT_MS);
        rc = rc || chan_read_exact(c, banner, sizeof(banner)) ||
             memcmp(banner, XLS_BANNER, sizeof(banner)) ||
             chan_write_all(c, buf_ptr(hdr), buf_len(hdr));
    } else {
        set_fd_timeout(s->fd, XLS_STEP_TIMEOUT_MS / 1000);
        rc = rc || fdio_read_exact(s->fd, banner, sizeof(banner)) ||
             memcmp(banner, XLS_BANNER, sizeof(banner)) ||
             fdio_write_all(s->fd, buf_ptr(hdr), buf_len(hdr));
        set_fd_timeout(s->fd, 0);
    }
    buf_free(hdr);
    return rc ? fail(s, "the target's receiver did not start") : 0;
}

static void send_pacing(struct send *s)
{
    unsigned rate = (unsigned)s->req->bandwidth_mbps * 1000000u;

    if (rate && s->client)
        setsockopt(chan_fd(client_chan(s->client)), SOL_SOCKET,
                   SO_MAX_PACING_RATE, &rate, sizeof(rate));
}

/*
 * From here the guest may be suspended: a marker lets the parent (or the
 * next relocd) settle it if this process dies (outgoing.h).
 */
static void send_mark(struct send *s)
{
    char dir[512] = "";
    const char *name = xen_guest_name(s->guest);

    if (rundir_path(s->conf->control_socket, "outgoing", dir, sizeof(dir)) <
            0 ||
        outgoing_begin(&s->mark, dir, xen_guest_domid(s->guest), name,
                       s->req->target) < 0)
        emit_note(s, "warning",
                  "no marker of this move in %s (%s): if relocd dies, check "
                  "%s with xl list",
                  dir, strerror(errno), name);
}

static int send_stream(struct send *s)
{
    struct xen_save_hooks hooks = {on_precopy, on_suspending, on_suspended,
                                   on_saved,   on_before_end, s};
    int rc;

    if (send_preamble(s) || (s->client && send_stream_fd(s) < 0)) return -1;
    send_pacing(s);
    emit_note(s, "stream", "sending memory %s",
              s->req->live ? "live" : "with the guest suspended (offline)");
    send_mark(s);
    cancel_fd = s->fd;
    if (sender_cancelled) sender_cancel();
    rc = xen_guest_save(s->guest, s->fd, s->req->live, &hooks, s->err,
                        sizeof(s->err));
    cancel_fd = -1;
    if (rc < 0) {
        send_untrack(s);
        if (sender_cancelled)
            return fail(s, "cancelled; the guest keeps running here");
        return fail(s, "%s", s->err[0] ? s->err : "saving failed");
    }
    s->at[ANAT_END_SENT] = clock_s();
    rc = send_commit(s);
    /* the hand-over failed or is undecided: no pass will follow */
    send_untrack(s);
    return rc;
}

static void on_alarm(int sig)
{
    (void)sig;
    sender_cancel();
}

/* Waits for a helper process, killing it after secs seconds. */
static void reap_within(pid_t pid, int secs)
{
    int i;

    for (i = 0; i < secs * 10; i++) {
        if (waitpid(pid, NULL, WNOHANG) != 0) return;
        usleep(100000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void send_cleanup(struct send *s)
{
    unsigned i;

    for (i = 0; i < MSG_MAX_DISKS; i++)
        cancel_disk_fd[i] = -1;
    /* Tracking ends on every path: each source's table goes back. */
    storage_free(s->st);
    s->st = NULL;
    if (s->throttled && s->guest) xen_guest_throttle(s->guest, 0);
    if (!s->direct && s->fd >= 0) close(s->fd);
    if (s->relay > 0) reap_within(s->relay, 10);
    client_free(s->client);
    tls_ctx_free(s->tls);
    xen_guest_close(s->guest);
}

/*
 * The target's downtime floor into the policy (floor.h), and what it
 * means for this move, said once.
 */
static void send_floor(struct send *s, struct policy_cfg *pc)
{
    char dir[512];
    struct floor f;
    const char *t = s->req->target;

    /* with -s the target is the receiver's command: it names the floor */
    if (!s->req->live ||
        rundir_path(s->conf->control_socket, "floor", dir, sizeof(dir)) < 0)
        return;
    if (floor_load(dir, t, &f) < 0) {
        emit_note(s, "notice",
                  "no downtime floor known for %s yet: this move counts "
                  "only its final copy against --max-downtime, and "
                  "measures the floor for the next",
                  t);
        return;
    }
    pc->floor_ms = f.ms;
    if (f.ms >= pc->max_downtime_ms)
        emit_note(s, "warning",
                  "the downtime floor to %s is %.0f ms (suspend, restore, "
                  "commit; learned from %u move%s): the guest will be down "
                  "longer than --max-downtime %d ms",
                  t, f.ms, f.moves, f.moves == 1 ? "" : "s",
                  pc->max_downtime_ms);
    else
        emit_note(s, "downtime",
                  "floor to %s: %.0f ms (learned from %u move%s); "
                  "the final copy gets %.0f ms of --max-downtime %d ms",
                  t, f.ms, f.moves, f.moves == 1 ? "" : "s",
                  policy_copy_budget_ms(pc), pc->max_downtime_ms);
}

/* After a move: what its downtime cost besides the copy, for the next. */
static void send_learn_floor(struct send *s)
{
    char dir[512];
    struct anatomy a;
    struct floor f;
    double sample;

    send_anatomy(s, &a);
    sample = floor_of_move(&a);
    if (sample < 0 || !s->req->live ||
        rundir_path(s->conf->control_socket, "floor", dir, sizeof(dir)) < 0)
        return;
    if (floor_learn(dir, s->req->target, sample, &f) < 0)
        log_warnx("sent %s: cannot keep the downtime floor of %s in %s: %s",
                  s->req->domain, s->req->target, dir, strerror(errno));
    else
        log_info("downtime floor to %s: %.0f ms (this move %.0f ms; %u "
                 "move%s)",
                 s->req->target, f.ms, sample, f.moves,
                 f.moves == 1 ? "" : "s");
}

/* --copy-storage: the disks and where they go; nothing is touched yet. */
static int send_storage(struct send *s)
{
    const struct sender_req *r = s->req;
    char why[1024];

    if (r->via_set)
        return fail(s, "--copy-storage needs relocd on the target, not -s");
    if (xen_guest_needs_libxl(s->guest))
        return fail(s, "--copy-storage: an HVM guest with a qemu-traditional "
                       "or stub-domain device model is saved by libxl, "
                       "which has no place for the disks' last pass");
    s->st = storage_new(xen_guest_config(s->guest), r->maps, r->nmaps, why,
                        sizeof(why));
    return s->st ? 0 : fail(s, "%s", why);
}

static int send_migrate(struct send *s)
{
    struct msg_migrate m = {.mode = "xl-stream", .anatomy = 1};

    /* xl migrate -p: xl migrate-receive -p leaves it paused there. */
    if (s->req->paused) snprintf(m.flags[m.nflags++], sizeof(m.flags[0]), "-p");

    if (s->st && storage_migrate(s->st, &m) < 0)
        return fail(s, "no random tokens: %s", strerror(errno));
    if (client_migrate_msg(s->client, &m, s->err, sizeof(s->err)))
        return fail(s, "%s", s->err);
    return 0;
}

/*
 * Where this worker's trackers keep their state: tmpfs beside the control
 * socket (era's metadata is scratch), a directory per worker, whose pid
 * tells a restarted relocd what is orphaned (storage_recover).
 */
static int track_dir(const struct send *s, char *dir, size_t len)
{
    char root[512];

    if (rundir_path(s->conf->control_socket, "era", root, sizeof(root)) < 0 ||
        snprintf(dir, len, "%s/%d", root, (int)getpid()) >= (int)len) {
        snprintf(dir, len, "the run directory");
        errno = ENAMETOOLONG;
        return -1;
    }
    if (mkdir(root, 0700) < 0 && errno != EEXIST) return -1;
    return mkdir(dir, 0700) < 0 && errno != EEXIST ? -1 : 0;
}

/* A connection per disk, tracking started: before pass 0. */
static int send_disks(struct send *s)
{
    char dir[512], why[1024];
    unsigned i;

    /* None, or every disk on storage the target shares: nothing to copy. */
    if (!s->st || !storage_ndisks(s->st)) return 0;
    if (track_dir(s, dir, sizeof(dir)) < 0)
        return fail(s, "%s: %s", dir, strerror(errno));
    if (storage_connect(s->st, s->guest, dir, &s->co, why, sizeof(why)) < 0)
        return fail(s, "%s", why);
    for (i = 0; i < MSG_MAX_DISKS; i++)
        cancel_disk_fd[i] = storage_fd(s->st, i);
    if (sender_cancelled) sender_cancel();
    emit_note(s, "notice", "%u disk connection(s) open, write tracking on",
              storage_ndisks(s->st));
    return 0;
}

static int send_all(struct send *s)
{
    const struct sender_req *r = s->req;
    struct policy_cfg pc = {r->max_downtime_ms, r->on_stuck, 0, 0};

    s->guest = xen_guest_open(r->domain, s->err, sizeof(s->err));
    if (!s->guest) return fail(s, "%s", s->err);
    pc.guest_pages = xen_guest_pages(s->guest);
    send_floor(s, &pc);
    policy_init(&s->policy, &pc);
    if (xen_guest_needs_libxl(s->guest))
        emit_note(s, "notice",
                  "HVM guest with a qemu-traditional or stub-domain device "
                  "model: libxl's own save is used, without relocd's "
                  "policy");
    if (r->copy_storage && send_storage(s) < 0) return -1;
    if (r->via_set) return send_spawn_via(s) ? -1 : send_stream(s);
    if (send_connect(s) || send_preflight(s) || send_tunnels(s) ||
        send_migrate(s) || send_disks(s))
        return -1;
    return send_stream(s);
}

int sender_run(const struct relocd_conf *conf, const struct sender_req *req,
               sender_emit_fn emit, void *emit_data)
{
    /* Static: one migration a worker process; holds 256 KiB frames. */
    static struct send s;
    int rc;

    s = (struct send){.conf = conf,
                      .req = req,
                      .emit = emit,
                      .emit_data = emit_data,
                      .fd = -1,
                      .target = {{MSG_ANATOMY_UNKNOWN, MSG_ANATOMY_UNKNOWN,
                                  MSG_ANATOMY_UNKNOWN}}};
    s.t_start = clock_s();
    signal(SIGALRM, on_alarm);
    signal(SIGPIPE, SIG_IGN);
    if (req->timeout_s > 0) alarm((unsigned)req->timeout_s);
    emit_note(&s, "start", "%s %s to %s", req->live ? "live" : "offline",
              req->domain, req->target);
    rc = send_all(&s);
    alarm(0);
    /* Settled, whatever the outcome: nothing for the parent to do. */
    outgoing_end(&s.mark);
    migtun_finish(s.tunnels, rc == 0);
    s.tunnels = NULL;
    if (rc == 0) {
        log_info("sent %s to %s", req->domain, req->target);
        send_learn_floor(&s);
    }
    rc = emit_result(&s, rc == 0);
    send_cleanup(&s);
    return rc;
}
