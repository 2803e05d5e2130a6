/*
 * test_peer.c - who the peer is (peer_addr_text) and whether the allow-list
 * admits it (peer_allowed), with xend's re.match semantics.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/un.h>

#include "config/acl.h"
#include "relocd/peer.h"
#include "t.h"

static void quiet_warn(void *arg, const char *msg)
{
    (void)arg;
    (void)msg;
}

static const struct conf_opts quiet = {quiet_warn, NULL};

static struct acl *compile(const char *hosts_allow)
{
    struct acl *acl = NULL;
    char err[256];

    if (acl_compile(hosts_allow, &acl, err, sizeof(err), &quiet) < 0)
        T_OK(0, "acl_compile(\"%s\"): %s", hosts_allow, err);
    return acl;
}

/* The text peer_addr_text() gives for an address family and text form. */
static const char *text_of(int af, const char *addr)
{
    static char ip[64];
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    const struct sockaddr *sa;
    socklen_t len;

    if (af == AF_INET) {
        inet_pton(AF_INET, addr, &s4.sin_addr);
        sa = (const struct sockaddr *)&s4;
        len = sizeof(s4);
    } else {
        inet_pton(AF_INET6, addr, &s6.sin6_addr);
        sa = (const struct sockaddr *)&s6;
        len = sizeof(s6);
    }
    snprintf(ip, sizeof(ip), "(failed)");
    if (peer_addr_text(sa, len, ip, sizeof(ip)) < 0) return "(failed)";
    return ip;
}

/* The decision for a connection from addr whose reverse name is fqdn. */
static int admits(const char *hosts_allow, int af, const char *addr,
                  const char *fqdn)
{
    struct acl *acl = compile(hosts_allow);
    char used[256];
    int r = peer_allowed(acl, text_of(af, addr), fqdn, -1, used, sizeof(used));

    acl_free(acl);
    return r;
}

static void test_addr_text_ipv4(void)
{
    T_EQ_STR(text_of(AF_INET, "10.0.0.1"), "10.0.0.1");
    T_EQ_STR(text_of(AF_INET, "0.0.0.0"), "0.0.0.0");
    T_EQ_STR(text_of(AF_INET, "255.255.255.255"), "255.255.255.255");
}

static void test_addr_text_ipv6_is_canonical(void)
{
    T_EQ_STR(text_of(AF_INET6, "fe80:0:0:0:0:0:0:1"), "fe80::1");
    T_EQ_STR(text_of(AF_INET6, "2001:DB8::A"), "2001:db8::a");
    T_EQ_STR(text_of(AF_INET6, "::1"), "::1");
}

static void test_addr_text_v4_mapped_is_dotted_quad(void)
{
    T_EQ_STR(text_of(AF_INET6, "::ffff:10.0.0.1"), "10.0.0.1");
    T_EQ_STR(text_of(AF_INET6, "::ffff:127.0.0.1"), "127.0.0.1");
    /* Only the mapped form: the old "compatible" one stays IPv6. */
    T_EQ_STR(text_of(AF_INET6, "::10.0.0.1"), "::10.0.0.1");
    T_EQ_STR(text_of(AF_INET6, "::fffe:10.0.0.1"), "::fffe:a00:1");
}

static void test_addr_text_rejects_other_families(void)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    char ip[64];

    errno = 0;
    T_EQ_INT(
        peer_addr_text((struct sockaddr *)&sun, sizeof(sun), ip, sizeof(ip)),
        -1);
    T_EQ_INT(errno, EAFNOSUPPORT);
}

static void test_addr_text_rejects_short_sockaddr(void)
{
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    char ip[64];

    errno = 0;
    T_EQ_INT(
        peer_addr_text((struct sockaddr *)&s4, sizeof(s4) - 1, ip, sizeof(ip)),
        -1);
    T_EQ_INT(errno, EAFNOSUPPORT);
    errno = 0;
    /* A sockaddr_in's worth of a v6 address is not a v6 address. */
    T_EQ_INT(peer_addr_text((struct sockaddr *)&s6, sizeof(s4), ip, sizeof(ip)),
             -1);
    T_EQ_INT(errno, EAFNOSUPPORT);
}

static void test_addr_text_too_small_is_enospc(void)
{
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    char ip[8];

    inet_pton(AF_INET, "192.168.100.200", &s4.sin_addr);
    errno = 0;
    T_EQ_INT(peer_addr_text((struct sockaddr *)&s4, sizeof(s4), ip, sizeof(ip)),
             -1);
    T_EQ_INT(errno, ENOSPC);
}

