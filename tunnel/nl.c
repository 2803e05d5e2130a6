/*
 * nl.c - rtnetlink through libmnl: kernel tunnel devices (VXLAN
 * with a static remote and no learning, GRETAP with a key), bridge ports,
 * and the bridge forwarding database.
 *
 * Every request asks for an ACK and for extended ACKs, so a failure comes
 * back with the kernel's own words ("Unknown device type", "A VXLAN
 * device with the specified VNI already exists") in err.  Each call opens
 * its own socket: these are rare, and a socket per call cannot be left in
 * a half-read state.
 */
#include <net/if.h> /* before the linux/ headers (libc-compat) */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/if_tunnel.h>
#include <linux/neighbour.h>
#include <linux/rtnetlink.h>

#include "config/diag.h"
#include "tunnel/conf.h"
#include "tunnel/tunnel.h"

#define NL_BUF 32768
#define FDB_MAX 64

/* Xen's vif MAC: a bridge never takes it for its own address. */
static const uint8_t port_mac[6] = {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff};

struct nl {
    struct mnl_socket *sk;
    unsigned portid, seq;
    mnl_cb_t cb; /* data messages (replies, dumps) */
    void *data;
    int err;
    char msg[256]; /* the kernel's extended ACK message */
};

static int nl_open(struct nl *nl)
{
    int one = 1;

    memset(nl, 0, sizeof(*nl));
    nl->sk = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
    if (!nl->sk || mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
        if (nl->sk) mnl_socket_close(nl->sk);
        return -1;
    }
    mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
    mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
    nl->portid = mnl_socket_get_portid(nl->sk);
    nl->seq = (unsigned)getpid() ^ 0x5a5a0000u;
    return 0;
}

/* Finds NLMSGERR_ATTR_MSG among the TLVs after an error message. */
static void nl_extack(const struct nlmsghdr *nlh, const struct nlmsgerr *e,
                      struct nl *nl)
{
    const struct nlattr *a;
    size_t off = sizeof(*e);
    const char *end = (const char *)nlh + nlh->nlmsg_len;

    if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS)) return;
    if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
        off += e->msg.nlmsg_len - sizeof(struct nlmsghdr);
    if (off > nlh->nlmsg_len - MNL_NLMSG_HDRLEN) return;
    for (a = (const struct nlattr *)((const char *)e + off);
         mnl_attr_ok(a, (int)(end - (const char *)a)); a = mnl_attr_next(a))
        if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
            mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
            snprintf(nl->msg, sizeof(nl->msg), "%s", mnl_attr_get_str(a));
}

static int nl_err_cb(const struct nlmsghdr *nlh, void *arg)
{
    struct nl *nl = arg;
    const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

    if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(*e))) {
        nl->err = EBADMSG;
        return MNL_CB_ERROR;
    }
    if (e->error == 0) return MNL_CB_STOP; /* the ACK */
    nl->err = -e->error;
    nl_extack(nlh, e, nl);
    return MNL_CB_ERROR;
}

static int nl_data_cb(const struct nlmsghdr *nlh, void *arg)
{
    struct nl *nl = arg;

    return nl->cb ? nl->cb(nlh, nl->data) : MNL_CB_OK;
}

/* Sends nlh and reads until its ACK, error or the end of a dump. */
static int nl_talk(struct nl *nl, struct nlmsghdr *nlh)
{
    /* libmnl's defaults handle the types past the end (DONE, OVERRUN). */
    mnl_cb_t ctl[NLMSG_ERROR + 1] = {[NLMSG_ERROR] = nl_err_cb};
    char *buf = malloc(NL_BUF);
    int r = -1;

    nlh->nlmsg_seq = ++nl->seq;
    if (buf && mnl_socket_sendto(nl->sk, nlh, nlh->nlmsg_len) >= 0) {
        do {
            r = (int)mnl_socket_recvfrom(nl->sk, buf, NL_BUF);
            if (r <= 0) break;
            r = mnl_cb_run2(buf, (size_t)r, nlh->nlmsg_seq, nl->portid,
                            nl_data_cb, nl, ctl, NLMSG_ERROR + 1);
        } while (r > 0);
    }
    if (r < 0 && !nl->err) nl->err = errno ? errno : EIO;
    free(buf);
    return r < 0 ? -1 : 0;
}

