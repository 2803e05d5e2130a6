/*
 * conf.h - relocd's tunnels as configured: the relocd-tunnel entries of
 * xend-config.sxp given their meaning (tunconf.c), and what the daemon does
 * with them at start-up and then every TUNCONF_TICK_S (tunkeep.c; see
 * TUNNELS.md).
 */
#ifndef RELOCD_TUNCONF_H
#define RELOCD_TUNCONF_H

#include <stddef.h>
#include <stdio.h>

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
void tunconf_state_path(const struct relocd_conf *conf, char *path, size_t len);

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

/*
 * For the admin (relocd --tunnels, --tunnel-release): prints the tunnels
 * and their holders, one tunnel a line; drops a holder (e.g. "away:UUID"
 * of a guest destroyed on the peer) from every tunnel, removing those it
 * was the last of.  Return 0, or -1 with a message in err.
 */
int tunconf_list(const struct relocd_conf *conf, FILE *f, char *err,
                 size_t errlen);
int tunconf_release(const struct relocd_conf *conf, const char *holder,
                    char *err, size_t errlen);

#endif
