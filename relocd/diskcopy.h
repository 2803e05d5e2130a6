/*
 * diskcopy.h - the source's side of the disk channel (README.xen 3.5):
 * copies a disk that the guest keeps writing, pass after pass, over a
 * connection of its own.
 *
 * The caller drives the passes in step with memory's pre-copy rounds:
 *
 *   diskcopy_begin()           HELLO/READY, tracking starts
 *   diskcopy_send()            pass 0: the allocated blocks, holes as ZERO
 *   { diskcopy_close();        the blocks written meanwhile (an era)
 *     diskcopy_send(); }...    while the policy says continue
 *   (guest suspended)
 *   diskcopy_finish()          the last era, DONE, the target's ACK
 *   (then the memory stream's END record: the target attaches the disk)
 *
 * diskcopy_stats() gives the policy what the disk adds to the downtime:
 * pending_bytes, the bytes a pass sent now would read.  The source is
 * only read: the fd must be open read-only, or diskcopy_new() refuses it.
 */
#ifndef RELOCD_DISKCOPY_H
#define RELOCD_DISKCOPY_H

#include <stddef.h>
#include <stdint.h>

#include "relocd/disktrack.h"
#include "wire/proto.h"

struct chan;
struct diskcopy;

struct diskcopy_cfg {
    enum disktrack_first first; /* pass 0: everything, or allocated blocks */
    int idle_ms;                /* the connection's idle limit; < 0 none */
};

struct diskcopy_stats {
    uint32_t passes;        /* passes sent */
    uint64_t pending_bytes; /* bytes of the blocks the next pass sends */
    uint64_t era_bytes;     /* bytes the last closed era found written */
    uint64_t read_bytes;    /* read from the source */
    uint64_t data_bytes;    /* sent as DATA */
    uint64_t zero_bytes;    /* sent as ZERO (holes, zero blocks) */
    uint64_t records;       /* DATA and ZERO records */
    uint64_t wire_bytes;    /* every frame, headers included */
    double close_ms;        /* the last era close (the tracker's) */
    double done_ms;         /* DONE to ACK: the target's sync, a round trip */
};

/*
 * A copy of the disk read from src_fd (open O_RDONLY, O_DIRECT optional:
 * buffers and offsets are 4 KiB aligned), whose writes t tracks, to the
 * receiver at the other end of c.  The disk's size (a file's, a block
 * device's) must be a multiple of 512 and t's.  The caller keeps src_fd,
 * t and c, and frees t (which ends tracking) on every path.  NULL with
 * errno (EINVAL, EBADF: a writable source, ENOMEM) and a reason in err.
 */
struct diskcopy *diskcopy_new(int src_fd, struct disktrack *t, struct chan *c,
                              const struct diskcopy_cfg *cfg, char *err,
                              size_t errlen);
void diskcopy_free(struct diskcopy *dc);

/*
 * Each returns PERR_OK; PERR_PEER with the receiver's ERROR; PERR_EOF,
 * PERR_IO, PERR_TIMEOUT from the connection; PERR_UNEXPECTED or
 * PERR_BAD_MESSAGE for a bad reply; PERR_INTERNAL when reading the source
 * or tracking failed.  diskcopy_error() says which.
 */
enum proto_err diskcopy_begin(struct diskcopy *dc);
/* Ends an era: its blocks join those the next pass sends. */
enum proto_err diskcopy_close(struct diskcopy *dc);
/* Sends a pass: every pending block, and in pass 0 the holes as ZERO. */
enum proto_err diskcopy_send(struct diskcopy *dc);
/* DONE, then waits for ACK and checks the target's counts. */
enum proto_err diskcopy_done(struct diskcopy *dc);
/* With the guest suspended: close, send, done. */
enum proto_err diskcopy_finish(struct diskcopy *dc);

void diskcopy_stats(const struct diskcopy *dc, struct diskcopy_stats *s_r);
const char *diskcopy_error(const struct diskcopy *dc);

#endif
