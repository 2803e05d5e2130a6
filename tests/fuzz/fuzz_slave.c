/*
 * fuzz_slave.c - a session's sandboxed slave (relocd/slave.c, README.xen
 * 10) on any byte sequence an allow-listed peer could send on the plain
 * port, in this process: no fork, no sandbox, no TLS.  A thread plays the
 * peer (feed.h) and the monitor, which answers as relocd/monitor.c would
 * and holds the slave to its side of privsep.h: messages in
 * privsep_step()'s order, well-formed log lines, PREFLIGHT and MIGRATE
 * re-encoded so that the monitor's parser takes them.  A slave that
 * breaks it aborts: that is a finding.
 *
 * Input: one byte for the monitor's answers, bits 0-1 to a MIGRATE after a
 * passed PREFLIGHT (all slots taken, the name is being received already,
 * approved, a flag refused), bits 2-3 to a PREFLIGHT (passed, failed, an
 * ERROR, passed); then the peer's frames (feed_frames(), proto.h types).
 * The seeds were fuzz_session's: the same peer bytes.
 */
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/conf.h"
#include "relocd/privsep.h"
#include "relocd/session_int.h"
#include "tests/fuzz/feed.h"
#include "wire/buf.h"
#include "wire/log.h"
#include "wire/msg.h"
#include "wire/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The frame types a peer may send, and some it may not. */
static const unsigned peer_types[] = {
    PROTO_HELLO,  PROTO_PREFLIGHT,        PROTO_MIGRATE,     PROTO_ERROR,
    PROTO_ACCEPT, PROTO_PREFLIGHT_RESULT, PROTO_CTL_MIGRATE, PROTO_CTL_CANCEL,
};

/* The monitor's end of the privsep socket. */
struct fake_monitor {
    int fd;
    unsigned answers; /* the input's first byte */
    enum privsep_state st;
    int preflight_ok;
    int done;
    struct buf *in, *out;
    struct proto_frame *frame;
};

/* Checks a message of the slave's as the real monitor parses it. */
static void fake_check(struct fake_monitor *m, const struct proto_frame *f)
{
    struct msg_preflight pre;
    struct msg_migrate mig;
    char why[256];

    if (!privsep_step(&m->st, f->type)) abort();
    if (getenv("FUZZ_LOG"))
        fprintf(stderr, "monitor got %s\n", proto_type_name(f->type));
    switch (f->type) {
    case PS_LOG:
        if (f->len < 2 || f->len > PS_LOG_MAX ||
            (f->payload[0] != 'W' && f->payload[0] != 'I'))
            abort();
        if (getenv("FUZZ_LOG"))
            fprintf(stderr, "slave: %.*s\n", (int)f->len - 1, f->payload + 1);
        break;
    case PROTO_PREFLIGHT:
        if (msg_get_preflight(f, &pre, why, sizeof(why)) != PERR_OK) abort();
        msg_preflight_clear(&pre);
        break;
    case PROTO_MIGRATE:
        if (msg_get_migrate(f, &mig, why, sizeof(why)) != PERR_OK) abort();
        break;
    case PS_ACCEPTED:
        /* Plain TCP: xl reads the socket itself, no relay, no TLS. */
        if (f->len != 2 || f->payload[0] != 1 || f->payload[1] != 0) abort();
        break;
    }
}

/* The answer to PREFLIGHT: what the pre-flight found, or an ERROR. */
static void fake_preflight(struct fake_monitor *m)
{
    struct msg_preflight_result res = {.ok = 1};
    unsigned how = m->answers >> 2 & 3;

    if (how == 2) {
        msg_put_error(m->out, PERR_INTERNAL, "encoding PREFLIGHT_RESULT");
        return;
    }
    msg_check_add(&res, "memory", how != 1, "needs 1024 MiB, %s",
                  how == 1 ? "512 MiB free" : "4096 MiB free");
    m->preflight_ok = res.ok;
    msg_put_preflight_result(m->out, &res);
}

