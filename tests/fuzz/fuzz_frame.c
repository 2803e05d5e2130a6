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
 * Every decoder once on the frame as it came (one decodes it, the others
 * must refuse its type), then the payload decoded as each other type: the
 * refusal path is the same for every wrong type, so trying all 49 pairs
 * spent a third of the harness formatting identical errors.
 */
static void decode_as(const struct proto_frame *g, int only)
{
    struct msg_preflight_result res;
    struct msg_preflight pre;
    struct msg_migrate mig;
    struct msg_hello hello;
    struct msg_error err;
    struct msg_anatomy anat;
    char why[256];

    if (!only || only == PROTO_HELLO)
        msg_get_hello(g, &hello, why, sizeof(why));
    if (!only || only == PROTO_ERROR) msg_get_error(g, &err, why, sizeof(why));
    if ((!only || only == PROTO_PREFLIGHT) &&
        msg_get_preflight(g, &pre, why, sizeof(why)) == PERR_OK)
        msg_preflight_clear(&pre);
    if (!only || only == PROTO_PREFLIGHT_RESULT)
        msg_get_preflight_result(g, &res, why, sizeof(why));
    if (!only || only == PROTO_MIGRATE)
        msg_get_migrate(g, &mig, why, sizeof(why));
    if (!only || only == PROTO_ACCEPT) msg_get_accept(g, why, sizeof(why));
    if (!only || only == PROTO_ANATOMY)
        msg_get_anatomy(g, &anat, why, sizeof(why));
}

static void decode_all(const struct proto_frame *f)
{
    struct proto_frame g = *f;
    unsigned t;

    decode_as(f, 0);
    for (t = PROTO_HELLO; t <= PROTO_ANATOMY; t++) {
        if (t == f->type) continue;
        g.type = t;
        decode_as(&g, t);
    }
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