static void test_empty_list_admits_everyone(void)
{
    T_EQ_INT(admits("", AF_INET, "192.0.2.7", "anyone.example.org"), 1);
    T_EQ_INT(admits("", AF_INET6, "2001:db8::7", "x"), 1);
}

static void test_null_acl_admits_and_reports_the_address(void)
{
    char used[64] = "";

    T_EQ_INT(peer_allowed(NULL, "192.0.2.7", NULL, -1, used, sizeof(used)), 1);
    T_EQ_STR(used, "192.0.2.7");
}

static void test_address_pattern_matches_address(void)
{
    T_EQ_INT(admits("10\\.0\\.0\\.1", AF_INET, "10.0.0.1", "b.example"), 1);
    T_EQ_INT(admits("10\\.0\\.0\\.1", AF_INET, "10.0.0.2", "b.example"), 0);
}

static void test_pattern_is_anchored_at_start_only(void)
{
    /* re.match: '10\.0\.0\.1' also admits 10.0.0.10 ... */
    T_EQ_INT(admits("10\\.0\\.0\\.1", AF_INET, "10.0.0.10", "x"), 1);
    /* ... but not an address that merely contains it. */
    T_EQ_INT(admits("0\\.0\\.1", AF_INET, "10.0.0.1", "x"), 0);
    /* '$' closes it. */
    T_EQ_INT(admits("10\\.0\\.0\\.1$", AF_INET, "10.0.0.10", "x"), 0);
}

static void test_name_patterns_use_the_fqdn(void)
{
    T_EQ_INT(admits("example\\.org", AF_INET, "192.0.2.1", "example.org"), 1);
    T_EQ_INT(admits("example\\.org", AF_INET, "192.0.2.1", "node.example.org"),
             0);
    T_EQ_INT(
        admits(".*\\.example\\.org$", AF_INET, "192.0.2.1", "node.example.org"),
        1);
    T_EQ_INT(admits(".*\\.example\\.org$", AF_INET, "192.0.2.1",
                    "node.example.org.evil.net"),
             0);
}

static void test_any_of_several_patterns(void)
{
    const char *list = "^a\\.example$ 10\\.1\\. ^fe80::";

    T_EQ_INT(admits(list, AF_INET, "10.9.9.9", "a.example"), 1);
    T_EQ_INT(admits(list, AF_INET, "10.1.2.3", "z.example"), 1);
    T_EQ_INT(admits(list, AF_INET6, "fe80::9", "z.example"), 1);
    T_EQ_INT(admits(list, AF_INET, "10.9.9.9", "z.example"), 0);
}

static void test_v4_mapped_peer_matches_v4_pattern(void)
{
    T_EQ_INT(admits("10\\.0\\.0\\.1$", AF_INET6, "::ffff:10.0.0.1", "x"), 1);
    T_EQ_INT(admits("10\\.0\\.0\\.1$", AF_INET6, "::ffff:10.0.0.2", "x"), 0);
    /* Nobody writes "::ffff:" in an xend allow-list; it must not matter. */
    T_EQ_INT(admits("::ffff:", AF_INET6, "::ffff:10.0.0.1", "x"), 0);
}

static void test_ipv6_pattern_matches_canonical_text(void)
{
    T_EQ_INT(admits("fe80::1$", AF_INET6, "fe80:0000::0001", "x"), 1);
    T_EQ_INT(admits("FE80::1$", AF_INET6, "fe80::1", "x"), 0);
}

static void test_used_name_is_reported_for_the_log(void)
{
    struct acl *acl = compile("^allowed\\.example$");
    char used[64] = "";

    T_EQ_INT(peer_allowed(acl, "192.0.2.1", "denied.example", -1, used,
                          sizeof(used)),
             0);
    T_EQ_STR(used, "denied.example");
    T_EQ_INT(peer_allowed(acl, "192.0.2.1", "allowed.example", -1, used,
                          sizeof(used)),
             1);
    T_EQ_STR(used, "allowed.example");
    /* A short buffer is truncated, not overrun; a NULL one is skipped. */
    T_EQ_INT(peer_allowed(acl, "192.0.2.1", "denied.example", -1, used, 4), 0);
    T_EQ_STR(used, "den");
    T_EQ_INT(peer_allowed(acl, "192.0.2.1", "allowed.example", -1, NULL, 99),
             1);
    T_EQ_INT(peer_allowed(acl, "192.0.2.1", "allowed.example", -1, used, 0), 1);
    acl_free(acl);
}

