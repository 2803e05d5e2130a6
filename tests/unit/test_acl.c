/*
 * test_acl.c - xend-relocation-hosts-allow with xend's semantics
 * (relocate.py listenRelocation(), connection.py hostAllowed()).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/acl.h"
#include "t.h"

static int nwarn;
static char lastwarn[512];

static void grab_warn(void *arg, const char *msg)
{
    (void)arg;
    nwarn++;
    snprintf(lastwarn, sizeof(lastwarn), "%s", msg);
}

static const struct conf_opts quiet = {grab_warn, NULL};

static struct acl *compile(const char *hosts_allow)
{
    struct acl *acl = NULL;
    char err[256];

    nwarn = 0;
    if (acl_compile(hosts_allow, &acl, err, sizeof(err), &quiet) < 0)
        T_OK(0, "acl_compile(\"%s\"): %s", hosts_allow, err);
    return acl;
}

/* 1 when hosts_allow admits the peer. */
static int allows(const char *hosts_allow, const char *ip, const char *fqdn)
{
    struct acl *acl = compile(hosts_allow);
    int r = acl_match(acl, ip, fqdn);

    acl_free(acl);
    return r;
}

static const char *compile_error(const char *hosts_allow)
{
    static char err[256];
    struct acl *acl = NULL;

    err[0] = '\0';
    T_EQ_INT(acl_compile(hosts_allow, &acl, err, sizeof(err), &quiet), -1);
    T_OK(acl == NULL, "acl set on error");
    acl_free(acl);
    return err;
}

/* hosts_allow == '' -> None -> everyone */
static void test_everyone(void)
{
    struct acl *acl = compile("");

    T_OK(acl == NULL, "empty value compiles to NULL");
    T_EQ_INT(acl_match(NULL, "192.0.2.1", NULL), 1);
    T_EQ_INT(acl_match(NULL, NULL, NULL), 1);
    T_EQ_INT(acl_count(NULL), 0);
    T_EQ_INT(acl_compile(NULL, &acl, NULL, 0, &quiet), 0);
    T_OK(acl == NULL, "NULL value compiles to NULL");
    acl_free(NULL);
}

/* re.match(): anchored at the start, not at the end */
static void test_re_match(void)
{
    T_EQ_INT(allows("node", "192.0.2.1", "node1.example.org"), 1);
    T_EQ_INT(allows("node", "192.0.2.1", "xnode.example.org"), 0);
    T_EQ_INT(allows("^node$", "192.0.2.1", "node1"), 0);
    T_EQ_INT(allows("^node$", "192.0.2.1", "node"), 1);
    /* the classic mistake: no leading .* means no match on a subdomain */
    T_EQ_INT(allows("example\\.org", "192.0.2.1", "node.example.org"), 0);
    T_EQ_INT(allows(".*\\.example\\.org$", "192.0.2.1", "node.example.org"), 1);
    T_EQ_INT(allows(".*\\.example\\.org$", "192.0.2.1", "node.example.org.x"),
             0);
    /* no end anchor: a prefix of the address admits more than one host */
    T_EQ_INT(allows("10\\.0\\.0\\.1", "10.0.0.10", NULL), 1);
    T_EQ_INT(allows("10\\.0\\.0\\.1$", "10.0.0.10", NULL), 0);
    /* '.' is any character, as in Python */
    T_EQ_INT(allows("10.0.0.1", "10a0b0c1", NULL), 1);
    /* anchoring applies to every alternative, as re.match did */
    T_EQ_INT(allows("x|bar", "192.0.2.1", "foobar"), 0);
    T_EQ_INT(allows("x|bar", "192.0.2.1", "barfoo"), 1);
    /* case matters, as for re.compile() without flags */
    T_EQ_INT(allows("^Node", "192.0.2.1", "node"), 0);
    T_EQ_INT(allows("(?i)^Node", "192.0.2.1", "node"), 1);
    /* the xend sample */
    T_EQ_INT(allows("^localhost$ ^localhost\\.localdomain$", "127.0.0.1",
                    "localhost"),
             1);
    T_EQ_INT(allows("^localhost$ ^localhost\\.localdomain$", "127.0.0.1",
                    "localhost.localdomain"),
             1);
    T_EQ_INT(allows("^localhost$ ^localhost\\.localdomain$", "127.0.0.1", NULL),
             0);
}

