/*
 * xlstream.c - xl save header: parse (from an untrusted peer) and build.
 *
 * xl writes the header in the domain's (this host's) byte order; relocd
 * only supports same-endian x86 hosts, as xl does.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "wire/buf.h"
#include "wire/xlstream.h"

static uint32_t get_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

int xls_parse_header(const uint8_t *p, size_t len, struct xls_header *h,
                     char *err, size_t errlen)
{
    const uint32_t known = XLS_MANDATORY_STREAMV2 | XLS_MANDATORY_JSON;

    if (len < XLS_HDR_LEN) {
        snprintf(err, errlen, "xl stream header of %zu bytes, not %d", len,
                 XLS_HDR_LEN);
        return -1;
    }
    if (memcmp(p, XLS_MAGIC, XLS_MAGIC_LEN)) {
        snprintf(err, errlen, "not an xl migration stream (bad magic)");
        return -1;
    }
    if (get_le32(p + 32) != XLS_BYTEORDER) {
        snprintf(err, errlen, "xl stream from a host of other byte order");
        return -1;
    }
    h->mandatory_flags = get_le32(p + 36);
    h->optional_flags = get_le32(p + 40);
    h->optional_data_len = get_le32(p + 44);
    if (h->mandatory_flags & ~known) {
        snprintf(err, errlen, "xl stream needs unknown features 0x%x",
                 h->mandatory_flags & ~known);
        return -1;
    }
    if (!(h->mandatory_flags & XLS_MANDATORY_JSON) ||
        !(h->mandatory_flags & XLS_MANDATORY_STREAMV2)) {
        snprintf(err, errlen,
                 "xl stream without a JSON config or in the "
                 "legacy format (flags 0x%x)",
                 h->mandatory_flags);
        return -1;
    }
    if (h->optional_data_len < 4 || h->optional_data_len > XLS_MAX_OPTIONAL) {
        snprintf(err, errlen, "xl stream config of %u bytes (limit %u)",
                 h->optional_data_len, XLS_MAX_OPTIONAL);
        return -1;
    }
    return 0;
}

int xls_parse_config(const uint8_t *opt, size_t optlen, const char **json_r,
                     size_t *len_r, char *err, size_t errlen)
{
    uint32_t len;

    if (optlen < 4) {
        snprintf(err, errlen, "xl stream optional data too short");
        return -1;
    }
    len = get_le32(opt);
    if (len < 1 || len > optlen - 4 || opt[4 + len - 1] != '\0' ||
        memchr(opt + 4, '\0', len - 1)) {
        snprintf(err, errlen,
                 "xl stream config length %u inconsistent "
                 "(optional data %zu bytes)",
                 len, optlen);
        return -1;
    }
    *json_r = (const char *)opt + 4;
    *len_r = len - 1;
    return 0;
}

static int put_le32(struct buf *out, uint32_t v)
{
    uint8_t x[4] = {v & 0xff, (v >> 8) & 0xff, (v >> 16) & 0xff, v >> 24};

    return buf_put(out, x, sizeof(x));
}

int xls_put_header(struct buf *out, const char *json)
{
    size_t len = strlen(json) + 1;

    if (len > XLS_MAX_OPTIONAL - 4) return -1;
    if (buf_put(out, XLS_MAGIC, XLS_MAGIC_LEN) < 0 ||
        put_le32(out, XLS_BYTEORDER) < 0 ||
        put_le32(out, XLS_MANDATORY_STREAMV2 | XLS_MANDATORY_JSON) < 0 ||
        put_le32(out, 0) < 0 || put_le32(out, (uint32_t)(4 + len)) < 0 ||
        put_le32(out, (uint32_t)len) < 0)
        return -1;
    return buf_put(out, json, len);
}

int xls_put_stream_header(struct buf *out)
{
    return buf_put(out, xls_synthetic_start, XLS_STREAM_HDR_LEN);
}

size_t xls_record_size(uint32_t emulator_id, size_t len)
{
    size_t body = len + (emulator_id != XLS_EMULATOR_NONE ? 8 : 0);

    return 8 + ((body + 7) & ~(size_t)7);
}

int xls_put_record(struct buf *out, uint32_t type, uint32_t emulator_id,
                   const void *body, size_t len)
{
    static const uint8_t zeros[8];
    size_t blen = len + (emulator_id != XLS_EMULATOR_NONE ? 8 : 0);

    if (blen > UINT32_MAX - 8) {
        errno = EFBIG;
        return -1;
    }
    if (buf_avail(out) < xls_record_size(emulator_id, len)) {
        errno = ENOSPC;
        return -1;
    }
    if (put_le32(out, type) < 0 || put_le32(out, (uint32_t)blen) < 0 ||
        (emulator_id != XLS_EMULATOR_NONE &&
         (put_le32(out, emulator_id) < 0 || put_le32(out, 0) < 0)) ||
        (len && buf_put(out, body, len) < 0))
        return -1;
    return buf_put(out, zeros, (8 - blen % 8) % 8);
}

/* Its first 16 bytes are the libxl stream header xen/send.c writes. */
const uint8_t xls_synthetic_start[XLS_SYNTHETIC_START_LEN] = {
    0x4c, 0x69, 0x62, 0x78, 0x6c, 0x46, 0x6d, 0x74, /* "LibxlFmt" */
    0,    0,    0,    2,    0,    0,    0,    0,    /* version 2 */
    1,    0,    0,    0,    0,    0,    0,    0,    /* LIBXC_CONTEXT */
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, /* libxc marker */
    0x58, 0x45, 0x4e, 0x46, 0,    0,    0,    3,    /* "XENF" v3 */
    0,    0,    0,    0,    0,    0,    0,    0,    /* image header */
    3,    0,    0,    0,    12,   0,    0,    0,    /* x86 HVM, 4K */
    4,    0,    17,   0                             /* domain header 4.17 */
};