/* One request on a fresh socket; err gets "what: kernel text (strerror)". */
static int nl_do(struct nlmsghdr *nlh, mnl_cb_t cb, void *data,
                 const char *what, char *err, size_t errlen)
{
    struct nl nl;
    int rc;

    if (nl_open(&nl) < 0) {
        snprintf(err, errlen, "netlink: %s", strerror(errno));
        return -1;
    }
    nl.cb = cb;
    nl.data = data;
    rc = nl_talk(&nl, nlh);
    mnl_socket_close(nl.sk);
    if (rc == 0) return 0;
    if (nl.msg[0])
        return diag_errnof(err, errlen, nl.err, "%s: %s (%s)", what, nl.msg,
                           strerror(nl.err));
    return diag_errnof(err, errlen, nl.err, "%s: %s", what, strerror(nl.err));
}

static struct nlmsghdr *link_msg(char *buf, int type, int flags, int ifindex)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct ifinfomsg *ifm;

    nlh->nlmsg_type = (uint16_t)type;
    nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
    ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
    ifm->ifi_family = AF_UNSPEC;
    ifm->ifi_index = ifindex;
    return nlh;
}

static void link_up(struct nlmsghdr *nlh)
{
    struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

    ifm->ifi_flags = IFF_UP;
    ifm->ifi_change = IFF_UP;
}

static int bridge_index(const char *bridge, int *ix_r, char *err, size_t errlen)
{
    *ix_r = (int)if_nametoindex(bridge);
    if (*ix_r) return 0;
    return diag_errnof(err, errlen, ENODEV, "no bridge %s", bridge);
}

/* --- creating tunnel devices -------------------------------------------- */

static void put_vxlan(struct nlmsghdr *nlh, const struct tunnel *t)
{
    mnl_attr_put_u32(nlh, IFLA_VXLAN_ID, t->id);
    mnl_attr_put(nlh, IFLA_VXLAN_LOCAL, 4, &t->local);
    /* A unicast "group" is the one static remote. */
    mnl_attr_put(nlh, IFLA_VXLAN_GROUP, 4, &t->peer);
    mnl_attr_put_u16(nlh, IFLA_VXLAN_PORT, htons(t->dstport));
    mnl_attr_put_u8(nlh, IFLA_VXLAN_LEARNING, 0);
}

static void put_gretap(struct nlmsghdr *nlh, const struct tunnel *t)
{
    mnl_attr_put(nlh, IFLA_GRE_LOCAL, 4, &t->local);
    mnl_attr_put(nlh, IFLA_GRE_REMOTE, 4, &t->peer);
    /* No DF outside: frames the underlay cannot carry whole go as
     * fragments, as with VXLAN and EtherIP (TTL must then inherit). */
    mnl_attr_put_u8(nlh, IFLA_GRE_PMTUDISC, 0);
    if (t->id) {
        mnl_attr_put_u32(nlh, IFLA_GRE_IKEY, htonl(t->id));
        mnl_attr_put_u32(nlh, IFLA_GRE_OKEY, htonl(t->id));
        mnl_attr_put_u16(nlh, IFLA_GRE_IFLAGS, GRE_KEY);
        mnl_attr_put_u16(nlh, IFLA_GRE_OFLAGS, GRE_KEY);
    }
}

/* IFLA_LINKINFO for t's kind. */
static void put_linkinfo(struct nlmsghdr *nlh, const struct tunnel *t)
{
    struct nlattr *li = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    struct nlattr *data;

    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, tunnel_kind_name(t->kind));
    data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    if (t->kind == TUNNEL_VXLAN)
        put_vxlan(nlh, t);
    else
        put_gretap(nlh, t);
    mnl_attr_nest_end(nlh, data);
    mnl_attr_nest_end(nlh, li);
}

