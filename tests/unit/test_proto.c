/* test_proto.c - frames on the wire (README.xen 3.1) and the error table. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#include "wire/buf.h"
#include "wire/diskframe.h"
#include "wire/proto.h"
#include "t.h"

static struct proto_frame frame; /* 256 KiB: not on the stack */

/* A raw header, as a hostile peer may write it. */
static void put_hdr(struct buf *b, uint32_t len, uint16_t type, uint16_t flags)
{
    buf_put_u32(b, len);
    buf_put_u16(b, type);
    buf_put_u16(b, flags);
}

static void test_roundtrip_keeps_type_and_payload(void)
{
    struct buf *b = buf_new(1024);

    T_EQ_INT(proto_frame_put(b, PROTO_HELLO, "{\"a\":1}", 7), 0);
    T_EQ_INT(buf_len(b), PROTO_HDR_LEN + 7);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(frame.type, PROTO_HELLO);
    T_EQ_INT(frame.len, 7);
    T_EQ_STR((const char *)frame.payload, "{\"a\":1}");
    T_EQ_INT(buf_len(b), 0);
    buf_free(b);
}

static void test_header_is_big_endian_with_zero_flags(void)
{
    static const uint8_t want[] = {0, 0, 0, 2, 0x01, 0x03, 0, 0, '{', '}'};
    struct buf *b = buf_new(64);

    T_EQ_INT(proto_frame_put(b, PROTO_CTL_LIST, "{}", 2), 0);
    T_EQ_INT(buf_len(b), sizeof(want));
    T_OK(!memcmp(buf_ptr(b), want, sizeof(want)), "header bytes");
    buf_free(b);
}

static void test_empty_payload_is_nul_terminated(void)
{
    struct buf *b = buf_new(64);

    memset(frame.payload, 'x', 4);
    T_EQ_INT(proto_frame_put(b, PROTO_ACCEPT, NULL, 0), 0);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(frame.type, PROTO_ACCEPT);
    T_EQ_INT(frame.len, 0);
    T_EQ_INT(frame.payload[0], 0);
    buf_free(b);
}

static void test_frames_come_off_in_order(void)
{
    struct buf *b = buf_new(256);

    T_EQ_INT(proto_frame_put(b, PROTO_HELLO, "one", 3), 0);
    T_EQ_INT(proto_frame_put(b, PROTO_MIGRATE, "two!", 4), 0);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_STR((const char *)frame.payload, "one");
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(frame.type, PROTO_MIGRATE);
    T_EQ_STR((const char *)frame.payload, "two!");
    T_EQ_INT(proto_frame_take(b, &frame), PERR_EOF);
    buf_free(b);
}

static void test_frame_at_the_cap_passes(void)
{
    struct buf *b = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME);
    uint8_t *p = malloc(PROTO_MAX_FRAME);

    memset(p, 'z', PROTO_MAX_FRAME);
    T_EQ_INT(proto_frame_put(b, PROTO_PREFLIGHT, p, PROTO_MAX_FRAME), 0);
    T_EQ_INT(buf_avail(b), 0);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(frame.len, PROTO_MAX_FRAME);
    T_EQ_INT(frame.payload[PROTO_MAX_FRAME - 1], 'z');
    T_EQ_INT(frame.payload[PROTO_MAX_FRAME], 0);
    free(p);
    buf_free(b);
}

static void test_put_over_the_cap_is_emsgsize(void)
{
    struct buf *b = buf_new(2 * PROTO_MAX_FRAME);
    uint8_t *p = calloc(1, PROTO_MAX_FRAME + 1);

    errno = 0;
    T_EQ_INT(proto_frame_put(b, PROTO_PREFLIGHT, p, PROTO_MAX_FRAME + 1), -1);
    T_EQ_INT(errno, EMSGSIZE);
    T_EQ_INT(buf_len(b), 0);
    free(p);
    buf_free(b);
}

static void test_put_type_over_16_bits_is_emsgsize(void)
{
    struct buf *b = buf_new(64);

    errno = 0;
    T_EQ_INT(proto_frame_put(b, 0x10000, "", 0), -1);
    T_EQ_INT(errno, EMSGSIZE);
    T_EQ_INT(buf_len(b), 0);
    T_EQ_INT(proto_frame_put(b, 0xffff, "", 0), 0);
    buf_free(b);
}

static void test_put_into_full_buffer_is_enospc_and_atomic(void)
{
    struct buf *b = buf_new(PROTO_HDR_LEN + 3);

    errno = 0;
    T_EQ_INT(proto_frame_put(b, PROTO_HELLO, "four", 4), -1);
    T_EQ_INT(errno, ENOSPC);
    T_EQ_INT(buf_len(b), 0); /* no half frame left behind */
    T_EQ_INT(proto_frame_put(b, PROTO_HELLO, "two", 3), 0);
    buf_free(b);
}

