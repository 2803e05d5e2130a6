/*
 * etherip.h - EtherIP (RFC 3378, IP protocol 97) in user space.
 *
 * Linux has no kernel EtherIP, so each tunnel is a process of its own that
 * moves Ethernet frames between a TAP device (attached to the guests'
 * bridge) and a raw IPv4 socket bound to the local and connected to the
 * peer's underlay address.  On the wire every inner frame is one IPv4
 * datagram: IPv4 header, the two bytes 0x30 0x00 (version 3, reserved 0),
 * the Ethernet frame without FCS -- what OpenBSD etherip(4) and FreeBSD
 * gif(4) send and accept.
 *
 * Speed comes from the TAP's virtio-net header (IFF_VNET_HDR): the kernel
 * hands us TCP super-frames of up to 64 KiB (TSO) that we cut into
 * segments sized for the underlay (no outer fragmentation) -- or, with
 * ETHERIP_F_FRAGMENT, send whole as one datagram that the kernel cuts into
 * outer IPv4 fragments and the peer's kernel reassembles -- and we glue
 * consecutive received segments of one TCP flow back into a super-frame
 * before writing it to the TAP (GRO).  Segments leave with sendmmsg() and
 * arrive with recvmmsg(), so a syscall carries tens of frames.
 *
 * Modules: etherip.c (framing, the tunnel process), etherip_gso.c
 * (checksums, segmentation, coalescing; pure functions on byte arrays).
 */
#ifndef RELOCD_ETHERIP_H
#define RELOCD_ETHERIP_H

#include <net/if.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <linux/virtio_net.h>

#define ETHERIP_PROTO 97
#define ETHERIP_HLEN 2
/* Outer IPv4 header and EtherIP header around each inner Ethernet frame. */
#define ETHERIP_OVERHEAD (20 + ETHERIP_HLEN)
#define ETHERIP_ETH_HLEN 14
/* The largest frame we carry: an outer IPv4 datagram is at most 65535. */
#define ETHERIP_FRAME_MAX (65535 - ETHERIP_OVERHEAD)

/* etherip_opts.flags */
#define ETHERIP_F_ACCEPT_REV 0x1 /* also accept 0x03 0x00 (old BSD gif) */
#define ETHERIP_F_SEND_REV 0x2   /* send 0x03 0x00, for such old peers */
#define ETHERIP_F_NO_OFFLOAD 0x4 /* one frame per read/write, no TSO/GRO */
#define ETHERIP_F_KEEP_PRIVS 0x8 /* do not switch to nobody after set-up */
/* Send TCP super-frames whole, one datagram each, as outer IPv4 fragments
 * (for a relocd peer: see etherip_gro_add); without it they are cut into
 * segments that fit the underlay. */
#define ETHERIP_F_FRAGMENT 0x10

struct etherip_opts {
    char ifname[IFNAMSIZ]; /* the TAP device to create */
    struct in_addr local, peer;
    unsigned flags;
};

struct etherip_stats {
    unsigned long long tap_rx, tap_rx_gso, tx_segs, tx_calls, tx_err;
    unsigned long long sock_rx, rx_calls, rx_bad, tap_tx, tap_tx_gso,
        tap_tx_err;
};

/* --- etherip.c ---------------------------------------------------------- */

/* Writes the 2-byte EtherIP header (reversed with ETHERIP_F_SEND_REV). */
void etherip_hdr(uint8_t hdr[ETHERIP_HLEN], unsigned flags);
/*
 * Checks one datagram as a raw IPv4 socket returns it (IPv4 header
 * first) and finds the inner Ethernet frame.  Returns 0 with its offset
 * and length, or -1 with errno EINVAL (not a well-formed EtherIP packet)
 * or EPROTO (an EtherIP version or reserved bits we do not accept).
 */
int etherip_decap(const uint8_t *pkt, size_t len, unsigned flags, size_t *off_r,
                  size_t *len_r);
/*
 * Creates the TAP device and the raw socket, reports "ok" (or "error:
 * why") on ready_fd when it is >= 0 and closes it, then forwards frames
 * until *stop is set.  Returns 0 after a stop, -1 (errno) when set-up
 * failed or a descriptor broke.  Statistics go to *st_r when not NULL.
 */
int etherip_run(const struct etherip_opts *o, int ready_fd,
                volatile sig_atomic_t *stop, struct etherip_stats *st_r);
