/*
 * etherip_gso.c - what a NIC's offloads would do, done on byte arrays:
 * Internet checksums, TCP segmentation of super-frames (TSO) and the
 * coalescing of received segments into super-frames (GRO).
 *
 * Frames are untrusted (guests write them; peers send them): every offset
 * is checked against the frame length before use.  Checksums are summed in
 * memory order (RFC 1071 section 2(B)), so no byte swapping is needed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>

#include "tunnel/etherip.h"

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_CWR 0x80
#define IP_MAX 65535

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
           p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    wr16(p, (uint16_t)(v >> 16));
    wr16(p + 2, (uint16_t)v);
}

/* --- checksums ---------------------------------------------------------- */

/* Adds len bytes to a running sum of 32-bit words; any alignment. */
static uint64_t csum_add(uint64_t sum, const uint8_t *p, size_t len)
{
    uint64_t q, q2, q3, q4, s2 = 0;
    uint16_t h;
    uint8_t last[2] = {0, 0};

    /* 32 bytes a round into two sums: the loop is this module's hot spot
     * (every byte of every frame is summed once each way). */
    for (; len >= 32; p += 32, len -= 32) {
        memcpy(&q, p, 8);
        memcpy(&q2, p + 8, 8);
        memcpy(&q3, p + 16, 8);
        memcpy(&q4, p + 24, 8);
        sum += (q & 0xffffffffu) + (q >> 32) + (q2 & 0xffffffffu) + (q2 >> 32);
        s2 += (q3 & 0xffffffffu) + (q3 >> 32) + (q4 & 0xffffffffu) + (q4 >> 32);
    }
    sum += s2;
    for (; len >= 8; p += 8, len -= 8) {
        memcpy(&q, p, 8);
        sum += (q & 0xffffffffu) + (q >> 32);
    }
    for (; len >= 2; p += 2, len -= 2) {
        memcpy(&h, p, 2);
        sum += h;
    }
    if (len) {
        last[0] = *p;
        memcpy(&h, last, 2);
        sum += h;
    }
    return sum;
}

static uint16_t csum_fold(uint64_t sum)
{
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffffffffu) + (sum >> 32);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* A 16-bit value in network order, as memory-order sums want it. */
static uint64_t csum_word(uint16_t v)
{
    return htons(v);
}

/* The pseudo-header of TCP over the IP header at ip (RFC 793, 8200). */
static uint64_t csum_pseudo(const uint8_t *ip, int v6, size_t l4len)
{
    uint64_t sum = csum_word(6);

    sum += csum_word((uint16_t)l4len) + csum_word((uint16_t)(l4len >> 16));
    return v6 ? csum_add(sum, ip + 8, 32) : csum_add(sum, ip + 12, 8);
}

static void csum_store(uint8_t *field, uint16_t folded)
{
    uint16_t v = (uint16_t)~folded;

    if (v == 0) v = 0xffff; /* UDP's "no checksum"; equal for TCP */
    memcpy(field, &v, 2);
}

uint16_t etherip_csum(const void *p, size_t len)
{
    return (uint16_t)~csum_fold(csum_add(0, p, len));
}

int etherip_csum_complete(uint8_t *frame, size_t len,
                          const struct virtio_net_hdr *vh)
{
    size_t start = vh->csum_start, off = vh->csum_offset;

    if (!(vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)) return 0;
    if (start > len || off > len - start || len - start - off < 2) {
        errno = EINVAL;
        return -1;
    }
    /* The field already holds the pseudo-header's sum. */
    csum_store(frame + start + off,
               csum_fold(csum_add(0, frame + start, len - start)));
    return 0;
}

/* --- header parsing ----------------------------------------------------- */

/* Where a frame's network header starts, past up to two VLAN tags. */
static int l3_find(const uint8_t *f, size_t len, uint16_t *type_r,
                   size_t *off_r)
{
    size_t off = 12;
    uint16_t t;
    int i;

    for (i = 0; i < 3; i++) {
        if (off + 2 > len) return -1;
        t = rd16(f + off);
        if (t != 0x8100 && t != 0x88a8) {
            *type_r = t;
            *off_r = off + 2;
            return 0;
        }
        off += 4;
    }
    return -1;
}

