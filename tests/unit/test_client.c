/*
 * test_client.c - target parsing as admins type it (host, host:port, v6),
 * and what a failed connect says.
 */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "wire/client.h"
#include "t.h"

static void target(const char *t, int rc, const char *host, int port)
{
    char h[64] = "";
    int p = 8002;

    T_EQ_INT(client_parse_target(t, h, sizeof(h), &p), rc);
    if (rc == 0) {
        T_EQ_STR(h, host);
        T_EQ_INT(p, port);
    }
}

/* A port nobody listens on: refused at once, and said so (not "timed out"). */
static void test_refused_connect_says_refused(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    struct client_opts o = {"127.0.0.1", 0, NULL, 5000, "test"};
    struct client *cl;
    char err[256] = "";
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    /* a port just freed: bound, never listened on */
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return;
    o.port = ntohs(sa.sin_port);
    close(fd);
    cl = client_open(&o, NULL, err, sizeof(err));
    T_OK(cl == NULL, "connected to a closed port");
    T_OK(strstr(err, "Connection refused") != NULL, "%s", err);
    client_free(cl);
}

int main(void)
{
    test_refused_connect_says_refused();
    target("host-b", 0, "host-b", 8002);
    target("host-b:9002", 0, "host-b", 9002);
    target("10.0.0.2:8003", 0, "10.0.0.2", 8003);
    target("[fe80::1]:8003", 0, "fe80::1", 8003);
    target("[fe80::1]", 0, "fe80::1", 8002);
    target("fe80::1", 0, "fe80::1", 8002);
    target("host:0", -1, "", 0);
    target("host:65536", -1, "", 0);
    target("host:", -1, "", 0);
    target("host:80x", -1, "", 0);
    target(":80", -1, "", 0);
    target("[fe80::1", -1, "", 0);
    target("[fe80::1]x", -1, "", 0);
    target("", -1, "", 0);
    target("a-very-long-host-name-that-does-not-fit-in-the-small-buffer-of-"
           "this-test",
           -1, "", 0);
    return t_done("test_client");
}
