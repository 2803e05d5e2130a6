/*
 * test_ctl.c - the control socket server on a temporary UNIX socket, with
 * fake ctl_ops that record each request and answer as told.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "relocd/ctl.h"
#include "wire/buf.h"
#include "wire/clock.h"
#include "wire/msg.h"
#include "wire/proto.h"
#include "t.h"

static char dir[64], sock[96];

/* What the fake daemon saw, and what it does with the next request. */
static struct {
    int calls;
    unsigned type;
    char payload[256];
    int take;        /* CTL_HANDED_OVER: "a worker owns the fd now" */
    int keep;        /* CTL_KEEP: wait for another request */
    int reply_error; /* answer with ERROR as the daemon does */
    int kept[CTL_MAX_CONNS + 4];
    int nkept;
} fake;

static enum ctl_fate fake_request(void *data, int fd,
                                  const struct proto_frame *f)
{
    struct buf *out = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME);
    struct msg_ctl_migrate req;
    char why[256];
    enum proto_err e;
    int id;

    (void)data;
    fake.calls++;
    fake.type = f->type;
    snprintf(fake.payload, sizeof(fake.payload), "%.*s",
             (int)sizeof(fake.payload) - 1, (const char *)f->payload);
    if (fake.reply_error) {
        /* daemon_ctl_request()'s checks: typed errors for bad requests. */
        if (f->type == PROTO_CTL_MIGRATE)
            e = msg_get_ctl_migrate(f, &req, why, sizeof(why));
        else if (f->type == PROTO_CTL_CANCEL)
            e = msg_get_ctl_cancel(f, &id, why, sizeof(why));
        else
            e = PERR_UNEXPECTED, snprintf(why, sizeof(why), "unknown request");
        if (e) {
            msg_put_error(out, e, "%s", why);
            ctl_reply(fd, out);
        }
    }
    buf_free(out);
    if (fake.take && fake.nkept < (int)(sizeof(fake.kept) / sizeof(int))) {
        fake.kept[fake.nkept++] = fd;
        return CTL_HANDED_OVER;
    }
    return fake.keep ? CTL_KEEP : CTL_CLOSE;
}

static const struct ctl_ops ops = {fake_request, NULL};

static void fake_reset(void)
{
    int i;

    for (i = 0; i < fake.nkept; i++)
        close(fake.kept[i]);
    memset(&fake, 0, sizeof(fake));
}

/* Runs the server's poll loop for ms milliseconds. */
static void pump(struct ctl *c, int ms)
{
    struct pollfd pfd[1 + CTL_MAX_CONNS];
    long long end = clock_ms() + ms;
    unsigned n;
    int left;

    while ((left = (int)(end - clock_ms())) > 0) {
        n = ctl_pollfds(c, pfd);
        if (poll(pfd, n, left) > 0) ctl_handle(c, pfd, n);
    }
}

static int client(void)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sock);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
        T_OK(0, "connect %s: %s", sock, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

static void send_frame(int fd, unsigned type, const char *json)
{
    struct buf *b = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME);

    proto_frame_put(b, type, json, strlen(json));
    if (write(fd, buf_ptr(b), buf_len(b)) != (ssize_t)buf_len(b)) abort();
    buf_free(b);
}

static void send_raw_hdr(int fd, uint32_t len, uint16_t type, uint16_t flags)
{
    uint8_t h[8] = {len >> 24, len >> 16, len >> 8,   len,
                    type >> 8, type,      flags >> 8, flags};

    if (write(fd, h, sizeof(h)) != sizeof(h)) abort();
}

/* Reads until EOF (or 500 ms); what came, in a buffer. */
static struct buf *read_all(int fd)
{
    struct buf *b = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME);
    struct pollfd pfd = {fd, POLLIN, 0};
    uint8_t *p;
    ssize_t r;

    while (poll(&pfd, 1, 500) == 1) {
        if (buf_reserve(b, 4096, &p) < 0) break;
        r = read(fd, p, 4096);
        if (r <= 0) break;
        buf_commit(b, (size_t)r);
    }
    return b;
}

/* The code of the one ERROR frame in b; PERR_OK when b is empty. */
static enum proto_err error_in(struct buf *b)
{
    static struct proto_frame f;
    struct msg_error m;
    char why[256];

    if (!buf_len(b)) return PERR_OK;
    if (proto_frame_take(b, &f) != PERR_OK || f.type != PROTO_ERROR)
        return PERR_MAX;
    if (msg_get_error(&f, &m, why, sizeof(why)) != PERR_OK) return PERR_MAX;
    return m.code;
}