static void test_take_rejects_length_over_cap_before_payload(void)
{
    struct buf *b = buf_new(64);

    /* Only the header has arrived: no need to wait for 256 KiB + 1. */
    put_hdr(b, PROTO_MAX_FRAME + 1, PROTO_HELLO, 0);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_BAD_FRAME);
    buf_reset(b);
    put_hdr(b, 0xffffffffu, PROTO_HELLO, 0);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_BAD_FRAME);
    buf_free(b);
}

static void test_take_rejects_nonzero_flags(void)
{
    struct buf *b = buf_new(64);
    uint16_t bits[] = {1, 0x8000, 0xffff};
    size_t i;

    for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++) {
        buf_reset(b);
        put_hdr(b, 2, PROTO_HELLO, bits[i]);
        buf_put(b, "{}", 2);
        T_EQ_INT(proto_frame_take(b, &frame), PERR_BAD_FRAME);
    }
    /* Even before the payload is there. */
    buf_reset(b);
    put_hdr(b, 100, PROTO_HELLO, 1);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_BAD_FRAME);
    buf_free(b);
}

static void test_short_header_waits_and_consumes_nothing(void)
{
    struct buf *b = buf_new(64);
    size_t i;
    int ok = 1;

    put_hdr(b, 3, PROTO_HELLO, 0);
    buf_put(b, "abc", 3);
    /* Feed the same frame byte by byte into a second buffer. */
    {
        struct buf *c = buf_new(64);

        for (i = 0; i + 1 < buf_len(b); i++) {
            buf_put(c, buf_ptr(b) + i, 1);
            ok &= proto_frame_take(c, &frame) == PERR_EOF;
            ok &= buf_len(c) == i + 1;
        }
        T_OK(ok, "every prefix is incomplete and left in place");
        buf_put(c, buf_ptr(b) + i, 1);
        T_EQ_INT(proto_frame_take(c, &frame), PERR_OK);
        T_EQ_STR((const char *)frame.payload, "abc");
        buf_free(c);
    }
    buf_free(b);
}

static void test_truncated_payload_then_rest_arrives(void)
{
    struct buf *b = buf_new(64);

    put_hdr(b, 10, PROTO_ERROR, 0);
    buf_put(b, "01234", 5);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_EOF);
    T_EQ_INT(buf_len(b), PROTO_HDR_LEN + 5);
    buf_put(b, "56789", 5);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(frame.type, PROTO_ERROR);
    T_EQ_STR((const char *)frame.payload, "0123456789");
    buf_free(b);
}

static void test_unknown_type_is_framed_not_judged(void)
{
    struct buf *b = buf_new(64);

    /* Framing does not know message types: the state machine does. */
    put_hdr(b, 0, 0x7777, 0);
    T_EQ_INT(proto_frame_take(b, &frame), PERR_OK);
    T_EQ_INT(frame.type, 0x7777);
    buf_free(b);
}

/* README.xen 3.3, and the local codes after them. */
static const char *const wire_names[PERR_MAX] = {
    [PERR_OK] = "ok",
    [PERR_VERSION] = "version-mismatch",
    [PERR_BAD_FRAME] = "bad-frame",
    [PERR_BAD_MESSAGE] = "bad-message",
    [PERR_UNEXPECTED] = "unexpected",
    [PERR_DENIED] = "denied",
    [PERR_BUSY] = "busy",
    [PERR_TIMEOUT] = "timeout",
    [PERR_PREFLIGHT] = "preflight",
    [PERR_BAD_FLAGS] = "bad-flags",
    [PERR_INTERNAL] = "internal",
    [PERR_EOF] = "eof",
    [PERR_IO] = "io",
    [PERR_PEER] = "peer",
};

static void test_every_code_has_name_and_sentence(void)
{
    unsigned i, j;
    int ok = 1;

    for (i = 0; i < PERR_MAX; i++) {
        const char *n = proto_err_name(i), *s = proto_strerror(i);

        ok &= n && wire_names[i] && !strcmp(n, wire_names[i]);
        ok &= s && *s && strcmp(s, "unknown error");
        if (!ok) {
            fprintf(stderr, "code %u: name %s text %s\n", i, n ? n : "-",
                    s ? s : "-");
            break;
        }
    }
    T_OK(ok, "the table is complete and names match README.xen 3.3");
    for (i = 0, ok = 1; i < PERR_MAX; i++)
        for (j = i + 1; j < PERR_MAX; j++)
            ok &= strcmp(proto_strerror(i), proto_strerror(j)) != 0 &&
                  strcmp(proto_err_name(i), proto_err_name(j)) != 0;
    T_OK(ok, "no two codes share a name or a sentence");
}

