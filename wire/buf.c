/*
 * buf.c - bounded byte buffers.
 *
 * Data lives in d[off, off+len); space is compacted lazily before a put that
 * would not otherwise fit, so consuming from the front is O(1).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "wire/buf.h"

struct buf {
    uint8_t *d;
    size_t off, len, cap, max;
    size_t reserved; /* bytes after the data that buf_commit() may add */
};

struct buf *buf_new(size_t max)
{
    struct buf *b = calloc(1, sizeof(*b));

    if (b) b->max = max;
    return b;
}

void buf_free(struct buf *b)
{
    if (!b) return;
    if (b->d) explicit_bzero(b->d, b->cap);
    free(b->d);
    free(b);
}

void buf_reset(struct buf *b)
{
    b->off = b->len = b->reserved = 0;
}

size_t buf_len(const struct buf *b)
{
    return b->len;
}

const uint8_t *buf_ptr(const struct buf *b)
{
    return b->d ? b->d + b->off : (const uint8_t *)"";
}

size_t buf_avail(const struct buf *b)
{
    return b->max - b->len;
}

/* Makes room for len more bytes at the end, within the maximum. */
static int buf_make_room(struct buf *b, size_t len)
{
    size_t need, ncap;
    uint8_t *nd;

    if (len > b->max - b->len) {
        errno = ENOSPC;
        return -1;
    }
    need = b->len + len;
    if (b->off + need <= b->cap) return 0;
    if (need <= b->cap) {
        memmove(b->d, b->d + b->off, b->len);
        b->off = 0;
        return 0;
    }
    ncap = b->cap ? b->cap : (b->max < 256 ? b->max : 256);
    while (ncap < need)
        ncap = ncap > b->max / 2 ? b->max : ncap * 2;
    nd = malloc(ncap);
    if (!nd) return -1;
    if (b->len) memcpy(nd, b->d + b->off, b->len);
    if (b->d) explicit_bzero(b->d, b->cap);
    free(b->d);
    b->d = nd;
    b->cap = ncap;
    b->off = 0;
    return 0;
}

int buf_reserve(struct buf *b, size_t len, uint8_t **p_r)
{
    b->reserved = 0;
    if (buf_make_room(b, len) < 0) return -1;
    *p_r = b->d + b->off + b->len;
    b->reserved = len;
    return 0;
}

int buf_commit(struct buf *b, size_t len)
{
    if (len > b->reserved) {
        errno = EINVAL;
        return -1;
    }
    b->len += len;
    b->reserved = 0;
    return 0;
}

int buf_put(struct buf *b, const void *data, size_t len)
{
    uint8_t *p;

    if (buf_reserve(b, len, &p) < 0) return -1;
    if (len) memcpy(p, data, len);
    return buf_commit(b, len);
}

int buf_put_u16(struct buf *b, uint16_t v)
{
    uint8_t x[2] = {v >> 8, v & 0xff};

    return buf_put(b, x, sizeof(x));
}

int buf_put_u32(struct buf *b, uint32_t v)
{
    uint8_t x[4] = {v >> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff};

    return buf_put(b, x, sizeof(x));
}

int buf_peek_u16(const struct buf *b, size_t off, uint16_t *v_r)
{
    const uint8_t *p = buf_ptr(b) + off;

    if (off > b->len || b->len - off < 2) {
        errno = ENODATA;
        return -1;
    }
    *v_r = (uint16_t)(p[0] << 8 | p[1]);
    return 0;
}

int buf_peek_u32(const struct buf *b, size_t off, uint32_t *v_r)
{
    const uint8_t *p = buf_ptr(b) + off;

    if (off > b->len || b->len - off < 4) {
        errno = ENODATA;
        return -1;
    }
    *v_r = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
    return 0;
}

int buf_consume(struct buf *b, size_t len)
{
    if (len > b->len) {
        errno = ENODATA;
        return -1;
    }
    b->off += len;
    b->len -= len;
    if (!b->len) b->off = 0;
    b->reserved = 0; /* the end may have moved */
    return 0;
}

int buf_get(struct buf *b, void *data, size_t len)
{
    if (len > b->len) {
        errno = ENODATA;
        return -1;
    }
    if (len) memcpy(data, buf_ptr(b), len);
    return buf_consume(b, len);
}

int buf_get_u16(struct buf *b, uint16_t *v_r)
{
    if (buf_peek_u16(b, 0, v_r) < 0) return -1;
    return buf_consume(b, 2);
}

int buf_get_u32(struct buf *b, uint32_t *v_r)
{
    if (buf_peek_u32(b, 0, v_r) < 0) return -1;
    return buf_consume(b, 4);
}
