/*
 * test_gate.c - the stream's head held against the pre-flight (gate.c):
 * the config comparison, the head passed only when it matches, and the
 * feeder that moves the rest of a TCP stream into the receiver's pipe.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "relocd/gate.h"
#include "wire/buf.h"
#include "wire/chan.h"
#include "wire/fdio.h"
#include "wire/xlstream.h"
#include "t.h"

#define CONFIG "{\"c_info\":{\"name\":\"g1\"},\"b_info\":{\"max_memkb\":1024}}"
#define OTHER "{\"c_info\":{\"name\":\"g1\"},\"b_info\":{\"max_memkb\":9999}}"

/* An xl save header with json: a buf the caller frees. */
static struct buf *head_of(const char *json)
{
    struct buf *b = buf_new(XLS_HDR_LEN + XLS_MAX_OPTIONAL);

    if (!b || xls_put_header(b, json) < 0) abort();
    return b;
}

static void test_config_must_be_the_preflighted_one(void)
{
    struct buf *b = head_of(CONFIG);
    const uint8_t *opt = buf_ptr(b) + XLS_HDR_LEN;
    size_t optlen = buf_len(b) - XLS_HDR_LEN;
    char err[256] = "";

    T_EQ_INT(gate_check_config(opt, optlen, CONFIG, err, sizeof(err)), 0);
    T_EQ_INT(gate_check_config(opt, optlen, OTHER, err, sizeof(err)), -1);
    T_OK(strstr(err, "not the one pre-flighted") &&
             strstr(err, "first difference at byte 46"),
         "%s", err);
    /* A prefix is not the same config either. */
    T_EQ_INT(gate_check_config(opt, optlen, "{\"c_info\"", err, sizeof(err)),
             -1);
    T_EQ_INT(gate_check_config(opt, optlen, NULL, err, sizeof(err)), -1);
    T_OK(strstr(err, "no PREFLIGHT") != NULL, "%s", err);
    /* Optional data that holds no config. */
    T_EQ_INT(gate_check_config(opt, 3, CONFIG, err, sizeof(err)), -1);
    buf_free(b);
}

/*
 * Sends a head with json and some stream bytes after it into a chan;
 * returns what gate_pass_head() passed to the receiver's pipe (*got_r
 * bytes in got) and its result.
 */
static int pass(const char *json, const char *preflighted, uint8_t *got,
                size_t *got_r, char *err, size_t errlen)
{
    struct buf *b = head_of(json);
    int sv[2], pp[2], rc;
    struct chan *c;
    ssize_t n;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(pp) < 0) abort();
    buf_put(b, "STREAM", 6);
    if (fdio_write_all(sv[1], buf_ptr(b), buf_len(b)) < 0) abort();
    c = chan_new(sv[0]);
    rc = gate_pass_head(c, pp[1], preflighted, 2000, err, errlen);
    close(pp[1]);
    n = read(pp[0], got, 65536);
    *got_r = n > 0 ? (size_t)n : 0;
    /* The stream's first byte stays for the feeder. */
    T_EQ_INT(chan_read_exact(c, got + *got_r, 6), PERR_OK);
    T_OK(!memcmp(got + *got_r, "STREAM", 6), "the head took stream bytes");
    close(pp[0]);
    close(sv[1]);
    chan_free(c);
    buf_free(b);
    return rc;
}

static void test_head_passes_only_when_it_matches(void)
{
    static uint8_t got[65536 + 6];
    char err[256] = "";
    size_t n;

    T_EQ_INT(pass(CONFIG, CONFIG, got, &n, err, sizeof(err)), 0);
    T_EQ_INT(n, XLS_HDR_LEN + 4 + strlen(CONFIG) + 1);
    T_OK(!memcmp(got, XLS_MAGIC, XLS_MAGIC_LEN), "the head is xl's");
    T_EQ_INT(pass(OTHER, CONFIG, got, &n, err, sizeof(err)), -1);
    T_EQ_INT(n, 0);
    T_OK(strstr(err, "not the one pre-flighted") != NULL, "%s", err);
}

/* A connected TCP pair on loopback: *a_r the client, *b_r the server. */
static void tcp_pair(int *a_r, int *b_r)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t len = sizeof(sa);
    int l = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l < 0 || bind(l, (struct sockaddr *)&sa, len) < 0 || listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&sa, &len) < 0)
        abort();
    *a_r = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(*a_r, (struct sockaddr *)&sa, len) < 0) abort();
    *b_r = accept(l, NULL, NULL);
    close(l);
}

/* 32 MiB through the feeder, every byte where it belongs. */
static void test_feed_moves_every_byte(void)
{
    static uint32_t block[16384];
    const unsigned blocks = 512; /* of 64 KiB */
    unsigned i, j, bad = 0;
    uint64_t total = 0;
    int a, b, pp[2], status;
    pid_t writer, feeder;

    tcp_pair(&a, &b);
    if (pipe(pp) < 0) abort();
    writer = fork();
    if (writer == 0) {
        for (i = 0; i < blocks; i++) {
            for (j = 0; j < 16384; j++)
                block[j] = i * 16384 + j;
            if (fdio_write_all(a, block, sizeof(block)) < 0) _exit(1);
        }
        _exit(0);
    }
    close(a);
    /* As the session runs it: a non-blocking socket, a blocking pipe. */
    fcntl(pp[1], F_SETPIPE_SZ, 1024 * 1024);
    feeder = fork();
    if (feeder == 0) _exit(gate_feed(b, pp[1], NULL) ? 1 : 0);
    close(b);
    close(pp[1]);
    for (i = 0; i < blocks; i++) {
        if (fdio_read_exact(pp[0], block, sizeof(block)) < 0) break;
        for (j = 0; j < 16384; j++)
            bad += block[j] != i * 16384 + j;
        total += sizeof(block);
    }
    T_EQ_INT(total, (uint64_t)blocks * sizeof(block));
    T_EQ_INT(bad, 0);
    T_EQ_INT(read(pp[0], block, 1), 0);
    close(pp[0]);
    waitpid(writer, &status, 0);
    T_OK(WIFEXITED(status) && !WEXITSTATUS(status), "writer failed");
    waitpid(feeder, &status, 0);
    T_OK(WIFEXITED(status) && !WEXITSTATUS(status), "feeder failed");
}

int main(void)
{
    test_config_must_be_the_preflighted_one();
    test_head_passes_only_when_it_matches();
    test_feed_moves_every_byte();
    return t_done("test_gate");
}