/* h.match(fqdn) or h.match(addr), for each pattern in turn */
static void test_name_or_ip(void)
{
    const char *allow = "^10\\.1\\. ^node[0-9]+\\.example\\.org$";
    struct acl *acl = compile(allow);

    T_EQ_INT(acl_count(acl), 2);
    T_EQ_INT(acl_match(acl, "10.1.2.3", NULL), 1);
    T_EQ_INT(acl_match(acl, "10.1.2.3", "evil.example.net"), 1);
    T_EQ_INT(acl_match(acl, "192.0.2.1", "node7.example.org"), 1);
    T_EQ_INT(acl_match(acl, "192.0.2.1", "node7.example.org.evil"), 0);
    T_EQ_INT(acl_match(acl, "192.0.2.1", NULL), 0);
    T_EQ_INT(acl_match(acl, NULL, "node1.example.org"), 1);
    T_EQ_INT(acl_match(acl, NULL, NULL), 0);
    acl_free(acl);
}

static void test_addresses(void)
{
    const char *v4 = "^10\\.0\\.0\\.1$";

    /* IPv4-mapped IPv6 is matched as the dotted quad */
    T_EQ_INT(allows(v4, "::ffff:10.0.0.1", NULL), 1);
    T_EQ_INT(allows(v4, "::FFFF:10.0.0.1", NULL), 1);
    T_EQ_INT(allows(v4, "::ffff:10.0.0.2", NULL), 0);
    T_EQ_INT(allows("::ffff:", "::ffff:10.0.0.1", NULL), 0);
    /* IPv6 in its canonical text form */
    T_EQ_INT(allows("^2001:db8::1$", "2001:db8::1", NULL), 1);
    T_EQ_INT(allows("^2001:db8::1$", "2001:DB8:0:0::1", NULL), 1);
    T_EQ_INT(allows("^2001:db8:", "2001:db8:1::5", NULL), 1);
    T_EQ_INT(allows("^fe80::1%eth0$", "fe80::1%eth0", NULL), 1);
    T_EQ_INT(allows("^::1$", "::1", "localhost"), 1);
    /* anything else is matched as given */
    T_EQ_INT(allows("^not-an-ip$", "not-an-ip", NULL), 1);
}

/*
 * split(" "): only a space separates; xend made '' of an empty piece,
 * which matched everyone.  Here it is dropped with a warning.
 */
static void test_split(void)
{
    struct acl *acl = compile("^a$  ^b$");

    T_EQ_INT(acl_count(acl), 2);
    T_EQ_INT(nwarn, 1);
    T_OK(strstr(lastwarn, "warning: xend-relocation-hosts-allow: empty "
                          "pattern") == lastwarn,
         "%s", lastwarn);
    T_EQ_INT(acl_match(acl, "192.0.2.1", "c"), 0);
    T_EQ_INT(acl_match(acl, "192.0.2.1", "b"), 1);
    acl_free(acl);
    acl = compile(" ^a$ ");
    T_EQ_INT(acl_count(acl), 1);
    T_EQ_INT(nwarn, 2);
    T_EQ_INT(acl_match(acl, "192.0.2.1", "zzz"), 0);
    acl_free(acl);
    /* nothing but spaces: no pattern, no one admitted */
    acl = compile("  ");
    T_OK(acl != NULL, "compiled");
    T_EQ_INT(acl_count(acl), 0);
    T_EQ_INT(nwarn, 4);
    T_OK(strstr(lastwarn, "every peer will be rejected") != NULL, "%s",
         lastwarn);
    T_EQ_INT(acl_match(acl, "192.0.2.1", "a"), 0);
    acl_free(acl);
    /* a tab is part of a pattern, as in xend */
    acl = compile("^a\tb$");
    T_EQ_INT(acl_count(acl), 1);
    T_EQ_INT(nwarn, 0);
    T_EQ_INT(acl_match(acl, "192.0.2.1", "a\tb"), 1);
    T_EQ_INT(acl_match(acl, "192.0.2.1", "a"), 0);
    acl_free(acl);
}

