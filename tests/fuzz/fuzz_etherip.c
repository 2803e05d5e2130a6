/*
 * fuzz_etherip.c - the EtherIP receive and offload parsers on untrusted
 * bytes: datagrams as a peer sends them (etherip_decap), frames as a guest
 * hands them to the TAP with a virtio-net header (etherip_tso,
 * etherip_csum_complete, etherip_tso_whole), and runs of frames to
 * coalesce (etherip_gro_*, the TAP's MTU low enough that some frames are
 * super-frames sent whole).
 *
 * Input: byte 0 picks flags, the underlay frame limit and the TAP's MTU
 * (1280..1532); the rest is one
 * datagram, one vnet header + frame, and a run of frames each prefixed by
 * a 2-byte length -- all three readings are tried on every input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunnel/etherip.h"

#define SEGS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct etherip_seg segs[SEGS];
static uint8_t frames[64][2048];

/* Reads every byte emit is given, so ASan sees any bad iovec. */
static int sink(void *arg, const struct virtio_net_hdr *vh,
                const struct iovec *iov, int iovcnt)
{
    volatile uint8_t x = 0;
    size_t total = 0, j;
    int i;

    (void)arg;
    for (i = 0; i < iovcnt; i++) {
        for (j = 0; j < iov[i].iov_len; j++)
            x ^= ((const uint8_t *)iov[i].iov_base)[j];
        total += iov[i].iov_len;
    }
    if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE &&
        (vh->csum_start >= total || vh->hdr_len > total))
        abort();
    return x == 0x5a ? -1 : 0;
}

static void one_frame(const uint8_t *p, size_t n, size_t max_frame)
{
    struct virtio_net_hdr vh;
    uint8_t *f;
    size_t k, i;

    if (n < sizeof(vh)) return;
    memcpy(&vh, p, sizeof(vh));
    if (!(f = malloc(n - sizeof(vh) + 1))) return;
    memcpy(f, p + sizeof(vh), n - sizeof(vh));
    if (etherip_tso(&vh, f, n - sizeof(vh), max_frame, segs, SEGS, &k) == 0)
        for (i = 0; i < k; i++)
            if (segs[i].hdr_len > ETHERIP_SEG_HDR_MAX ||
                segs[i].data + segs[i].data_len > f + (n - sizeof(vh)))
                abort();
    etherip_csum_complete(f, n - sizeof(vh), &vh);
    etherip_tso_whole(&vh, f, n - sizeof(vh));
    free(f);
}

static void run_of_frames(const uint8_t *p, size_t n, size_t mtu)
{
    struct etherip_gro *g = etherip_gro_new(sink, NULL);
    size_t len, i = 0;

    if (g) etherip_gro_set_mtu(g, mtu);
    while (g && n >= 2 && i < 64) {
        len = (size_t)(p[0] << 8 | p[1]) % sizeof(frames[0]);
        p += 2;
        n -= 2;
        if (len > n) len = n;
        memcpy(frames[i], p, len);
        etherip_gro_add(g, frames[i++], len);
        p += len;
        n -= len;
    }
    if (g) etherip_gro_flush(g);
    etherip_gro_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t off, len;

    if (size < 1) return 0;
    if (etherip_decap(data + 1, size - 1, data[0] & 3, &off, &len) == 0 &&
        (off + len > size - 1 || len < ETHERIP_ETH_HLEN))
        abort();
    one_frame(data + 1, size - 1, (size_t)data[0] * 64);
    run_of_frames(data + 1, size - 1, 1280 + (size_t)(data[0] >> 2) * 4);
    return 0;
}
