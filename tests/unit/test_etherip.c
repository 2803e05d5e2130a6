/*
 * test_etherip.c - EtherIP framing, checksums, segmentation (TSO) and
 * coalescing (GRO), checked against a plain 16-bit reference checksum and
 * by round trips: segments coalesced and cut again are the same bytes.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tunnel/etherip.h"
#include "t.h"

#define MAXF 70000
#define MAXSEG 512

/* --- a reference checksum and frame builder ----------------------------- */

static uint32_t ref_sum(const uint8_t *p, size_t len, uint32_t sum)
{
    size_t i;

    for (i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1) sum += (uint32_t)p[len - 1] << 8;
    return sum;
}

static uint16_t ref_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

/* 1 when the TCP (or UDP, proto 17) checksum of the packet at l3 is good. */
static int l4_ok(const uint8_t *f, size_t len, size_t l3, int v6, int proto)
{
    size_t l4 = l3 + (v6 ? 40 : (size_t)(f[l3] & 15) * 4);
    uint32_t sum = 0;

    if (v6)
        sum = ref_sum(f + l3 + 8, 32, 0);
    else
        sum = ref_sum(f + l3 + 12, 8, 0);
    sum += (uint32_t)proto + (uint32_t)(len - l4);
    return ref_fold(ref_sum(f + l4, len - l4, sum)) == 0xffff;
}

