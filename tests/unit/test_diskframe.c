/*
 * test_diskframe.c - the disk channel's records (README.xen 3.5): round
 * trips, the bytes on the wire, and every bound a hostile sender may break.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "wire/buf.h"
#include "wire/diskframe.h"
#include "wire/proto.h"
#include "t.h"

#define DISK (8ULL << 20)

static struct proto_frame frame; /* 256 KiB: not on the stack */
static char why[256];

static struct buf *new_out(void)
{
    return buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME);
}

/* Puts a raw frame, as a hostile peer may write it, and takes it back. */
static enum proto_err raw(unsigned type, const void *p, size_t len)
{
    struct buf *b = new_out();
    enum proto_err e;

    proto_frame_put(b, type, p, len);
    e = proto_frame_take(b, &frame);
    buf_free(b);
    return e;
}

static void test_hello_round_trip_and_bytes(void)
{
    static const uint8_t want[] = {0, 0, 0, 16, 0x02, 0x01, 0, 0,
                                   0, 0, 0, 1,  0,    1,    0, 0,
                                   0, 0, 0, 0,  0,    0x80, 0, 0};
    struct disk_hello h = {DISK_PROTO_VERSION, 64 * 1024, DISK}, g;
    struct buf *b = new_out();

    T_EQ_INT(diskframe_put_hello(b, &h), 0);
    T_EQ_INT(buf_len(b), sizeof(want));
    T_OK(!memcmp(buf_ptr(b), want, sizeof(want)), "hello bytes");
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(diskframe_get_hello(&frame, &g, why, sizeof(why)), PERR_OK);
    T_OK(g.version == 1 && g.block_size == 65536 && g.size == DISK, "fields");
    buf_free(b);
}

static void test_hello_refuses_odd_geometry(void)
{
    struct disk_hello h = {DISK_PROTO_VERSION, 64 * 1024, DISK + 100}, g;
    uint8_t p[16] = {0, 0, 0, 1, 0, 0, 2, 0}; /* block 512: too small */
    struct buf *b = new_out();

    T_EQ_INT(diskframe_put_hello(b, &h), -1);
    T_EQ_INT(errno, EINVAL);
    p[15] = 0;
    p[14] = 0x10;
    T_EQ_INT(raw(DISK_HELLO, p, sizeof(p)), PERR_OK);
    T_EQ_INT(diskframe_get_hello(&frame, &g, why, sizeof(why)),
             PERR_BAD_MESSAGE);
    p[3] = 2; /* version 2 */
    p[6] = 1; /* block 64 KiB */
    T_EQ_INT(raw(DISK_HELLO, p, sizeof(p)), PERR_OK);
    T_EQ_INT(diskframe_get_hello(&frame, &g, why, sizeof(why)),
             PERR_BAD_MESSAGE);
    T_OK(strstr(why, "version"), "%s", why);
    T_EQ_INT(raw(DISK_HELLO, p, 15), PERR_OK); /* short */
    T_EQ_INT(diskframe_get_hello(&frame, &g, why, sizeof(why)),
             PERR_BAD_MESSAGE);
    buf_free(b);
}

static void test_data_round_trip_at_the_cap(void)
{
    uint8_t *bytes = malloc(DISK_DATA_MAX);
    struct buf *b = new_out();
    struct disk_data d;

    memset(bytes, 0x3c, DISK_DATA_MAX);
    T_EQ_INT(diskframe_put_data(b, DISK - DISK_DATA_MAX, bytes, DISK_DATA_MAX),
             0);
    T_EQ_INT(buf_len(b), PROTO_HDR_LEN + DISK_DATA_HEAD + DISK_DATA_MAX);
    T_OK(buf_len(b) <= PROTO_HDR_LEN + PROTO_MAX_FRAME, "within the cap");
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(diskframe_get_data(&frame, DISK, &d, why, sizeof(why)), PERR_OK);
    T_EQ_INT(d.offset, DISK - DISK_DATA_MAX);
    T_EQ_INT(d.len, DISK_DATA_MAX);
    T_OK(!memcmp(d.bytes, bytes, DISK_DATA_MAX), "payload");
    T_EQ_INT(diskframe_put_data(b, 0, bytes, DISK_DATA_MAX + 512), -1);
    T_EQ_INT(diskframe_put_data(b, 100, bytes, 512), -1);
    T_EQ_INT(diskframe_put_data(b, 0, bytes, 0), -1);
    T_EQ_INT(buf_len(b), 0);
    free(bytes);
    buf_free(b);
}

