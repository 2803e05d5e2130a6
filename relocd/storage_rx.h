/*
 * storage_rx.h - block migration on the target (README.xen 3.5).
 *
 * The session that receives the guest's memory checks the disks in
 * pre-flight, creates them (sparse files of the source's size) when
 * MIGRATE names a token for each, and registers each token in dir (a
 * root-only directory beside the control socket).  A disk connection
 * presents its token: its session opens the registered file and writes
 * what the sender's passes carry (diskrecv.h).  When the receive ends, the
 * memory session drops the registrations and removes the disks, unless the
 * guest runs here.
 */
#ifndef RELOCD_STORAGE_RX_H
#define RELOCD_STORAGE_RX_H

#include <stddef.h>
#include <stdint.h>

#include "wire/msg.h"

/*
 * Pre-flight, touching nothing.  A disk whose path here has the identity
 * the source sent (diskid.h) and its size is shared storage: its bit is
 * set in res->shared, and it leaves d (*n counts the rest, in order).
 * Each other path clean and absolute, matched by allow (relocd-disk-allow;
 * NULL: no disk may be created), not there yet, in an existing directory
 * with room for the source's allocated bytes.  Adds "storage" checks to
 * res (when *n > 0).
 */
void storage_rx_check(struct msg_disk *d, unsigned *n, const char *allow,
                      struct msg_preflight_result *res);
/*
 * MIGRATE: creates the n disks (O_EXCL, mode 0600, sized) and registers
 * tokens[i] for d[i].  0, or -1 with a reason in why (what was made is
 * removed again).
 */
int storage_rx_create(const char *dir, const struct msg_disk *d, unsigned n,
                      char tokens[][MSG_TOKEN_LEN + 1], char *why, size_t len);
/* After the receive: drops the tokens; removes the disks unless keep. */
void storage_rx_finish(const char *dir, const struct msg_disk *d, unsigned n,
                       char tokens[][MSG_TOKEN_LEN + 1], int keep);
/*
 * A disk connection's token: the registered disk opened read-write (its
 * fd), its size and path.  -1 with a reason in why.
 */
int storage_rx_open(const char *dir, const char *token, uint64_t *size_r,
                    char *path_r, size_t pathlen, char *why, size_t len);
/* A token's registration: the disk's size and path.  0, or -1. */
int storage_rx_lookup(const char *dir, const char *token, uint64_t *size_r,
                      char *path_r, size_t pathlen);
/*
 * After relocd's death: a receive that did not finish left token's disk.
 * Drops the registration and, unless keep (the guest runs here on it),
 * removes the disk; its path into path_r.  0, or -1 when nothing is
 * registered (or the disk could not be removed, errno set).
 */
int storage_rx_reap(const char *dir, const char *token, int keep, char *path_r,
                    size_t pathlen);

#endif
