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
 * Modules: tunnel.c (configuration, state file, the manager's bookkeeping;
 * no system calls but through struct tunnel_ops), tunnel_nl.c (rtnetlink
 * over libmnl), tunnel_sys.c (tunnel_sys_ops: the real devices and
 * processes).  All functions return 0 or -1 with errno set, and a reason
 * for a person in why (the kernel's own message where there is one).
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
    int (*create)(struct tunnel *t, char *why, size_t whylen);
    /* Removes it; one already gone is success. */
    int (*destroy)(const struct tunnel *t, char *why, size_t whylen);
    /* 1: t's device (and process) is there as recorded; 0: it is not. */
    int (*check)(const struct tunnel *t);
    /* The largest MTU of bridge and its ports, except the port except. */
    int (*port_mtu)(const char *bridge, const char *except, unsigned *mtu_r,
                    char *why, size_t whylen);
    int (*set_mtu)(const struct tunnel *t, unsigned mtu, char *why,
                   size_t whylen);
    /* The address this host sends from toward peer. */
    int (*source)(struct in_addr peer, struct in_addr *local_r, char *why,
                  size_t whylen);
    /* Whether this kernel can make such tunnels at all. */
    int (*probe)(enum tunnel_kind kind, char *why, size_t whylen);
};

/* --- tunnel.c: configuration -------------------------------------------- */

const char *tunnel_kind_name(enum tunnel_kind kind);
int tunnel_kind_parse(const char *s, enum tunnel_kind *kind_r);
/*
 * Fills cfg from the n (key value) pairs of one relocd-tunnel entry, as
 * strings.  Keys: peer kind bridge vni key port mtu local on-demand
 * etherip-reversed.  Returns 0, or -1 with errno EINVAL and why.
 */
int tunnel_cfg_parse(struct tunnel_cfg *cfg, const char *const *keys,
                     const char *const *vals, size_t n, char *why,
                     size_t whylen);
/* 1 when cfg is meant for peer (dotted quad), else 0. */
int tunnel_cfg_match(const struct tunnel_cfg *cfg, const char *peer);
/* The first of n entries meant for peer and bridge, or NULL. */
const struct tunnel_cfg *tunnel_cfg_find(const struct tunnel_cfg *cfgs,
                                         size_t n, const char *peer,
                                         const char *bridge);

/* --- tunnel.c: the state file ------------------------------------------- */

/* Parses a state file's text into st (tunnel_state_clear() frees). */
int tunnel_state_parse(const char *text, size_t len, struct tunnel_state *st,
                       char *why, size_t whylen);
/* The text of st, malloc'd into *text_r (the caller frees). */
int tunnel_state_format(const struct tunnel_state *st, char **text_r,
                        size_t *len_r);
void tunnel_state_clear(struct tunnel_state *st);

/* --- tunnel.c: the manager ---------------------------------------------- */

struct tunnel_mgr;

/* A manager keeping its state in state_path; NULL on ENOMEM. */
struct tunnel_mgr *tunnel_mgr_new(const char *state_path,
                                  const struct tunnel_ops *ops);
/* Frees the manager (NULL is a no-op); tunnels stay up. */
void tunnel_mgr_free(struct tunnel_mgr *m);
/*
 * Whether this kernel can carry cfg's kind: fails with the kernel's own
 * message (e.g. "Unknown device type") when it cannot.  For start-up.
 */
int tunnel_probe(struct tunnel_mgr *m, enum tunnel_kind kind, char *why,
                 size_t whylen);
/*
 * Makes sure the tunnel to peer on bridge is up as cfg says and that
 * holder (a guest) is among its users; creates it for its first holder,
 * repairs it when its device or process has vanished, raises its MTU when
 * a bridge port needs more.  Holding twice is holding once.  Fails with
 * EEXIST when an existing tunnel to that peer and bridge differs from
 * cfg, or cfg collides with another tunnel (EtherIP: one per peer; VXLAN:
 * one per VNI and port).
 */
int tunnel_acquire(struct tunnel_mgr *m, const char *peer, const char *bridge,
                   const struct tunnel_cfg *cfg, const char *holder, char *why,
                   size_t whylen);
/*
 * Drops holder from the tunnel to peer on bridge, and removes the tunnel
 * when it was the last.  ENOENT: no such tunnel or holder.
 */
int tunnel_release(struct tunnel_mgr *m, const char *peer, const char *bridge,
                   const char *holder, char *why, size_t whylen);
/* Drops holder from every tunnel (a guest destroyed or gone). */
int tunnel_release_holder(struct tunnel_mgr *m, const char *holder, char *why,
                          size_t whylen);
/*
 * At start-up: removes tunnels nobody holds, re-creates those whose
 * device or EtherIP process has vanished (e.g. relocd or its host was
 * killed in between).  *repaired_r (may be NULL) counts the re-created.
 */
int tunnel_restore_state(struct tunnel_mgr *m, unsigned *repaired_r, char *why,
                         size_t whylen);
/* Drops every holder for which alive(holder, arg) returns 0. */
int tunnel_prune(struct tunnel_mgr *m, int (*alive)(const char *, void *),
                 void *arg, char *why, size_t whylen);
/* A snapshot of the state (tunnel_state_clear() frees). */
int tunnel_list(struct tunnel_mgr *m, struct tunnel_state *st_r, char *why,
                size_t whylen);

/* --- tunnel_sys.c ------------------------------------------------------- */

/* Kernel devices over rtnetlink, EtherIP processes. */
extern const struct tunnel_ops tunnel_sys_ops;

/* --- tunnel_nl.c: rtnetlink --------------------------------------------- */

/* What the kernel says about one link. */
struct tunnel_nl_link {
    int ifindex, master;
    unsigned mtu;
    int up;
    char kind[16]; /* IFLA_INFO_KIND: "vxlan", "gretap", "tun", ... */
};

/* Creates t (VXLAN or GRETAP) enslaved to t->bridge, up, in one request. */
int tunnel_nl_create(const struct tunnel *t, char *why, size_t whylen);
/* Sets an existing device's MTU and address, enslaves it, brings it up. */
int tunnel_nl_attach(const char *ifname, const char *bridge, unsigned mtu,
                     char *why, size_t whylen);
/* Deletes a device; ENODEV when there is none. */
int tunnel_nl_delete(const char *ifname, char *why, size_t whylen);
int tunnel_nl_set_mtu(const char *ifname, unsigned mtu, char *why,
                      size_t whylen);
/* Fails with ENODEV when ifname does not exist. */
int tunnel_nl_get(const char *ifname, struct tunnel_nl_link *l_r, char *why,
                  size_t whylen);
/* Creates and deletes a throw-away device of kind (not EtherIP). */
int tunnel_nl_probe(enum tunnel_kind kind, char *why, size_t whylen);
/* The largest MTU of bridge and its ports, except the port except. */
int tunnel_nl_port_mtu(const char *bridge, const char *except, unsigned *mtu_r,
                       char *why, size_t whylen);
/*
 * Deletes the dynamic entries for mac from bridge's forwarding database,
 * whichever port they point to; *n_r (may be NULL) counts them.
 */
int tunnel_nl_fdb_flush(const char *bridge, const uint8_t mac[6], unsigned *n_r,
                        char *why, size_t whylen);

#endif
