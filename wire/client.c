/*
 * client.c - the relocd protocol, client side (README.xen 3.2).
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/diag.h"
#include "wire/buf.h"
#include "wire/chan.h"
#include "wire/client.h"
#include "wire/msg.h"
#include "wire/tcp.h"
#include "wire/tls.h"

struct client {
    struct chan *chan;
    struct buf *out;
    struct proto_frame *frame;
    struct tls_conn *tls; /* the chan's while chan_has_tls(): why I/O failed */
    int timeout_ms;
    char target[300];
    char server_host[256];
};

/* diag_errf() for functions that return a protocol error: returns e. */
static enum proto_err fail(char *err, size_t errlen, enum proto_err e,
                           const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum proto_err fail(char *err, size_t errlen, enum proto_err e,
                           const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    diag_verrf(err, errlen, fmt, ap);
    va_end(ap);
    return e;
}

int client_parse_target(const char *target, char *host, size_t hostlen,
                        int *port_r)
{
    const char *colon = strrchr(target, ':'), *end;
    char *stop;
    long port;

    if (target[0] == '[') {
        end = strchr(target, ']');
        if (!end || (end[1] && end[1] != ':')) goto bad;
        colon = end[1] ? end + 1 : NULL;
        target++;
    } else if (colon && strchr(target, ':') != colon) {
        colon = NULL; /* a bare IPv6 address */
        end = target + strlen(target);
    } else {
        end = colon ? colon : target + strlen(target);
    }
    if (end == target || (size_t)(end - target) >= hostlen) goto bad;
    memcpy(host, target, (size_t)(end - target));
    host[end - target] = '\0';
    if (colon) {
        port = strtol(colon + 1, &stop, 10);
        if (!colon[1] || *stop || port < 1 || port > 65535) goto bad;
        *port_r = (int)port;
    }
    return 0;
bad:
    errno = EINVAL;
    return -1;
}

/* A connect() bounded by the timeout, trying every address of host. */
static int tcp_connect(const char *host, int port, int timeout_ms, char *err,
                       size_t errlen)
{
    struct addrinfo hints = {0}, *res, *ai;
    struct pollfd pfd;
    char serv[16];
    int fd = -1, r, soerr = 0, one = 1;
    socklen_t len = sizeof(soerr);

    hints.ai_socktype = SOCK_STREAM;
    snprintf(serv, sizeof(serv), "%d", port);
    r = getaddrinfo(host, serv, &hints, &res);
    if (r) return diag_errf(err, errlen, "%s: %s", host, gai_strerror(r));
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) continue;
        r = connect(fd, ai->ai_addr, ai->ai_addrlen);
        pfd = (struct pollfd){fd, POLLOUT, 0};
        /* The connect's own error (refused, unreachable), or timed out. */
        if (r < 0 && errno == EINPROGRESS) {
            if (poll(&pfd, 1, timeout_ms) != 1)
                soerr = ETIMEDOUT;
            else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
                soerr = errno;
            else if (!soerr)
                r = 0;
        } else if (r < 0)
            soerr = errno;
        if (r == 0) break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) {
        soerr = soerr ? soerr : ECONNREFUSED;
        return diag_errnof(err, errlen, soerr,
                           "cannot connect to %s port %d: %s", host, port,
                           strerror(soerr));
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    tcp_tune(fd);
    return fd;
}

/*
 * A failed send or receive.  In TLS 1.3 a server refuses a client's
 * certificate after the client's handshake is done: its alert ("certificate
 * revoked") only shows as the failure of the first frame, so it is added.
 */
static enum proto_err client_io_fail(struct client *cl, enum proto_err e,
                                     char *err, size_t errlen)
{
    const char *why = chan_has_tls(cl->chan) ? tls_conn_error(cl->tls) : NULL;

    if (why && strcmp(why, "no error"))
        return fail(err, errlen, e, "%s: %s: TLS: %s", cl->target,
                    proto_strerror(e), why);
    return fail(err, errlen, e, "%s: %s", cl->target, proto_strerror(e));
}

/* Receives the reply frame of the given type; an ERROR becomes PERR_PEER. */
static enum proto_err client_reply(struct client *cl, unsigned type, char *err,
                                   size_t errlen)
{
    struct msg_error m;
    enum proto_err e;
    char why[256];

    chan_set_timeout(cl->chan, cl->timeout_ms);
    e = chan_recv_frame(cl->chan, cl->frame);
    if (e) return client_io_fail(cl, e, err, errlen);
    if (cl->frame->type == PROTO_ERROR) {
        if (msg_get_error(cl->frame, &m, why, sizeof(why)))
            return fail(err, errlen, PERR_BAD_MESSAGE, "%s: bad ERROR: %s",
                        cl->target, why);
        return fail(err, errlen, PERR_PEER, "relocd on %s refused (%s): %s",
                    cl->target, proto_err_name(m.code), m.message);
    }
    if (cl->frame->type != type)
        return fail(err, errlen, PERR_UNEXPECTED, "%s: sent %s, wanted %s",
                    cl->target, proto_type_name(cl->frame->type),
                    proto_type_name(type));
    return PERR_OK;
}

static enum proto_err client_send(struct client *cl, char *err, size_t errlen)
{
    enum proto_err e;

    chan_set_timeout(cl->chan, cl->timeout_ms);
    e = chan_send(cl->chan, cl->out);
    if (e) return client_io_fail(cl, e, err, errlen);
    return PERR_OK;
}

