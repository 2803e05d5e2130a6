/*
 * diskframe.c - encoding and checking the disk channel's records.
 *
 * Every record but DATA has a fixed length, checked before a field is
 * read; DATA's length field must match the frame's.  Fields are read at
 * fixed offsets of the frame's payload, which proto_frame_take() bounded.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>

#include "wire/buf.h"
#include "wire/diskframe.h"

#define HELLO_LEN 16
#define ZERO_LEN 16
#define COUNT_LEN 24
#define DONE_LEN 4

const char *diskframe_type_name(unsigned type)
{
    static const char *const names[] = {
        "HELLO", "READY", "DATA", "ZERO", "PASS_END", "DONE", "ACK",
    };

    if (type < DISK_HELLO || type > DISK_ACK) return NULL;
    return names[type - DISK_HELLO];
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
    put_be32(p, (uint32_t)(v >> 32));
    put_be32(p + 4, (uint32_t)v);
}

static uint32_t get_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
    return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

static int aligned(uint64_t v)
{
    return v % DISK_SECTOR == 0;
}

/* Whether [off, off + len) is a non-empty, sector-aligned part of the disk. */
static int in_disk(uint64_t off, uint64_t len, uint64_t size)
{
    return len && aligned(off) && aligned(len) && off <= size &&
           len <= size - off;
}

static int hello_ok(const struct disk_hello *h)
{
    return h->version == DISK_PROTO_VERSION &&
           h->block_size >= DISK_BLOCK_MIN && h->block_size <= DISK_BLOCK_MAX &&
           aligned(h->block_size) && h->size && aligned(h->size) &&
           h->size <= DISK_SIZE_MAX;
}

static int put_fixed(struct buf *out, unsigned type, const uint8_t *p,
                     size_t len)
{
    return proto_frame_put(out, type, p, len);
}

int diskframe_put_hello(struct buf *out, const struct disk_hello *h)
{
    uint8_t p[HELLO_LEN];

    if (!hello_ok(h)) {
        errno = EINVAL;
        return -1;
    }
    put_be32(p, h->version);
    put_be32(p + 4, h->block_size);
    put_be64(p + 8, h->size);
    return put_fixed(out, DISK_HELLO, p, sizeof(p));
}

int diskframe_put_ready(struct buf *out)
{
    return put_fixed(out, DISK_READY, NULL, 0);
}

int diskframe_put_data_head(struct buf *out, uint64_t offset, uint32_t len)
{
    uint8_t head[DISK_DATA_HEAD];

    if (!len || len > DISK_DATA_MAX || !aligned(offset) || !aligned(len) ||
        offset > DISK_SIZE_MAX) {
        errno = EINVAL;
        return -1;
    }
    if (buf_avail(out) < PROTO_HDR_LEN + sizeof(head)) {
        errno = ENOSPC;
        return -1;
    }
    put_be64(head, offset);
    put_be32(head + 8, len);
    buf_put_u32(out, (uint32_t)(sizeof(head) + len));
    buf_put_u16(out, DISK_DATA);
    buf_put_u16(out, 0);
    return buf_put(out, head, sizeof(head));
}

int diskframe_put_data(struct buf *out, uint64_t offset, const void *bytes,
                       uint32_t len)
{
    if (len <= DISK_DATA_MAX &&
        buf_avail(out) < PROTO_HDR_LEN + DISK_DATA_HEAD + len) {
        errno = ENOSPC;
        return -1;
    }
    if (diskframe_put_data_head(out, offset, len) < 0) return -1;
    return buf_put(out, bytes, len);
}

int diskframe_put_zero(struct buf *out, uint64_t offset, uint64_t len)
{
    uint8_t p[ZERO_LEN];

    if (!in_disk(offset, len, DISK_SIZE_MAX)) {
        errno = EINVAL;
        return -1;
    }
    put_be64(p, offset);
    put_be64(p + 8, len);
    return put_fixed(out, DISK_ZERO, p, sizeof(p));
}

static int put_count(struct buf *out, unsigned type, const struct disk_count *c)
{
    uint8_t p[COUNT_LEN];

    put_be32(p, c->pass);
    put_be32(p + 4, c->records);
    put_be64(p + 8, c->data_bytes);
    put_be64(p + 16, c->zero_bytes);
    return put_fixed(out, type, p, sizeof(p));
}

int diskframe_put_pass_end(struct buf *out, const struct disk_count *c)
{
    return put_count(out, DISK_PASS_END, c);
}

int diskframe_put_done(struct buf *out, uint32_t passes)
{
    uint8_t p[DONE_LEN];

    put_be32(p, passes);
    return put_fixed(out, DISK_DONE, p, sizeof(p));
}

