/*
 * test_tunnel.c - relocd-tunnel entries, the state file, and the manager's
 * reference counting against a fake system (struct tunnel_ops) that
 * records what would have been created and destroyed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "tunnel/etherip.h"
#include "t.h"
#include "tunnel/conf.h"
#include "tunnel/manager.h"
#include "tunnel/state.h"
#include "tunnel/tunnel.h"

/* --- configuration ------------------------------------------------------ */

static int parse(struct tunnel_cfg *c, const char *spec, char *why)
{
    const char *keys[16], *vals[16];
    char buf[512], *save = NULL, *k, *v;
    size_t n = 0;

    snprintf(buf, sizeof(buf), "%s", spec);
    for (k = strtok_r(buf, " ", &save); k && n < 16;
         k = strtok_r(NULL, " ", &save)) {
        v = strtok_r(NULL, " ", &save);
        keys[n] = k;
        vals[n++] = v ? v : "";
    }
    why[0] = '\0';
    return tunnel_cfg_parse(c, keys, vals, n, why, 256);
}

static void test_cfg(void)
{
    struct tunnel_cfg c;
    char why[256];

    T_EQ_INT(parse(&c, "peer 10.2.0.2 kind vxlan bridge xenbr0 vni 4242", why),
             0);
    T_EQ_INT(c.kind, TUNNEL_VXLAN);
    T_EQ_INT(c.id, 4242);
    T_EQ_INT(c.dstport, 4789);
    T_EQ_INT(c.mtu, TUNNEL_MTU_AUTO);
    T_EQ_INT(c.peer_plen, 32);
    T_EQ_INT(c.on_demand, 1);
    T_EQ_STR(c.bridge, "xenbr0");
    T_EQ_INT(parse(&c, "kind gretap peer 10.2.0.0/16 key 7 mtu 1500", why), 0);
    T_EQ_INT(c.id, 7);
    T_EQ_INT(c.mtu, 1500);
    T_EQ_INT(c.peer_plen, 16);
    T_EQ_INT(parse(&c, "kind etherip peer * local 10.1.0.2", why), 0);
    T_EQ_INT(c.etherip_flags, ETHERIP_F_ACCEPT_REV);
    T_EQ_INT(parse(&c, "kind etherip peer any etherip-reversed send", why), 0);
    T_EQ_INT(c.etherip_flags, ETHERIP_F_ACCEPT_REV | ETHERIP_F_SEND_REV);
    T_EQ_INT(parse(&c, "kind etherip peer any etherip-reversed no", why), 0);
    T_EQ_INT(c.etherip_flags, 0);
    /* etherip-fragment and etherip-reversed set their own bits, any order */
    T_EQ_INT(parse(&c,
                   "kind etherip peer any etherip-fragment yes "
                   "etherip-reversed send",
                   why),
             0);
    T_EQ_INT(c.etherip_flags,
             ETHERIP_F_FRAGMENT | ETHERIP_F_ACCEPT_REV | ETHERIP_F_SEND_REV);
    T_EQ_INT(parse(&c, "kind etherip peer any etherip-fragment no", why), 0);
    T_EQ_INT(c.etherip_flags, ETHERIP_F_ACCEPT_REV);
    T_EQ_INT(parse(&c, "kind etherip peer any etherip-fragment maybe", why),
             -1);
    T_EQ_INT(parse(&c, "kind gretap peer any etherip-fragment yes", why), -1);
    T_EQ_STR(why, "etherip-fragment is for etherip");
    T_EQ_INT(parse(&c,
                   "kind vxlan peer 10.2.0.2 vni 1 port 8472 "
                   "on-demand no bridge br1",
                   why),
             0);
    T_EQ_INT(c.dstport, 8472);
    T_EQ_INT(c.on_demand, 0);

    T_EQ_INT(parse(&c, "kind vxlan peer 10.2.0.2", why), -1);
    T_OK(strstr(why, "vni") != NULL, "%s", why);
    T_EQ_INT(parse(&c, "kind vxlan peer 10.2.0.2 vni 0", why), -1);
    T_EQ_INT(parse(&c, "kind vxlan peer 10.2.0.2 vni 16777216", why), -1);
    T_EQ_INT(parse(&c, "kind vxlan peer 10.2.0.2 vni 12x", why), -1);
    T_EQ_INT(parse(&c, "kind vxlan peer 10.2.0.2 vni -1", why), -1);
    T_EQ_INT(parse(&c, "kind gretap peer 10.2.0.2 vni 5", why), -1);
    T_EQ_INT(parse(&c, "kind vxlan peer 10.2.0.2 vni 5 key 5", why), -1);
    T_EQ_INT(
        parse(&c, "kind vxlan peer 10.2.0.2 vni 5 etherip-reversed no", why),
        -1);
    T_EQ_INT(parse(&c, "kind l2tp peer 10.2.0.2", why), -1);
    T_EQ_INT(parse(&c, "kind etherip", why), -1);
    T_OK(strstr(why, "peer") != NULL, "%s", why);
    T_EQ_INT(parse(&c, "peer 10.2.0.2", why), -1);
    T_EQ_INT(parse(&c, "kind etherip peer 10.2.0.300", why), -1);
    T_EQ_INT(parse(&c, "kind etherip peer 10.2.0.0/33", why), -1);
    T_EQ_INT(parse(&c, "kind etherip peer 10.2.0.2 mtu 67", why), -1);
    T_EQ_INT(parse(&c, "kind etherip peer 10.2.0.2 mtu big", why), -1);
    T_EQ_INT(parse(&c, "kind etherip peer 10.2.0.2 bridge a/b", why), -1);
    T_EQ_INT(parse(&c,
                   "kind etherip peer 10.2.0.2 bridge "
                   "sixteen-chars-xx",
                   why),
             -1);
    T_EQ_INT(parse(&c, "kind etherip peer 10.2.0.2 on-demand maybe", why), -1);
    T_EQ_INT(parse(&c, "kind etherip peer 10.2.0.0/24 on-demand no", why), -1);
    T_EQ_INT(parse(&c, "kind etherip peer 10.2.0.2 colour blue", why), -1);
    T_OK(strstr(why, "colour") != NULL, "%s", why);
}