/* 1 when fd reads EOF within 500 ms (after any bytes). */
static int closed_by_server(int fd)
{
    struct buf *b = read_all(fd);
    struct pollfd pfd = {fd, POLLIN, 0};
    char x;
    int r = poll(&pfd, 1, 0) == 1 && read(fd, &x, 1) == 0;

    buf_free(b);
    return r;
}

static struct ctl *open_ctl(void)
{
    static struct ctl c;

    if (ctl_open(&c, sock, &ops) < 0) {
        T_OK(0, "ctl_open %s: %s", sock, strerror(errno));
        return NULL;
    }
    return &c;
}

static void test_open_makes_a_private_socket(void)
{
    struct ctl *c = open_ctl();
    struct stat st;

    if (!c) return;
    T_EQ_INT(stat(sock, &st), 0);
    T_OK(S_ISSOCK(st.st_mode), "a socket");
    T_EQ_INT(st.st_mode & 0777, 0600);
    ctl_close(c, sock);
    T_EQ_INT(stat(sock, &st), -1); /* removed */
    T_EQ_INT(ctl_pollfds(c, NULL), 0);
}

static void test_open_creates_the_directory_0700(void)
{
    char sub[160], path[200];
    struct ctl c;
    struct stat st;

    snprintf(sub, sizeof(sub), "%s/run", dir);
    snprintf(path, sizeof(path), "%s/ctl", sub);
    T_EQ_INT(ctl_open(&c, path, &ops), 0);
    T_EQ_INT(stat(sub, &st), 0);
    T_EQ_INT(st.st_mode & 0777, 0700);
    ctl_close(&c, path);
    rmdir(sub);
}

static void test_open_replaces_a_stale_socket(void)
{
    struct ctl a, b;
    int fd;

    T_EQ_INT(ctl_open(&a, sock, &ops), 0);
    ctl_close(&a, NULL); /* a crash: the file stays */
    T_EQ_INT(access(sock, F_OK), 0);
    T_EQ_INT(ctl_open(&b, sock, &ops), 0);
    fd = client();
    T_OK(fd >= 0, "the new socket answers");
    if (fd >= 0) close(fd);
    ctl_close(&b, sock);
}