int tunnel_nl_create(const struct tunnel *t, char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE], what[64];
    struct nlmsghdr *nlh;
    int br;

    if (t->kind != TUNNEL_VXLAN && t->kind != TUNNEL_GRETAP)
        return diag_errnof(err, errlen, EINVAL, "%s is not a kernel tunnel",
                           tunnel_kind_name(t->kind));
    if (bridge_index(t->bridge, &br, err, errlen) < 0) return -1;
    nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, 0);
    link_up(nlh);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, t->ifname);
    mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)br);
    mnl_attr_put_u32(nlh, IFLA_MTU, t->mtu);
    mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(port_mac), port_mac);
    put_linkinfo(nlh, t);
    snprintf(what, sizeof(what), "creating %s %s", tunnel_kind_name(t->kind),
             t->ifname);
    return nl_do(nlh, NULL, NULL, what, err, errlen);
}

int tunnel_nl_attach(const char *ifname, const char *bridge, unsigned mtu,
                     char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE], what[64];
    struct nlmsghdr *nlh;
    int br, ix = (int)if_nametoindex(ifname);

    if (!ix) return diag_errnof(err, errlen, ENODEV, "no device %s", ifname);
    if (bridge_index(bridge, &br, err, errlen) < 0) return -1;
    nlh = link_msg(buf, RTM_NEWLINK, NLM_F_ACK, ix);
    link_up(nlh);
    mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(port_mac), port_mac);
    mnl_attr_put_u32(nlh, IFLA_MASTER, (uint32_t)br);
    snprintf(what, sizeof(what), "attaching %s to %s", ifname, bridge);
    return nl_do(nlh, NULL, NULL, what, err, errlen);
}

int tunnel_nl_delete(const char *ifname, char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE], what[64];
    struct nlmsghdr *nlh = link_msg(buf, RTM_DELLINK, NLM_F_ACK, 0);

    mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
    snprintf(what, sizeof(what), "deleting %s", ifname);
    return nl_do(nlh, NULL, NULL, what, err, errlen);
}

int tunnel_nl_set_mtu(const char *ifname, unsigned mtu, char *err,
                      size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE], what[64];
    struct nlmsghdr *nlh = link_msg(buf, RTM_NEWLINK, NLM_F_ACK, 0);

    mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
    mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
    snprintf(what, sizeof(what), "setting the MTU of %s to %u", ifname, mtu);
    return nl_do(nlh, NULL, NULL, what, err, errlen);
}

/* --- reading links ------------------------------------------------------ */

static int attr_cb(const struct nlattr *a, void *data)
{
    const struct nlattr **tb = data;
    int type = mnl_attr_get_type(a);

    if (mnl_attr_type_valid(a, IFLA_MAX) > 0) tb[type] = a;
    return MNL_CB_OK;
}

static int info_cb(const struct nlattr *a, void *data)
{
    const struct nlattr **tb = data;
    int type = mnl_attr_get_type(a);

    if (mnl_attr_type_valid(a, IFLA_INFO_MAX) > 0) tb[type] = a;
    return MNL_CB_OK;
}

/* Reads one RTM_NEWLINK message into l. */
static int link_parse(const struct nlmsghdr *nlh, struct tunnel_nl_link *l,
                      char *name, size_t namelen)
{
    const struct nlattr *tb[IFLA_MAX + 1] = {0}, *li[IFLA_INFO_MAX + 1] = {0};
    const struct ifinfomsg *ifm = mnl_nlmsg_get_payload(nlh);

    if (nlh->nlmsg_type != RTM_NEWLINK ||
        mnl_attr_parse(nlh, sizeof(*ifm), attr_cb, tb) < 0)
        return -1;
    memset(l, 0, sizeof(*l));
    l->ifindex = ifm->ifi_index;
    l->up = (ifm->ifi_flags & IFF_UP) != 0;
    if (tb[IFLA_MTU] && !mnl_attr_validate(tb[IFLA_MTU], MNL_TYPE_U32))
        l->mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
    if (tb[IFLA_MASTER] && !mnl_attr_validate(tb[IFLA_MASTER], MNL_TYPE_U32))
        l->master = (int)mnl_attr_get_u32(tb[IFLA_MASTER]);
    if (name && tb[IFLA_IFNAME] &&
        !mnl_attr_validate(tb[IFLA_IFNAME], MNL_TYPE_NUL_STRING))
        snprintf(name, namelen, "%s", mnl_attr_get_str(tb[IFLA_IFNAME]));
    if (tb[IFLA_LINKINFO] &&
        mnl_attr_parse_nested(tb[IFLA_LINKINFO], info_cb, li) >= 0 &&
        li[IFLA_INFO_KIND] &&
        !mnl_attr_validate(li[IFLA_INFO_KIND], MNL_TYPE_NUL_STRING))
        snprintf(l->kind, sizeof(l->kind), "%s",
                 mnl_attr_get_str(li[IFLA_INFO_KIND]));
    return 0;
}

