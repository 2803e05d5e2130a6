/*
 * synfilter.h - penalised sources dropped by the kernel, before accept.
 *
 * A source under a per-source penalty (admit.h) used to be accepted and
 * closed at once by the parent: cheap per connection, but a flood still
 * cost a poll(2) wake-up, an accept4(2) and a close(2) each, and in a
 * paravirtualised dom0 every system call passes through Xen (fault-load:
 * 13 s of the parent's CPU for 4000 connections during one move under
 * emulation).  Instead each listening socket carries a classic BPF filter
 * that drops the penalised sources' packets: a SYN from one of them is
 * discarded in the kernel's receive path (tcp_v4_rcv's tcp_filter),
 * before any SYN-ACK, socket or wake-up.  The peer sees its connect time
 * out, as with a firewall's drop, until the penalty has run down.
 *
 * The filter reads the source address from the IP header (SKF_NET_OFF),
 * so one program serves IPv4 and IPv6 sockets, and IPv4 packets on a
 * dual-stack IPv6 socket.  Each address is a short run of instructions
 * that jumps only locally, so the program stays within cBPF's 8-bit jump
 * offsets however long the list.
 */
#ifndef RELOCD_SYNFILTER_H
#define RELOCD_SYNFILTER_H

#include <linux/filter.h>

/* At most this many sources in one program (admit.h's table size). */
#define SYNFILTER_MAX 256
/* Instructions: a header, 2 an IPv4 source, 9 an IPv6 source, 2 ends. */
#define SYNFILTER_INSNS (4 + 2 * SYNFILTER_MAX + 9 * SYNFILTER_MAX + 2)

/* synfilter.c */

/*
 * The program that drops packets from the n addresses (text, as
 * peer_addr_text() writes them; an IPv4-mapped IPv6 address counts as
 * IPv4) into prog, which holds SYNFILTER_INSNS.  Its length, or -1 when
 * an address does not parse or n > SYNFILTER_MAX.
 */
int synfilter_build(const char *const *ips, unsigned n,
                    struct sock_filter *prog);
/*
 * Attaches that program to each of the nfd sockets (n = 0: detaches the
 * filter, everyone passes).  0, or -1 with errno set when one failed.
 */
int synfilter_apply(const int *fds, unsigned nfd, const char *const *ips,
                    unsigned n);

#endif