/* A TCP packet's layout inside a frame. */
struct tcp_at {
    size_t l3, l4, hlen, end; /* end: where the IP datagram ends */
    int v6;
};

/* IPv4 without fragmentation; l4 from the IHL. */
static int tcp_at_v4(const uint8_t *f, size_t len, struct tcp_at *t)
{
    const uint8_t *ip = f + t->l3;
    size_t ihl;

    if (len < t->l3 + 20 || ip[0] >> 4 != 4 || ip[9] != 6) return -1;
    ihl = (size_t)(ip[0] & 0x0f) * 4;
    if (ihl < 20 || (rd16(ip + 6) & 0x3fff)) return -1;
    t->l4 = t->l3 + ihl;
    t->end = t->l3 + rd16(ip + 2);
    return 0;
}

/* IPv6; extension headers only when csum_start says where TCP begins. */
static int tcp_at_v6(const uint8_t *f, size_t len, size_t l4hint,
                     struct tcp_at *t)
{
    const uint8_t *ip = f + t->l3;

    if (len < t->l3 + 40 || ip[0] >> 4 != 6) return -1;
    if (l4hint >= t->l3 + 40)
        t->l4 = l4hint;
    else if (ip[6] == 6)
        t->l4 = t->l3 + 40;
    else
        return -1;
    t->end = t->l3 + 40 + rd16(ip + 4);
    return 0;
}

/* Finds IP and TCP headers; l4hint is csum_start, or 0. */
static int tcp_find(const uint8_t *f, size_t len, size_t l4hint,
                    struct tcp_at *t)
{
    uint16_t type;
    int r;

    memset(t, 0, sizeof(*t));
    if (l3_find(f, len, &type, &t->l3) < 0) return -1;
    if (type == ETH_P_IP)
        r = tcp_at_v4(f, len, t);
    else if (type == ETH_P_IPV6)
        r = tcp_at_v6(f, len, l4hint, t);
    else
        return -1;
    t->v6 = type == ETH_P_IPV6;
    if (r < 0 || t->l4 + 20 > len || t->end > len) return -1;
    t->hlen = t->l4 + (size_t)(f[t->l4 + 12] >> 4) * 4;
    if (t->hlen < t->l4 + 20 || t->hlen > t->end) return -1;
    return 0;
}

/* --- segmentation (TSO) ------------------------------------------------- */

static int tso_check(const struct virtio_net_hdr *vh, const uint8_t *f,
                     size_t len, struct tcp_at *t)
{
    int gso = vh->gso_type & ~VIRTIO_NET_HDR_GSO_ECN;
    size_t hint = vh->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM ? vh->csum_start : 0;

    if (gso != VIRTIO_NET_HDR_GSO_TCPV4 && gso != VIRTIO_NET_HDR_GSO_TCPV6)
        return -1;
    if (vh->gso_size == 0 || tcp_find(f, len, hint, t) < 0) return -1;
    if (t->v6 != (gso == VIRTIO_NET_HDR_GSO_TCPV6)) return -1;
    if (t->hlen > ETHERIP_SEG_HDR_MAX) return -1;
    /* A super-frame's IP length field is not trusted: the frame is. */
    t->end = len;
    return 0;
}

/* Fixes one segment's IP and TCP headers; data is already set. */
static void tso_fix(struct etherip_seg *s, const struct tcp_at *t, size_t i,
                    size_t n, uint32_t seq)
{
    uint8_t *ip = s->hdr + t->l3, *th = s->hdr + t->l4;
    size_t thlen = t->hlen - t->l4, l4len = thlen + s->data_len;
    uint64_t sum;

    if (t->v6) {
        wr16(ip + 4, (uint16_t)(t->l4 - t->l3 - 40 + l4len));
    } else {
        wr16(ip + 2, (uint16_t)(t->l4 - t->l3 + l4len));
        wr16(ip + 4, (uint16_t)(rd16(ip + 4) + i));
        wr16(ip + 10, 0);
        csum_store(ip + 10, csum_fold(csum_add(0, ip, t->l4 - t->l3)));
    }
    wr32(th + 4, seq);
    if (i + 1 < n) th[13] &= (uint8_t) ~(TCP_FIN | TCP_PSH);
    if (i > 0) th[13] &= (uint8_t)~TCP_CWR;
    wr16(th + 16, 0);
    sum = csum_pseudo(ip, t->v6, l4len);
    sum = csum_add(sum, th, thlen);
    csum_store(th + 16, csum_fold(csum_add(sum, s->data, s->data_len)));
}

