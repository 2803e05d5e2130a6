/*
 * chan.h - one relocation connection: a socket, TLS when negotiated, an
 * input buffer bounded to one frame, and a deadline.
 *
 * Each connection is served by its own process, so I/O blocks, but never
 * past the deadline: a silent or slow peer gets PERR_TIMEOUT.
 */
#ifndef RELOCD_CHAN_H
#define RELOCD_CHAN_H

#include <stddef.h>
#include <sys/types.h>

#include "wire/proto.h"

struct buf;
struct tls_conn;

struct chan;

/* Wraps fd (the chan closes it in chan_free()); NULL on ENOMEM. */
struct chan *chan_new(int fd);
void chan_free(struct chan *c);
/* Carries all further bytes over TLS; the chan frees tls. */
void chan_set_tls(struct chan *c, struct tls_conn *tls);
/*
 * Frees the TLS state without a word to the peer; the chan has no TLS then.
 * For a process that handed the connection to another (a forked relay) and
 * still holds a copy of the state: that copy is stale, and a record sent
 * from it, such as chan_free()'s close_notify, would reuse a sequence
 * number, and so an AES-GCM nonce, that the relay has used already.
 */
void chan_drop_tls(struct chan *c);
struct tls_conn *chan_tls(const struct chan *c);
int chan_fd(const struct chan *c);
/* Sets the deadline ms milliseconds from now; ms < 0 means none. */
void chan_set_timeout(struct chan *c, int ms);

/* Sends every byte of out (and empties it).  PERR_OK, PERR_TIMEOUT, PERR_IO. */
enum proto_err chan_send(struct chan *c, struct buf *out);
/*
 * Receives one frame.  PERR_OK, PERR_EOF (peer closed), PERR_TIMEOUT,
 * PERR_IO, or PERR_BAD_FRAME (then the connection is unusable).
 */
enum proto_err chan_recv_frame(struct chan *c, struct proto_frame *f);
/*
 * Receives exactly len raw bytes (stream phase helpers), taking buffered
 * bytes first.  PERR_OK, PERR_EOF, PERR_TIMEOUT or PERR_IO.
 */
enum proto_err chan_read_exact(struct chan *c, void *data, size_t len);
enum proto_err chan_write_all(struct chan *c, const void *data, size_t len);
/* Raw read of up to len bytes: >0, 0 on EOF, -1 with errno. */
ssize_t chan_read_some(struct chan *c, void *data, size_t len);
/* Bytes read from the socket but not yet consumed. */
size_t chan_pending(const struct chan *c);

#endif
