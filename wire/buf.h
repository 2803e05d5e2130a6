/*
 * buf.h - bounded byte buffers for untrusted input (after OpenSSH's sshbuf).
 *
 * Every buffer has a hard maximum size fixed at creation; getters check the
 * length before copying and fail cleanly.  All functions return 0 on
 * success, or -1 with errno set: ENOSPC when a put would exceed the
 * maximum, ENODATA when a get asks for more than is buffered.
 */
#ifndef RELOCD_BUF_H
#define RELOCD_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct buf;

/* A new empty buffer that never grows beyond max bytes; NULL on ENOMEM. */
struct buf *buf_new(size_t max);
/* Frees the buffer (NULL is a no-op); the contents are wiped first. */
void buf_free(struct buf *b);
void buf_reset(struct buf *b);

/* Bytes buffered, and a pointer to the first (valid until the next put). */
size_t buf_len(const struct buf *b);
const uint8_t *buf_ptr(const struct buf *b);
/* How many more bytes a put may add. */
size_t buf_avail(const struct buf *b);

int buf_put(struct buf *b, const void *data, size_t len);
int buf_put_u16(struct buf *b, uint16_t v);
int buf_put_u32(struct buf *b, uint32_t v);

int buf_get(struct buf *b, void *data, size_t len);
int buf_get_u16(struct buf *b, uint16_t *v_r);
int buf_get_u32(struct buf *b, uint32_t *v_r);
int buf_peek_u16(const struct buf *b, size_t off, uint16_t *v_r);
int buf_peek_u32(const struct buf *b, size_t off, uint32_t *v_r);
/* Drops len bytes from the front. */
int buf_consume(struct buf *b, size_t len);

/*
 * Reserves len bytes at the end for the caller to fill (e.g. by read(2)),
 * then buf_commit() adds the count actually written.  The reservation ends
 * with that commit, or with any other call that changes b.  buf_commit()
 * refuses (-1, EINVAL, nothing added) more than the reservation left, so
 * a wrong count cannot expose bytes nobody wrote or pass the maximum.
 */
int buf_reserve(struct buf *b, size_t len, uint8_t **p_r);
int buf_commit(struct buf *b, size_t len);

#endif