/* The segment size: the guest's MSS, or less to fit the underlay. */
static size_t tso_mss(const struct virtio_net_hdr *vh, size_t hlen,
                      size_t max_frame)
{
    size_t mss = vh->gso_size;

    /* Below ~500 bytes outer fragmentation is the lesser evil. */
    if (max_frame > hlen + 512 && max_frame - hlen < mss)
        mss = max_frame - hlen;
    return mss;
}

int etherip_tso(const struct virtio_net_hdr *vh, const uint8_t *frame,
                size_t len, size_t max_frame, struct etherip_seg *segs,
                size_t nsegs, size_t *n_r)
{
    struct tcp_at t;
    size_t mss, payload, n, i, off;
    uint32_t seq;

    if (tso_check(vh, frame, len, &t) < 0) {
        errno = EINVAL;
        return -1;
    }
    mss = tso_mss(vh, t.hlen, max_frame);
    payload = len - t.hlen;
    n = payload ? (payload + mss - 1) / mss : 1;
    if (n > nsegs) {
        errno = ENOSPC;
        return -1;
    }
    seq = rd32(frame + t.l4 + 4);
    for (i = 0, off = 0; i < n; i++, off += mss) {
        memcpy(segs[i].hdr, frame, t.hlen);
        segs[i].hdr_len = t.hlen;
        segs[i].data = frame + t.hlen + off;
        segs[i].data_len = payload - off < mss ? payload - off : mss;
        tso_fix(&segs[i], &t, i, n, seq + (uint32_t)off);
    }
    *n_r = n;
    return 0;
}

int etherip_tso_whole(const struct virtio_net_hdr *vh, uint8_t *frame,
                      size_t len)
{
    struct tcp_at t;
    uint8_t *ip, *th;
    uint64_t sum;

    if (tso_check(vh, frame, len, &t) < 0) {
        errno = EINVAL;
        return -1;
    }
    /* What the receiving side's coalescer takes (gro_seg_parse). */
    if (t.l3 != ETHERIP_ETH_HLEN || t.l4 != t.l3 + (t.v6 ? 40u : 20u) ||
        len - t.l3 > IP_MAX + (t.v6 ? 40u : 0u)) {
        errno = ENOTSUP;
        return -1;
    }
    ip = frame + t.l3;
    th = frame + t.l4;
    if (t.v6) {
        wr16(ip + 4, (uint16_t)(len - t.l3 - 40));
    } else {
        wr16(ip + 2, (uint16_t)(len - t.l3));
        wr16(ip + 10, 0);
        csum_store(ip + 10, csum_fold(csum_add(0, ip, t.l4 - t.l3)));
    }
    wr16(th + 16, 0);
    sum = csum_pseudo(ip, t.v6, len - t.l4);
    csum_store(th + 16, csum_fold(csum_add(sum, th, len - t.l4)));
    return 0;
}

/* --- coalescing (GRO) --------------------------------------------------- */

#define GRO_FLOWS 8
#define GRO_SEGS ETHERIP_GRO_SEGS

/* One TCP segment as received, when it may join a super-frame. */
struct gro_seg {
    struct tcp_at t;
    uint8_t *f;
    size_t len, plen;
    uint32_t seq;
    uint8_t flags;
};

struct gro_flow {
    struct gro_seg first;
    size_t mss, bytes; /* payload bytes held */
    uint32_t next_seq;
    uint8_t flags_or;
    int closed, nseg;
    unsigned age;
    struct iovec iov[GRO_SEGS];
};

