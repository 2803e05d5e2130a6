/*
 * test_session.c - the server's state machine (README.xen 3.2) fed whole
 * frame sequences over a socketpair, with the Xen double behind it.
 *
 * The client's frames are written up front and its side shut for writing,
 * so session_serve() runs here, in this process, and always ends: at the
 * first reply it dislikes, or at EOF.  Then the replies are read back.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config/conf.h"
#include "relocd/session.h"
#include "wire/buf.h"
#include "wire/log.h"
#include "wire/msg.h"
#include "wire/proto.h"
#include "t.h"

#define GUEST_CONFIG                                                           \
    "{\"c_info\":{\"name\":\"g1\",\"type\":\"pvh\"},"                          \
    "\"b_info\":{\"max_memkb\":1048576}}"

static struct proto_frame frame;

/* What came back: the reply types in order, and the ERROR's code. */
struct replies {
    unsigned n, type[8];
    enum proto_err code; /* PERR_OK when no ERROR came */
    char message[1024];  /* the ERROR's text */
    int preflight_ok;
    int rc;
};

static struct relocd_conf *conf_of(const char *text)
{
    struct relocd_conf *conf = NULL;
    char err[256];

    if (conf_parse(text, strlen(text), "t.sxp", &conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "conf: %s\n", err);
        abort();
    }
    return conf;
}

static void parse_replies(struct buf *in, struct replies *r)
{
    struct msg_preflight_result res;
    struct msg_error m;
    char why[256];

    while (r->n < 8 && proto_frame_take(in, &frame) == PERR_OK) {
        r->type[r->n++] = frame.type;
        if (frame.type == PROTO_ERROR) {
            r->code = msg_get_error(&frame, &m, why, sizeof(why)) == PERR_OK
                          ? m.code
                          : PERR_MAX;
            if (r->code != PERR_MAX)
                snprintf(r->message, sizeof(r->message), "%s", m.message);
        }
        if (frame.type == PROTO_PREFLIGHT_RESULT &&
            msg_get_preflight_result(&frame, &res, why, sizeof(why)) == PERR_OK)
            r->preflight_ok = res.ok;
    }
}

/*
 * Serves a connection from 127.0.0.1 whose client sent exactly what is in
 * frames; slot is what the parent answers a slot request with (0: none).
 */
static void serve(const char *conf_text, struct buf *frames, char slot,
                  struct replies *r)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(40000)};
    struct relocd_conf *conf = conf_of(conf_text);
    struct session_env env = {conf, NULL, -1, "here.example", NULL};
    struct buf *in = buf_new(1 << 20);
    struct pollfd pfd;
    int sv[2], sp[2] = {-1, -1};
    uint8_t *p;
    ssize_t n;

    memset(r, 0, sizeof(*r));
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) abort();
    if (slot) {
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0) abort();
        if (write(sp[1], &slot, 1) != 1) abort();
        env.slot_fd = sp[0];
    }
    if (write(sv[1], buf_ptr(frames), buf_len(frames)) !=
        (ssize_t)buf_len(frames))
        abort();
    shutdown(sv[1], SHUT_WR);
    r->rc = session_serve(&env, sv[0], (struct sockaddr *)&sa, sizeof(sa));
    pfd = (struct pollfd){sv[1], POLLIN, 0};
    while (poll(&pfd, 1, 200) == 1 && buf_reserve(in, 65536, &p) == 0 &&
           (n = read(sv[1], p, 65536)) > 0)
        buf_commit(in, (size_t)n);
    parse_replies(in, r);
    close(sv[1]);
    if (slot) {
        close(sp[0]);
        close(sp[1]);
    }
    buf_free(in);
    buf_free(frames);
    conf_free(conf);
}

static struct buf *frames(void)
{
    return buf_new(1 << 20);
}

static void hello(struct buf *b)
{
    struct msg_hello h = {PROTO_VERSION, PROTO_MIN_VERSION, "test", "there"};

    msg_put_hello(b, &h);
}

static void preflight(struct buf *b, const char *config)
{
    struct msg_preflight m = {.config = (char *)config, .live = 1};

    msg_put_preflight(b, &m);
}

static void migrate(struct buf *b, const char *mode, const char *flag)
{
    struct msg_migrate m = {.nflags = flag ? 1 : 0};

    snprintf(m.mode, sizeof(m.mode), "%s", mode);
    if (flag) snprintf(m.flags[0], sizeof(m.flags[0]), "%s", flag);
    msg_put_migrate(b, &m);
}

/* The replies were HELLO (when hello_first) then one ERROR with code. */
static void expect_error(const char *test, const struct replies *r,
                         int hello_first, enum proto_err code)
{
    unsigned want = hello_first ? 2 : 1;

    T_OK(r->rc != 0, "%s: session_serve() reports failure (rc %d)", test,
         r->rc);
    T_EQ_INT(r->n, want);
    if (hello_first && r->n) T_EQ_INT(r->type[0], PROTO_HELLO);
    if (r->n == want) T_EQ_INT(r->type[want - 1], PROTO_ERROR);
    T_OK(r->code == code, "%s: ERROR %s, wanted %s", test,
         proto_err_name(r->code), proto_err_name(code));
}

