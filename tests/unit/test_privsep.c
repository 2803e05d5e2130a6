/*
 * test_privsep.c - the monitor's view of its sandboxed slave: the order
 * it takes requests in (anything else ends the session), and the
 * descriptor passing of the stream phase.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relocd/privsep.h"
#include "wire/buf.h"
#include "wire/chan.h"
#include "wire/proto.h"
#include "t.h"

/* Feeds types to a fresh monitor state; returns how many it took. */
static int feed(const unsigned *types, int n, enum privsep_state *st)
{
    int i;

    *st = PS_ST_START;
    for (i = 0; i < n; i++)
        if (!privsep_step(st, types[i])) break;
    return i;
}

static void test_the_session_sequence_is_taken(void)
{
    const unsigned ok[] = {PS_LOG,   PS_ADMITTED,     PS_LOG,
                           PS_HELLO, PROTO_PREFLIGHT, PROTO_PREFLIGHT,
                           PS_LOG,   PROTO_MIGRATE,   PS_ACCEPTED};
    enum privsep_state st;

    T_EQ_INT(feed(ok, 9, &st), 9);
    T_EQ_INT(st, PS_ST_ACCEPTED);
}

static void test_requests_out_of_sequence_are_refused(void)
{
    /* Each row: what a compromised slave might try, refused at [n]. */
    static const struct {
        unsigned types[4];
        int n, taken;
    } bad[] = {
        {{PROTO_MIGRATE}, 1, 0},                /* before admission */
        {{PROTO_PREFLIGHT}, 1, 0},              /* before admission */
        {{PS_ADMITTED, PROTO_PREFLIGHT}, 2, 1}, /* before HELLO */
        {{PS_ADMITTED, PROTO_MIGRATE}, 2, 1},   /* before HELLO */
        {{PS_ADMITTED, PS_ADMITTED}, 2, 1},     /* twice */
        {{PS_ADMITTED, PS_HELLO, PS_HELLO}, 3, 2},
        {{PS_ADMITTED, PS_HELLO, PS_ACCEPTED}, 3, 2}, /* before MIGRATE */
        {{PS_ADMITTED, PS_HELLO, PROTO_MIGRATE, PROTO_MIGRATE}, 4, 3},
        {{PS_ADMITTED, PS_HELLO, PROTO_MIGRATE, PROTO_PREFLIGHT}, 4, 3},
        {{PS_ADMITTED, PS_HELLO, PROTO_HELLO}, 3, 2}, /* a peer type */
        {{PS_ADMITTED, PS_HELLO, PROTO_ERROR}, 3, 2}, /* a peer type */
        {{PS_ADMITTED, PS_HELLO, PS_OK}, 3, 2},       /* the monitor's */
        {{PS_ADMITTED, PS_HELLO, PROTO_CTL_MIGRATE}, 3, 2},
        {{0xffff}, 1, 0},
    };
    enum privsep_state st;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        T_OK(feed(bad[i].types, bad[i].n, &st) == bad[i].taken,
             "row %zu: took %d, wanted %d", i,
             feed(bad[i].types, bad[i].n, &st), bad[i].taken);
}

static void test_messages_and_descriptors_cross(void)
{
    struct proto_frame *f = malloc(sizeof(*f));
    struct buf *out = buf_new(PROTO_HDR_LEN + 64);
    int sv[2], p[2], fd;
    struct chan *a, *b;
    char c = 0;

    if (!f || !out || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
        pipe(p) < 0)
        abort();
    a = chan_new(sv[0]);
    b = chan_new(sv[1]);
    chan_set_timeout(b, 2000);
    T_EQ_INT(privsep_send(a, out, PS_ACCEPTED, "\1\0", 2), 0);
    T_EQ_INT(chan_recv_frame(b, f), PERR_OK);
    T_EQ_INT(f->type, PS_ACCEPTED);
    T_EQ_INT(f->len, 2);
    T_EQ_INT(privsep_send_fd(sv[0], p[1]), 0);
    fd = privsep_recv_fd(sv[1], 2000);
    T_OK(fd >= 0 && fd != p[1], "received descriptor %d", fd);
    T_OK(fcntl(fd, F_GETFD) & FD_CLOEXEC, "close-on-exec");
    T_EQ_INT(write(fd, "x", 1), 1);
    T_EQ_INT(read(p[0], &c, 1), 1);
    T_EQ_INT(c, 'x');
    /* A plain byte without a descriptor is refused. */
    T_EQ_INT(write(sv[0], "F", 1), 1);
    T_EQ_INT(privsep_recv_fd(sv[1], 2000), -1);
    /* Nothing: a timeout. */
    T_EQ_INT(privsep_recv_fd(sv[1], 50), -1);
    close(fd);
    close(p[0]);
    close(p[1]);
    chan_free(a);
    chan_free(b);
    buf_free(out);
    free(f);
}

int main(void)
{
    test_the_session_sequence_is_taken();
    test_requests_out_of_sequence_are_refused();
    test_messages_and_descriptors_cross();
    return t_done("test_privsep");
}
