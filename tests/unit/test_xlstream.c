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

int main(void)
{
    test_round_trip();
    test_bad();
    return t_done("test_xlstream");
}
