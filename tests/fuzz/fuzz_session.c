/*
 * fuzz_session.c - the server's state machine (README.xen 3.2) on any
 * sequence of frames an allow-listed peer could send: session_serve() runs
 * in this process on one end of a socketpair, with the Xen double behind
 * it, as in tests/unit/test_session.c.
 *
 * Input: one byte for the parent's answer to a slot request, then frames,
 * each <type><length, 2 bytes LE><payload>, so that mutations reach the
 * states after HELLO and PREFLIGHT; a type byte with its high bit set sends
 * the rest of the input as raw bytes (any framing, any length field).
 * MIGRATE never gets a slot, so no receiver is ever started: the stream
 * phase is xl's parser, fuzzed by fuzz_xlstream.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/conf.h"
#include "relocd/session.h"
#include "wire/buf.h"
#include "wire/log.h"
#include "wire/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The frame types a peer may send, and some it may not. */
static const unsigned frame_types[] = {
    PROTO_HELLO,  PROTO_PREFLIGHT,        PROTO_MIGRATE,     PROTO_ERROR,
    PROTO_ACCEPT, PROTO_PREFLIGHT_RESULT, PROTO_CTL_MIGRATE, PROTO_CTL_CANCEL,
};
#define NTYPES (sizeof(frame_types) / sizeof(frame_types[0]))

/* The bytes the peer sends, and where the session's replies go. */
struct peer {
    int fd;
    struct buf *out;
};

/* Frames the input describes, into b; the raw tail as it is. */
static void build(const uint8_t *data, size_t size, struct buf *b)
{
    size_t off = 0, len;

    while (off < size) {
        if (data[off] & 0x80 || size - off < 3) {
            buf_put(b, data + off, size - off);
            return;
        }
        len = data[off + 1] | (size_t)data[off + 2] << 8;
        if (len > size - off - 3) len = size - off - 3;
        if (proto_frame_put(b, frame_types[data[off] % NTYPES], data + off + 3,
                            len) < 0)
            return;
        off += 3 + len;
    }
}

/*
 * The peer: writes everything, shuts its side for writing and drains the
 * replies meanwhile, so neither side ever blocks on a full socket.
 */
static void *peer_run(void *arg)
{
    struct peer *p = arg;
    const uint8_t *q = buf_ptr(p->out);
    size_t left = buf_len(p->out);
    struct pollfd pfd = {.fd = p->fd};
    char sink[65536];
    ssize_t n;

    if (!left) shutdown(p->fd, SHUT_WR);
    for (;;) {
        pfd.events = POLLIN | (left ? POLLOUT : 0);
        if (poll(&pfd, 1, -1) < 0) break;
        if (pfd.revents & POLLOUT) {
            n = send(p->fd, q, left, MSG_NOSIGNAL);
            if (n < 0) left = 0;
            q += n > 0 ? n : 0;
            left -= n > 0 ? (size_t)n : 0;
            if (!left) shutdown(p->fd, SHUT_WR);
        }
        if (pfd.revents & (POLLIN | POLLHUP | POLLERR)) {
            n = read(p->fd, sink, sizeof(sink));
            if (n <= 0) break;
        }
    }
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct relocd_conf *conf;
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(40000)};
    struct session_env env = {NULL, NULL, -1, "here.example", NULL};
    struct peer p = {-1, NULL};
    int sv[2], sp[2];
    char slot, err[256];
    pthread_t t;

    if (!conf) {
        log_init("fuzz_session", 0, 0);
        if (conf_parse("", 0, "fuzz.sxp", &conf, err, sizeof(err)) < 0) abort();
    }
    if (size < 1) return 0;
    /* 'N': all slots taken, 'D': the name is being received already. */
    slot = data[0] & 1 ? 'D' : 'N';
    p.out = buf_new(2 * (PROTO_HDR_LEN + PROTO_MAX_FRAME));
    if (!p.out) abort();
    build(data + 1, size - 1, p.out);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
        abort();
    if (write(sp[1], &slot, 1) != 1) abort();
    env.conf = conf;
    env.slot_fd = sp[0];
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    p.fd = sv[1];
    if (pthread_create(&t, NULL, peer_run, &p)) abort();
    /* session_serve closes its end when it is done. */
    session_serve(&env, sv[0], (struct sockaddr *)&sa, sizeof(sa));
    pthread_join(t, NULL);
    close(sv[1]);
    close(sp[0]);
    close(sp[1]);
    buf_free(p.out);
    return 0;
}
