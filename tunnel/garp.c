/*
 * garp.c - RARP and gratuitous ARP into a bridge (AF_PACKET), and
 * forgetting a MAC's forwarding entry (rtnetlink, tunnel_nl.c).
 */
#include <net/if.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <linux/if_packet.h>

#include "config/diag.h"
#include "tunnel/garp.h"
#include "tunnel/tunnel.h"

#define ETH_P_ARP_ 0x0806
#define ETH_P_RARP_ 0x8035

static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int garp_parse_mac(const char *s, uint8_t mac[6])
{
    int i, hi, lo;

    if (strlen(s) != 17) goto bad;
    for (i = 0; i < 6; i++) {
        hi = hexval(s[3 * i]);
        lo = hexval(s[3 * i + 1]);
        if (hi < 0 || lo < 0) goto bad;
        if (i < 5 && s[3 * i + 2] != s[2]) goto bad;
        mac[i] = (uint8_t)(hi << 4 | lo);
    }
    if (s[2] == ':' || s[2] == '-') return 0;
bad:
    errno = EINVAL;
    return -1;
}

/* Ethernet header and the fixed part of an ARP packet for IPv4. */
static uint8_t *frame_start(uint8_t *buf, const uint8_t mac[6], uint16_t type,
                            uint16_t op)
{
    memset(buf, 0, GARP_FRAME_LEN);
    memcpy(buf, bcast, 6);
    memcpy(buf + 6, mac, 6);
    buf[12] = (uint8_t)(type >> 8);
    buf[13] = (uint8_t)type;
    buf[15] = 1;    /* htype Ethernet */
    buf[16] = 0x08; /* ptype IPv4 */
    buf[18] = 6;    /* hlen */
    buf[19] = 4;    /* plen */
    buf[21] = (uint8_t)op;
    memcpy(buf + 22, mac, 6); /* sender hardware address */
    return buf + 28;          /* sender protocol address */
}

void garp_frame_arp(uint8_t buf[GARP_FRAME_LEN], const uint8_t mac[6],
                    struct in_addr ip, int op)
{
    uint8_t *p = frame_start(buf, mac, ETH_P_ARP_, (uint16_t)op);

    memcpy(p, &ip, 4);
    /* RFC 5227 announcements leave the target MAC zero; replies name
     * everyone, as most stacks that send them do. */
    if (op == 2) memcpy(p + 4, bcast, 6);
    memcpy(p + 10, &ip, 4);
}

void garp_frame_rarp(uint8_t buf[GARP_FRAME_LEN], const uint8_t mac[6])
{
    uint8_t *p = frame_start(buf, mac, ETH_P_RARP_, 3);

    memcpy(p + 4, mac, 6); /* target hardware address: itself */
}

static int send_frame(int fd, int ifindex, const uint8_t *f)
{
    struct sockaddr_ll sll;

    memset(&sll, 0, sizeof(sll));
    sll.sll_family = AF_PACKET;
    sll.sll_ifindex = ifindex;
    sll.sll_halen = 6;
    memcpy(sll.sll_addr, bcast, 6);
    return sendto(fd, f, GARP_FRAME_LEN, 0, (struct sockaddr *)&sll,
                  sizeof(sll)) == GARP_FRAME_LEN
               ? 0
               : -1;
}

int garp_announce(const char *bridge, const uint8_t mac[6],
                  const struct in_addr *ip, char *err, size_t errlen)
{
    uint8_t f[3][GARP_FRAME_LEN];
    int fd, ix = (int)if_nametoindex(bridge), i, n = 1, rc = 0, saved;

    if (!ix) return diag_errnof(err, errlen, ENODEV, "no bridge %s", bridge);
    garp_frame_rarp(f[0], mac);
    if (ip) {
        garp_frame_arp(f[1], mac, *ip, 1);
        garp_frame_arp(f[2], mac, *ip, 2);
        n = 3;
    }
    /* Protocol 0: send only, never receive. */
    fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        snprintf(err, errlen, "packet socket: %s", strerror(errno));
        return -1;
    }
    for (i = 0; i < n && rc == 0; i++)
        rc = send_frame(fd, ix, f[i]);
    saved = errno;
    close(fd);
    if (rc < 0) {
        snprintf(err, errlen, "announcing on %s: %s", bridge, strerror(saved));
        errno = saved;
    }
    return rc;
}

int garp_forget(const char *bridge, const uint8_t mac[6], unsigned *n_r,
                char *err, size_t errlen)
{
    return tunnel_nl_fdb_flush(bridge, mac, n_r, err, errlen);
}