static void test_match(void)
{
    struct tunnel_cfg c[3];
    char why[256];

    parse(&c[0], "kind vxlan peer 10.2.0.9 vni 9 bridge br9", why);
    parse(&c[1], "kind vxlan peer 10.2.0.1/16 vni 2", why);
    parse(&c[2], "kind etherip peer *", why);
    T_EQ_INT(tunnel_cfg_match(&c[1], "10.2.255.1"), 1);
    T_EQ_INT(tunnel_cfg_match(&c[1], "10.3.0.1"), 0);
    T_EQ_INT(tunnel_cfg_match(&c[0], "10.2.0.9"), 1);
    T_EQ_INT(tunnel_cfg_match(&c[0], "10.2.0.90"), 0);
    T_EQ_INT(tunnel_cfg_match(&c[2], "192.168.1.1"), 1);
    T_EQ_INT(tunnel_cfg_match(&c[2], "nonsense"), 0);
    T_OK(tunnel_cfg_find(c, 3, "10.2.0.9", "br9") == &c[0], "exact first");
    T_OK(tunnel_cfg_find(c, 3, "10.2.0.9", "br0") == &c[1], "bridge filter");
    T_OK(tunnel_cfg_find(c, 3, "172.16.0.1", "br0") == &c[2], "wildcard");
    T_OK(tunnel_cfg_find(c, 2, "172.16.0.1", "br0") == NULL, "none");
}

/* --- the state file ----------------------------------------------------- */

static const char good_state[] =
    "# comment\n"
    "relocd-tunnels 1\n"
    "\n"
    "tunnel rtx00000001 vxlan 10.2.0.2 10.1.0.2 br0 4242 4789 1500 0 0 0\n"
    "holder rtx00000001 6f1c7a2e-0000-4000-8000-000000000001\n"
    "holder rtx00000001 g2\n"
    "tunnel rte00000002 etherip 10.3.0.2 10.1.0.2 br1 0 0 9000 1 4321 "
    "123456789\n"
    "holder rte00000002 g3\n";