static void test_address_match_needs_no_dns(void)
{
    struct acl *acl = compile("127\\.");
    char used[64] = "";

    /* The address alone is allowed: no reverse lookup (used stays the IP). */
    T_EQ_INT(peer_allowed(acl, "127.0.0.1", NULL, -1, used, sizeof(used)), 1);
    T_EQ_STR(used, "127.0.0.1");
    acl_free(acl);
}

static void test_no_reverse_name_falls_back_to_address(void)
{
    struct acl *acl = compile("^nothing$");
    char used[64] = "", fq[64] = "";

    /* Not an address at all: getfqdn() gives the text itself back. */
    T_EQ_INT(peer_fqdn("not-an-address", fq, sizeof(fq)), 0);
    T_EQ_STR(fq, "not-an-address");
    T_EQ_INT(peer_allowed(acl, "not-an-address", NULL, -1, used, sizeof(used)),
             0);
    T_EQ_STR(used, "not-an-address");
    acl_free(acl);
}

/*
 * An allow-list of exactly loopback's reverse name, written into fq; NULL
 * where 127.0.0.1 has none.  /etc/hosts names it on every host this runs on.
 */
static struct acl *loopback_name_acl(char *fq, size_t fqlen)
{
    char pat[300];

    peer_fqdn("127.0.0.1", fq, fqlen);
    if (!strcmp(fq, "127.0.0.1")) return NULL;
    snprintf(pat, sizeof(pat), "^%s$", fq);
    return compile(pat);
}

static void test_reverse_name_of_loopback_is_matched(void)
{
    char fq[256], used[256] = "";
    struct acl *acl = loopback_name_acl(fq, sizeof(fq));

    if (!acl) return;
    T_EQ_INT(peer_allowed(acl, "127.0.0.1", NULL, -1, used, sizeof(used)), 1);
    T_EQ_STR(used, fq);
    /* The same answer from the lookup child, within a deadline. */
    used[0] = '\0';
    T_EQ_INT(peer_allowed(acl, "127.0.0.1", NULL, 5000, used, sizeof(used)), 1);
    T_EQ_STR(used, fq);
    acl_free(acl);
}

/* A forward zone that gives every name another host's address. */
static int forward_elsewhere(const char *name, int af, struct addrinfo **res)
{
    struct addrinfo hints = {.ai_family = af, .ai_flags = AI_NUMERICHOST};

    (void)name;
    return getaddrinfo(af == AF_INET ? "192.0.2.99" : "2001:db8::99", NULL,
                       &hints, res);
}

static void test_unconfirmed_reverse_name_is_not_believed(void)
{
    int (*real)(const char *, int, struct addrinfo **) = peer_forward_lookup;
    char fq[256], used[256] = "";
    struct acl *acl = loopback_name_acl(fq, sizeof(fq));

    if (!acl) return;
    peer_forward_lookup = forward_elsewhere;
    T_EQ_INT(peer_allowed(acl, "127.0.0.1", NULL, -1, used, sizeof(used)), 0);
    T_EQ_STR(used, "127.0.0.1");
    /* The lookup child inherits the resolver: the same answer there. */
    T_EQ_INT(peer_allowed(acl, "127.0.0.1", NULL, 5000, used, sizeof(used)), 0);
    T_EQ_STR(used, "127.0.0.1");
    peer_forward_lookup = real;
    acl_free(acl);
}

static void test_lookup_within_deadline(void)
{
    char fq[256], bounded[256];

    peer_fqdn("127.0.0.1", fq, sizeof(fq));
    T_EQ_INT(peer_fqdn_within("127.0.0.1", 5000, bounded, sizeof(bounded)), 0);
    T_EQ_STR(bounded, fq);
}

int main(void)
{
    test_addr_text_ipv4();
    test_addr_text_ipv6_is_canonical();
    test_addr_text_v4_mapped_is_dotted_quad();
    test_addr_text_rejects_other_families();
    test_addr_text_rejects_short_sockaddr();
    test_addr_text_too_small_is_enospc();
    test_empty_list_admits_everyone();
    test_null_acl_admits_and_reports_the_address();
    test_address_pattern_matches_address();
    test_pattern_is_anchored_at_start_only();
    test_name_patterns_use_the_fqdn();
    test_any_of_several_patterns();
    test_v4_mapped_peer_matches_v4_pattern();
    test_ipv6_pattern_matches_canonical_text();
    test_used_name_is_reported_for_the_log();
    test_lookup_within_deadline();
    test_address_match_needs_no_dns();
    test_no_reverse_name_falls_back_to_address();
    test_reverse_name_of_loopback_is_matched();
    test_unconfirmed_reverse_name_is_not_believed();
    return t_done("test_peer");
}
