/*
 * test_listen.c - what the parent judges of a deferred TLS connection
 * before any session exists: the first byte, peeked and left in place.
 */
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relocd/listen.h"
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

int main(void)
{
    test_client_hello_goes_to_a_session();
    test_failures_before_authentication();
    test_silence_without_defer_window();
    return t_done("test_listen");
}
