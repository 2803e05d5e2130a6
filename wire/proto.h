/*
 * proto.h - relocd wire protocol version 1: frames and typed errors.
 * The specification is README.xen, section 3.
 */
#ifndef RELOCD_PROTO_H
#define RELOCD_PROTO_H

#include <stddef.h>
#include <stdint.h>

struct buf;

#define PROTO_VERSION 1
#define PROTO_MIN_VERSION 1
#define PROTO_HDR_LEN 8
#define PROTO_MAX_FRAME (256 * 1024)

enum proto_type {
    PROTO_HELLO = 1,
    PROTO_ERROR = 2,
    PROTO_PREFLIGHT = 3,
    PROTO_PREFLIGHT_RESULT = 4,
    PROTO_MIGRATE = 5,
    PROTO_ACCEPT = 6,
    PROTO_ANATOMY = 7, /* after the stream, when MIGRATE asked for it */
    /* The local control socket (xl-relocate <-> relocd), same framing. */
    PROTO_CTL_MIGRATE = 0x101,
    PROTO_CTL_EVENT = 0x102,
    PROTO_CTL_LIST = 0x103,
    PROTO_CTL_LIST_RESULT = 0x104,
    PROTO_CTL_CANCEL = 0x105,
};

/* Typed errors: the first ones travel in ERROR frames, the last are local. */
enum proto_err {
    PERR_OK = 0,
    PERR_VERSION,
    PERR_BAD_FRAME,
    PERR_BAD_MESSAGE,
    PERR_UNEXPECTED,
    PERR_DENIED,
    PERR_BUSY,
    PERR_TIMEOUT,
    PERR_PREFLIGHT,
    PERR_BAD_FLAGS,
    PERR_INTERNAL,
    PERR_EOF,  /* local: the peer closed the connection */
    PERR_IO,   /* local: read/write failed, see errno */
    PERR_PEER, /* local: the peer sent an ERROR frame */
    PERR_MAX
};

/* The code's name on the wire ("bad-frame"), or "unknown". */
const char *proto_err_name(enum proto_err e);
/* The code for a wire name; PERR_INTERNAL for names we do not know. */
enum proto_err proto_err_from_name(const char *name);
/* A sentence for humans ("frame too large or malformed"). */
const char *proto_strerror(enum proto_err e);
const char *proto_type_name(unsigned type);

struct proto_frame {
    unsigned type;
    size_t len;
    uint8_t payload[PROTO_MAX_FRAME + 1]; /* NUL-terminated for parsers */
};

/*
 * Takes one frame off the front of in.  Returns PERR_OK with f filled,
 * PERR_EOF when in holds no complete frame yet (nothing consumed), or
 * PERR_BAD_FRAME for a frame that breaks the caps (the connection is dead).
 */
enum proto_err proto_frame_take(struct buf *in, struct proto_frame *f);
/* Appends one frame to out; -1 with errno (EMSGSIZE, ENOSPC) on failure. */
int proto_frame_put(struct buf *out, unsigned type, const void *payload,
                    size_t len);

#endif