struct etherip_gro {
    struct gro_flow fl[GRO_FLOWS];
    int used[GRO_FLOWS];
    unsigned clock;
    size_t frame_max; /* longer frames are super-frames sent whole */
    etherip_emit_fn emit;
    void *arg;
    int err;
};

struct etherip_gro *etherip_gro_new(etherip_emit_fn emit, void *arg)
{
    struct etherip_gro *g = calloc(1, sizeof(*g));

    if (!g) return NULL;
    g->emit = emit;
    g->arg = arg;
    g->frame_max = ETHERIP_ETH_HLEN + 1500;
    return g;
}

void etherip_gro_set_mtu(struct etherip_gro *g, size_t mtu)
{
    /* Below IPv6's minimum a GSO size would make no sense. */
    if (mtu >= 1280 && mtu <= IP_MAX) g->frame_max = ETHERIP_ETH_HLEN + mtu;
}

void etherip_gro_free(struct etherip_gro *g)
{
    free(g);
}

static int tcp_csum_ok(const struct gro_seg *s)
{
    const uint8_t *ip = s->f + s->t.l3;
    size_t l4len = s->t.end - s->t.l4;
    uint64_t sum = csum_pseudo(ip, s->t.v6, l4len);

    return csum_fold(csum_add(sum, s->f + s->t.l4, l4len)) == 0xffff;
}

/*
 * Whether a frame may join a super-frame: plain IPv4 (no options) or IPv6
 * TCP carrying data, none of the flags in bad, no Ethernet padding, good
 * checksum.  Returns 0 if so; -1 for other TCP frames (s describes them,
 * *csum_ok_r tells whether the checksum was good); -2 for anything else.
 */
static int gro_seg_parse(uint8_t *f, size_t len, uint8_t bad, struct gro_seg *s,
                         int *csum_ok_r)
{
    *csum_ok_r = 0;
    if (tcp_find(f, len, 0, &s->t) < 0 || s->t.end != len) return -2;
    if (s->t.l3 != ETHERIP_ETH_HLEN) return -2;
    if (!s->t.v6 && s->t.l4 != s->t.l3 + 20) return -2;
    if (s->t.v6 && s->t.l4 != s->t.l3 + 40) return -2;
    s->f = f;
    s->len = len;
    s->plen = len - s->t.hlen;
    s->seq = rd32(f + s->t.l4 + 4);
    s->flags = f[s->t.l4 + 13];
    if (!tcp_csum_ok(s)) return -1;
    *csum_ok_r = 1;
    if (s->plen == 0 || (s->flags & bad) || !(s->flags & TCP_ACK)) return -1;
    return 0;
}

/* Same flow: Ethernet header, addresses, ports. */
static int gro_same_flow(const struct gro_seg *a, const struct gro_seg *b)
{
    size_t alen = a->t.v6 ? 32 : 8, aoff = a->t.v6 ? 8 : 12;

    if (a->t.v6 != b->t.v6) return 0;
    if (memcmp(a->f, b->f, ETHERIP_ETH_HLEN)) return 0;
    if (memcmp(a->f + a->t.l3 + aoff, b->f + b->t.l3 + aoff, alen)) return 0;
    return !memcmp(a->f + a->t.l4, b->f + b->t.l4, 4);
}

/* Headers a super-frame must share (as the kernel's tcp_gro_receive). */
static int gro_same_hdrs(const struct gro_seg *a, const struct gro_seg *b)
{
    const uint8_t *ia = a->f + a->t.l3, *ib = b->f + b->t.l3;
    const uint8_t *ta = a->f + a->t.l4, *tb = b->f + b->t.l4;
    const uint8_t ign = TCP_PSH | TCP_FIN;

    if (a->t.hlen != b->t.hlen) return 0;
    if (a->t.v6 && (memcmp(ia, ib, 4) || ia[7] != ib[7])) return 0;
    if (!a->t.v6 && (ia[1] != ib[1] || ia[8] != ib[8] ||
                     (rd16(ia + 6) ^ rd16(ib + 6)) & 0x4000))
        return 0;
    if (rd32(ta + 8) != rd32(tb + 8)) return 0; /* ack */
    if ((ta[13] ^ tb[13]) & (uint8_t)~ign) return 0;
    return !memcmp(ta + 20, tb + 20, a->t.hlen - a->t.l4 - 20);
}