static void test_hello_is_answered_with_hello(void)
{
    struct buf *b = frames();
    struct replies r;

    hello(b);
    serve("", b, 0, &r);
    /* Then EOF: no ERROR is sent to a peer that is gone. */
    T_OK(r.rc != 0, "no guest received");
    T_EQ_INT(r.n, 1);
    T_EQ_INT(r.type[0], PROTO_HELLO);
    T_EQ_INT(r.code, PERR_OK);
}

static void test_preflight_before_hello_is_unexpected(void)
{
    struct buf *b = frames();
    struct replies r;

    preflight(b, GUEST_CONFIG);
    serve("", b, 0, &r);
    /*
     * BUG: README.xen 3.3 says "unexpected" for a valid frame in the wrong
     * state; session_hello() hands any first frame to msg_get_hello(),
     * which calls a PREFLIGHT a bad-message.
     */
    expect_error(__func__, &r, 0, PERR_UNEXPECTED);
}

static void test_migrate_before_preflight_is_unexpected(void)
{
    struct buf *b = frames();
    struct replies r;

    hello(b);
    migrate(b, "xl-stream", "-e");
    serve("", b, 0, &r);
    expect_error(__func__, &r, 1, PERR_UNEXPECTED);
}

static void test_second_hello_is_unexpected(void)
{
    struct buf *b = frames();
    struct replies r;

    hello(b);
    hello(b);
    serve("", b, 0, &r);
    expect_error(__func__, &r, 1, PERR_UNEXPECTED);
}

static void test_server_only_frame_from_client_is_unexpected(void)
{
    struct buf *b = frames();
    struct replies r;

    hello(b);
    msg_put_accept(b);
    serve("", b, 0, &r);
    expect_error(__func__, &r, 1, PERR_UNEXPECTED);
}

static void test_unknown_type_is_unexpected(void)
{
    struct buf *b = frames();
    struct replies r;

    hello(b);
    proto_frame_put(b, 0x4242, "{}", 2);
    serve("", b, 0, &r);
    expect_error(__func__, &r, 1, PERR_UNEXPECTED);
}

static void test_hello_from_the_future_is_version_mismatch(void)
{
    struct msg_hello h = {PROTO_VERSION + 5, PROTO_VERSION + 1, "x", "y"};
    struct buf *b = frames();
    struct replies r;

    msg_put_hello(b, &h);
    serve("", b, 0, &r);
    expect_error(__func__, &r, 0, PERR_VERSION);
}

static void test_hello_not_json_is_bad_message(void)
{
    struct buf *b = frames();
    struct replies r;

    proto_frame_put(b, PROTO_HELLO, "{nope", 5);
    serve("", b, 0, &r);
    expect_error(__func__, &r, 0, PERR_BAD_MESSAGE);
}

static void test_oversized_frame_is_bad_frame(void)
{
    static const uint8_t hdr[8] = {0, 0x04, 0, 1, 0, PROTO_HELLO, 0, 0};
    struct buf *b = frames();
    struct replies r;

    buf_put(b, hdr, sizeof(hdr)); /* 256 KiB + 1 */
    serve("", b, 0, &r);
    expect_error(__func__, &r, 0, PERR_BAD_FRAME);
}

static void test_nonzero_flags_after_hello_is_bad_frame(void)
{
    static const uint8_t hdr[8] = {0, 0, 0, 0, 0, PROTO_PREFLIGHT, 0, 1};
    struct buf *b = frames();
    struct replies r;

    hello(b);
    buf_put(b, hdr, sizeof(hdr));
    serve("", b, 0, &r);
    expect_error(__func__, &r, 1, PERR_BAD_FRAME);
}

static void test_peer_error_ends_without_reply(void)
{
    struct buf *b = frames();
    struct replies r;

    hello(b);
    msg_put_error(b, PERR_TIMEOUT, "giving up");
    serve("", b, 0, &r);
    T_OK(r.rc != 0, "no guest received");
    T_EQ_INT(r.n, 1); /* our HELLO, nothing after the peer's ERROR */
}

static void test_unknown_mode_is_bad_message(void)
{
    struct buf *b = frames();
    struct replies r;

    hello(b);
    migrate(b, "rsh", NULL);
    serve("", b, 0, &r);
    expect_error(__func__, &r, 1, PERR_BAD_MESSAGE);
}

static void test_foreign_flag_is_bad_flags(void)
{
    static const char *const bad[] = {"--debug", "-x", "-vvvvvv", "e", "-e "};
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct buf *b = frames();
        struct replies r;

        hello(b);
        preflight(b, GUEST_CONFIG);
        migrate(b, "xl-stream", bad[i]);
        serve("", b, 0, &r);
        T_OK(r.code == PERR_BAD_FLAGS, "flag '%s': %s", bad[i],
             proto_err_name(r.code));
    }
}