int diskframe_put_ack(struct buf *out, const struct disk_count *c)
{
    return put_count(out, DISK_ACK, c);
}

static enum proto_err bad(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum proto_err bad(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return PERR_BAD_MESSAGE;
}

/* The frame's type and exact payload length. */
static enum proto_err expect(const struct proto_frame *f, unsigned type,
                             size_t len, char *why, size_t whylen)
{
    if (f->type != type) {
        snprintf(why, whylen, "expected %s, got frame type 0x%x",
                 diskframe_type_name(type), f->type);
        return PERR_UNEXPECTED;
    }
    if (f->len != len)
        return bad(why, whylen, "%s of %zu bytes, not %zu",
                   diskframe_type_name(type), f->len, len);
    return PERR_OK;
}

enum proto_err diskframe_get_hello(const struct proto_frame *f,
                                   struct disk_hello *h, char *why,
                                   size_t whylen)
{
    enum proto_err e = expect(f, DISK_HELLO, HELLO_LEN, why, whylen);

    if (e) return e;
    h->version = get_be32(f->payload);
    h->block_size = get_be32(f->payload + 4);
    h->size = get_be64(f->payload + 8);
    if (h->version != DISK_PROTO_VERSION)
        return bad(why, whylen, "disk channel version %u, not %u", h->version,
                   DISK_PROTO_VERSION);
    if (!hello_ok(h))
        return bad(why, whylen,
                   "disk of %llu bytes in blocks of %u: "
                   "not a multiple of %u, or out of range",
                   (unsigned long long)h->size, h->block_size, DISK_SECTOR);
    return PERR_OK;
}

enum proto_err diskframe_get_ready(const struct proto_frame *f, char *why,
                                   size_t whylen)
{
    return expect(f, DISK_READY, 0, why, whylen);
}

enum proto_err diskframe_get_data(const struct proto_frame *f,
                                  uint64_t disk_size, struct disk_data *d,
                                  char *why, size_t whylen)
{
    if (f->type != DISK_DATA) return expect(f, DISK_DATA, 0, why, whylen);
    if (f->len < DISK_DATA_HEAD)
        return bad(why, whylen, "DATA of %zu bytes", f->len);
    d->offset = get_be64(f->payload);
    d->len = get_be32(f->payload + 8);
    d->bytes = f->payload + DISK_DATA_HEAD;
    if (d->len != f->len - DISK_DATA_HEAD || d->len > DISK_DATA_MAX)
        return bad(why, whylen, "DATA says %u bytes, carries %zu", d->len,
                   f->len - DISK_DATA_HEAD);
    if (!in_disk(d->offset, d->len, disk_size))
        return bad(why, whylen,
                   "DATA at %llu+%u: unaligned or past the disk's %llu",
                   (unsigned long long)d->offset, d->len,
                   (unsigned long long)disk_size);
    return PERR_OK;
}

enum proto_err diskframe_get_zero(const struct proto_frame *f,
                                  uint64_t disk_size, struct disk_zero *z,
                                  char *why, size_t whylen)
{
    enum proto_err e = expect(f, DISK_ZERO, ZERO_LEN, why, whylen);

    if (e) return e;
    z->offset = get_be64(f->payload);
    z->len = get_be64(f->payload + 8);
    if (!in_disk(z->offset, z->len, disk_size))
        return bad(why, whylen,
                   "ZERO at %llu+%llu: unaligned or past the disk's %llu",
                   (unsigned long long)z->offset, (unsigned long long)z->len,
                   (unsigned long long)disk_size);
    return PERR_OK;
}

static enum proto_err get_count(const struct proto_frame *f, unsigned type,
                                struct disk_count *c, char *why, size_t whylen)
{
    enum proto_err e = expect(f, type, COUNT_LEN, why, whylen);

    if (e) return e;
    c->pass = get_be32(f->payload);
    c->records = get_be32(f->payload + 4);
    c->data_bytes = get_be64(f->payload + 8);
    c->zero_bytes = get_be64(f->payload + 16);
    return PERR_OK;
}

enum proto_err diskframe_get_pass_end(const struct proto_frame *f,
                                      struct disk_count *c, char *why,
                                      size_t whylen)
{
    return get_count(f, DISK_PASS_END, c, why, whylen);
}

enum proto_err diskframe_get_done(const struct proto_frame *f,
                                  uint32_t *passes_r, char *why, size_t whylen)
{
    enum proto_err e = expect(f, DISK_DONE, DONE_LEN, why, whylen);

    if (e) return e;
    *passes_r = get_be32(f->payload);
    return PERR_OK;
}

enum proto_err diskframe_get_ack(const struct proto_frame *f,
                                 struct disk_count *c, char *why, size_t whylen)
{
    return get_count(f, DISK_ACK, c, why, whylen);
}
