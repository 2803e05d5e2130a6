/*
 * tunconf.h - relocd's tunnels as configured: the relocd-tunnel entries of
 * xend-config.sxp given their meaning (tunconf.c), and what the daemon does
 * with them at start-up and then every TUNCONF_TICK_S (tunkeep.c; see
 * TUNNELS.md).
 */
#ifndef RELOCD_TUNCONF_H
#define RELOCD_TUNCONF_H

#include <stddef.h>

struct relocd_conf;
struct tunnel_cfg;

#define TUNCONF_TICK_S 30

/*
 * The entries of conf as tunnel_cfg's, malloc'd into *cfgs_r (NULL when
 * there are none; the caller frees).  Returns 0, or -1 with
 * "FILE:LINE: relocd-tunnel: why" in err.
 */
int tunconf_parse(const struct relocd_conf *conf, struct tunnel_cfg **cfgs_r,
                  size_t *n_r, char *err, size_t errlen);

/* tunconf_parse() for its verdict only: 0, or -1 with the message. */
int tunconf_check(const struct relocd_conf *conf, char *err, size_t errlen);

/* The tunnel state file: "tunnels" beside the control socket. */
void tunconf_state_path(const struct relocd_conf *conf, char *path,
                        size_t len);

/* --- tunkeep.c ----------------------------------------------------------- */

/*
 * At start-up: checks that the kernel has every configured kind (and logs
 * the kernel's own words when it has not), repairs or removes tunnels a
 * previous relocd left, drops guests that are gone, brings up the
 * (on-demand no) tunnels.  Never fatal: problems are logged.
 */
void tunconf_start(const struct relocd_conf *conf);

/* Every TUNCONF_TICK_S while no migration runs: repair and prune. */
void tunconf_tick(const struct relocd_conf *conf);

#endif
