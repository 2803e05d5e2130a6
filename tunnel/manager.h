/*
 * manager.h - the tunnel manager (manager.c): which tunnels are up, and
 * who holds each, kept in the state file under a lock.
 */
#ifndef RELOCD_TUNNEL_MANAGER_H
#define RELOCD_TUNNEL_MANAGER_H

#include <stddef.h>

#include "tunnel/tunnel.h"

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
int tunnel_probe(struct tunnel_mgr *m, enum tunnel_kind kind, char *err,
                 size_t errlen);
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
                   const struct tunnel_cfg *cfg, const char *holder, char *err,
                   size_t errlen);
/*
 * Drops holder from the tunnel to peer on bridge, and removes the tunnel
 * when it was the last.  ENOENT: no such tunnel or holder.
 */
int tunnel_release(struct tunnel_mgr *m, const char *peer, const char *bridge,
                   const char *holder, char *err, size_t errlen);
/* Drops holder from every tunnel (a guest destroyed or gone). */
int tunnel_release_holder(struct tunnel_mgr *m, const char *holder, char *err,
                          size_t errlen);
/*
 * At start-up: removes tunnels nobody holds, re-creates those whose
 * device or EtherIP process has vanished (e.g. relocd or its host was
 * killed in between).  *repaired_r (may be NULL) counts the re-created.
 */
int tunnel_restore_state(struct tunnel_mgr *m, unsigned *repaired_r, char *err,
                         size_t errlen);
/* Drops every holder for which alive(holder, arg) returns 0. */
int tunnel_prune(struct tunnel_mgr *m, int (*alive)(const char *, void *),
                 void *arg, char *err, size_t errlen);
/* A snapshot of the state (tunnel_state_clear() frees). */
int tunnel_list(struct tunnel_mgr *m, struct tunnel_state *st_r, char *err,
                size_t errlen);

#endif
