/*
 * xlstream.h - the parts of xl's migration stream relocd must read or
 * write itself (tools/xl/xl_saverestore.c, xl_migrate.c; facts verified in
 * the lab, see ../shared/SENDER-FACTS.md): the receiver's banner, the xl
 * save header and its optional data, which carries the domain's JSON config.
 */
#ifndef RELOCD_XLSTREAM_H
#define RELOCD_XLSTREAM_H

#include <stddef.h>
#include <stdint.h>

struct buf;

/* The receiver's first words, 54 bytes, no NUL on the wire. */
#define XLS_BANNER "xl migration receiver ready, send binary domain data.\n"
#define XLS_BANNER_LEN (sizeof(XLS_BANNER) - 1)
/*
 * xl's commit handshake after the stream (xl_migrate.c), each sent with its
 * NUL: sizeof() is the length on the wire.  The receiver says READY, the
 * sender GO (permission to unpause), the receiver REPORT and one status
 * byte (0 = its copy runs).
 */
#define XLS_MSG_READY "domain received, ready to unpause"
#define XLS_MSG_GO "domain is yours, you are cleared to unpause"
#define XLS_MSG_REPORT "my copy unpause results are as follows"
/*
 * How long each step of xl's protocol may take before relocd gives up: the
 * receiver's start (banner) and each handshake message, and the restore
 * of the guest on the target between the stream's end and READY.
 */
#define XLS_STEP_TIMEOUT_MS (60 * 1000)
#define XLS_RESTORE_TIMEOUT_MS (300 * 1000)
/* xl's save-file magic, 32 bytes including the embedded NUL. */
#define XLS_MAGIC "Xen saved domain, xl format\n \0 \r"
#define XLS_MAGIC_LEN 32
#define XLS_HDR_LEN 48
#define XLS_BYTEORDER 0x01020304u
#define XLS_MANDATORY_STREAMV2 0x1u
#define XLS_MANDATORY_JSON 0x2u
/* Larger configs are refused: they could not travel in one PREFLIGHT. */
#define XLS_MAX_OPTIONAL (200u * 1024)

struct xls_header {
    uint32_t mandatory_flags, optional_flags, optional_data_len;
};

/*
 * Checks the header in the len bytes at p (XLS_HDR_LEN are read; fewer are
 * refused): magic, this host's byte order, flags xl 4.17 knows, bounded
 * optional data.  Returns 0, or -1 with a reason.
 */
int xls_parse_header(const uint8_t *p, size_t len, struct xls_header *h,
                     char *err, size_t errlen);
/*
 * Finds the JSON config in the optional data (u32 length, then the text
 * with its NUL).  Returns 0 with *json_r pointing into opt (NUL-terminated,
 * *len_r bytes without the NUL), or -1 with a reason.
 */
int xls_parse_config(const uint8_t *opt, size_t optlen, const char **json_r,
                     size_t *len_r, char *err, size_t errlen);
/* Appends a header and optional data carrying json (sender side). */
int xls_put_header(struct buf *out, const char *json);

/*
 * The libxl v2 stream around libxenguest's data (libxl_stream_write.c,
 * docs/specs/libxl-migration-stream.pandoc): a header (ident, version 2,
 * options, big-endian), then records of a little-endian type and body
 * length, the body, and zeros to the next multiple of 8.  An emulator's
 * records start their body with its id and index (u32 each).
 */
#define XLS_STREAM_HDR_LEN 16
#define XLS_REC_END 0u
#define XLS_REC_LIBXC_CONTEXT 1u
#define XLS_REC_EMULATOR_XENSTORE_DATA 2u
#define XLS_REC_EMULATOR_CONTEXT 3u
#define XLS_EMULATOR_NONE 0u /* a record without emulator sub-header */
#define XLS_EMULATOR_QEMU_UPSTREAM 2u
/* QEMU's device state is tens of KiB; libxl sets no limit, relocd this. */
#define XLS_MAX_EMULATOR_CONTEXT (64u * 1024 * 1024)

/* Appends the libxl stream header. */
int xls_put_stream_header(struct buf *out);
/*
 * Appends a record of type: header, emulator sub-header (emulator_id,
 * index 0) unless emulator_id is XLS_EMULATOR_NONE, the len bytes of
 * body, padding.  Returns 0, or -1 (ENOSPC; EFBIG past a u32 length).
 */
int xls_put_record(struct buf *out, uint32_t type, uint32_t emulator_id,
                   const void *body, size_t len);
/* The bytes xls_put_record appends for a body of len bytes. */
size_t xls_record_size(uint32_t emulator_id, size_t len);

/*
 * How the libxl stream of a PVH guest starts (libxl header v2,
 * LIBXC_CONTEXT, libxc image header, domain header x86 HVM, page size 4K,
 * Xen 4.17): what the fake engine of the tests and the transport benchmark
 * send before their synthetic page records.
 */
#define XLS_SYNTHETIC_START_LEN 60
extern const uint8_t xls_synthetic_start[XLS_SYNTHETIC_START_LEN];

#endif