static void test_open_rejects_a_too_long_path(void)
{
    char path[200];
    struct ctl c;

    memset(path, 'a', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    errno = 0;
    T_EQ_INT(ctl_open(&c, path, &ops), -1);
    T_EQ_INT(errno, ENAMETOOLONG);
    ctl_close(&c, NULL); /* safe after a failed open */
}

static void test_request_is_dispatched_then_closed(void)
{
    struct ctl *c = open_ctl();
    int fd = client();

    if (!c || fd < 0) return;
    fake_reset();
    send_frame(fd, PROTO_CTL_LIST, "{}");
    pump(c, 30);
    T_EQ_INT(fake.calls, 1);
    T_EQ_INT(fake.type, PROTO_CTL_LIST);
    T_EQ_STR(fake.payload, "{}");
    T_EQ_INT(c->n, 0);
    T_OK(closed_by_server(fd), "ctl closes a connection not taken");
    close(fd);
    ctl_close(c, sock);
}

static void test_taken_fd_stays_open_for_the_worker(void)
{
    struct ctl *c = open_ctl();
    int fd = client();
    char x = 0;

    if (!c || fd < 0) return;
    fake_reset();
    fake.take = 1;
    send_frame(fd, PROTO_CTL_MIGRATE, "{\"domain\":\"g\"}");
    pump(c, 30);
    T_EQ_INT(fake.calls, 1);
    T_EQ_INT(c->n, 0); /* no longer watched by ctl */
    T_EQ_INT(fake.nkept, 1);
    if (fake.nkept) T_EQ_INT(write(fake.kept[0], "w", 1), 1);
    T_EQ_INT(read(fd, &x, 1), 1);
    T_EQ_INT(x, 'w');
    ctl_close(c, sock);
    /* ctl_close() leaves the worker's fd alone. */
    if (fake.nkept) T_OK(fcntl(fake.kept[0], F_GETFD) >= 0, "fd still open");
    fake_reset();
    close(fd);
}

static void test_kept_connection_takes_another_request(void)
{
    struct ctl *c = open_ctl();
    int fd = client();

    if (!c || fd < 0) return;
    fake_reset();
    fake.keep = 1;
    send_frame(fd, PROTO_CTL_LIST, "{}");
    pump(c, 20);
    T_EQ_INT(fake.calls, 1);
    T_EQ_INT(c->n, 1);
    fake.keep = 0;
    send_frame(fd, PROTO_CTL_CANCEL, "{\"id\":3}");
    pump(c, 20);
    T_EQ_INT(fake.calls, 2);
    T_EQ_INT(fake.type, PROTO_CTL_CANCEL);
    T_EQ_INT(c->n, 0);
    T_OK(closed_by_server(fd), "closed after CTL_CLOSE");
    close(fd);
    ctl_close(c, sock);
}

static void test_frame_in_pieces_waits_for_the_end(void)
{
    struct ctl *c = open_ctl();
    int fd = client();

    if (!c || fd < 0) return;
    fake_reset();
    send_raw_hdr(fd, 2, PROTO_CTL_LIST, 0);
    pump(c, 20);
    T_EQ_INT(fake.calls, 0);
    T_EQ_INT(c->n, 1);
    T_EQ_INT(write(fd, "{", 1), 1);
    pump(c, 20);
    T_EQ_INT(fake.calls, 0);
    T_EQ_INT(write(fd, "}", 1), 1);
    pump(c, 20);
    T_EQ_INT(fake.calls, 1);
    T_EQ_STR(fake.payload, "{}");
    close(fd);
    ctl_close(c, sock);
}

/*
 * A broken frame is never dispatched and the connection is closed, after
 * a typed ERROR bad-frame that says why (README.xen 3.1 for the wire).
 */
static void bad_frame_closes(uint32_t len, uint16_t flags)
{
    struct ctl *c = open_ctl();
    int fd = client();
    struct buf *b;

    if (!c || fd < 0) return;
    fake_reset();
    send_raw_hdr(fd, len, PROTO_CTL_LIST, flags);
    pump(c, 30);
    T_EQ_INT(fake.calls, 0);
    T_EQ_INT(c->n, 0);
    b = read_all(fd);
    T_EQ_INT(error_in(b), PERR_BAD_FRAME);
    buf_free(b);
    close(fd);
    ctl_close(c, sock);
}

static void test_oversized_frame_is_dropped(void)
{
    bad_frame_closes(PROTO_MAX_FRAME + 1, 0);
    bad_frame_closes(0xffffffffu, 0);
}

static void test_nonzero_flags_are_dropped(void)
{
    bad_frame_closes(2, 1);
}

static void test_client_that_hangs_up_is_forgotten(void)
{
    struct ctl *c = open_ctl();
    int fd = client();

    if (!c || fd < 0) return;
    fake_reset();
    pump(c, 20);
    T_EQ_INT(c->n, 1);
    send_raw_hdr(fd, 100, PROTO_CTL_LIST, 0); /* half a request */
    close(fd);
    pump(c, 20);
    T_EQ_INT(c->n, 0);
    T_EQ_INT(fake.calls, 0);
    ctl_close(c, sock);
}

static void test_malformed_requests_get_typed_errors(void)
{
    static const struct {
        unsigned type;
        const char *json;
        enum proto_err want;
    } cases[] = {
        {PROTO_CTL_MIGRATE, "not json", PERR_BAD_MESSAGE},
        {PROTO_CTL_MIGRATE, "[1,2]", PERR_BAD_MESSAGE},
        {PROTO_CTL_MIGRATE, "{}", PERR_BAD_MESSAGE},
        {PROTO_CTL_MIGRATE, "{\"domain\":7}", PERR_BAD_MESSAGE},
        {PROTO_CTL_CANCEL, "{\"id\":\"x\"}", PERR_BAD_MESSAGE},
        {PROTO_CTL_CANCEL, "", PERR_BAD_MESSAGE},
        {PROTO_HELLO, "{}", PERR_UNEXPECTED},
        {0xffff, "{}", PERR_UNEXPECTED},
    };
    struct ctl *c = open_ctl();
    size_t i;

    if (!c) return;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int fd = client();
        struct buf *b;

        if (fd < 0) break;
        fake_reset();
        fake.reply_error = 1;
        send_frame(fd, cases[i].type, cases[i].json);
        pump(c, 20);
        T_EQ_INT(fake.calls, 1);
        b = read_all(fd);
        T_OK(error_in(b) == cases[i].want, "case %zu (%s): got %s", i,
             cases[i].json, proto_err_name(error_in(b)));
        buf_free(b);
        close(fd);
    }
    T_EQ_INT(c->n, 0);
    ctl_close(c, sock);
}

