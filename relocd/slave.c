/*
 * slave.c - a session's sandboxed slave (README.xen 10): the only process
 * that reads the peer's bytes.  It does the TLS handshake, parses every
 * frame (HELLO, PREFLIGHT, MIGRATE), answers HELLO itself and forwards
 * the rest, re-encoded from what it parsed, to the monitor (monitor.c),
 * whose answers it passes on.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "config/diag.h"
#include "relocd/privsep.h"
#include "relocd/sandbox.h"
#include "relocd/session_int.h"
#include "wire/buf.h"
#include "wire/chan.h"
#include "wire/log.h"
#include "wire/msg.h"
#include "wire/relay.h"
#include "wire/tls.h"
#include "wire/version.h"

/* PREFLIGHTs a session answers (the client sends one). */
#define SLAVE_MAX_PREFLIGHTS 8
/* Receives a frame; a peer ERROR or a transport failure ends the session. */
static int slave_recv(struct session *s)
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

static int slave_hello(struct session *s)
{
    struct msg_hello h, mine = {PROTO_VERSION, PROTO_MIN_VERSION, "", ""};
    char why[256];
    enum proto_err e;

    if (slave_recv(s)) return -1;
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
    else
        session_answered(s);
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
 * The peer sends nothing after MIGRATE until our ACCEPT, so no record of
 * the stream can be in user space yet: the one point where the kernel can
 * take over decryption (OpenSSL 3.0 does not do it for TLS 1.3).  Then xl
 * reads the socket itself; without kernel TLS the slave relays.
 */
static void slave_ktls_rx(struct session *s)
{
    const char *why;
    int tx, rx;

    chan_kernel_io(s->chan, &tx, &rx);
    if (!chan_has_tls(s->chan) || !tx) return;
    if (!chan_ktls_rx(s->chan, &why))
        session_log(s, 'I', "%s (%s): no kernel TLS for receiving: %s", s->fqdn,
                    s->ip, why);
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
    slave_ktls_rx(s);
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

/* The slave: TLS, HELLO, then a few PREFLIGHTs, then MIGRATE. */
static int slave_run(struct session *s)
{
    int preflights = 0;

    if (slave_tls(s) || privsep_send(s->mon, s->out, PS_ADMITTED, s->peer_id,
                                     strlen(s->peer_id)))
        return -1;
    s->admitted = 1;
    if (s->peer_id[0]) {
        session_log(s, 'I', "%s (%s): authenticated as %s", s->fqdn, s->ip,
                    s->peer_id);
        diag_appendf(s->fqdn, sizeof(s->fqdn), " as %s", s->peer_id);
    }
    if (slave_hello(s) || privsep_send(s->mon, s->out, PS_HELLO, NULL, 0))
        return -1;
    for (;;) {
        if (slave_recv(s)) return -1;
        switch (s->frame->type) {
        case PROTO_PREFLIGHT:
            /* Each answer renews the deadline (session_answered): a cap,
             * or a peer could hold the session with requests forever. */
            if (++preflights > SLAVE_MAX_PREFLIGHTS)
                return session_fail(s, PERR_UNEXPECTED,
                                    "more than %d PREFLIGHTs in one session",
                                    SLAVE_MAX_PREFLIGHTS);
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

int slave_serve(struct session *s, int sock)
{
    s->slave = 1;
    if (!(s->mon = chan_new(sock))) {
        close(sock);
        return -1;
    }
    return slave_run(s);
}

void slave_main(struct session *s, int sock, const char *empty, pid_t monitor)
{
    char err[256];
    int rc;

    /* The parent's slots and log limit are the monitor's alone. */
    if (s->env->slot_fd >= 0) close(s->env->slot_fd);
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != monitor) _exit(1);
    if (sandbox_enter(empty, &s->id, err, sizeof(err)) < 0) {
        log_warnx("%s (%s): sandbox: %s", s->fqdn, s->ip, err);
        _exit(1);
    }
    rc = slave_serve(s, sock) == 0 ? 0 : 1;
    chan_free(s->chan); /* TLS's close_notify, unless xl has the socket */
    _exit(rc);
}