static int ip4_ok(const uint8_t *f, size_t l3)
{
    return ref_fold(ref_sum(f + l3, (size_t)(f[l3] & 15) * 4, 0)) == 0xffff;
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static unsigned get16(const uint8_t *p)
{
    return (unsigned)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* Writes a correct TCP segment with plen payload bytes; returns its size. */
static size_t mk_tcp(uint8_t *f, int v6, uint32_t seq, uint8_t flags,
                     size_t plen, uint8_t fill, unsigned sport)
{
    size_t l3 = 14, ihl = v6 ? 40 : 20, l4 = l3 + ihl, thl = 32, i;
    uint32_t sum;

    memset(f, 0, l4 + thl);
    memcpy(f, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01", 12);
    put16(f + 12, v6 ? 0x86dd : 0x0800);
    if (v6) {
        f[l3] = 0x60;
        put16(f + l3 + 4, (unsigned)(thl + plen));
        f[l3 + 6] = 6;
        f[l3 + 7] = 64;
        f[l3 + 23] = 1; /* fe80::1 -> fe80::2 */
        f[l3 + 8] = 0xfe, f[l3 + 9] = 0x80;
        f[l3 + 24] = 0xfe, f[l3 + 25] = 0x80, f[l3 + 39] = 2;
    } else {
        f[l3] = 0x45;
        put16(f + l3 + 2, (unsigned)(ihl + thl + plen));
        put16(f + l3 + 4, 0x1234);
        put16(f + l3 + 6, 0x4000);
        f[l3 + 8] = 64;
        f[l3 + 9] = 6;
        memcpy(f + l3 + 12, "\xc0\xa8\x32\x01\xc0\xa8\x32\x02", 8);
        put16(f + l3 + 10, (uint16_t)~ref_fold(ref_sum(f + l3, 20, 0)));
    }
    put16(f + l4, sport);
    put16(f + l4 + 2, 5201);
    put16(f + l4 + 4, seq >> 16);
    put16(f + l4 + 6, seq & 0xffff);
    put16(f + l4 + 8, 0xabcd);
    f[l4 + 12] = (uint8_t)(thl / 4) << 4;
    f[l4 + 13] = flags;
    put16(f + l4 + 14, 502);
    memcpy(f + l4 + 20, "\x01\x01\x08\x0a\x00\x00\x00\x07\x00\x00\x00\x09", 12);
    for (i = 0; i < plen; i++)
        f[l4 + thl + i] = (uint8_t)(fill + i * 7 + (i >> 8));
    sum = v6 ? ref_sum(f + l3 + 8, 32, 0) : ref_sum(f + l3 + 12, 8, 0);
    sum += 6 + (uint32_t)(thl + plen);
    put16(f + l4 + 16, (uint16_t)~ref_fold(ref_sum(f + l4, thl + plen, sum)));
    return l4 + thl + plen;
}

/* --- framing ------------------------------------------------------------ */

static size_t mk_outer(uint8_t *p, const uint8_t eh[2], size_t inner)
{
    memset(p, 0, 20);
    p[0] = 0x45;
    put16(p + 2, (unsigned)(20 + 2 + inner));
    p[8] = 64;
    p[9] = ETHERIP_PROTO;
    p[20] = eh[0];
    p[21] = eh[1];
    memset(p + 22, 0xab, inner);
    return 22 + inner;
}

static void test_decap(void)
{
    uint8_t p[2048], h[2];
    size_t off, len, n;

    etherip_hdr(h, 0);
    T_EQ_INT(h[0], 0x30);
    T_EQ_INT(h[1], 0);
    n = mk_outer(p, h, 60);
    T_EQ_INT(etherip_decap(p, n, 0, &off, &len), 0);
    T_EQ_INT(off, 22);
    T_EQ_INT(len, 60);
    /* Trailing bytes beyond the IP length are not part of the frame. */
    T_EQ_INT(etherip_decap(p, n + 10, 0, &off, &len), 0);
    T_EQ_INT(len, 60);
    T_EQ_INT(etherip_decap(p, n - 1, 0, &off, &len), -1);
    T_EQ_INT(errno, EINVAL);
    etherip_hdr(h, ETHERIP_F_SEND_REV);
    T_EQ_INT(h[0], 0x03);
    n = mk_outer(p, h, 60);
    T_EQ_INT(etherip_decap(p, n, 0, &off, &len), -1);
    T_EQ_INT(errno, EPROTO);
    T_EQ_INT(etherip_decap(p, n, ETHERIP_F_ACCEPT_REV, &off, &len), 0);
    n = mk_outer(p, (const uint8_t *)"\x30\x01", 60);
    T_EQ_INT(etherip_decap(p, n, ETHERIP_F_ACCEPT_REV, &off, &len), -1);
    n = mk_outer(p, (const uint8_t *)"\x40\x00", 60);
    T_EQ_INT(etherip_decap(p, n, ETHERIP_F_ACCEPT_REV, &off, &len), -1);
    n = mk_outer(p, (const uint8_t *)"\x30\x00", 13); /* < Ethernet header */
    T_EQ_INT(etherip_decap(p, n, 0, &off, &len), -1);
    n = mk_outer(p, (const uint8_t *)"\x30\x00", 60);
    p[9] = 4;
    T_EQ_INT(etherip_decap(p, n, 0, &off, &len), -1);
    p[9] = ETHERIP_PROTO;
    p[6] = 0x20; /* more fragments */
    T_EQ_INT(etherip_decap(p, n, 0, &off, &len), -1);
    p[6] = 0x40; /* DF is fine */
    T_EQ_INT(etherip_decap(p, n, 0, &off, &len), 0);
    p[0] = 0x46; /* 4 bytes of options move the header */
    T_EQ_INT(etherip_decap(p, n, 0, &off, &len), -1); /* 0x00 0xab... */
    p[0] = 0x44;
    T_EQ_INT(etherip_decap(p, n, 0, &off, &len), -1);
    T_EQ_INT(etherip_decap(p, 19, 0, &off, &len), -1);
}

/* --- checksums ---------------------------------------------------------- */

static void test_csum(void)
{
    static const uint8_t rfc1071[] = {0x00, 0x01, 0xf2, 0x03,
                                      0xf4, 0xf5, 0xf6, 0xf7};
    uint8_t buf[1501], f[2048];
    struct virtio_net_hdr vh;
    uint16_t c;
    size_t i, n, start;

    c = etherip_csum(rfc1071, sizeof(rfc1071));
    memcpy(buf, &c, 2);
    T_EQ_INT(get16(buf), 0x220d); /* ~0xddf2 */
    for (i = 0; i < sizeof(buf); i++)
        buf[i] = (uint8_t)(i * 131 + 7);
    for (n = 0; n <= sizeof(buf); n += 97) {
        for (start = 0; start < 3; start++) {
            c = etherip_csum(buf + start, n - (n ? start : 0));
            memcpy(f, &c, 2);
            T_EQ_INT(get16(f), (uint16_t)~ref_fold(ref_sum(
                                   buf + start, n - (n ? start : 0), 0)));
        }
    }
    /* A partial checksum as a guest hands it: pseudo-header sum only. */
    n = mk_tcp(f, 0, 1000, 0x18, 777, 3, 40000);
    memset(&vh, 0, sizeof(vh));
    vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    vh.csum_start = 34;
    vh.csum_offset = 16;
    put16(f + 34 + 16, ref_fold(ref_sum(f + 26, 8, 6 + (uint32_t)(n - 34))));
    T_OK(!l4_ok(f, n, 14, 0, 6), "partial checksum is not final");
    T_EQ_INT(etherip_csum_complete(f, n, &vh), 0);
    T_OK(l4_ok(f, n, 14, 0, 6), "completed checksum");
    vh.csum_start = (uint16_t)(n - 17);
    T_EQ_INT(etherip_csum_complete(f, n, &vh), -1);
    vh.csum_start = (uint16_t)(n + 1);
    T_EQ_INT(etherip_csum_complete(f, n, &vh), -1);
    vh.flags = 0;
    T_EQ_INT(etherip_csum_complete(f, n, &vh), 0);
}

/* --- segmentation ------------------------------------------------------- */

static struct etherip_seg segs[MAXSEG];
static uint8_t frame[MAXF], seg_frame[MAXSEG][9300];

static void vh_gso(struct virtio_net_hdr *vh, int v6, unsigned mss)
{
    memset(vh, 0, sizeof(*vh));
    vh->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
    vh->gso_type = v6 ? VIRTIO_NET_HDR_GSO_TCPV6 : VIRTIO_NET_HDR_GSO_TCPV4;
    vh->gso_size = (uint16_t)mss;
    vh->csum_start = (uint16_t)(14 + (v6 ? 40 : 20));
    vh->csum_offset = 16;
    vh->hdr_len = (uint16_t)(vh->csum_start + 32);
}

/* Flattens segment i into seg_frame[i]; returns its length. */
static size_t seg_flat(size_t i)
{
    memcpy(seg_frame[i], segs[i].hdr, segs[i].hdr_len);
    memcpy(seg_frame[i] + segs[i].hdr_len, segs[i].data, segs[i].data_len);
    return segs[i].hdr_len + segs[i].data_len;
}

/* Checks the segments of a super-frame of plen bytes cut at mss. */
static void check_segs(size_t n, int v6, size_t plen, size_t mss, uint8_t flags)
{
    size_t i, l3 = 14, l4 = v6 ? 54 : 34, got = 0, len;
    int ok = 1;

    T_EQ_INT(n, (plen + mss - 1) / mss);
    for (i = 0; i < n; i++) {
        len = seg_flat(i);
        ok &= segs[i].data_len == (i + 1 < n ? mss : plen - mss * (n - 1));
        ok &= l4_ok(seg_frame[i], len, l3, v6, 6);
        ok &= v6 ? get16(seg_frame[i] + l3 + 4) == len - l3 - 40
                 : ip4_ok(seg_frame[i], l3) &&
                       get16(seg_frame[i] + l3 + 2) == len - l3 &&
                       get16(seg_frame[i] + l3 + 4) == 0x1234 + i;
        ok &= get32(seg_frame[i] + l4 + 4) == 5000 + got;
        ok &=
            (seg_frame[i][l4 + 13] & 0x09) == (i + 1 == n ? (flags & 0x09) : 0);
        ok &= (seg_frame[i][l4 + 13] & 0x80) == (i == 0 ? (flags & 0x80) : 0);
        ok &= !memcmp(segs[i].data, frame + l4 + 32 + got, segs[i].data_len);
        got += segs[i].data_len;
    }
    T_OK(ok, "segments of %zu bytes at mss %zu (v6 %d)", plen, mss, v6);
    T_EQ_INT(got, plen);
}

static void test_tso(void)
{
    struct virtio_net_hdr vh;
    size_t n, len, plen;
    int v6;

    for (v6 = 0; v6 < 2; v6++) {
        plen = 60000 + (size_t)v6 * 123;
        len = mk_tcp(frame, v6, 5000, 0x99, plen, 1, 40000);
        vh_gso(&vh, v6, 1448);
        T_EQ_INT(etherip_tso(&vh, frame, len, 0, segs, MAXSEG, &n), 0);
        check_segs(n, v6, plen, 1448, 0x99);
        /* An underlay of 1500: frames up to 1478, so 1478-86/66 bytes. */
        T_EQ_INT(etherip_tso(&vh, frame, len, 1478, segs, MAXSEG, &n), 0);
        check_segs(n, v6, plen, 1478 - (v6 ? 86 : 66), 0x99);
        T_EQ_INT(etherip_tso(&vh, frame, len, 0, segs, 10, &n), -1);
        T_EQ_INT(errno, ENOSPC);
    }
    /* One segment's worth, and an empty one. */
    len = mk_tcp(frame, 0, 5000, 0x10, 100, 1, 40000);
    vh_gso(&vh, 0, 1448);
    T_EQ_INT(etherip_tso(&vh, frame, len, 0, segs, MAXSEG, &n), 0);
    check_segs(n, 0, 100, 1448, 0x10);
    len = mk_tcp(frame, 0, 5000, 0x11, 0, 1, 40000);
    T_EQ_INT(etherip_tso(&vh, frame, len, 0, segs, MAXSEG, &n), 0);
    T_EQ_INT(n, 1);
    /* Malformed: type mismatch, no MSS, truncated, not TCP. */
    len = mk_tcp(frame, 0, 5000, 0x10, 3000, 1, 40000);
    vh_gso(&vh, 1, 1448);
    T_EQ_INT(etherip_tso(&vh, frame, len, 0, segs, MAXSEG, &n), -1);
    T_EQ_INT(errno, EINVAL);
    vh_gso(&vh, 0, 0);
    T_EQ_INT(etherip_tso(&vh, frame, len, 0, segs, MAXSEG, &n), -1);
    vh_gso(&vh, 0, 1448);
    T_EQ_INT(etherip_tso(&vh, frame, 60, 0, segs, MAXSEG, &n), -1);
    frame[23] = 17;
    T_EQ_INT(etherip_tso(&vh, frame, len, 0, segs, MAXSEG, &n), -1);
    vh.gso_type = VIRTIO_NET_HDR_GSO_UDP;
    T_EQ_INT(etherip_tso(&vh, frame, len, 0, segs, MAXSEG, &n), -1);
}

/* --- coalescing --------------------------------------------------------- */

struct emitted {
    struct virtio_net_hdr vh;
    size_t len;
    uint8_t *f;
};

static struct emitted em[256];
static size_t nem;

static int collect(void *arg, const struct virtio_net_hdr *vh,
                   const struct iovec *iov, int iovcnt)
{
    struct emitted *e = &em[nem++];
    int i;

    (void)arg;
    e->vh = *vh;
    e->len = 0;
    e->f = malloc(MAXF);
    for (i = 0; i < iovcnt; i++) {
        memcpy(e->f + e->len, iov[i].iov_base, iov[i].iov_len);
        e->len += iov[i].iov_len;
    }
    return 0;
}

static void em_clear(void)
{
    while (nem)
        free(em[--nem].f);
}

/* Cuts a super-frame into seg_frame[] like the sender's etherip would. */
static size_t cut(int v6, uint32_t seq, uint8_t flags, size_t plen, size_t mss,
                  size_t *lens, unsigned sport)
{
    struct virtio_net_hdr vh;
    size_t len = mk_tcp(frame, v6, seq, flags, plen, 9, sport), n = 0, i;

    vh_gso(&vh, v6, (unsigned)mss);
    etherip_tso(&vh, frame, len, 0, segs, MAXSEG, &n);
    for (i = 0; i < n; i++)
        lens[i] = seg_flat(i);
    return n;
}

/* Coalesced, then cut again: the same segments as before. */
static void test_gro_roundtrip(int v6, size_t plen, size_t mss)
{
    struct etherip_gro *g = etherip_gro_new(collect, NULL);
    static uint8_t keep[MAXSEG][9300];
    size_t lens[MAXSEG], n, i, k, m, total = 0;
    int same = 1;

    etherip_gro_set_mtu(g, 9000);

    n = cut(v6, 5000, 0x18, plen, mss, lens, 40000);
    for (i = 0; i < n; i++)
        memcpy(keep[i], seg_frame[i], lens[i]);
    for (i = 0; i < n; i++)
        T_EQ_INT(etherip_gro_add(g, seg_frame[i], lens[i]), 0);
    T_EQ_INT(etherip_gro_flush(g), 0);
    T_OK(nem >= 1 && nem <= (n + ETHERIP_GRO_SEGS - 1) / ETHERIP_GRO_SEGS + 1,
         "%zu segments became %zu frames", n, nem);
    for (k = 0, i = 0; k < nem; k++) {
        if (em[k].vh.gso_type == VIRTIO_NET_HDR_GSO_NONE) {
            same &= em[k].len == lens[i] && !memcmp(em[k].f, keep[i], lens[i]);
            T_OK(em[k].vh.flags & VIRTIO_NET_HDR_F_DATA_VALID, "verified");
            i++;
            continue;
        }
        T_EQ_INT(em[k].vh.gso_size, mss);
        T_EQ_INT(
            etherip_tso(&em[k].vh, em[k].f, em[k].len, 0, segs, MAXSEG, &m), 0);
        for (size_t j = 0; j < m && i < n; j++, i++)
            same &= seg_flat(j) == lens[i] &&
                    !memcmp(seg_frame[j], keep[i], lens[i]);
        total += em[k].len;
    }
    T_OK(same && i == n, "round trip of %zu bytes at mss %zu (v6 %d)", plen,
         mss, v6);
    em_clear();
    etherip_gro_free(g);
}

static void test_gro_order(void)
{
    struct etherip_gro *g = etherip_gro_new(collect, NULL);
    size_t lens[MAXSEG], n, ack_len;
    uint8_t ack[128], arp[60];

    n = cut(0, 1, 0x10, 1448 * 4, 1448, lens, 40000);
    T_EQ_INT(n, 4);
    etherip_gro_add(g, seg_frame[0], lens[0]);
    etherip_gro_add(g, seg_frame[1], lens[1]);
    /* A pure ACK of the same flow: what is held goes first. */
    ack_len = mk_tcp(ack, 0, 1 + 1448 * 2, 0x10, 0, 0, 40000);
    etherip_gro_add(g, ack, ack_len);
    T_EQ_INT(nem, 2);
    T_EQ_INT(em[0].vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    T_EQ_INT(em[1].len, ack_len);
    /* A gap in the sequence ends the super-frame. */
    etherip_gro_add(g, seg_frame[3], lens[3]);
    etherip_gro_add(g, seg_frame[2], lens[2]);
    /* Other protocols pass straight through. */
    memset(arp, 0, sizeof(arp));
    put16(arp + 12, 0x0806);
    etherip_gro_add(g, arp, sizeof(arp));
    T_EQ_INT(nem, 4);
    T_EQ_INT(em[2].len, lens[3]);
    T_EQ_INT(em[3].len, sizeof(arp));
    T_EQ_INT(em[3].vh.flags, 0);
    etherip_gro_flush(g);
    T_EQ_INT(nem, 5);
    T_EQ_INT(em[4].len, lens[2]);
    em_clear();
    /* A corrupted segment is passed on unverified, never merged. */
    n = cut(0, 1, 0x10, 1448 * 3, 1448, lens, 40000);
    seg_frame[1][100] ^= 1;
    for (size_t i = 0; i < n; i++)
        etherip_gro_add(g, seg_frame[i], lens[i]);
    etherip_gro_flush(g);
    T_EQ_INT(nem, 3);
    T_EQ_INT(em[1].vh.flags, 0);
    em_clear();
    etherip_gro_free(g);
}

static void test_gro_flows(void)
{
    struct etherip_gro *g = etherip_gro_new(collect, NULL);
    static uint8_t a[8][2048], b[8][2048];
    size_t la[8], lb[8], i, n;

    n = cut(0, 100, 0x10, 1448 * 8, 1448, la, 40000);
    for (i = 0; i < n; i++)
        memcpy(a[i], seg_frame[i], la[i]);
    n = cut(0, 100, 0x10, 1448 * 8, 1448, lb, 40001);
    for (i = 0; i < n; i++)
        memcpy(b[i], seg_frame[i], lb[i]);
    for (i = 0; i < 8; i++) {
        etherip_gro_add(g, a[i], la[i]);
        etherip_gro_add(g, b[i], lb[i]);
    }
    etherip_gro_flush(g);
    T_EQ_INT(nem, 2);
    T_EQ_INT(em[0].len, 14 + 20 + 32 + 1448 * 8);
    T_EQ_INT(get16(em[0].f + 34), 40000);
    T_EQ_INT(get16(em[1].f + 34), 40001);
    /* The merged header: IP length and checksum, pseudo-header sum. */
    T_EQ_INT(get16(em[0].f + 16), 20 + 32 + 1448 * 8);
    T_OK(ip4_ok(em[0].f, 14), "IPv4 header checksum");
    T_EQ_INT(em[0].vh.csum_start, 34);
    T_EQ_INT(em[0].vh.hdr_len, 66);
    em_clear();
    etherip_gro_free(g);
}

/* --- super-frames sent whole (ETHERIP_F_FRAGMENT) ----------------------- */

/* The sender's side: lengths and checksums over the whole super-frame. */
static void test_whole_send(void)
{
    struct virtio_net_hdr vh;
    size_t len, l3 = 14;
    int v6;

    for (v6 = 0; v6 < 2; v6++) {
        len = mk_tcp(frame, v6, 5000, 0x18, 60000, 3, 40000);
        /* As the TAP hands it over: a partial checksum. */
        if (!v6) put16(frame + l3 + 10, 0x2222);
        put16(frame + l3 + (v6 ? 40 : 20) + 16, 0x1111);
        vh_gso(&vh, v6, 1448);
        T_EQ_INT(etherip_tso_whole(&vh, frame, len), 0);
        T_OK(l4_ok(frame, len, l3, v6, 6), "TCP checksum (v6 %d)", v6);
        if (v6) {
            T_EQ_INT(get16(frame + l3 + 4), len - l3 - 40);
        } else {
            T_EQ_INT(get16(frame + l3 + 2), len - l3);
            T_OK(ip4_ok(frame, l3), "IPv4 header checksum");
        }
    }
    /* What the receiving coalescer would not take: segment it instead. */
    len = mk_tcp(frame, 0, 5000, 0x10, 3000, 1, 40000);
    frame[l3] = 0x46;
    T_EQ_INT(etherip_tso_whole(&vh, frame, len), -1);
    vh_gso(&vh, 0, 1448);
    T_EQ_INT(etherip_tso_whole(&vh, frame, len), -1);
    T_EQ_INT(errno, ENOTSUP);
    vh.gso_type = VIRTIO_NET_HDR_GSO_NONE;
    T_EQ_INT(etherip_tso_whole(&vh, frame, len), -1);
    T_EQ_INT(errno, EINVAL);
}

/* The receiver's side: cut at the TAP's MTU, the same bytes as segments. */
static void test_whole_recv(int v6, size_t mtu)
{
    struct etherip_gro *g = etherip_gro_new(collect, NULL);
    static uint8_t whole[MAXF], keep[MAXSEG][9300];
    size_t lens[MAXSEG], n, m, i, len, mss = mtu - (v6 ? 72 : 52);
    struct virtio_net_hdr vh;
    int same = 1;

    etherip_gro_set_mtu(g, mtu);
    n = cut(v6, 5000, 0x18, 50000, mss, lens, 40000);
    for (i = 0; i < n; i++)
        memcpy(keep[i], seg_frame[i], lens[i]);
    len = mk_tcp(whole, v6, 5000, 0x18, 50000, 9, 40000);
    vh_gso(&vh, v6, 1448);
    T_EQ_INT(etherip_tso_whole(&vh, whole, len), 0);
    T_EQ_INT(etherip_gro_add(g, whole, len), 0);
    T_EQ_INT(nem, 1);
    T_EQ_INT(em[0].vh.gso_size, mss);
    T_EQ_INT(em[0].vh.hdr_len, 14 + (v6 ? 40 : 20) + 32);
    T_EQ_INT(em[0].vh.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
    T_EQ_INT(etherip_tso(&em[0].vh, em[0].f, em[0].len, 0, segs, MAXSEG, &m),
             0);
    T_EQ_INT(m, n);
    for (i = 0; i < m && i < n; i++)
        same &=
            seg_flat(i) == lens[i] && !memcmp(seg_frame[i], keep[i], lens[i]);
    T_OK(same, "whole super-frame of 50000 bytes at MTU %zu (v6 %d)", mtu, v6);
    em_clear();
    etherip_gro_free(g);
}

/* Held segments of the flow go first; a bad one goes on as it is. */
static void test_whole_order(void)
{
    struct etherip_gro *g = etherip_gro_new(collect, NULL);
    static uint8_t whole[MAXF];
    struct virtio_net_hdr vh;
    size_t lens[MAXSEG], n, len;

    n = cut(0, 1, 0x10, 1448 * 2, 1448, lens, 40000);
    T_EQ_INT(n, 2);
    etherip_gro_add(g, seg_frame[0], lens[0]);
    etherip_gro_add(g, seg_frame[1], lens[1]);
    len = mk_tcp(whole, 0, 1 + 1448 * 2, 0x10, 30000, 9, 40000);
    vh_gso(&vh, 0, 1448);
    etherip_tso_whole(&vh, whole, len);
    etherip_gro_add(g, whole, len);
    T_EQ_INT(nem, 2);
    T_EQ_INT(em[0].len, 14 + 20 + 32 + 1448 * 2);
    T_EQ_INT(em[1].len, len);
    T_EQ_INT(em[1].vh.gso_type, VIRTIO_NET_HDR_GSO_TCPV4);
    whole[100] ^= 1;
    etherip_gro_add(g, whole, len);
    T_EQ_INT(nem, 3);
    T_EQ_INT(em[2].vh.gso_type, VIRTIO_NET_HDR_GSO_NONE);
    T_EQ_INT(em[2].vh.flags, 0);
    etherip_gro_flush(g);
    T_EQ_INT(nem, 3);
    em_clear();
    etherip_gro_free(g);
}

int main(void)
{
    size_t mss;

    test_decap();
    test_csum();
    test_tso();
    /* At 536 bytes, 65000 need more than one super-frame. */
    for (mss = 536; mss <= 9000; mss += 1211) {
        test_gro_roundtrip(0, 65000, mss);
        test_gro_roundtrip(1, 40001, mss);
    }
    test_gro_order();
    test_gro_flows();
    test_whole_send();
    test_whole_recv(0, 1500);
    test_whole_recv(1, 1500);
    test_whole_recv(0, 9000);
    test_whole_order();
    return t_done("test_etherip");
}
