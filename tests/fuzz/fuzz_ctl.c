/*
 * fuzz_ctl.c - the control socket's decoders (migration request, cancel)
 * on any bytes a local client could send, split into frames as a socket
 * delivers them.
 */
#include <stdint.h>
#include <stdlib.h>

#include "wire/buf.h"
#include "wire/msg.h"
#include "wire/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode(const struct proto_frame *f)
{
    struct msg_ctl_migrate m;
    struct proto_frame g = *f;
    char why[256];
    int id;

    g.type = PROTO_CTL_MIGRATE;
    if (msg_get_ctl_migrate(&g, &m, why, sizeof(why)) == PERR_OK) {
        /* What was accepted encodes again, within the frame cap. */
        struct buf *out = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME);

        if (out && msg_put_ctl_migrate(out, &m) < 0) abort();
        buf_free(out);
    }
    g.type = PROTO_CTL_CANCEL;
    msg_get_ctl_cancel(&g, &id, why, sizeof(why));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct proto_frame f;
    struct buf *in = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME);
    size_t off = 0, chunk;

    while (in && off < size) {
        chunk = size - off < 5 ? size - off : 5 + data[off] % 32;
        if (chunk > size - off) chunk = size - off;
        if (buf_put(in, data + off, chunk) < 0) break;
        off += chunk;
        while (proto_frame_take(in, &f) == PERR_OK)
            decode(&f);
    }
    buf_free(in);
    return 0;
}
