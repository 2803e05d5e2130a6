/* test_client.c - target parsing as admins type it (host, host:port, v6). */
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

int main(void)
{
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
