/*
 * privsep.c - the monitor's socket: the sequence, messages and descriptor
 * passing between a session's monitor and its sandboxed slave (privsep.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relocd/privsep.h"
#include "wire/buf.h"
#include "wire/chan.h"
#include "wire/proto.h"

int privsep_step(enum privsep_state *st, unsigned type)
{
    static const struct {
        enum privsep_state from;
        unsigned type;
        enum privsep_state to;
    } moves[] = {
        {PS_ST_START, PS_ADMITTED, PS_ST_ADMITTED},
        {PS_ST_ADMITTED, PS_HELLO, PS_ST_HELLO},
        {PS_ST_HELLO, PROTO_PREFLIGHT, PS_ST_HELLO},
        {PS_ST_HELLO, PROTO_MIGRATE, PS_ST_MIGRATE},
        {PS_ST_MIGRATE, PS_ACCEPTED, PS_ST_ACCEPTED},
    };
    size_t i;

    if (type == PS_LOG) return 1;
    for (i = 0; i < sizeof(moves) / sizeof(moves[0]); i++)
        if (moves[i].from == *st && moves[i].type == type) {
            *st = moves[i].to;
            return 1;
        }
    return 0;
}

int privsep_send(struct chan *c, struct buf *out, unsigned type,
                 const void *data, size_t len)
{
    buf_reset(out);
    if (proto_frame_put(out, type, data, len) < 0) return -1;
    return chan_send(c, out) == PERR_OK ? 0 : -1;
}

int privsep_send_fd(int sock, int fd)
{
    char byte = 'F';
    struct iovec iov = {&byte, 1};
    union {
        struct cmsghdr h;
        char space[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr m = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = u.space,
                       .msg_controllen = sizeof(u.space)};
    struct cmsghdr *h = CMSG_FIRSTHDR(&m);

    memset(&u, 0, sizeof(u));
    h->cmsg_level = SOL_SOCKET;
    h->cmsg_type = SCM_RIGHTS;
    h->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(h), &fd, sizeof(int));
    return sendmsg(sock, &m, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

int privsep_recv_fd(int sock, int timeout_ms)
{
    struct pollfd p = {.fd = sock, .events = POLLIN};
    char byte;
    struct iovec iov = {&byte, 1};
    union {
        struct cmsghdr h;
        char space[CMSG_SPACE(sizeof(int))];
    } u;
    struct msghdr m = {.msg_iov = &iov,
                       .msg_iovlen = 1,
                       .msg_control = u.space,
                       .msg_controllen = sizeof(u.space)};
    struct cmsghdr *h;
    int fd = -1;

    if (poll(&p, 1, timeout_ms) != 1) {
        errno = ETIMEDOUT;
        return -1;
    }
    if (recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1) return -1;
    h = CMSG_FIRSTHDR(&m);
    if (!h || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS ||
        h->cmsg_len != CMSG_LEN(sizeof(int)) || (m.msg_flags & MSG_CTRUNC)) {
        errno = EBADMSG;
        return -1;
    }
    memcpy(&fd, CMSG_DATA(h), sizeof(int));
    return fd;
}

void privsep_ktls_preload(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);

    /* The kernel loads "tls" before it finds the socket unconnected. */
    if (fd < 0) return;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls"));
    close(fd);
}
