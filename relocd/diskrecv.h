/*
 * diskrecv.h - the target's side of the disk channel (README.xen 3.5):
 * writes what the sender's passes carry into the target disk, syncs it on
 * DONE and acknowledges.
 *
 * Every offset and length is checked against the disk's size before a
 * byte is written; every count the sender announces is held against what
 * arrived.  Bad input is a typed error (enum proto_err) with a reason;
 * the target is then incomplete and the caller removes it.
 */
#ifndef RELOCD_DISKRECV_H
#define RELOCD_DISKRECV_H

#include <stddef.h>
#include <stdint.h>

#include "wire/diskframe.h"
#include "wire/proto.h"

struct buf;
struct chan;
struct diskrecv;

/*
 * A receiver writing into fd (the target, open read-write; the caller
 * closes it).  A regular file is sized to the disk (and stays sparse:
 * ZERO punches holes); a block device must be at least as big.  size is
 * the disk's size that pre-flight agreed on, or 0 to take HELLO's.
 * NULL on ENOMEM.
 */
struct diskrecv *diskrecv_new(int fd, uint64_t size);
void diskrecv_free(struct diskrecv *r);

/*
 * Takes one frame from the sender.  Appends the reply that is due (READY
 * after HELLO, ACK after DONE once the target is synced) to out.
 * PERR_OK; PERR_UNEXPECTED or PERR_BAD_MESSAGE for bad input; PERR_PEER
 * for the sender's ERROR; PERR_PREFLIGHT when the target is too small;
 * PERR_INTERNAL when the target cannot be written or synced.  why says
 * which.
 */
enum proto_err diskrecv_frame(struct diskrecv *r, const struct proto_frame *f,
                              struct buf *out, char *why, size_t whylen);
/* 1 once DONE was taken and ACK is due or sent. */
int diskrecv_done(const struct diskrecv *r);
/* The totals so far (pass = passes ended). */
void diskrecv_count(const struct diskrecv *r, struct disk_count *c_r);

/*
 * The whole conversation on c, each frame within idle_ms (< 0: no limit):
 * PERR_OK after ACK was sent.  On a fault of ours or the sender's, tells
 * the sender in an ERROR frame (when the connection still works).  Also
 * PERR_EOF, PERR_TIMEOUT, PERR_IO, PERR_BAD_FRAME from the connection.
 */
enum proto_err diskrecv_run(struct diskrecv *r, struct chan *c, int idle_ms,
                            char *why, size_t whylen);

#endif