static void test_state_parse(void)
{
    struct tunnel_state st, st2;
    char why[256], *text;
    size_t len;

    T_EQ_INT(tunnel_state_parse(good_state, strlen(good_state), &st, why,
                                sizeof(why)),
             0);
    T_EQ_INT(st.n, 2);
    T_EQ_STR(st.v[0].ifname, "rtx00000001");
    T_EQ_INT(st.v[0].kind, TUNNEL_VXLAN);
    T_EQ_INT(st.v[0].nholders, 2);
    T_EQ_STR(st.v[0].holders[1], "g2");
    T_EQ_INT(st.v[1].pid, 4321);
    T_EQ_INT(st.v[1].pid_start, 123456789);
    T_EQ_INT(st.v[1].mtu, 9000);
    T_EQ_INT(st.v[1].etherip_flags, 1);
    /* Formatting and parsing again gives the same text. */
    T_EQ_INT(tunnel_state_format(&st, &text, &len), 0);
    T_EQ_INT(tunnel_state_parse(text, len, &st2, why, sizeof(why)), 0);
    T_EQ_INT(st2.n, 2);
    T_EQ_INT(st2.v[0].nholders, 2);
    T_EQ_STR(st2.v[1].bridge, "br1");
    free(text);
    tunnel_state_clear(&st);
    tunnel_state_clear(&st2);
    T_EQ_INT(tunnel_state_parse("", 0, &st, why, sizeof(why)), 0);
    T_EQ_INT(st.n, 0);
}

static void bad_state(const char *text, const char *expect)
{
    struct tunnel_state st;
    char why[256] = "";

    T_EQ_INT(tunnel_state_parse(text, strlen(text), &st, why, sizeof(why)), -1);
    T_EQ_INT(errno, EINVAL);
    T_OK(strstr(why, expect) != NULL, "'%s' lacks '%s'", why, expect);
    T_EQ_INT(st.n, 0);
}

static void test_state_bad(void)
{
    struct tunnel_state st;
    char why[256];
    static const char nul[] = "relocd-tunnels 1\n\0x";

    bad_state("tunnel x vxlan 1.1.1.1 1.1.1.2 br0 1 4789 1500 0 0 0\n",
              "line 1: bad header");
    bad_state("relocd-tunnels 2\n", "line 1");
    bad_state("# only a comment\n", "no header");
    bad_state("relocd-tunnels 1\nholder rtx1 g1\n", "line 2: bad entry");
    bad_state("relocd-tunnels 1\nbogus\n", "line 2");
    bad_state("relocd-tunnels 1\n"
              "tunnel rtx1 vxlan 10.2.0.2 10.1.0.2 br0 0 4789 1500 0 0 0\n",
              "line 2"); /* VNI 0 */
    bad_state("relocd-tunnels 1\n"
              "tunnel rtx1 ppp 10.2.0.2 10.1.0.2 br0 1 4789 1500 0 0 0\n",
              "line 2");
    bad_state("relocd-tunnels 1\n"
              "tunnel rtx1 vxlan 10.2.0.2 10.1.0.2 br0 1 4789 1500 0 0\n",
              "line 2");
    bad_state("relocd-tunnels 1\n"
              "tunnel rtx1 vxlan 10.2.0.2 10.1.0.2 br0 1 4789 1500 0 0 0 9\n",
              "line 2");
    bad_state("relocd-tunnels 1\n"
              "tunnel rtx1 vxlan 10.2.0.2 10.1.0.2 br0 1 4789 10 0 0 0\n",
              "line 2"); /* MTU */
    bad_state("relocd-tunnels 1\n"
              "tunnel rtx1 vxlan 10.2.0.2 10.1.0.2 br0 1 4789 1500 0 -1 0\n",
              "line 2");
    bad_state("relocd-tunnels 1\n"
              "tunnel rtx1 etherip 10.2.0.2 x br0 0 0 1500 0 0 0\n",
              "line 2");
    bad_state("relocd-tunnels 1\n"
              "tunnel rtx1 etherip 10.2.0.2 10.1.0.2 br0 0 0 1500 0 0 0\n"
              "tunnel rtx1 etherip 10.3.0.2 10.1.0.2 br0 0 0 1500 0 0 0\n",
              "line 3"); /* the same name twice */
    bad_state("relocd-tunnels 1\n"
              "tunnel rtx1 etherip 10.2.0.2 10.1.0.2 br0 0 0 1500 0 0 0\n"
              "holder rtx1 g1\nholder rtx1 g1\n",
              "line 4");
    T_EQ_INT(tunnel_state_parse(nul, sizeof(nul) - 1, &st, why, sizeof(why)),
             -1);
}

/* --- the manager against a fake system ---------------------------------- */

static struct fake {
    int creates, destroys, checks, set_mtus;
    int alive;    /* what check() says */
    int fail;     /* create() fails */
    unsigned mtu; /* the largest port MTU */
    pid_t next_pid;
} fk;