static int get_cb(const struct nlmsghdr *nlh, void *data)
{
    return link_parse(nlh, data, NULL, 0) < 0 ? MNL_CB_ERROR : MNL_CB_OK;
}

int tunnel_nl_get(const char *ifname, struct tunnel_nl_link *l_r, char *err,
                  size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE], what[64];
    struct nlmsghdr *nlh = link_msg(buf, RTM_GETLINK, NLM_F_ACK, 0);

    memset(l_r, 0, sizeof(*l_r));
    mnl_attr_put_strz(nlh, IFLA_IFNAME, ifname);
    snprintf(what, sizeof(what), "reading %s", ifname);
    if (nl_do(nlh, get_cb, l_r, what, err, errlen) < 0) return -1;
    if (l_r->ifindex) return 0;
    errno = ENODEV;
    return -1;
}

struct port_mtu {
    int bridge;
    const char *except;
    unsigned mtu;
};

static int port_mtu_cb(const struct nlmsghdr *nlh, void *data)
{
    struct port_mtu *p = data;
    struct tunnel_nl_link l;
    char name[IFNAMSIZ] = "";

    if (link_parse(nlh, &l, name, sizeof(name)) < 0) return MNL_CB_OK;
    if (l.ifindex != p->bridge && l.master != p->bridge) return MNL_CB_OK;
    if (p->except && !strcmp(name, p->except)) return MNL_CB_OK;
    if (l.mtu > p->mtu) p->mtu = l.mtu;
    return MNL_CB_OK;
}

int tunnel_nl_port_mtu(const char *bridge, const char *except, unsigned *mtu_r,
                       char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct port_mtu p = {0, except, 0};
    struct nlmsghdr *nlh;

    if (bridge_index(bridge, &p.bridge, err, errlen) < 0) return -1;
    nlh = link_msg(buf, RTM_GETLINK, NLM_F_DUMP, 0);
    if (nl_do(nlh, port_mtu_cb, &p, "listing links", err, errlen) < 0)
        return -1;
    *mtu_r = p.mtu;
    return 0;
}

/* --- probing ------------------------------------------------------------ */

int tunnel_nl_probe(enum tunnel_kind kind, char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE], what[64];
    struct tunnel t;
    struct nlmsghdr *nlh;
    int rc;

    memset(&t, 0, sizeof(t));
    t.kind = kind;
    snprintf(t.ifname, sizeof(t.ifname), "rtprobe%d", (int)getpid() % 100000);
    t.id = 0xfff000u | ((unsigned)getpid() & 0xfff);
    t.dstport = TUNNEL_VXLAN_PORT;
    inet_pton(AF_INET, "192.0.2.1", &t.peer); /* TEST-NET-1 */
    nlh = link_msg(buf, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK, 0);
    mnl_attr_put_strz(nlh, IFLA_IFNAME, t.ifname);
    put_linkinfo(nlh, &t);
    snprintf(what, sizeof(what), "%s", tunnel_kind_name(kind));
    rc = nl_do(nlh, NULL, NULL, what, err, errlen);
    /* EEXIST: a twin exists, so the kernel knows the kind. */
    if (rc < 0 && errno == EEXIST) return 0;
    if (rc == 0) tunnel_nl_delete(t.ifname, err, errlen);
    return rc;
}

/* --- the forwarding database -------------------------------------------- */

struct fdb_match {
    int bridge;
    const uint8_t *mac;
    unsigned n;
    struct {
        int ifindex;
        uint16_t vlan;
        int has_vlan;
    } e[FDB_MAX];
};