/* What re.match() admits beyond the obvious is said at compile time. */
static void test_prefix_warnings(void)
{
    struct acl *acl = compile("^10\\.0\\.0\\.1");

    T_EQ_INT(nwarn, 1);
    T_EQ_STR(lastwarn,
             "warning: xend-relocation-hosts-allow: '^10\\.0\\.0\\.1' "
             "also admits 10.0.0.10 and 10.0.0.1.attacker.example (a "
             "pattern matches the start of an address or name, as in "
             "xend); end it with '$' to admit 10.0.0.1 alone");
    T_EQ_INT(acl_match(acl, "10.0.0.100", NULL), 1); /* still xend's meaning */
    acl_free(acl);
    acl_free(compile("node-a"));
    T_EQ_INT(nwarn, 1);
    T_OK(strstr(lastwarn, "'node-a' also admits node-a0 and "
                          "node-a.attacker.example") != NULL,
         "%s", lastwarn);
    acl_free(compile("^node[0-9]+"));
    T_EQ_INT(nwarn, 0); /* ends in '+' */
    acl_free(compile("^(a|b)1"));
    T_EQ_INT(nwarn, 1);
    T_OK(strstr(lastwarn, "'^(a|b)1' also admits every address or name") !=
             NULL,
         "%s", lastwarn);
    /* anchored, ending in a separator or an escape: nothing to say */
    acl_free(compile("^10\\.0\\.0\\.1$ ^10\\.1\\. ^a\\d ^a\\\\b ^a$|b1"));
    T_EQ_INT(nwarn, 1); /* ^a\\b: a literal backslash, then b */
    acl_free(compile("^10\\.0\\.0\\.1$ ^10\\.1\\. ^a\\d ^a$|b1"));
    T_EQ_INT(nwarn, 0);
}

static void test_bad_patterns(void)
{
    T_EQ_STR(compile_error("x("), "xend-relocation-hosts-allow: bad pattern "
                                  "'x(': missing closing parenthesis at "
                                  "offset 2");
    T_EQ_INT(errno, EINVAL);
    /* the piece at fault is named, not the whole value */
    T_EQ_STR(compile_error("^ok$ *bad"),
             "xend-relocation-hosts-allow: bad pattern '*bad': quantifier "
             "does not follow a repeatable item at offset 0");
    T_EQ_STR(compile_error("[a-"), "xend-relocation-hosts-allow: bad pattern "
                                   "'[a-': missing terminating ] for "
                                   "character class at offset 3");
    /* Python 2 took an unknown escape as the character itself */
    T_EQ_INT(allows("^\\q$", "192.0.2.1", "q"), 1);
    T_EQ_INT(allows("^\\y\\j$", "192.0.2.1", "yj"), 1);
    /* Python syntax that PCRE2 shares */
    T_EQ_INT(allows("^(?P<n>a)(?P=n)$", "192.0.2.1", "aa"), 1);
    T_EQ_INT(allows("^\\d{1,3}\\.", "10.0.0.1", NULL), 1);
}

/* A pattern that backtracks exponentially must not hang the daemon. */
static void test_limits(void)
{
    char name[ACL_MAX_SUBJECT + 2];
    struct timespec t0, t1;
    struct acl *acl = compile("^(a|aa)+$ ^(a*)*b");
    double secs;

    memset(name, 'a', 60);
    strcpy(name + 60, "!");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    T_EQ_INT(acl_match(acl, "192.0.2.1", name), 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    T_OK(secs < 2.0, "match took %.2f s", secs);
    acl_free(acl);
    /* over-long subjects never match */
    acl = compile("a");
    memset(name, 'a', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    T_EQ_INT(acl_match(acl, "192.0.2.1", name), 0);
    name[ACL_MAX_SUBJECT] = '\0';
    T_EQ_INT(acl_match(acl, "192.0.2.1", name), 1);
    acl_free(acl);
}

int main(void)
{
    test_everyone();
    test_re_match();
    test_name_or_ip();
    test_addresses();
    test_split();
    test_prefix_warnings();
    test_bad_patterns();
    test_limits();
    return t_done("test_acl");
}