static int f_create(struct tunnel *t, char *why, size_t whylen)
{
    if (fk.fail) {
        snprintf(why, whylen, "kernel: Unknown device type");
        errno = EOPNOTSUPP;
        return -1;
    }
    fk.creates++;
    if (t->kind == TUNNEL_ETHERIP) t->pid = ++fk.next_pid;
    return 0;
}

static int f_destroy(const struct tunnel *t, char *why, size_t whylen)
{
    (void)t, (void)why, (void)whylen;
    fk.destroys++;
    return 0;
}

static int f_check(const struct tunnel *t)
{
    (void)t;
    fk.checks++;
    return fk.alive;
}

static int f_port_mtu(const char *bridge, const char *except, unsigned *mtu_r,
                      char *why, size_t whylen)
{
    (void)except;
    if (!strcmp(bridge, "nobr")) {
        snprintf(why, whylen, "no bridge nobr");
        errno = ENODEV;
        return -1;
    }
    *mtu_r = fk.mtu;
    return 0;
}

static int f_set_mtu(const struct tunnel *t, unsigned mtu, char *why,
                     size_t whylen)
{
    (void)t, (void)mtu, (void)why, (void)whylen;
    fk.set_mtus++;
    return 0;
}

static int f_source(struct in_addr peer, struct in_addr *local_r, char *why,
                    size_t whylen)
{
    (void)peer, (void)why, (void)whylen;
    local_r->s_addr = htonl(0x0a010002);
    return 0;
}

static int f_probe(enum tunnel_kind kind, char *why, size_t whylen)
{
    if (kind != TUNNEL_GRETAP) return 0;
    snprintf(why, whylen, "gretap: Unknown device type");
    errno = EOPNOTSUPP;
    return -1;
}

static const struct tunnel_ops fake_ops = {
    f_create, f_destroy, f_check, f_port_mtu, f_set_mtu, f_source, f_probe,
};

static char dir[64], path[128];
static struct tunnel_cfg vx, eip;

static void fake_reset(void)
{
    memset(&fk, 0, sizeof(fk));
    fk.alive = 1;
    fk.mtu = 1500;
    fk.next_pid = 100;
}

static size_t count(struct tunnel_mgr *m, const char *ifname_prefix,
                    size_t *holders_r)
{
    struct tunnel_state st;
    char why[256];
    size_t i, n = 0;

    *holders_r = 0;
    if (tunnel_list(m, &st, why, sizeof(why)) < 0) return (size_t)-1;
    for (i = 0; i < st.n; i++)
        if (!strncmp(st.v[i].ifname, ifname_prefix, strlen(ifname_prefix))) {
            n++;
            *holders_r += st.v[i].nholders;
        }
    tunnel_state_clear(&st);
    return n;
}

static void test_refcount(void)
{
    struct tunnel_mgr *m = tunnel_mgr_new(path, &fake_ops);
    char why[256] = "";
    size_t h;

    fake_reset();
    T_EQ_INT(tunnel_acquire(m, "10.2.0.2", "br0", &vx, "g1", why, 256), 0);
    T_EQ_INT(fk.creates, 1);
    T_EQ_INT(tunnel_acquire(m, "10.2.0.2", "br0", &vx, "g2", why, 256), 0);
    T_EQ_INT(tunnel_acquire(m, "10.2.0.2", "br0", &vx, "g2", why, 256), 0);
    T_EQ_INT(fk.creates, 1);
    T_EQ_INT(count(m, "rtx", &h), 1);
    T_EQ_INT(h, 2);
    T_EQ_INT(tunnel_release(m, "10.2.0.2", "br0", "g1", why, 256), 0);
    T_EQ_INT(fk.destroys, 0);
    T_EQ_INT(tunnel_release(m, "10.2.0.2", "br0", "g1", why, 256), -1);
    T_EQ_INT(errno, ENOENT);
    T_EQ_INT(tunnel_release(m, "10.2.0.3", "br0", "g2", why, 256), -1);
    T_EQ_INT(errno, ENOENT);
    T_EQ_INT(tunnel_release(m, "10.2.0.2", "br0", "g2", why, 256), 0);
    T_EQ_INT(fk.destroys, 1);
    T_EQ_INT(count(m, "rt", &h), 0);
    /* Bad arguments never touch the state. */
    T_EQ_INT(tunnel_acquire(m, "host-b", "br0", &vx, "g1", why, 256), -1);
    T_EQ_INT(tunnel_acquire(m, "10.2.0.2", "br 0", &vx, "g1", why, 256), -1);
    T_EQ_INT(tunnel_acquire(m, "10.2.0.2", "br0", &vx, "a b", why, 256), -1);
    T_EQ_INT(tunnel_acquire(m, "10.2.0.2", "nobr", &vx, "g1", why, 256), -1);
    T_EQ_INT(errno, ENODEV);
    T_EQ_INT(fk.creates, 1);
    tunnel_mgr_free(m);
}