static void test_many_clients_each_served_once(void)
{
    struct ctl *c = open_ctl();
    int fd[8], i, ok = 1;

    if (!c) return;
    fake_reset();
    for (i = 0; i < 8; i++)
        fd[i] = client();
    pump(c, 20);
    T_EQ_INT(c->n, 8);
    /* All at once, so ctl_handle() drops several in one pass. */
    for (i = 0; i < 8; i++)
        if (fd[i] >= 0) send_frame(fd[i], PROTO_CTL_LIST, "{}");
    pump(c, 40);
    T_EQ_INT(fake.calls, 8);
    T_EQ_INT(c->n, 0);
    for (i = 0; i < 8; i++)
        if (fd[i] >= 0) {
            ok &= closed_by_server(fd[i]);
            close(fd[i]);
        }
    T_OK(ok, "every client was answered and closed");
    ctl_close(c, sock);
}

static void test_mixed_taken_and_closed_in_one_pass(void)
{
    struct ctl *c = open_ctl();
    int fd[6], i;

    if (!c) return;
    fake_reset();
    for (i = 0; i < 6; i++)
        fd[i] = client();
    pump(c, 20);
    fake.take = 1;
    for (i = 0; i < 6; i += 2)
        if (fd[i] >= 0) send_frame(fd[i], PROTO_CTL_MIGRATE, "{}");
    pump(c, 30);
    T_EQ_INT(fake.calls, 3);
    T_EQ_INT(fake.nkept, 3);
    T_EQ_INT(c->n, 3);
    fake.take = 0;
    for (i = 1; i < 6; i += 2)
        if (fd[i] >= 0) send_frame(fd[i], PROTO_CTL_LIST, "{}");
    pump(c, 30);
    T_EQ_INT(fake.calls, 6);
    T_EQ_INT(c->n, 0);
    fake_reset();
    for (i = 0; i < 6; i++)
        if (fd[i] >= 0) close(fd[i]);
    ctl_close(c, sock);
}

static void test_clients_beyond_the_cap_are_turned_away(void)
{
    struct ctl *c = open_ctl();
    int fd[CTL_MAX_CONNS + 1], i, extra;

    if (!c) return;
    fake_reset();
    for (i = 0; i < CTL_MAX_CONNS; i++)
        fd[i] = client();
    pump(c, 30);
    T_EQ_INT(c->n, CTL_MAX_CONNS);
    extra = fd[CTL_MAX_CONNS] = client();
    pump(c, 30);
    T_EQ_INT(c->n, CTL_MAX_CONNS);
    if (extra >= 0) T_OK(closed_by_server(extra), "the 17th is closed");
    /* The others are still served. */
    send_frame(fd[0], PROTO_CTL_LIST, "{}");
    pump(c, 20);
    T_EQ_INT(fake.calls, 1);
    for (i = 0; i <= CTL_MAX_CONNS; i++)
        if (fd[i] >= 0) close(fd[i]);
    ctl_close(c, sock);
    T_EQ_INT(c->n, 0);
}

static void test_reply_to_a_gone_client_fails(void)
{
    int sv[2];
    struct buf *out = buf_new(256);

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) abort();
    close(sv[1]);
    msg_put_error(out, PERR_BUSY, "x");
    T_EQ_INT(ctl_reply(sv[0], out), -1);
    close(sv[0]);
    buf_free(out);
}

static void test_reply_writes_the_whole_frame(void)
{
    int sv[2];
    struct buf *out = buf_new(256), *in;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) abort();
    msg_put_error(out, PERR_BUSY, "full");
    T_EQ_INT(ctl_reply(sv[0], out), 0);
    T_EQ_INT(buf_len(out), 0);
    close(sv[0]);
    in = read_all(sv[1]);
    T_EQ_INT(error_in(in), PERR_BUSY);
    buf_free(in);
    close(sv[1]);
    buf_free(out);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as relocd does */
    snprintf(dir, sizeof(dir), "/tmp/test_ctl.XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
    test_open_makes_a_private_socket();
    test_open_creates_the_directory_0700();
    test_open_replaces_a_stale_socket();
    test_open_rejects_a_too_long_path();
    test_request_is_dispatched_then_closed();
    test_taken_fd_stays_open_for_the_worker();
    test_kept_connection_takes_another_request();
    test_frame_in_pieces_waits_for_the_end();
    test_oversized_frame_is_dropped();
    test_nonzero_flags_are_dropped();
    test_client_that_hangs_up_is_forgotten();
    test_malformed_requests_get_typed_errors();
    test_many_clients_each_served_once();
    test_mixed_taken_and_closed_in_one_pass();
    test_clients_beyond_the_cap_are_turned_away();
    test_reply_to_a_gone_client_fails();
    test_reply_writes_the_whole_frame();
    unlink(sock);
    rmdir(dir);
    return t_done("test_ctl");
}
