/*
 * fuzz_disk.c - the disk channel's records and the target's receiver, on
 * untrusted bytes as a sender would write them: split into frames, each
 * decoded as every record type, and fed to a receiver writing a memfd.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "relocd/diskrecv.h"
#include "wire/buf.h"
#include "wire/diskframe.h"
#include "wire/proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void decode_all(const struct proto_frame *f)
{
    static struct proto_frame g_; /* 256 KiB: not on the stack */
    struct proto_frame *g = &g_;
    struct disk_hello h;
    struct disk_data d;
    struct disk_zero z;
    struct disk_count c;
    uint32_t passes;
    char why[256];
    unsigned t;

    /* Only what the decoders read: a full copy would cost 256 KiB. */
    g->len = f->len;
    memcpy(g->payload, f->payload, f->len + 1);
    for (t = DISK_HELLO; t <= DISK_ACK; t++) {
        g->type = t;
        diskframe_get_hello(g, &h, why, sizeof(why));
        diskframe_get_ready(g, why, sizeof(why));
        diskframe_get_data(g, 1ULL << 30, &d, why, sizeof(why));
        diskframe_get_zero(g, 1ULL << 30, &z, why, sizeof(why));
        diskframe_get_pass_end(g, &c, why, sizeof(why));
        diskframe_get_done(g, &passes, why, sizeof(why));
        diskframe_get_ack(g, &c, why, sizeof(why));
    }
}

/* The receiver's target: one memfd, emptied for every input. */
static int target(void)
{
    static int fd = -1;

    if (fd < 0) fd = memfd_create("fuzz_disk", 0);
    if (fd >= 0 && ftruncate(fd, 0) < 0) return -1;
    return fd;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct proto_frame f;
    struct buf *in = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME);
    struct buf *out = buf_new(4096);
    int fd = target(), alive = 1;
    struct diskrecv *r = fd >= 0 ? diskrecv_new(fd, 0) : NULL;
    size_t off = 0, chunk;
    char why[512];

    /* Feed in odd-sized pieces, as a socket would deliver them. */
    while (in && out && r && off < size) {
        chunk = size - off < 7 ? size - off : 7 + data[off] % 64;
        if (chunk > size - off) chunk = size - off;
        if (buf_put(in, data + off, chunk) < 0) break;
        off += chunk;
        while (proto_frame_take(in, &f) == PERR_OK) {
            decode_all(&f);
            if (alive && diskrecv_frame(r, &f, out, why, sizeof(why)))
                alive = 0; /* a real receiver stops at the first fault */
            buf_reset(out);
        }
    }
    diskrecv_free(r);
    buf_free(in);
    buf_free(out);
    return 0;
}