static void test_failed_preflight_blocks_migrate(void)
{
    struct buf *b = frames();
    struct replies r;

    hello(b);
    preflight(b, "{\"not\":\"a domain\"}");
    migrate(b, "xl-stream", "-e");
    serve("", b, 0, &r);
    T_EQ_INT(r.n, 3);
    T_EQ_INT(r.type[1], PROTO_PREFLIGHT_RESULT);
    T_EQ_INT(r.preflight_ok, 0);
    T_EQ_INT(r.code, PERR_UNEXPECTED);
}

/* A guest that wants a dom0 file as its disk: the session's pre-flight
 * refuses it whatever the Xen layer says (guestpol.h). */
static void test_guest_policy_blocks_migrate(void)
{
    struct buf *b = frames();
    struct replies r;

    hello(b);
    preflight(b, "{\"c_info\":{\"name\":\"g1\"},\"b_info\":{\"max_memkb\":"
                 "1024},\"disks\":[{\"vdev\":\"xvda\",\"pdev_path\":"
                 "\"/etc/passwd\"}]}");
    migrate(b, "xl-stream", "-e");
    serve("", b, 0, &r);
    T_EQ_INT(r.n, 3);
    T_EQ_INT(r.type[1], PROTO_PREFLIGHT_RESULT);
    T_EQ_INT(r.preflight_ok, 0);
    T_EQ_INT(r.code, PERR_UNEXPECTED);
}

static void test_preflight_may_repeat(void)
{
    struct buf *b = frames();
    struct replies r;

    hello(b);
    preflight(b, GUEST_CONFIG);
    preflight(b, GUEST_CONFIG);
    serve("", b, 0, &r);
    T_EQ_INT(r.n, 3);
    T_EQ_INT(r.type[1], PROTO_PREFLIGHT_RESULT);
    T_EQ_INT(r.type[2], PROTO_PREFLIGHT_RESULT);
    T_EQ_INT(r.preflight_ok, 1);
    T_EQ_INT(r.code, PERR_OK);
}

static void test_preflight_without_config_is_bad_message(void)
{
    struct buf *b = frames();
    struct replies r;

    hello(b);
    proto_frame_put(b, PROTO_PREFLIGHT, "{\"live\":true}", 13);
    serve("", b, 0, &r);
    expect_error(__func__, &r, 1, PERR_BAD_MESSAGE);
}

static void test_no_free_slot_is_busy(void)
{
    struct buf *b = frames();
    struct replies r;

    hello(b);
    preflight(b, GUEST_CONFIG);
    migrate(b, "xl-stream", "-e");
    serve("", b, 'N', &r);
    T_EQ_INT(r.n, 3);
    T_EQ_INT(r.preflight_ok, 1);
    T_EQ_INT(r.code, PERR_BUSY);
}

/* The parent reserves the name: a second receive of it is refused. */
static void test_name_being_received_is_busy(void)
{
    struct buf *b = frames();
    struct replies r;

    hello(b);
    preflight(b, GUEST_CONFIG);
    migrate(b, "xl-stream", "-e");
    serve("", b, 'D', &r);
    T_EQ_INT(r.n, 3);
    T_EQ_INT(r.code, PERR_BUSY);
    T_OK(strstr(r.message, "is being received already") != NULL, "%s",
         r.message);
}

static void test_denied_peer_on_plain_port_gets_denied(void)
{
    struct buf *b = frames();
    struct replies r;

    /* relocd-allow-insecure: no TLS, but the allow-list still applies. */
    hello(b);
    serve("(relocd-allow-insecure yes)\n"
          "(xend-relocation-hosts-allow '^10\\\\.9\\\\.')\n",
          b, 0, &r);
    expect_error(__func__, &r, 0, PERR_DENIED);
}

static void test_allowed_peer_on_plain_port_is_served(void)
{
    struct buf *b = frames();
    struct replies r;

    hello(b);
    serve("(relocd-allow-insecure yes)\n"
          "(xend-relocation-hosts-allow '^10\\\\.9\\\\. "
          "^127\\\\.0\\\\.0\\\\.1$')\n",
          b, 0, &r);
    T_EQ_INT(r.n, 1);
    T_EQ_INT(r.type[0], PROTO_HELLO);
}

int main(void)
{
    log_init("test_session", 0, 0); /* the replies say it all */
    test_hello_is_answered_with_hello();
    test_name_being_received_is_busy();
    test_preflight_before_hello_is_unexpected();
    test_migrate_before_preflight_is_unexpected();
    test_second_hello_is_unexpected();
    test_server_only_frame_from_client_is_unexpected();
    test_unknown_type_is_unexpected();
    test_hello_from_the_future_is_version_mismatch();
    test_hello_not_json_is_bad_message();
    test_oversized_frame_is_bad_frame();
    test_nonzero_flags_after_hello_is_bad_frame();
    test_peer_error_ends_without_reply();
    test_unknown_mode_is_bad_message();
    test_foreign_flag_is_bad_flags();
    test_failed_preflight_blocks_migrate();
    test_guest_policy_blocks_migrate();
    test_preflight_may_repeat();
    test_preflight_without_config_is_bad_message();
    test_no_free_slot_is_busy();
    test_denied_peer_on_plain_port_gets_denied();
    test_allowed_peer_on_plain_port_is_served();
    return t_done("test_session");
}