/*
 * Starts etherip_run() in a detached process (double fork, new session,
 * stdin/stdout on /dev/null) that outlives its caller, and waits until
 * its TAP device exists.  Returns 0 with the process id, or -1 with
 * errno and the tunnel process's own reason in err.  SIGTERM stops it;
 * its TAP device disappears with it.
 */
int etherip_spawn(const struct etherip_opts *o, pid_t *pid_r, char *err,
                  size_t errlen);

/* --- etherip_gso.c ------------------------------------------------------ */

#define ETHERIP_VNET_HLEN ((int)sizeof(struct virtio_net_hdr))
/* Ethernet + two VLAN tags + IPv6 with extension headers + TCP options. */
#define ETHERIP_SEG_HDR_MAX 192
/* At most this many iovecs reach an emit function (one super-frame). */
#define ETHERIP_GRO_SEGS 64

/* One segment to send: rewritten headers, then a slice of the frame. */
struct etherip_seg {
    uint8_t hdr[ETHERIP_SEG_HDR_MAX];
    size_t hdr_len;
    const uint8_t *data;
    size_t data_len;
};

/* The finished Internet checksum of len bytes (RFC 1071), memory order. */
uint16_t etherip_csum(const void *p, size_t len);
/*
 * Completes the checksum a frame marked VIRTIO_NET_HDR_F_NEEDS_CSUM
 * leaves to us (a no-op otherwise).  Returns 0, or -1 with errno EINVAL
 * when the header's offsets fall outside the frame.
 */
int etherip_csum_complete(uint8_t *frame, size_t len,
                          const struct virtio_net_hdr *vh);
/*
 * Cuts a TCP super-frame (vh->gso_type TCPV4 or TCPV6) into segments of
 * at most vh->gso_size payload bytes -- fewer when max_frame (the largest
 * inner frame the underlay carries whole; 0 = no limit) asks for it --
 * with IP lengths, IDs, sequence numbers, flags and checksums fixed up as
 * a NIC's TSO would.  The segments point into frame.  Returns 0 with
 * their number in *n_r, or -1 with errno EINVAL (malformed) or ENOSPC
 * (more than nsegs segments needed).
 */
int etherip_tso(const struct virtio_net_hdr *vh, const uint8_t *frame,
                size_t len, size_t max_frame, struct etherip_seg *segs,
                size_t nsegs, size_t *n_r);
/*
 * Readies a TCP super-frame to leave whole (ETHERIP_F_FRAGMENT): the IP
 * length and header checksum and the TCP checksum over all of it, as a
 * NIC without TSO would send a jumbo frame.  Returns 0, or -1 with errno
 * EINVAL (malformed) or ENOTSUP (VLAN tags, IPv4 options, IPv6 extension
 * headers, too long: the receiving coalescer would not take it; segment
 * it instead).
 */
int etherip_tso_whole(const struct virtio_net_hdr *vh, uint8_t *frame,
                      size_t len);

/*
 * Receive-side coalescing.  Frames handed to etherip_gro_add() must stay
 * in place until the next etherip_gro_flush(); their headers may be
 * rewritten.  Output goes to emit(arg, vnet header, iov, iovcnt) -- one
 * frame, possibly a TCP super-frame described by the vnet header; emit
 * returns 0 or -1 (counted, not fatal).  A frame longer than the TAP's
 * MTU allows is a super-frame that a peer sent whole: a TCP one with a
 * good checksum goes on at once with a GSO header that cuts it for that
 * MTU; others go on as they are.
 */
struct etherip_gro;
typedef int (*etherip_emit_fn)(void *arg, const struct virtio_net_hdr *vh,
                               const struct iovec *iov, int iovcnt);

/* A new coalescer, NULL on ENOMEM; etherip_gro_free(NULL) is a no-op. */
struct etherip_gro *etherip_gro_new(etherip_emit_fn emit, void *arg);
void etherip_gro_free(struct etherip_gro *g);
/* The TAP's MTU (1280..65535; 1500 until set); others are ignored. */
void etherip_gro_set_mtu(struct etherip_gro *g, size_t mtu);
/* Takes one frame.  Returns 0, or -1 when emit failed for some frame. */
int etherip_gro_add(struct etherip_gro *g, uint8_t *frame, size_t len);
/* Emits everything held.  Returns 0, or -1 when emit failed. */
int etherip_gro_flush(struct etherip_gro *g);

#endif
