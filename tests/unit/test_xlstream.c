/* test_xlstream.c - xl save header: build, parse, and reject bad ones. */
#include "wire/buf.h"
#include "t.h"
#include "wire/xlstream.h"

static char err[256];

static struct buf *good(const char *json)
{
    struct buf *b = buf_new(XLS_HDR_LEN + XLS_MAX_OPTIONAL);

    xls_put_header(b, json);
    return b;
}

static void test_round_trip(void)
{
    struct buf *b = good("{\"c_info\":{\"name\":\"g1\"}}");
    const uint8_t *p = buf_ptr(b);
    struct xls_header h;
    const char *json;
    size_t len;

    T_EQ_INT(XLS_BANNER_LEN, 54);
    T_EQ_INT(buf_len(b), XLS_HDR_LEN + 4 + 25);
    T_EQ_INT(xls_parse_header(p, buf_len(b), &h, err, sizeof(err)), 0);
    T_EQ_INT(xls_parse_header(p, XLS_HDR_LEN - 1, &h, err, sizeof(err)), -1);
    T_EQ_STR(err, "xl stream header of 47 bytes, not 48");
    T_EQ_INT(h.mandatory_flags, 3);
    T_EQ_INT(h.optional_data_len, 4 + 25);
    T_EQ_INT(xls_parse_config(p + XLS_HDR_LEN, h.optional_data_len, &json, &len,
                              err, sizeof(err)),
             0);
    T_EQ_INT(len, 24);
    T_EQ_STR(json, "{\"c_info\":{\"name\":\"g1\"}}");
    buf_free(b);
}

/* Corrupts byte off of a good header and expects a reason mentioning re. */
static void bad_header(size_t off, uint8_t v, const char *re)
{
    struct buf *b = good("{}");
    uint8_t hdr[XLS_HDR_LEN];
    struct xls_header h;

    memcpy(hdr, buf_ptr(b), sizeof(hdr));
    hdr[off] = v;
    T_EQ_INT(xls_parse_header(hdr, sizeof(hdr), &h, err, sizeof(err)), -1);
    T_OK(strstr(err, re) != NULL, "'%s' lacks '%s'", err, re);
    buf_free(b);
}

static void test_bad(void)
{
    uint8_t opt[16] = {5, 0, 0, 0, '{', '}', 0, 0, 0};
    const char *json;
    size_t len;

    bad_header(0, 'x', "bad magic");
    bad_header(32, 0x05, "byte order");
    bad_header(36, 0x07, "unknown features");
    bad_header(36, 0x01, "without a JSON config");
    bad_header(47, 0x7f, "limit");
    bad_header(44, 0x01, "limit"); /* 1 byte: less than the u32 length */
    T_EQ_INT(xls_parse_config(opt, 9, &json, &len, err, sizeof(err)), -1);
    opt[0] = 3; /* "{}" and its NUL: fine, trailing bytes are ignored */
    T_EQ_INT(xls_parse_config(opt, 9, &json, &len, err, sizeof(err)), 0);
    T_EQ_INT(len, 2);
    opt[0] = 200;
    T_EQ_INT(xls_parse_config(opt, 9, &json, &len, err, sizeof(err)), -1);
    opt[0] = 0;
    T_EQ_INT(xls_parse_config(opt, 9, &json, &len, err, sizeof(err)), -1);
    T_EQ_INT(xls_parse_config(opt, 3, &json, &len, err, sizeof(err)), -1);
}

/*
 * libxl's records byte for byte (libxl-migration-stream.pandoc, "Record
 * Format" and "Emulator Records"; libxl_stream_write.c): type, body
 * length (sub-header and data, not padding), emulator id and index,
 * data, zeros to 8.
 */
static void test_records(void)
{
    static const uint8_t header[16] = {'L', 'i', 'b', 'x', 'l', 'F', 'm', 't',
                                       0,   0,   0,   2,   0,   0,   0,   0};
    static const uint8_t end[8] = {0};
    static const uint8_t libxc[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t context[24] = {
        3,   0,   0,   0,   13, 0, 0, 0, /* EMULATOR_CONTEXT, 8 + 5 */
        2,   0,   0,   0,   0,  0, 0, 0, /* QEMU upstream, index 0 */
        'Q', 'E', 'V', 'M', 1,  0, 0, 0  /* state, 3 bytes padding */
    };
    static const uint8_t xsdata[32] = {
        2,   0,   0,   0,   20,  0,   0,   0,   /* XENSTORE_DATA, 8 + 12 */
        2,   0,   0,   0,   0,   0,   0,   0,   /* QEMU upstream */
        'p', 'h', 'y', 's', 'm', 'a', 'p', '/', /* key NUL value NUL */
        '1', 0,   '2', 0,   0,   0,   0,   0};
    static const uint8_t big[64];
    struct buf *b = buf_new(64);

    T_EQ_INT(xls_put_stream_header(b), 0);
    T_OK(buf_len(b) == 16 && !memcmp(buf_ptr(b), header, 16), "header");
    buf_reset(b);
    T_EQ_INT(xls_put_record(b, XLS_REC_END, XLS_EMULATOR_NONE, NULL, 0), 0);
    T_EQ_INT(
        xls_put_record(b, XLS_REC_LIBXC_CONTEXT, XLS_EMULATOR_NONE, NULL, 0),
        0);
    T_OK(buf_len(b) == 16 && !memcmp(buf_ptr(b), end, 8) &&
             !memcmp(buf_ptr(b) + 8, libxc, 8),
         "END, LIBXC_CONTEXT");
    buf_reset(b);
    T_EQ_INT(xls_put_record(b, XLS_REC_EMULATOR_CONTEXT,
                            XLS_EMULATOR_QEMU_UPSTREAM, "QEVM\1", 5),
             0);
    T_EQ_INT(xls_record_size(XLS_EMULATOR_QEMU_UPSTREAM, 5), 24);
    T_OK(buf_len(b) == 24 && !memcmp(buf_ptr(b), context, 24),
         "EMULATOR_CONTEXT");
    buf_reset(b);
    T_EQ_INT(xls_put_record(b, XLS_REC_EMULATOR_XENSTORE_DATA,
                            XLS_EMULATOR_QEMU_UPSTREAM,
                            "physmap/1\0"
                            "2",
                            12),
             0);
    T_OK(buf_len(b) == 32 && !memcmp(buf_ptr(b), xsdata, 32),
         "EMULATOR_XENSTORE_DATA");
    /* A body the buffer cannot hold whole: nothing half-written. */
    buf_reset(b);
    T_EQ_INT(xls_put_record(b, XLS_REC_EMULATOR_CONTEXT,
                            XLS_EMULATOR_QEMU_UPSTREAM, big, 49),
             -1);
    T_EQ_INT(buf_len(b), 0);
    buf_free(b);
}

int main(void)
{
    test_round_trip();
    test_bad();
    test_records();
    return t_done("test_xlstream");
}
