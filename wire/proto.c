/*
 * proto.c - frame encoding and the table of typed errors.
 */
#include <errno.h>
#include <string.h>

#include "wire/buf.h"
#include "wire/diskframe.h"
#include "wire/proto.h"

static const struct {
    const char *name;
    const char *text;
} proto_errs[PERR_MAX] = {
    [PERR_OK] = {"ok", "success"},
    [PERR_VERSION] = {"version-mismatch", "no common protocol version"},
    [PERR_BAD_FRAME] = {"bad-frame", "frame too large or malformed"},
    [PERR_BAD_MESSAGE] = {"bad-message", "malformed message"},
    [PERR_UNEXPECTED] = {"unexpected", "message not expected now"},
    [PERR_DENIED] = {"denied", "peer not allowed"},
    [PERR_BUSY] = {"busy", "too many migrations or connections"},
    [PERR_TIMEOUT] = {"timeout", "peer too slow"},
    [PERR_PREFLIGHT] = {"preflight", "pre-flight check failed"},
    [PERR_BAD_FLAGS] = {"bad-flags", "migrate-receive flag not allowed"},
    [PERR_INTERNAL] = {"internal", "internal error on the server"},
    [PERR_EOF] = {"eof", "connection closed by peer"},
    [PERR_IO] = {"io", "connection failed"},
    [PERR_PEER] = {"peer", "peer reported an error"},
};

const char *proto_err_name(enum proto_err e)
{
    return (unsigned)e < PERR_MAX ? proto_errs[e].name : "unknown";
}

enum proto_err proto_err_from_name(const char *name)
{
    unsigned i;

    /* From an ERROR frame: one that says "ok" is as wrong as an unknown
     * code, and must not read as success to a caller that checks it. */
    for (i = PERR_OK + 1; i < PERR_EOF; i++)
        if (!strcmp(proto_errs[i].name, name)) return i;
    return PERR_INTERNAL;
}

const char *proto_strerror(enum proto_err e)
{
    return (unsigned)e < PERR_MAX ? proto_errs[e].text : "unknown error";
}

const char *proto_type_name(unsigned type)
{
    static const char *const names[] = {
        [PROTO_HELLO] = "HELLO",
        [PROTO_ERROR] = "ERROR",
        [PROTO_PREFLIGHT] = "PREFLIGHT",
        [PROTO_PREFLIGHT_RESULT] = "PREFLIGHT_RESULT",
        [PROTO_MIGRATE] = "MIGRATE",
        [PROTO_ACCEPT] = "ACCEPT",
        [PROTO_ANATOMY] = "ANATOMY",
    };
    static const char *const ctl_names[] = {
        "CTL_MIGRATE", "CTL_EVENT", "CTL_LIST", "CTL_LIST_RESULT", "CTL_CANCEL",
    };
    static const char *const disk_names[] = {
        "DISK_HELLO",    "DISK_READY", "DISK_DATA", "DISK_ZERO",
        "DISK_PASS_END", "DISK_DONE",  "DISK_ACK",
    };

    if (type < sizeof(names) / sizeof(names[0]) && names[type])
        return names[type];
    if (type >= PROTO_CTL_MIGRATE && type <= PROTO_CTL_CANCEL)
        return ctl_names[type - PROTO_CTL_MIGRATE];
    if (type >= DISK_HELLO && type <= DISK_ACK)
        return disk_names[type - DISK_HELLO];
    return "UNKNOWN";
}

enum proto_err proto_frame_take(struct buf *in, struct proto_frame *f)
{
    uint32_t len;
    uint16_t type, flags;

    if (buf_len(in) < PROTO_HDR_LEN) return PERR_EOF;
    if (buf_peek_u32(in, 0, &len) < 0 || buf_peek_u16(in, 4, &type) < 0 ||
        buf_peek_u16(in, 6, &flags) < 0)
        return PERR_EOF;
    if (len > PROTO_MAX_FRAME || flags != 0) return PERR_BAD_FRAME;
    if (buf_len(in) - PROTO_HDR_LEN < len) return PERR_EOF;
    buf_consume(in, PROTO_HDR_LEN);
    buf_get(in, f->payload, len);
    f->payload[len] = '\0';
    f->type = type;
    f->len = len;
    return PERR_OK;
}

int proto_frame_put(struct buf *out, unsigned type, const void *payload,
                    size_t len)
{
    if (len > PROTO_MAX_FRAME || type > 0xffff) {
        errno = EMSGSIZE;
        return -1;
    }
    if (buf_avail(out) < PROTO_HDR_LEN + len) {
        errno = ENOSPC;
        return -1;
    }
    buf_put_u32(out, (uint32_t)len);
    buf_put_u16(out, (uint16_t)type);
    buf_put_u16(out, 0);
    return buf_put(out, payload, len);
}