static int gro_emit_one(struct etherip_gro *g, uint8_t *f, size_t len,
                        int csum_ok)
{
    struct virtio_net_hdr vh;
    struct iovec iov = {f, len};

    memset(&vh, 0, sizeof(vh));
    if (csum_ok) vh.flags = VIRTIO_NET_HDR_F_DATA_VALID;
    if (g->emit(g->arg, &vh, &iov, 1) < 0) g->err = 1;
    return 0;
}

/*
 * Rewrites a segment's headers to describe a super-frame of bytes payload
 * bytes to be cut at mss, and fills its virtio-net header.
 */
static void gro_fix_hdrs(const struct gro_seg *s, size_t bytes,
                         uint8_t flags_or, size_t mss,
                         struct virtio_net_hdr *vh)
{
    uint8_t *ip = s->f + s->t.l3, *th = s->f + s->t.l4;
    size_t l4len = s->t.hlen - s->t.l4 + bytes;
    uint16_t sum;

    if (s->t.v6) {
        wr16(ip + 4, (uint16_t)l4len);
    } else {
        wr16(ip + 2, (uint16_t)(20 + l4len));
        wr16(ip + 10, 0);
        csum_store(ip + 10, csum_fold(csum_add(0, ip, 20)));
    }
    th[13] |= flags_or;
    /* CHECKSUM_PARTIAL: the field holds the pseudo-header's sum. */
    sum = csum_fold(csum_pseudo(ip, s->t.v6, l4len));
    memcpy(th + 16, &sum, 2);
    memset(vh, 0, sizeof(*vh));
    vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    vh->gso_type =
        s->t.v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
    if (th[13] & TCP_CWR) vh->gso_type |= VIRTIO_NET_HDR_GSO_ECN;
    vh->hdr_len = (uint16_t)s->t.hlen;
    vh->gso_size = (uint16_t)mss;
    vh->csum_start = (uint16_t)s->t.l4;
    vh->csum_offset = 16;
}

static void gro_flush_flow(struct etherip_gro *g, int i)
{
    struct gro_flow *fl = &g->fl[i];
    struct virtio_net_hdr vh;

    g->used[i] = 0;
    if (fl->nseg == 1) {
        gro_emit_one(g, fl->first.f, fl->first.len, 1);
        return;
    }
    gro_fix_hdrs(&fl->first, fl->bytes, fl->flags_or, fl->mss, &vh);
    if (g->emit(g->arg, &vh, fl->iov, fl->nseg) < 0) g->err = 1;
}

static void gro_start(struct etherip_gro *g, int i, const struct gro_seg *s)
{
    struct gro_flow *fl = &g->fl[i];

    g->used[i] = 1;
    fl->first = *s;
    fl->mss = s->plen;
    fl->bytes = s->plen;
    fl->next_seq = s->seq + (uint32_t)s->plen;
    fl->flags_or = 0;
    fl->closed = (s->flags & (TCP_PSH | TCP_FIN)) != 0;
    fl->nseg = 1;
    fl->age = g->clock++;
    fl->iov[0].iov_base = s->f;
    fl->iov[0].iov_len = s->len;
}

