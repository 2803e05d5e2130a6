/*
 * garp.h - telling the network that a guest has moved: RARP and
 * gratuitous ARP from the guest's MAC, sent into a bridge, and making a
 * bridge forget the port where it last saw that MAC.
 *
 * After the guest resumes on the target, relocd announces it into the
 * target's bridge: the frames flood to every port, so the target's
 * neighbours and, through the tunnel, the source's bridge and switches
 * learn the new way to the MAC.  On the target, garp_forget() first drops
 * the entry that still points into the tunnel (the guest used to be over
 * there); on the source, it drops the entry of the guest's old port.
 */
#ifndef RELOCD_GARP_H
#define RELOCD_GARP_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#define GARP_FRAME_LEN 60 /* minimum Ethernet frame, without FCS */

/* Parses "02:00:5e:10:00:01" (or with '-').  Returns 0 or -1 (EINVAL). */
int garp_parse_mac(const char *s, uint8_t mac[6]);

/*
 * The frames, into buf of GARP_FRAME_LEN bytes: an ARP announcement
 * (op 1: request; op 2: reply) for ip from mac, or a RARP request
 * (EtherType 0x8035, what QEMU and VMware announce with) for mac.
 */
void garp_frame_arp(uint8_t buf[GARP_FRAME_LEN], const uint8_t mac[6],
                    struct in_addr ip, int op);
void garp_frame_rarp(uint8_t buf[GARP_FRAME_LEN], const uint8_t mac[6]);

/*
 * Sends a RARP for mac and, when ip is not NULL, a gratuitous ARP request
 * and reply for it, out of bridge's own port (AF_PACKET).  One round: call
 * it again a few times (e.g. after 50 and 300 ms) against losses.
 * Returns 0, or -1 with errno and err.
 */
int garp_announce(const char *bridge, const uint8_t mac[6],
                  const struct in_addr *ip, char *err, size_t errlen);

/*
 * Deletes bridge's learned forwarding entries for mac, whatever port they
 * point to, so that the bridge floods frames for mac until the guest is
 * heard again (rtnetlink).  *n_r (may be NULL) counts them.  Returns 0, or
 * -1 with errno and err.
 */
int garp_forget(const char *bridge, const uint8_t mac[6], unsigned *n_r,
                char *err, size_t errlen);

#endif
