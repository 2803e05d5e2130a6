/*
 * fuzz_preflight.c - a PREFLIGHT from an authenticated peer, down to what
 * the target reads of the guest's configuration: the frame's JSON (the
 * config text, the CPU policy's leaves and MSRs), then the config itself
 * as the receiving side's parsers read it.
 *
 * The first byte chooses the input's shape: even, the rest is the frame's
 * payload as the peer sent it; odd, the rest is the guest's config, sent
 * inside a well-formed PREFLIGHT, so mutations of the config are not lost
 * to JSON string escaping.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunnel/guestnet.h"
#include "wire/buf.h"
#include "wire/msg.h"
#include "wire/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the target does with an accepted PREFLIGHT's config. */
static void read_config(const struct msg_preflight *m)
{
    struct guestnet gn;
    char why[256];

    if (guestnet_parse(m->config, strlen(m->config), &gn, why, sizeof(why)) ==
            0 &&
        gn.n > GUESTNET_MAX_NICS)
        abort();
}

/* An accepted request encodes again within the frame cap. */
static void reencode(const struct msg_preflight *m)
{
    struct buf *out = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME);

    if (out && msg_put_preflight(out, m) < 0 && strlen(m->config) < 65536)
        abort();
    buf_free(out);
}

/* The config text wrapped in a PREFLIGHT frame, as a sender makes it. */
static int wrap_config(const uint8_t *data, size_t size, struct buf *b,
                       struct proto_frame *f)
{
    struct msg_preflight m = {.live = 1};
    int rc;

    m.config = strndup((const char *)data, size);
    if (!m.config) return -1;
    rc = msg_put_preflight(b, &m) < 0 || proto_frame_take(b, f) != PERR_OK ? -1
                                                                           : 0;
    free(m.config);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct proto_frame f;
    struct msg_preflight m;
    struct buf *b;
    char why[256];

    if (size < 1 || size - 1 > PROTO_MAX_FRAME) return 0;
    if (data[0] & 1) {
        b = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME);
        if (!b || wrap_config(data + 1, size - 1, b, &f) < 0) {
            buf_free(b);
            return 0;
        }
        buf_free(b);
    } else {
        f.type = PROTO_PREFLIGHT;
        f.len = size - 1;
        memcpy(f.payload, data + 1, size - 1);
        f.payload[f.len] = 0;
    }
    if (msg_get_preflight(&f, &m, why, sizeof(why)) == PERR_OK) {
        read_config(&m);
        reencode(&m);
        msg_preflight_clear(&m);
    }
    return 0;
}
