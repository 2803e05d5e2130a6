/*
 * test_guestnet.c - a guest's vifs from libxl JSON (guestnet.c), the
 * relocd-tunnel entries given meaning with FILE:LINE errors (tunconf.c),
 * and the holder names of migtun.c.
 */
#include <stdlib.h>
#include <string.h>

#include "config/conf.h"
#include "tunnel/guestnet.h"
#include "tunnel/mig.h"
#include "t.h"
#include "tunnel/conf.h"
#include "tunnel/tunnel.h"

static int parse(const char *json, struct guestnet *gn, char *why)
{
    return guestnet_parse(json, strlen(json), gn, why, 256);
}

static void test_nics(void)
{
    struct guestnet gn;
    char why[256] = "";

    T_EQ_INT(parse("{\"c_info\":{\"name\":\"g\",\"uuid\":"
                   "\"0d5a1f42-8c2e-4c1b-9a57-2f7c0e6b1a10\"},"
                   "\"nics\":[{\"devid\":0,\"mac\":\"00:16:3e:01:02:03\","
                   "\"bridge\":\"xenbr1\",\"ip\":\"192.0.2.7 192.0.2.8\"},"
                   "{\"mac\":\"00:16:3e:0a:0b:0c\"}]}",
                   &gn, why),
             0);
    T_EQ_STR(gn.uuid, "0d5a1f42-8c2e-4c1b-9a57-2f7c0e6b1a10");
    T_EQ_INT(gn.n, 2);
    T_EQ_STR(gn.nic[0].bridge, "xenbr1");
    T_EQ_INT(gn.nic[0].mac[5], 3);
    T_EQ_INT(gn.nic[0].has_ip, 1);
    T_EQ_INT(gn.nic[0].ip.s_addr, htonl(0xc0000207));
    /* no bridge: libxl's default; no ip: only the MAC is announced */
    T_EQ_STR(gn.nic[1].bridge, "xenbr0");
    T_EQ_INT(gn.nic[1].has_ip, 0);
    T_EQ_INT(parse("{\"c_info\":{\"name\":\"g\"}}", &gn, why), 0);
    T_EQ_INT(gn.n, 0);
    T_EQ_STR(gn.uuid, "");
}

static void test_bad(void)
{
    struct guestnet gn;
    char why[256] = "", many[4096];
    int i;

    T_EQ_INT(parse("not json", &gn, why), -1);
    T_EQ_STR(why, "not a domain configuration");
    T_EQ_INT(parse("[1,2]", &gn, why), -1);
    T_EQ_INT(parse("{\"nics\":[{\"mac\":\"00:16:3e:zz:02:03\"}]}", &gn, why),
             -1);
    T_EQ_STR(why, "vif 0: no valid MAC address");
    T_EQ_INT(parse("{\"nics\":[7]}", &gn, why), -1);
    T_EQ_STR(why, "vif 0: not a JSON object");
    T_EQ_INT(parse("{\"nics\":[{\"mac\":\"00:16:3e:01:02:03\","
                   "\"bridge\":\"a-bridge-name-too-long\"}]}",
                   &gn, why),
             -1);
    T_EQ_STR(why, "vif 0: bad bridge name");
    T_EQ_INT(parse("{\"nics\":[{\"mac\":\"00:16:3e:01:02:03\","
                   "\"bridge\":\"../x\"}]}",
                   &gn, why),
             -1);
    strcpy(many, "{\"nics\":[");
    for (i = 0; i <= GUESTNET_MAX_NICS; i++)
        strcat(many, i ? ",{\"mac\":\"00:16:3e:01:02:03\"}"
                       : "{\"mac\":\"00:16:3e:01:02:03\"}");
    strcat(many, "]}");
    T_EQ_INT(parse(many, &gn, why), -1);
    T_EQ_STR(why, "more than 16 vifs");
}

static struct relocd_conf *conf_of(const char *text, char *err)
{
    struct relocd_conf *c = NULL;

    if (conf_parse(text, strlen(text), "x.sxp", &c, err, 512) < 0) return NULL;
    return c;
}

static void test_tunconf(void)
{
    struct tunnel_cfg *cfgs;
    struct relocd_conf *c;
    char err[512] = "", path[600];
    size_t n;

    c = conf_of("(relocd-control-socket /tmp/r/relocd.sock)\n"
                "(relocd-tunnel (peer 10.2.0.2) (kind vxlan) (vni 4242)\n"
                "               (bridge xenbr0))\n"
                "(relocd-tunnel (peer 10.3.0.0/16) (kind etherip))\n",
                err);
    T_OK(c != NULL, "%s", err);
    if (!c) return;
    T_EQ_INT(tunconf_parse(c, &cfgs, &n, err, sizeof(err)), 0);
    T_EQ_INT(n, 2);
    if (n == 2) {
        T_EQ_INT(cfgs[0].kind, TUNNEL_VXLAN);
        T_EQ_INT(cfgs[0].id, 4242);
        T_EQ_INT(cfgs[1].kind, TUNNEL_ETHERIP);
        T_OK(tunnel_cfg_find(cfgs, n, "10.3.9.9", "xenbr7") == &cfgs[1],
             "prefix match");
        T_OK(tunnel_cfg_find(cfgs, n, "10.4.0.1", "xenbr0") == NULL,
             "no entry for another subnet");
    }
    free(cfgs);
    tunconf_state_path(c, path, sizeof(path));
    T_EQ_STR(path, "/tmp/r/tunnels");
    conf_free(c);
    c = conf_of("\n(relocd-tunnel (peer 10.2.0.2) (kind vxlan))\n", err);
    T_OK(c != NULL, "%s", err);
    if (!c) return;
    T_EQ_INT(tunconf_check(c, err, sizeof(err)), -1);
    T_OK(!strncmp(err, "x.sxp:2: relocd-tunnel: ", 24), "%s", err);
    conf_free(c);
    c = conf_of("(relocd-tunnel (peer 10.2.0.2) (kind ppp))", err);
    T_OK(c != NULL, "%s", err);
    if (!c) return;
    T_EQ_INT(tunconf_check(c, err, sizeof(err)), -1);
    conf_free(c);
}

static void test_holders(void)
{
    T_EQ_STR(migtun_holder_uuid("here:abc", MIGTUN_HERE), "abc");
    T_OK(migtun_holder_uuid("away:abc", MIGTUN_HERE) == NULL, "away");
    T_OK(migtun_holder_uuid("static", MIGTUN_AWAY) == NULL, "static");
}

int main(void)
{
    test_nics();
    test_bad();
    test_tunconf();
    test_holders();
    return t_done("test_guestnet");
}