static void test_out_of_range_code_is_unknown(void)
{
    T_EQ_STR(proto_err_name(PERR_MAX), "unknown");
    T_EQ_STR(proto_err_name((enum proto_err) - 1), "unknown");
    T_EQ_STR(proto_strerror(PERR_MAX), "unknown error");
    T_EQ_STR(proto_strerror((enum proto_err)1000), "unknown error");
}

static void test_wire_names_map_back_to_codes(void)
{
    unsigned i;
    int ok = 1;

    for (i = PERR_VERSION; i <= PERR_INTERNAL; i++)
        ok &= proto_err_from_name(proto_err_name(i)) == (enum proto_err)i;
    T_OK(ok, "every wire code round-trips through its name");
}

static void test_local_and_unknown_names_are_internal(void)
{
    /* A peer cannot make us believe it hung up or that I/O failed. */
    T_EQ_INT(proto_err_from_name("eof"), PERR_INTERNAL);
    T_EQ_INT(proto_err_from_name("io"), PERR_INTERNAL);
    T_EQ_INT(proto_err_from_name("peer"), PERR_INTERNAL);
    T_EQ_INT(proto_err_from_name("unknown"), PERR_INTERNAL);
    T_EQ_INT(proto_err_from_name(""), PERR_INTERNAL);
    T_EQ_INT(proto_err_from_name("BUSY"), PERR_INTERNAL);
    T_EQ_INT(proto_err_from_name("busy "), PERR_INTERNAL);
}

static void test_type_names(void)
{
    T_EQ_STR(proto_type_name(PROTO_HELLO), "HELLO");
    T_EQ_STR(proto_type_name(DISK_HELLO), "DISK_HELLO");
    T_EQ_STR(proto_type_name(DISK_ACK), "DISK_ACK");
    T_EQ_STR(proto_type_name(DISK_ACK + 1), "UNKNOWN");
    T_EQ_STR(proto_type_name(PROTO_ERROR), "ERROR");
    T_EQ_STR(proto_type_name(PROTO_PREFLIGHT), "PREFLIGHT");
    T_EQ_STR(proto_type_name(PROTO_PREFLIGHT_RESULT), "PREFLIGHT_RESULT");
    T_EQ_STR(proto_type_name(PROTO_MIGRATE), "MIGRATE");
    T_EQ_STR(proto_type_name(PROTO_ACCEPT), "ACCEPT");
    T_EQ_STR(proto_type_name(PROTO_ANATOMY), "ANATOMY");
    T_EQ_STR(proto_type_name(PROTO_CTL_MIGRATE), "CTL_MIGRATE");
    T_EQ_STR(proto_type_name(PROTO_CTL_EVENT), "CTL_EVENT");
    T_EQ_STR(proto_type_name(PROTO_CTL_LIST), "CTL_LIST");
    T_EQ_STR(proto_type_name(PROTO_CTL_LIST_RESULT), "CTL_LIST_RESULT");
    T_EQ_STR(proto_type_name(PROTO_CTL_CANCEL), "CTL_CANCEL");
}

static void test_unknown_type_names(void)
{
    static const unsigned bad[] = {0,      8,       0x100,       0x106,
                                   0xffff, 0x10101, (unsigned)-1};
    size_t i;
    int ok = 1;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ok &= !strcmp(proto_type_name(bad[i]), "UNKNOWN");
    T_OK(ok, "types outside both ranges are UNKNOWN");
}

int main(void)
{
    test_roundtrip_keeps_type_and_payload();
    test_header_is_big_endian_with_zero_flags();
    test_empty_payload_is_nul_terminated();
    test_frames_come_off_in_order();
    test_frame_at_the_cap_passes();
    test_put_over_the_cap_is_emsgsize();
    test_put_type_over_16_bits_is_emsgsize();
    test_put_into_full_buffer_is_enospc_and_atomic();
    test_take_rejects_length_over_cap_before_payload();
    test_take_rejects_nonzero_flags();
    test_short_header_waits_and_consumes_nothing();
    test_truncated_payload_then_rest_arrives();
    test_unknown_type_is_framed_not_judged();
    test_every_code_has_name_and_sentence();
    test_out_of_range_code_is_unknown();
    test_wire_names_map_back_to_codes();
    test_local_and_unknown_names_are_internal();
    test_type_names();
    test_unknown_type_names();
    return t_done("test_proto");
}