static int gro_append(struct gro_flow *fl, const struct gro_seg *s)
{
    size_t iplen = fl->first.t.hlen - fl->first.t.l3 + fl->bytes + s->plen;

    if (fl->closed || s->seq != fl->next_seq || s->plen > fl->mss ||
        iplen > IP_MAX || fl->nseg == GRO_SEGS)
        return -1;
    fl->iov[fl->nseg].iov_base = s->f + s->t.hlen;
    fl->iov[fl->nseg].iov_len = s->plen;
    fl->nseg++;
    fl->bytes += s->plen;
    fl->next_seq += (uint32_t)s->plen;
    fl->flags_or |= s->flags & (TCP_PSH | TCP_FIN);
    /* The latest window is the most useful one to pass on. */
    memcpy(fl->first.f + fl->first.t.l4 + 14, s->f + s->t.l4 + 14, 2);
    if (s->plen < fl->mss || (s->flags & (TCP_PSH | TCP_FIN))) fl->closed = 1;
    return 0;
}

/* A free slot, or the oldest one flushed. */
static int gro_slot(struct etherip_gro *g)
{
    int i, old = 0;

    for (i = 0; i < GRO_FLOWS; i++) {
        if (!g->used[i]) return i;
        if (g->fl[i].age < g->fl[old].age) old = i;
    }
    gro_flush_flow(g, old);
    return old;
}

static int gro_find(struct etherip_gro *g, const struct gro_seg *s)
{
    int i;

    for (i = 0; i < GRO_FLOWS; i++)
        if (g->used[i] && gro_same_flow(&g->fl[i].first, s)) return i;
    return -1;
}

/*
 * A frame longer than the TAP takes: a TCP super-frame that a peer sent
 * whole (ETHERIP_F_FRAGMENT).  With a good checksum it goes on with a GSO
 * header that cuts it for the TAP's MTU; anything else as it is (the
 * bridge drops what does not fit).
 */
static void gro_whole(struct etherip_gro *g, uint8_t *f, size_t len)
{
    struct virtio_net_hdr vh;
    struct iovec iov = {f, len};
    struct gro_seg s;
    size_t mss = 0;
    int i, r, csum_ok;

    r = gro_seg_parse(f, len, TCP_SYN | TCP_RST | TCP_URG, &s, &csum_ok);
    if (r != -2 && (i = gro_find(g, &s)) >= 0) gro_flush_flow(g, i);
    if (r == 0 && s.t.hlen + 64 <= g->frame_max) mss = g->frame_max - s.t.hlen;
    if (mss == 0 || s.plen <= mss) {
        gro_emit_one(g, f, len, csum_ok);
        return;
    }
    gro_fix_hdrs(&s, s.plen, 0, mss, &vh);
    if (g->emit(g->arg, &vh, &iov, 1) < 0) g->err = 1;
}

int etherip_gro_add(struct etherip_gro *g, uint8_t *frame, size_t len)
{
    const uint8_t bad = TCP_SYN | TCP_RST | TCP_URG | TCP_CWR;
    struct gro_seg s;
    int i, r, csum_ok;

    g->err = 0;
    if (len > g->frame_max) {
        gro_whole(g, frame, len);
        return g->err ? -1 : 0;
    }
    r = gro_seg_parse(frame, len, bad, &s, &csum_ok);
    if (r < 0) {
        /* Keep the order within a flow: what it holds goes first. */
        if (r == -1 && (i = gro_find(g, &s)) >= 0) gro_flush_flow(g, i);
        gro_emit_one(g, frame, len, csum_ok);
        return g->err ? -1 : 0;
    }
    i = gro_find(g, &s);
    if (i >= 0 && gro_same_hdrs(&g->fl[i].first, &s) &&
        gro_append(&g->fl[i], &s) == 0)
        return 0;
    if (i >= 0)
        gro_flush_flow(g, i);
    else
        i = gro_slot(g);
    gro_start(g, i, &s);
    return g->err ? -1 : 0;
}

int etherip_gro_flush(struct etherip_gro *g)
{
    int i, j, next;

    g->err = 0;
    /* Oldest first, so flows leave in the order they arrived. */
    for (j = 0; j < GRO_FLOWS; j++) {
        next = -1;
        for (i = 0; i < GRO_FLOWS; i++)
            if (g->used[i] && (next < 0 || g->fl[i].age < g->fl[next].age))
                next = i;
        if (next < 0) break;
        gro_flush_flow(g, next);
    }
    g->clock = 0;
    return g->err ? -1 : 0;
}