static int nda_cb(const struct nlattr *a, void *data)
{
    const struct nlattr **tb = data;
    int type = mnl_attr_get_type(a);

    if (mnl_attr_type_valid(a, NDA_MAX) > 0) tb[type] = a;
    return MNL_CB_OK;
}

/* Collects the bridge's learned entries for the MAC. */
static int fdb_cb(const struct nlmsghdr *nlh, void *data)
{
    const struct nlattr *tb[NDA_MAX + 1] = {0};
    const struct ndmsg *ndm = mnl_nlmsg_get_payload(nlh);
    struct fdb_match *m = data;

    if (nlh->nlmsg_type != RTM_NEWNEIGH || m->n == FDB_MAX ||
        mnl_attr_parse(nlh, sizeof(*ndm), nda_cb, tb) < 0)
        return MNL_CB_OK;
    if (!tb[NDA_MASTER] || mnl_attr_validate(tb[NDA_MASTER], MNL_TYPE_U32) ||
        (int)mnl_attr_get_u32(tb[NDA_MASTER]) != m->bridge)
        return MNL_CB_OK;
    if (!tb[NDA_LLADDR] || mnl_attr_get_payload_len(tb[NDA_LLADDR]) != 6 ||
        memcmp(mnl_attr_get_payload(tb[NDA_LLADDR]), m->mac, 6))
        return MNL_CB_OK;
    /* Local and static entries are someone's configuration. */
    if (ndm->ndm_state & (NUD_PERMANENT | NUD_NOARP)) return MNL_CB_OK;
    m->e[m->n].ifindex = ndm->ndm_ifindex;
    m->e[m->n].has_vlan =
        tb[NDA_VLAN] && !mnl_attr_validate(tb[NDA_VLAN], MNL_TYPE_U16);
    if (m->e[m->n].has_vlan) m->e[m->n].vlan = mnl_attr_get_u16(tb[NDA_VLAN]);
    m->n++;
    return MNL_CB_OK;
}

static struct nlmsghdr *neigh_msg(char *buf, int type, int flags, int ifindex)
{
    struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
    struct ndmsg *ndm;

    nlh->nlmsg_type = (uint16_t)type;
    nlh->nlmsg_flags = (uint16_t)(NLM_F_REQUEST | flags);
    ndm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ndm));
    ndm->ndm_family = AF_BRIDGE;
    ndm->ndm_ifindex = ifindex;
    return nlh;
}

static int fdb_del(const struct fdb_match *m, unsigned i, char *err,
                   size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct nlmsghdr *nlh;
    struct ndmsg *ndm;

    nlh = neigh_msg(buf, RTM_DELNEIGH, NLM_F_ACK, m->e[i].ifindex);
    ndm = mnl_nlmsg_get_payload(nlh);
    ndm->ndm_flags = NTF_MASTER;
    mnl_attr_put(nlh, NDA_LLADDR, 6, m->mac);
    if (m->e[i].has_vlan) mnl_attr_put_u16(nlh, NDA_VLAN, m->e[i].vlan);
    return nl_do(nlh, NULL, NULL, "deleting a forwarding entry", err, errlen);
}

int tunnel_nl_fdb_flush(const char *bridge, const uint8_t mac[6], unsigned *n_r,
                        char *err, size_t errlen)
{
    char buf[MNL_SOCKET_BUFFER_SIZE];
    struct fdb_match *m = calloc(1, sizeof(*m));
    struct nlmsghdr *nlh;
    unsigned i, n = 0;
    int rc = -1;

    if (!m) return -1;
    m->mac = mac;
    if (bridge_index(bridge, &m->bridge, err, errlen) < 0) goto out;
    nlh = neigh_msg(buf, RTM_GETNEIGH, NLM_F_DUMP, 0);
    if (nl_do(nlh, fdb_cb, m, "listing forwarding entries", err, errlen) < 0)
        goto out;
    rc = 0;
    for (i = 0; i < m->n; i++) {
        /* An entry that aged out meanwhile is as good as deleted. */
        if (fdb_del(m, i, err, errlen) == 0)
            n++;
        else if (errno != ENOENT)
            rc = -1;
    }
    if (n_r) *n_r = n;
out:
    free(m);
    return rc;
}