static void test_clash(void)
{
    struct tunnel_mgr *m = tunnel_mgr_new(path, &fake_ops);
    struct tunnel_cfg other = vx;
    char why[256] = "";

    fake_reset();
    T_EQ_INT(tunnel_acquire(m, "10.2.0.2", "br0", &vx, "g1", why, 256), 0);
    /* The same peer and bridge, but another VNI: not silently shared. */
    other.id = 99;
    T_EQ_INT(tunnel_acquire(m, "10.2.0.2", "br0", &other, "g2", why, 256), -1);
    T_EQ_INT(errno, EEXIST);
    /* The same VNI and port towards another peer: the kernel refuses. */
    T_EQ_INT(tunnel_acquire(m, "10.2.0.3", "br0", &vx, "g2", why, 256), -1);
    T_EQ_INT(errno, EEXIST);
    T_EQ_INT(tunnel_acquire(m, "10.2.0.3", "br0", &other, "g2", why, 256), 0);
    /* EtherIP has no key: one tunnel per pair of addresses. */
    T_EQ_INT(tunnel_acquire(m, "10.3.0.2", "br0", &eip, "g3", why, 256), 0);
    T_EQ_INT(tunnel_acquire(m, "10.3.0.2", "br1", &eip, "g3", why, 256), -1);
    T_EQ_INT(errno, EEXIST);
    T_OK(strstr(why, "one etherip per peer") != NULL, "%s", why);
    T_EQ_INT(tunnel_release_holder(m, "g2", why, 256), 0);
    T_EQ_INT(tunnel_release_holder(m, "g1", why, 256), 0);
    T_EQ_INT(tunnel_release_holder(m, "g3", why, 256), 0);
    T_EQ_INT(fk.destroys, 3);
    tunnel_mgr_free(m);
}

static void test_mtu(void)
{
    struct tunnel_mgr *m = tunnel_mgr_new(path, &fake_ops);
    struct tunnel_cfg fixed = vx;
    struct tunnel_state st;
    char why[256] = "";

    fake_reset();
    fk.mtu = 1280; /* still at least 1500: the guest's vif may come later */
    T_EQ_INT(tunnel_acquire(m, "10.2.0.2", "br0", &vx, "g1", why, 256), 0);
    fk.mtu = 9000; /* a jumbo guest joined the bridge */
    T_EQ_INT(tunnel_acquire(m, "10.2.0.2", "br0", &vx, "g2", why, 256), 0);
    T_EQ_INT(fk.set_mtus, 1);
    tunnel_list(m, &st, why, sizeof(why));
    T_EQ_INT(st.v[0].mtu, 9000);
    tunnel_state_clear(&st);
    fixed.mtu = 1400;
    fixed.id = 7;
    fk.mtu = 1500;
    T_EQ_INT(tunnel_acquire(m, "10.2.0.9", "br0", &fixed, "g1", why, 256), -1);
    T_EQ_INT(errno, EINVAL);
    T_OK(strstr(why, "below 1500") != NULL, "%s", why);
    tunnel_release_holder(m, "g1", why, 256);
    tunnel_release_holder(m, "g2", why, 256);
    tunnel_mgr_free(m);
}

