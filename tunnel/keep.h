/*
 * keep.h - the daemon's upkeep of tunnels (keep.c): at start-up and then
 * every TUNKEEP_TICK_S (see TUNNELS.md, "Start-up and upkeep").
 */
#ifndef RELOCD_TUNKEEP_H
#define RELOCD_TUNKEEP_H

#include <stddef.h>
#include <stdio.h>

struct relocd_conf;

#define TUNKEEP_TICK_S 30

/*
 * Whether a domain with this UUID ("xxxxxxxx-xxxx-...") runs on this host:
 * 1 yes, 0 no (its "here:" holds are dropped), -1 when that cannot be
 * asked (they are kept).  The daemon passes xen_domain_uuid_exists; the
 * tunnel layer does not talk to Xen itself.
 */
typedef int tunkeep_guest_exists_fn(const char *uuid);

/*
 * At start-up: checks that the kernel has every configured kind (and logs
 * the kernel's own words when it has not), repairs or removes tunnels a
 * previous relocd left, drops the guests guest_exists says are gone,
 * brings up the (on-demand no) tunnels.  Never fatal: problems are logged.
 */
void tunkeep_start(const struct relocd_conf *conf,
                   tunkeep_guest_exists_fn *guest_exists);

/* Every TUNKEEP_TICK_S while no migration runs: repair and prune. */
void tunkeep_tick(const struct relocd_conf *conf,
                  tunkeep_guest_exists_fn *guest_exists);

/*
 * For the admin (relocd --tunnels, --tunnel-release): prints the tunnels
 * and their holders, one tunnel a line; drops a holder (e.g. "away:UUID"
 * of a guest destroyed on the peer) from every tunnel, removing those it
 * was the last of.  Return 0, or -1 with a message in err.
 */
int tunkeep_list(const struct relocd_conf *conf, FILE *f, char *err,
                 size_t errlen);
int tunkeep_release(const struct relocd_conf *conf, const char *holder,
                    char *err, size_t errlen);

#endif
