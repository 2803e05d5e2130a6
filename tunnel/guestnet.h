/*
 * guestnet.h - what a guest's network looks like, read from its libxl
 * domain configuration (the JSON that travels in PREFLIGHT and in xl's
 * stream header): its UUID and, per vif, the bridge, MAC and IPv4 address.
 * The tunnels of a cross-subnet move (migtun.h) are chosen by bridge, and
 * the announcements after the move are made for these MACs and addresses.
 *
 * Pure: no Xen, no system calls, so untrusted JSON is parsed here and
 * fuzzed (tests/fuzz).
 */
#ifndef RELOCD_GUESTNET_H
#define RELOCD_GUESTNET_H

#include <net/if.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define GUESTNET_MAX_NICS 16
/* libxl's bridge for a vif that names none (libxl__device_nic_setdefault) */
#define GUESTNET_DEFAULT_BRIDGE "xenbr0"

struct guestnet_nic {
    char bridge[IFNAMSIZ];
    uint8_t mac[6];
    int has_ip;        /* the vif's "ip" had an IPv4 address */
    struct in_addr ip; /* the first one */
};

struct guestnet {
    char uuid[37]; /* "" when the config has none */
    unsigned n;
    struct guestnet_nic nic[GUESTNET_MAX_NICS];
};

/*
 * Fills gn from a libxl_domain_config JSON text of len bytes.  vifs that
 * are not bridged (e.g. type "vif" with a routing script) are still listed:
 * a bridge name is all that decides.  Returns 0, or -1 with a reason in
 * err (not JSON, a bad MAC, a bridge name too long, too many vifs).
 */
int guestnet_parse(const char *json, size_t len, struct guestnet *gn, char *err,
                   size_t errlen);

#endif
