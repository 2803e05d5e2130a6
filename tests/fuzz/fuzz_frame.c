/*
 * fuzz_frame.c - frames and every message decoder, on untrusted bytes as a
 * peer would send them: split into frames, each decoded as every type.
 */
#include <stdint.h>
#include <stdlib.h>

#include "wire/buf.h"
#include "wire/msg.h"
#include "wire/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * Every decoder on the frame as it came, as the session may call any of
 * them on whatever frame arrives (one decodes it, the others refuse its
 * type).  The type is input like the rest: the fuzzer's mutations reach
 * each decoder with every payload, so decoding it once more as each other
 * type (up to 49 calls a frame, seven JSON parses) only cost time.
 */
static void decode_all(const struct proto_frame *f)
{
    struct msg_preflight_result res;
    struct msg_preflight pre;
    struct msg_migrate mig;
    struct msg_hello hello;
    struct msg_error err;
    struct msg_anatomy anat;
    char why[256];

    msg_get_hello(f, &hello, why, sizeof(why));
    msg_get_error(f, &err, why, sizeof(why));
    if (msg_get_preflight(f, &pre, why, sizeof(why)) == PERR_OK)
        msg_preflight_clear(&pre);
    msg_get_preflight_result(f, &res, why, sizeof(why));
    msg_get_migrate(f, &mig, why, sizeof(why));
    msg_get_accept(f, why, sizeof(why));
    msg_get_anatomy(f, &anat, why, sizeof(why));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct proto_frame f;
    struct buf *in = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME);
    size_t off = 0, chunk;

    /* Feed in odd-sized pieces, as a socket would deliver them. */
    while (in && off < size) {
        chunk = size - off < 7 ? size - off : 7 + data[off] % 64;
        if (chunk > size - off) chunk = size - off;
        if (buf_put(in, data + off, chunk) < 0) break;
        off += chunk;
        while (proto_frame_take(in, &f) == PERR_OK)
            decode_all(&f);
    }
    buf_free(in);
    return 0;
}