static void test_restart(void)
{
    struct tunnel_mgr *m = tunnel_mgr_new(path, &fake_ops);
    char why[256] = "";
    unsigned repaired = 9;
    size_t h;
    FILE *f;

    fake_reset();
    T_EQ_INT(tunnel_acquire(m, "10.2.0.2", "br0", &vx, "g1", why, 256), 0);
    T_EQ_INT(tunnel_acquire(m, "10.3.0.2", "br0", &eip, "g1", why, 256), 0);
    T_EQ_INT(tunnel_acquire(m, "10.3.0.2", "br0", &eip, "g2", why, 256), 0);
    tunnel_mgr_free(m);
    /* relocd restarts: a new manager finds everything in the file. */
    m = tunnel_mgr_new(path, &fake_ops);
    T_EQ_INT(tunnel_restore_state(m, &repaired, why, 256), 0);
    T_EQ_INT(repaired, 0);
    T_EQ_INT(count(m, "rt", &h), 2);
    T_EQ_INT(h, 3);
    /* Its devices vanished meanwhile: they are made again. */
    fk.alive = 0;
    T_EQ_INT(tunnel_restore_state(m, &repaired, why, 256), 0);
    T_EQ_INT(repaired, 2);
    T_EQ_INT(fk.creates, 4);
    fk.alive = 1;
    /* A guest left while relocd was down. */
    T_EQ_INT(tunnel_release_holder(m, "g1", why, 256), 0);
    T_EQ_INT(count(m, "rt", &h), 1);
    T_EQ_INT(h, 1);
    tunnel_mgr_free(m);
    /* A broken file is reported, never guessed at. */
    f = fopen(path, "w");
    fputs("relocd-tunnels 1\ngarbage\n", f);
    fclose(f);
    m = tunnel_mgr_new(path, &fake_ops);
    T_EQ_INT(tunnel_restore_state(m, NULL, why, 256), -1);
    T_OK(strstr(why, "line 2") != NULL, "%s", why);
    unlink(path);
    tunnel_mgr_free(m);
}

static int only_g2(const char *holder, void *arg)
{
    (void)arg;
    return !strcmp(holder, "g2");
}

static void test_prune_and_failures(void)
{
    struct tunnel_mgr *m = tunnel_mgr_new(path, &fake_ops);
    struct tunnel_cfg fixed = vx;
    char why[256] = "";
    size_t h;

    fake_reset();
    tunnel_acquire(m, "10.2.0.2", "br0", &vx, "g1", why, 256);
    tunnel_acquire(m, "10.2.0.2", "br0", &vx, "g2", why, 256);
    tunnel_acquire(m, "10.3.0.2", "br0", &eip, "g3", why, 256);
    T_EQ_INT(tunnel_prune(m, only_g2, NULL, why, 256), 0);
    T_EQ_INT(count(m, "rt", &h), 1);
    T_EQ_INT(h, 1);
    T_EQ_INT(fk.destroys, 1);
    tunnel_release_holder(m, "g2", why, 256);
    /* The kernel refuses: nothing is recorded, its words come back. */
    fk.fail = 1;
    T_EQ_INT(tunnel_acquire(m, "10.2.0.2", "br0", &vx, "g1", why, 256), -1);
    T_EQ_INT(errno, EOPNOTSUPP);
    T_OK(strstr(why, "Unknown device type") != NULL, "%s", why);
    T_EQ_INT(count(m, "rt", &h), 0);
    T_EQ_INT(tunnel_probe(m, TUNNEL_GRETAP, why, 256), -1);
    T_EQ_INT(tunnel_probe(m, TUNNEL_VXLAN, why, 256), 0);
    fk.fail = 0;
    /* (on-demand no): only relocd's own "static" holder creates it. */
    fixed.on_demand = 0;
    T_EQ_INT(tunnel_acquire(m, "10.2.0.2", "br0", &fixed, "g1", why, 256), -1);
    T_EQ_INT(errno, EPERM);
    T_EQ_INT(tunnel_acquire(m, "10.2.0.2", "br0", &fixed, TUNNEL_HOLDER_STATIC,
                            why, 256),
             0);
    T_EQ_INT(tunnel_acquire(m, "10.2.0.2", "br0", &fixed, "g1", why, 256), 0);
    T_EQ_INT(count(m, "rt", &h), 1);
    T_EQ_INT(h, 2);
    tunnel_release_holder(m, "g1", why, 256);
    tunnel_release_holder(m, TUNNEL_HOLDER_STATIC, why, 256);
    tunnel_mgr_free(m);
}

int main(void)
{
    char why[256];

    snprintf(dir, sizeof(dir), "/tmp/test_tunnel.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    snprintf(path, sizeof(path), "%s/sub/tunnels", dir);
    parse(&vx, "kind vxlan peer * vni 4242", why);
    parse(&eip, "kind etherip peer *", why);
    test_cfg();
    test_match();
    test_state_parse();
    test_state_bad();
    test_refcount();
    test_clash();
    test_mtu();
    test_restart();
    test_prune_and_failures();
    snprintf(why, sizeof(why), "%s.lock", path);
    unlink(why);
    unlink(path);
    snprintf(why, sizeof(why), "%s/sub", dir);
    rmdir(why);
    rmdir(dir);
    return t_done("test_tunnel");
}
