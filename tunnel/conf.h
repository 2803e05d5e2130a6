/*
 * conf.h - relocd's tunnels as configured (conf.c): the relocd-tunnel
 * entries of xend-config.sxp given their meaning (see TUNNELS.md).
 */
#ifndef RELOCD_TUNCONF_H
#define RELOCD_TUNCONF_H

#include <stddef.h>

#include "tunnel/tunnel.h"

struct relocd_conf;

/* --- one entry ------------------------------------------------------------ */

/* "etherip", "vxlan", "gretap" ("?" for no kind); and back: 0, or -1. */
const char *tunnel_kind_name(enum tunnel_kind kind);
int tunnel_kind_parse(const char *s, enum tunnel_kind *kind_r);
/*
 * Fills cfg from the n (key value) pairs of one relocd-tunnel entry, as
 * strings.  Keys: peer kind bridge vni key port mtu local on-demand
 * etherip-reversed.  Returns 0, or -1 with errno EINVAL and err.
 */
int tunnel_cfg_parse(struct tunnel_cfg *cfg, const char *const *keys,
                     const char *const *vals, size_t n, char *err,
                     size_t errlen);
/* 1 when cfg is meant for peer (dotted quad), else 0. */
int tunnel_cfg_match(const struct tunnel_cfg *cfg, const char *peer);
/* The first of n entries meant for peer and bridge, or NULL. */
const struct tunnel_cfg *tunnel_cfg_find(const struct tunnel_cfg *cfgs,
                                         size_t n, const char *peer,
                                         const char *bridge);

/* --- the configuration's entries ------------------------------------------ */

/*
 * The entries of conf as tunnel_cfg's, malloc'd into *cfgs_r (NULL when
 * there are none; the caller frees).  Returns 0, or -1 with
 * "FILE:LINE: relocd-tunnel: REASON" in err.
 */
int tunconf_parse(const struct relocd_conf *conf, struct tunnel_cfg **cfgs_r,
                  size_t *n_r, char *err, size_t errlen);

/* tunconf_parse() for its verdict only: 0, or -1 with the message. */
int tunconf_check(const struct relocd_conf *conf, char *err, size_t errlen);

/* The tunnel state file: "tunnels" beside the control socket. */
void tunconf_state_path(const struct relocd_conf *conf, char *path, size_t len);

#endif