/* The head alone, its bytes appended after: the same frame as put_data. */
static void test_data_head_then_bytes_is_the_same_frame(void)
{
    uint8_t bytes[4096];
    struct buf *a = new_out(), *b = new_out();

    memset(bytes, 0x5a, sizeof(bytes));
    T_EQ_INT(diskframe_put_data(a, 8192, bytes, sizeof(bytes)), 0);
    T_EQ_INT(diskframe_put_data_head(b, 8192, sizeof(bytes)), 0);
    T_EQ_INT(buf_len(b), PROTO_HDR_LEN + DISK_DATA_HEAD);
    T_EQ_INT(buf_put(b, bytes, sizeof(bytes)), 0);
    T_EQ_INT(buf_len(a), buf_len(b));
    T_OK(!memcmp(buf_ptr(a), buf_ptr(b), buf_len(a)), "same bytes");
    buf_reset(b);
    T_EQ_INT(diskframe_put_data_head(b, 100, 4096), -1);
    T_EQ_INT(diskframe_put_data_head(b, 0, DISK_DATA_MAX + 4096), -1);
    T_EQ_INT(diskframe_put_data_head(b, 0, 0), -1);
    T_EQ_INT(buf_len(b), 0);
    buf_free(a);
    buf_free(b);
}

static void put_be64(uint8_t *p, uint64_t v)
{
    int i;

    for (i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A DATA frame with the given head and n payload bytes. */
static enum proto_err data_frame(uint64_t off, uint32_t says, size_t n)
{
    static uint8_t p[DISK_DATA_HEAD + DISK_DATA_MAX + 4096];
    struct disk_data d;

    memset(p, 0, sizeof(p));
    put_be64(p, off);
    put_be32(p + 8, says);
    if (raw(DISK_DATA, p, DISK_DATA_HEAD + n) != PERR_OK) return PERR_INTERNAL;
    return diskframe_get_data(&frame, DISK, &d, why, sizeof(why));
}

static void test_data_bounds(void)
{
    T_EQ_INT(data_frame(0, 512, 512), PERR_OK);
    T_EQ_INT(data_frame(DISK - 512, 512, 512), PERR_OK);
    T_EQ_INT(data_frame(DISK, 512, 512), PERR_BAD_MESSAGE);
    T_OK(strstr(why, "past the disk"), "%s", why);
    T_EQ_INT(data_frame(UINT64_MAX - 511, 512, 512), PERR_BAD_MESSAGE);
    T_EQ_INT(data_frame(0, 1024, 512), PERR_BAD_MESSAGE); /* says more */
    T_EQ_INT(data_frame(0, 512, 1024), PERR_BAD_MESSAGE); /* carries more */
    T_EQ_INT(data_frame(0, 100, 100), PERR_BAD_MESSAGE);  /* not a sector */
    T_EQ_INT(data_frame(256, 512, 512), PERR_BAD_MESSAGE);
    T_EQ_INT(data_frame(0, 0, 0), PERR_BAD_MESSAGE);
    T_EQ_INT(data_frame(0, DISK_DATA_MAX + 512, DISK_DATA_MAX + 512),
             PERR_BAD_MESSAGE);
    T_EQ_INT(raw(DISK_DATA, "short", 5), PERR_OK);
    T_EQ_INT(diskframe_get_data(&frame, DISK, &(struct disk_data){0}, why,
                                sizeof(why)),
             PERR_BAD_MESSAGE);
}

static enum proto_err zero_frame(uint64_t off, uint64_t len)
{
    uint8_t p[16];
    struct disk_zero z;

    put_be64(p, off);
    put_be64(p + 8, len);
    raw(DISK_ZERO, p, sizeof(p));
    return diskframe_get_zero(&frame, DISK, &z, why, sizeof(why));
}

static void test_zero_bounds(void)
{
    struct buf *b = new_out();
    struct disk_zero z;

    T_EQ_INT(diskframe_put_zero(b, 4096, DISK - 4096), 0);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(diskframe_get_zero(&frame, DISK, &z, why, sizeof(why)), PERR_OK);
    T_OK(z.offset == 4096 && z.len == DISK - 4096, "fields");
    T_EQ_INT(zero_frame(0, DISK), PERR_OK);
    T_EQ_INT(zero_frame(512, DISK), PERR_BAD_MESSAGE);
    T_EQ_INT(zero_frame(DISK, 512), PERR_BAD_MESSAGE);
    T_EQ_INT(zero_frame(512, UINT64_MAX - 511), PERR_BAD_MESSAGE); /* wraps */
    T_EQ_INT(zero_frame(0, 0), PERR_BAD_MESSAGE);
    T_EQ_INT(zero_frame(0, 511), PERR_BAD_MESSAGE);
    T_EQ_INT(diskframe_put_zero(b, 0, 0), -1);
    buf_free(b);
}

static void test_counts_round_trip(void)
{
    struct disk_count c = {7, 300, 1ULL << 40, 5ULL << 33}, g;
    struct buf *b = new_out();
    uint32_t passes = 0;

    T_EQ_INT(diskframe_put_pass_end(b, &c), 0);
    T_EQ_INT(diskframe_put_done(b, 8), 0);
    T_EQ_INT(diskframe_put_ack(b, &c), 0);
    T_EQ_INT(diskframe_put_ready(b), 0);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(diskframe_get_pass_end(&frame, &g, why, sizeof(why)), PERR_OK);
    T_OK(!memcmp(&c, &g, sizeof(c)), "pass end");
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(diskframe_get_done(&frame, &passes, why, sizeof(why)), PERR_OK);
    T_EQ_INT(passes, 8);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(diskframe_get_ack(&frame, &g, why, sizeof(why)), PERR_OK);
    T_OK(!memcmp(&c, &g, sizeof(c)), "ack");
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(diskframe_get_ready(&frame, why, sizeof(why)), PERR_OK);
    buf_free(b);
}

static void test_wrong_type_is_unexpected(void)
{
    struct disk_count c;

    T_EQ_INT(raw(DISK_DONE, "\0\0\0\1", 4), PERR_OK);
    T_EQ_INT(diskframe_get_ack(&frame, &c, why, sizeof(why)), PERR_UNEXPECTED);
    T_OK(strstr(why, "expected ACK"), "%s", why);
    T_EQ_INT(raw(PROTO_HELLO, "{}", 2), PERR_OK);
    T_EQ_INT(diskframe_get_ready(&frame, why, sizeof(why)), PERR_UNEXPECTED);
    T_EQ_INT(raw(DISK_READY, "x", 1), PERR_OK);
    T_EQ_INT(diskframe_get_ready(&frame, why, sizeof(why)), PERR_BAD_MESSAGE);
}

static void test_type_names(void)
{
    T_EQ_STR(diskframe_type_name(DISK_HELLO), "HELLO");
    T_EQ_STR(diskframe_type_name(DISK_ACK), "ACK");
    T_OK(!diskframe_type_name(DISK_ACK + 1), "past the range");
    T_OK(!diskframe_type_name(PROTO_HELLO), "control range");
}

int main(void)
{
    test_hello_round_trip_and_bytes();
    test_hello_refuses_odd_geometry();
    test_data_round_trip_at_the_cap();
    test_data_head_then_bytes_is_the_same_frame();
    test_data_bounds();
    test_zero_bounds();
    test_counts_round_trip();
    test_wrong_type_is_unexpected();
    test_type_names();
    return t_done("test_diskframe");
}
