/*
 * tunnel.h - L2 tunnels between dom0s, for guests that move to a host on
 * another subnet and keep their addresses.
 *
 * A tunnel joins a bridge here to the same bridge on a peer dom0: a kernel
 * VXLAN or GRETAP device, or a TAP device fed by an EtherIP process
 * (etherip.h), enslaved to the bridge.  Both relocds bring it up before
 * the guest resumes on the target; it is shared by every guest that needs
 * the same peer and bridge ("holders", e.g. domain UUIDs) and removed when
 * the last one has left.  The truth is a state file, read and rewritten
 * under a lock by every operation, so it survives a relocd restart and any
 * process (parent or worker) may call the manager.
 *
 * This header holds the types the modules share, and the prototypes of
 * sys.c (tunnel_sys_ops: the real devices and processes) and nl.c
 * (rtnetlink over libmnl).  The others have their own: conf.h (the
 * configuration's meaning), state.h (the state file), manager.h (the
 * bookkeeping; no system calls but through struct tunnel_ops), keep.h (the
 * daemon's upkeep).  All functions return 0 or -1 with errno set, and a
 * reason for a person in err (the kernel's own message where there is
 * one).
 */
#ifndef RELOCD_TUNNEL_H
#define RELOCD_TUNNEL_H

#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum tunnel_kind { TUNNEL_ETHERIP, TUNNEL_VXLAN, TUNNEL_GRETAP };

#define TUNNEL_MTU_AUTO 0
#define TUNNEL_VXLAN_PORT 4789
#define TUNNEL_VNI_MAX 0xffffff
#define TUNNEL_HOLDER_MAX 64 /* bytes of a holder name, NUL included */
#define TUNNEL_STATE_PATH "/run/relocd/tunnels"
/* The holder of (on-demand no) tunnels, which relocd keeps up. */
#define TUNNEL_HOLDER_STATIC "static"

/* One (relocd-tunnel ...) entry of xend-config.sxp; see TUNNELS.md. */
struct tunnel_cfg {
    struct in_addr peer_net; /* peers this entry is for: */
    unsigned peer_plen;      /* peer_net/peer_plen, 0 = every peer */
    enum tunnel_kind kind;
    char bridge[IFNAMSIZ];  /* "" = whichever bridge the guest uses */
    uint32_t id;            /* VXLAN VNI (required), GRE key (0 = none) */
    uint16_t dstport;       /* VXLAN UDP port */
    unsigned mtu;           /* TUNNEL_MTU_AUTO, or fixed */
    struct in_addr local;   /* INADDR_ANY: the route's source address */
    int on_demand;          /* relocd may create it for a migration */
    unsigned etherip_flags; /* ETHERIP_F_ACCEPT_REV, ETHERIP_F_SEND_REV */
};

/* One tunnel as the state file records it. */
struct tunnel {
    char ifname[IFNAMSIZ];
    enum tunnel_kind kind;
    struct in_addr peer, local;
    char bridge[IFNAMSIZ];
    uint32_t id;
    uint16_t dstport;
    unsigned mtu;
    unsigned etherip_flags;
    pid_t pid;                    /* the EtherIP process, 0 otherwise */
    unsigned long long pid_start; /* its start time, against PID reuse */
    char (*holders)[TUNNEL_HOLDER_MAX];
    size_t nholders;
};

struct tunnel_state {
    struct tunnel *v;
    size_t n;
};

/*
 * What the manager asks of the system.  tunnel_sys_ops is the real one;
 * the unit tests pass their own.
 */
struct tunnel_ops {
    /* Creates t's device up on t->bridge (EtherIP: sets t->pid too). */
    int (*create)(struct tunnel *t, char *err, size_t errlen);
    /* Removes it; one already gone is success. */
    int (*destroy)(const struct tunnel *t, char *err, size_t errlen);
    /* 1: t's device (and process) is there as recorded; 0: it is not. */
    int (*check)(const struct tunnel *t);
    /* The largest MTU of bridge and its ports, except the port except. */
    int (*port_mtu)(const char *bridge, const char *except, unsigned *mtu_r,
                    char *err, size_t errlen);
    int (*set_mtu)(const struct tunnel *t, unsigned mtu, char *err,
                   size_t errlen);
    /* The address this host sends from toward peer. */
    int (*source)(struct in_addr peer, struct in_addr *local_r, char *err,
                  size_t errlen);
    /* Whether this kernel can make such tunnels at all. */
    int (*probe)(enum tunnel_kind kind, char *err, size_t errlen);
};

/* --- sys.c ------------------------------------------------------------- */

/* Kernel devices over rtnetlink, EtherIP processes. */
extern const struct tunnel_ops tunnel_sys_ops;

/* --- nl.c: rtnetlink ---------------------------------------------------- */

/* What the kernel says about one link. */
struct tunnel_nl_link {
    int ifindex, master;
    unsigned mtu;
    int up;
    char kind[16]; /* IFLA_INFO_KIND: "vxlan", "gretap", "tun", ... */
};

/* Creates t (VXLAN or GRETAP) enslaved to t->bridge, up, in one request. */
int tunnel_nl_create(const struct tunnel *t, char *err, size_t errlen);
/* Sets an existing device's MTU and address, enslaves it, brings it up. */
int tunnel_nl_attach(const char *ifname, const char *bridge, unsigned mtu,
                     char *err, size_t errlen);
/* Deletes a device; ENODEV when there is none. */
int tunnel_nl_delete(const char *ifname, char *err, size_t errlen);
int tunnel_nl_set_mtu(const char *ifname, unsigned mtu, char *err,
                      size_t errlen);
/* Fails with ENODEV when ifname does not exist. */
int tunnel_nl_get(const char *ifname, struct tunnel_nl_link *l_r, char *err,
                  size_t errlen);
/* Creates and deletes a throw-away device of kind (not EtherIP). */
int tunnel_nl_probe(enum tunnel_kind kind, char *err, size_t errlen);
/* The largest MTU of bridge and its ports, except the port except. */
int tunnel_nl_port_mtu(const char *bridge, const char *except, unsigned *mtu_r,
                       char *err, size_t errlen);
/*
 * Deletes the dynamic entries for mac from bridge's forwarding database,
 * whichever port they point to; *n_r (may be NULL) counts them.
 */
int tunnel_nl_fdb_flush(const char *bridge, const uint8_t mac[6], unsigned *n_r,
                        char *err, size_t errlen);

#endif
