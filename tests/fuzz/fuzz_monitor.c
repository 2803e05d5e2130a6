/*
 * fuzz_monitor.c - a session's root monitor (relocd/monitor.c, README.xen
 * 10) on any sequence of messages a compromised slave could send on the
 * privsep socket: the boundary OpenSSH fuzzes.  In this process, on the
 * Xen double, with a thread playing the slave's end (feed.h) and the
 * parent's slot channel.  The parent never grants a slot, so no receiver
 * is ever started: the stream is xl's parser's, fuzzed by fuzz_xlstream.
 *
 * Input: one byte for the world, bit 0: the parent lets warnings about a
 * peer not yet admitted be logged; bit 1: a slot request finds the name
 * being received already (else all slots are taken); bit 2: the peer is
 * on loopback (pre-flight's local case).  Then the slave's messages
 * (feed_frames(), privsep.h and proto.h types).
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
#include "wire/chan.h"
#include "wire/log.h"
#include "wire/msg.h"
#include "wire/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the slave may send, in and out of sequence, and what it may not. */
static const unsigned slave_types[] = {
    PS_LOG,      PS_ADMITTED, PS_HELLO,    PROTO_PREFLIGHT,
    PS_ACCEPTED, PS_OK,       PROTO_ERROR, PROTO_MIGRATE,
};

/* The parent's end of the slot channel (session.c, daemon.c). */
struct fake_parent {
    int fd;
    char log, slot; /* the answers to 'L' and to 'M' */
    int in_name;    /* inside an 'M' request's NUL-terminated name */
};

/* Answers every request the monitor wrote. */
static void fake_parent_read(struct fake_parent *p)
{
    char req[256], reply;
    ssize_t n = read(p->fd, req, sizeof(req)), i;

    for (i = 0; i < n; i++) {
        if (p->in_name) {
            p->in_name = req[i] != '\0';
            continue;
        }
        reply = req[i] == 'M' ? p->slot : p->log;
        p->in_name = req[i] == 'M';
        if (send(p->fd, &reply, 1, MSG_NOSIGNAL) != 1) abort();
    }
}

struct world {
    struct feed slave;
    struct fake_parent parent;
};

/* The slave's end and the parent, until the monitor closed its socket. */
static void world_run(void *arg)
{
    struct world *w = arg;
    struct pollfd p[2];

    while (!w->slave.done) {
        p[0] = (struct pollfd){w->slave.fd, feed_events(&w->slave), 0};
        p[1] = (struct pollfd){w->parent.fd, POLLIN, 0};
        if (poll(p, 2, -1) < 0) abort();
        if (p[0].revents) feed_step(&w->slave, p[0].revents);
        if (p[1].revents & POLLIN) fake_parent_read(&w->parent);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct relocd_conf *conf;
    static struct proto_frame *frame;
    static struct buf *bytes;
    struct session_env env = {NULL, NULL, -1, "here.example", NULL};
    struct msg_migrate m;
    struct session s;
    struct world w;
    int sv[2], sp[2], pp[2];
    char err[256];

    if (!conf) {
        log_init("fuzz_monitor", getenv("FUZZ_LOG") ? LOG_TO_STDERR : 0, 0);
        signal(SIGPIPE, SIG_IGN);
        if (conf_parse("", 0, "fuzz.sxp", &conf, err, sizeof(err)) < 0 ||
            !(frame = malloc(sizeof(*frame))) ||
            !(bytes = buf_new(2 * (PROTO_HDR_LEN + PROTO_MAX_FRAME))))
            abort();
    }
    if (size < 1) return 0;
    buf_reset(bytes);
    feed_frames(data + 1, size - 1, slave_types,
                sizeof(slave_types) / sizeof(slave_types[0]), bytes);
    /* The peer's socket (never read: the slave holds it), the slave's. */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pp) < 0)
        abort();
    env.conf = conf;
    env.slot_fd = pp[0];
    feed_init(&w.slave, sp[1], bytes);
    w.parent = (struct fake_parent){pp[1], data[0] & 1 ? 'Y' : 'N',
                                    data[0] & 2 ? 'D' : 'N', 0};
    if (session_init(&s, &env, sv[0], frame) < 0 || !(s.mon = chan_new(sp[0])))
        abort();
    /* What session_admit() found before it forked the slave. */
    snprintf(s.ip, sizeof(s.ip), "%s", data[0] & 4 ? "127.0.0.1" : "192.0.2.7");
    snprintf(s.fqdn, sizeof(s.fqdn), "peer.example");
    feed_start(world_run, &w);
    if (monitor_negotiate(&s, &m) == 0) abort(); /* a slot: never granted */
    session_clear(&s); /* closes the monitor's end: the world ends too */
    feed_wait();
    close(sv[1]);
    close(sp[1]);
    close(pp[0]);
    close(pp[1]);
    return 0;
}
