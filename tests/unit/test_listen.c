/*
 * test_listen.c - what the parent judges of a deferred TLS connection
 * before any session exists: the first byte, peeked and left in place.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relocd/listen.h"
#include "wire/tcp.h"
#include "t.h"

/* A connected pair; what the peer sent, if anything, already written. */
static int pair_with(const char *bytes, size_t n, int close_peer)
{
    int sp[2];

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) < 0) return -1;
    if (n) T_OK(write(sp[1], bytes, n) == (ssize_t)n, "write");
    if (close_peer) close(sp[1]);
    return sp[0];
}

static void test_client_hello_goes_to_a_session(void)
{
    int fd = pair_with("\x16\x03\x01", 3, 0);
    char b[3];

    T_OK(listen_first_byte(fd) == NULL, "a ClientHello refused");
    /* peeked, not read: the session's TLS sees the whole record */
    T_EQ_INT(read(fd, b, sizeof(b)), 3);
    close(fd);
}

static void test_failures_before_authentication(void)
{
    int fd = pair_with("GET / HTTP/1.0\r\n", 16, 0);

    T_EQ_STR(listen_first_byte(fd), "not a TLS client");
    close(fd);
    fd = pair_with("", 0, 1);
    T_EQ_STR(listen_first_byte(fd), "closed before its handshake");
    close(fd);
}

/* Not TCP: no SYN-ACK was resent, so silence is not judged here. */
static void test_silence_without_defer_window(void)
{
    int fd = pair_with("", 0, 0);

    T_OK(listen_first_byte(fd) == NULL, "silence judged without defer");
    close(fd);
}

static int opt(int fd, int level, int name)
{
    int v = -1;
    socklen_t len = sizeof(v);

    return getsockopt(fd, level, name, &v, &len) < 0 ? -1 : v;
}

/*
 * A connection comes out of accept(2) with keepalive and the user timeout
 * of a migration socket, set once on the listening socket (the parent no
 * longer spends system calls on each connection, issue 13).
 */
static void test_accepted_connections_are_tuned(void)
{
    struct listen_set set = {{0}, {0}, 0};
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    char err[256] = "";
    int c, a;

    T_EQ_INT(listen_open(&set, "127.0.0.1", 0, 1, err, sizeof(err)), 0);
    T_OK(set.n == 1, "%u sockets: %s", set.n, err);
    if (set.n != 1) return;
    T_OK(getsockname(set.fd[0], (struct sockaddr *)&sa, &len) == 0, "name");
    c = socket(AF_INET, SOCK_STREAM, 0);
    T_OK(connect(c, (struct sockaddr *)&sa, len) == 0, "connect");
    usleep(100000);
    a = accept(set.fd[0], NULL, NULL);
    T_OK(a >= 0, "accept");
    T_EQ_INT(opt(a, SOL_SOCKET, SO_KEEPALIVE), 1);
    T_EQ_INT(opt(a, IPPROTO_TCP, TCP_KEEPIDLE), TCP_KEEP_IDLE_S);
    T_EQ_INT(opt(a, IPPROTO_TCP, TCP_KEEPINTVL), TCP_KEEP_INTVL_S);
    T_EQ_INT(opt(a, IPPROTO_TCP, TCP_KEEPCNT), TCP_KEEP_CNT);
    T_EQ_INT(opt(a, IPPROTO_TCP, TCP_USER_TIMEOUT), TCP_USER_TIMEOUT_MS);
    close(a);
    close(c);
    close(set.fd[0]);
}

int main(void)
{
    test_client_hello_goes_to_a_session();
    test_failures_before_authentication();
    test_silence_without_defer_window();
    test_accepted_connections_are_tuned();
    return t_done("test_listen");
}
