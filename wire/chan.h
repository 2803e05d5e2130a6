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
/* 1 when the connection carries TLS, 0 when plain TCP. */
int chan_has_tls(const struct chan *c);
/*
 * Whether bytes written to (*tx_r) and read from (*rx_r) chan_fd() itself
 * are the stream's: 1 for plain TCP and for a direction the kernel's TLS
 * encrypts, so another program (xl, libxenguest) may use the socket
 * directly; 0 when only the chan can speak TLS on it.
 */
void chan_kernel_io(const struct chan *c, int *tx_r, int *rx_r);
/*
 * Hands the receiving direction of TLS to the kernel (tls_conn_ktls_rx),
 * for a socket that another program will read: call it where the peer
 * sends nothing until answered.  1 when what chan_fd() receives from now
 * on is the stream's plaintext (plain TCP too); 0 when only the chan can
 * read it, with the reason in *why_r, and the chan works on as before.
 */
int chan_ktls_rx(struct chan *c, const char **why_r);
int chan_fd(const struct chan *c);
/* Sets the deadline ms milliseconds from now; ms < 0 means none. */
void chan_set_timeout(struct chan *c, int ms);
/* Milliseconds left before the deadline: -1 for none, 0 when it passed. */
int chan_time_left(const struct chan *c);

/* Sends every byte of out (and empties it).  PERR_OK, PERR_TIMEOUT, PERR_IO. */
enum proto_err chan_send(struct chan *c, struct buf *out);
/*
 * Sends out, then len bytes of data, as one stream (and empties out):
 * without TLS in user space, from where they are (one sendmsg, no copy);
 * with it, data joins out first, which must have room for it.
 */
enum proto_err chan_send_with(struct chan *c, struct buf *out, const void *data,
                              size_t len);
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
/*
 * What has arrived already, without waiting: up to len bytes from the
 * chan's or TLS's buffers.  >0, 0 at the end, -1 with errno EAGAIN or
 * ETIMEDOUT when nothing is there now (a plain socket's kernel buffer is
 * left to poll(2)), or another errno on error.
 */
ssize_t chan_read_ready(struct chan *c, void *data, size_t len);
/* Bytes read from the socket but not yet consumed. */
size_t chan_pending(const struct chan *c);
/*
 * 1 when bytes wait in user space (the chan's buffer, TLS's records) where
 * poll(2) on chan_fd() cannot see them: read them before polling again.
 */
int chan_buffered(const struct chan *c);
/*
 * Half-closes the sending direction: TLS 1.3 close_notify, or
 * shutdown(SHUT_WR) on plain TCP.  0, or -1 when it could not be sent.
 */
int chan_shutdown(struct chan *c);
/*
 * For a poll(2) loop that waits itself: on = 1 keeps the socket
 * non-blocking across TLS calls instead of switching its flags each time;
 * on = 0 restores what the TLS layer expects.  No-op on plain TCP.
 */
void chan_hold_nonblock(struct chan *c, int on);

#endif
