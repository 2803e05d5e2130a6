/*
 * mig.h - the tunnels of one migration to or from a host on another
 * subnet (TUNNELS.md, "Migration sequence").
 *
 * Both sides call migtun_prepare() before the guest can resume on the
 * target (the source before MIGRATE, the target before it starts xl
 * migrate-receive) and migtun_finish() after.  For each bridge of the
 * guest's vifs that a relocd-tunnel entry covers for the peer, the tunnel
 * is held for the guest: by the target as "here:UUID", by the source as
 * "away:UUID".  A guest that comes back over a tunnel it once left by
 * (the other role is held too) frees both holds, so a tunnel goes when
 * the last guest that needed it is home.  After a move the target
 * announces every vif (RARP, gratuitous ARP) into its bridge and the
 * source makes its bridge forget the MACs; on failure the holds taken for
 * this migration are dropped.
 */
#ifndef RELOCD_MIGTUN_H
#define RELOCD_MIGTUN_H

#include <stddef.h>

struct relocd_conf;
struct guestnet;
struct migtun;

enum migtun_role { MIGTUN_SOURCE, MIGTUN_TARGET };

/* Holder kinds: "here:" (the guest runs here), "away:" (we sent it). */
#define MIGTUN_HERE "here:"
#define MIGTUN_AWAY "away:"

/*
 * Holds the tunnels to peer (dotted quad) that gn's vifs need.  *mt_r is
 * NULL when none is needed (no entry for the peer, a loopback peer, no
 * vifs).  Returns 0, or -1 with err ("vxlan tunnel to P on xenbr0: ...")
 * and every hold of this call dropped again.
 */
int migtun_prepare(const struct relocd_conf *conf, enum migtun_role role,
                   const char *peer, const struct guestnet *gn,
                   struct migtun **mt_r, char *err, size_t errlen);

/*
 * The move's outcome: ok, announces (target) or forgets (source) the
 * guest's MACs and frees the holds of a guest come home; not ok, drops
 * the holds prepare took.  Frees mt (NULL is a no-op).  Problems are
 * logged: the guest is where it is.
 */
void migtun_finish(struct migtun *mt, int ok);

/*
 * The UUID in a holder name of the kind given (MIGTUN_HERE or
 * MIGTUN_AWAY), or NULL when it is another kind.
 */
const char *migtun_holder_uuid(const char *holder, const char *kind);

#endif