/* The answer to MIGRATE: monitor_migrate()'s refusals, or PS_OK. */
static void fake_migrate(struct fake_monitor *m)
{
    if (!m->preflight_ok) {
        msg_put_error(m->out, PERR_UNEXPECTED,
                      "MIGRATE needs a successful PREFLIGHT first");
        return;
    }
    switch (m->answers & 3) {
    case 0:
        msg_put_error(m->out, PERR_BUSY,
                      "2 migrations are already running "
                      "(relocd-max-migrations)");
        break;
    case 1:
        msg_put_error(m->out, PERR_BUSY,
                      "g1 is being received already, from another "
                      "connection");
        break;
    case 2:
        proto_frame_put(m->out, PS_OK, NULL, 0);
        break;
    default:
        msg_put_error(m->out, PERR_BAD_FLAGS,
                      "'-x' is not a flag of xl migrate-receive that relocd "
                      "passes on");
    }
}

/* Reads what the slave sent; checks and answers every whole message. */
static void fake_read(struct fake_monitor *m)
{
    enum proto_err e;
    uint8_t *p;
    ssize_t n;

    if (buf_reserve(m->in, 65536, &p) < 0) abort();
    n = read(m->fd, p, 65536);
    if (n <= 0) {
        m->done = 1;
        return;
    }
    buf_commit(m->in, (size_t)n);
    while ((e = proto_frame_take(m->in, m->frame)) == PERR_OK) {
        fake_check(m, m->frame);
        buf_reset(m->out);
        if (m->frame->type == PROTO_PREFLIGHT) fake_preflight(m);
        if (m->frame->type == PROTO_MIGRATE) fake_migrate(m);
        if (buf_len(m->out) && send(m->fd, buf_ptr(m->out), buf_len(m->out),
                                    MSG_NOSIGNAL) != (ssize_t)buf_len(m->out))
            m->done = 1;
    }
    if (e != PERR_EOF) abort(); /* a frame over the caps */
}

struct world {
    struct feed peer;
    struct fake_monitor mon;
};

/* The peer and the monitor, until the slave closed both sockets. */
static void world_run(void *arg)
{
    struct world *w = arg;
    struct pollfd p[2];

    while (!w->peer.done || !w->mon.done) {
        p[0] = (struct pollfd){w->peer.done ? -1 : w->peer.fd,
                               feed_events(&w->peer), 0};
        p[1] = (struct pollfd){w->mon.done ? -1 : w->mon.fd, POLLIN, 0};
        if (poll(p, 2, -1) < 0) abort();
        if (p[0].revents) feed_step(&w->peer, p[0].revents);
        if (p[1].revents) fake_read(&w->mon);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct relocd_conf *conf;
    static struct proto_frame *frame, *mon_frame;
    static struct buf *bytes, *in, *out;
    struct session_env env = {NULL, NULL, -1, "here.example", NULL};
    struct world w;
    struct session s;
    int sv[2], sp[2];
    char err[256];

    if (!conf) {
        log_init("fuzz_slave", getenv("FUZZ_LOG") ? LOG_TO_STDERR : 0, 0);
        signal(SIGPIPE, SIG_IGN);
        if (conf_parse("", 0, "fuzz.sxp", &conf, err, sizeof(err)) < 0 ||
            !(frame = malloc(sizeof(*frame))) ||
            !(mon_frame = malloc(sizeof(*mon_frame))) ||
            !(bytes = buf_new(2 * (PROTO_HDR_LEN + PROTO_MAX_FRAME))) ||
            !(in = buf_new(2 * (PROTO_HDR_LEN + PROTO_MAX_FRAME))) ||
            !(out = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME)))
            abort();
    }
    if (size < 1) return 0;
    buf_reset(bytes);
    buf_reset(in);
    feed_frames(data + 1, size - 1, peer_types,
                sizeof(peer_types) / sizeof(peer_types[0]), bytes);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        abort();
    env.conf = conf;
    feed_init(&w.peer, sv[1], bytes);
    w.mon = (struct fake_monitor){sp[1], data[0], PS_ST_START, 0,
                                  0,     in,      out,         mon_frame};
    if (session_init(&s, &env, sv[0], frame) < 0) abort();
    /* What the monitor learnt before it forked the slave (session.c). */
    snprintf(s.ip, sizeof(s.ip), "127.0.0.1");
    snprintf(s.fqdn, sizeof(s.fqdn), "localhost");
    feed_start(world_run, &w);
    slave_serve(&s, sp[0]);
    session_clear(&s); /* closes the slave's ends: the world ends too */
    feed_wait();
    close(sv[1]);
    close(sp[1]);
    return 0;
}