static enum proto_err client_hello(struct client *cl, const char *software,
                                   char *err, size_t errlen)
{
    struct msg_hello h = {PROTO_VERSION, PROTO_MIN_VERSION, "", ""}, srv;
    char why[256];
    enum proto_err e;

    snprintf(h.software, sizeof(h.software), "%s", software);
    if (gethostname(h.host, sizeof(h.host)) < 0)
        snprintf(h.host, sizeof(h.host), "unknown");
    if (msg_put_hello(cl->out, &h) < 0)
        return fail(err, errlen, PERR_INTERNAL, "encoding HELLO");
    if ((e = client_send(cl, err, errlen)) ||
        (e = client_reply(cl, PROTO_HELLO, err, errlen)))
        return e;
    e = msg_get_hello(cl->frame, &srv, why, sizeof(why));
    if (e) return fail(err, errlen, e, "%s: %s", cl->target, why);
    if (srv.min_version > PROTO_VERSION || srv.version < PROTO_MIN_VERSION)
        return fail(err, errlen, PERR_VERSION,
                    "%s speaks protocol %d..%d, this client %d..%d", cl->target,
                    srv.min_version, srv.version, PROTO_MIN_VERSION,
                    PROTO_VERSION);
    snprintf(cl->server_host, sizeof(cl->server_host), "%s", srv.host);
    return PERR_OK;
}

static enum proto_err client_start(struct client *cl,
                                   const struct client_opts *o, char *err,
                                   size_t errlen)
{
    struct tls_conn *tls;
    int fd;

    snprintf(cl->target, sizeof(cl->target), "%s:%d", o->host, o->port);
    fd = tcp_connect(o->host, o->port, o->timeout_ms, err, errlen);
    if (fd < 0) return PERR_IO;
    cl->chan = chan_new(fd);
    if (!cl->chan) {
        close(fd);
        return fail(err, errlen, PERR_INTERNAL, "out of memory");
    }
    if (o->tls) {
        tls = tls_connect(o->tls, fd, o->host, o->timeout_ms, err, errlen);
        if (!tls) return PERR_DENIED;
        chan_set_tls(cl->chan, tls);
        cl->tls = tls;
    }
    return client_hello(cl, o->software, err, errlen);
}

struct client *client_open(const struct client_opts *o, enum proto_err *e_r,
                           char *err, size_t errlen)
{
    struct client *cl = calloc(1, sizeof(*cl));
    enum proto_err e = PERR_INTERNAL;

    if (cl) {
        cl->timeout_ms = o->timeout_ms;
        cl->out = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME);
        cl->frame = malloc(sizeof(*cl->frame));
        if (cl->out && cl->frame)
            e = client_start(cl, o, err, errlen);
        else
            fail(err, errlen, e, "out of memory");
    } else {
        fail(err, errlen, e, "out of memory");
    }
    if (e_r) *e_r = e;
    if (e) {
        client_free(cl);
        return NULL;
    }
    return cl;
}

void client_free(struct client *cl)
{
    if (!cl) return;
    chan_free(cl->chan);
    buf_free(cl->out);
    free(cl->frame);
    free(cl);
}

struct chan *client_chan(struct client *cl)
{
    return cl->chan;
}

const char *client_server_host(const struct client *cl)
{
    return cl->server_host;
}

enum proto_err client_preflight_msg(struct client *cl,
                                    const struct msg_preflight *m,
                                    struct msg_preflight_result *res, char *err,
                                    size_t errlen)
{
    char why[256];
    enum proto_err e;

    if (msg_put_preflight(cl->out, m) < 0)
        return fail(err, errlen, PERR_INTERNAL,
                    "the guest's config does not fit in a frame");
    if ((e = client_send(cl, err, errlen)) ||
        (e = client_reply(cl, PROTO_PREFLIGHT_RESULT, err, errlen)))
        return e;
    e = msg_get_preflight_result(cl->frame, res, why, sizeof(why));
    if (e) return fail(err, errlen, e, "%s: %s", cl->target, why);
    return PERR_OK;
}

enum proto_err client_preflight(struct client *cl, const char *config_json,
                                int live, const struct msg_cpu_policy *cpu,
                                struct msg_preflight_result *res, char *err,
                                size_t errlen)
{
    struct msg_preflight m = {.config = (char *)config_json,
                              .live = live,
                              .cpu = (struct msg_cpu_policy *)cpu};

    return client_preflight_msg(cl, &m, res, err, errlen);
}

enum proto_err client_migrate_msg(struct client *cl,
                                  const struct msg_migrate *m, char *err,
                                  size_t errlen)
{
    char why[256];
    enum proto_err e;

    if (msg_put_migrate(cl->out, m) < 0)
        return fail(err, errlen, PERR_INTERNAL, "encoding MIGRATE");
    if ((e = client_send(cl, err, errlen)) ||
        (e = client_reply(cl, PROTO_ACCEPT, err, errlen)))
        return e;
    e = msg_get_accept(cl->frame, why, sizeof(why));
    return e ? fail(err, errlen, e, "%s: %s", cl->target, why) : PERR_OK;
}

enum proto_err client_migrate(struct client *cl, char *const flags[],
                              unsigned nflags, int anatomy, char *err,
                              size_t errlen)
{
    struct msg_migrate m = {.mode = "xl-stream", .anatomy = anatomy};
    unsigned i;

    if (nflags > MSG_MAX_FLAGS)
        return fail(err, errlen, PERR_BAD_FLAGS, "too many flags");
    for (i = 0; i < nflags; i++)
        if (snprintf(m.flags[i], sizeof(m.flags[i]), "%s", flags[i]) >=
            (int)sizeof(m.flags[i]))
            return fail(err, errlen, PERR_BAD_FLAGS, "flag '%s' too long",
                        flags[i]);
    m.nflags = nflags;
    return client_migrate_msg(cl, &m, err, errlen);
}
