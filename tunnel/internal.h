/*
 * internal.h - what conf.c, state.c and manager.c share inside tunnel/;
 * not for use outside it.
 */
#ifndef RELOCD_TUNNEL_INTERNAL_H
#define RELOCD_TUNNEL_INTERNAL_H

#include <netinet/in.h>
#include <sys/types.h>

#include "tunnel/tunnel.h"

#define TUNNEL_MTU_MIN 68
#define TUNNEL_MTU_MAX 65535

/* --- conf.c: the words of an entry and of a state line -------------------- */

/* A decimal number 0..max into *v_r: 0, or -1. */
int tunnel_parse_ulong(const char *s, unsigned long long max,
                       unsigned long long *v_r);
/* A dotted quad into *a_r: 0, or -1. */
int tunnel_parse_ip4(const char *s, struct in_addr *a_r);
/* 1 when s is a network interface name the kernel would take, else 0. */
int tunnel_ifname_ok(const char *s);
/* 1 when s is a holder name (one printable token), else 0. */
int tunnel_holder_ok(const char *s);

/* --- state.c: a tunnel's holders, the state's tunnels --------------------- */

/* The index of holder among t's, or -1. */
ssize_t tunnel_holder_find(const struct tunnel *t, const char *holder);
/* Adds holder unless it is there.  Returns 0, or -1 (ENOMEM, ENOSPC). */
int tunnel_holder_add(struct tunnel *t, const char *holder);
/* Frees t's holders and zeroes t. */
void tunnel_clear(struct tunnel *t);
/* Appends a copy of t (holders moved).  0, or -1 (ENOMEM, ENOSPC). */
int tunnel_state_append(struct tunnel_state *st, struct tunnel *t);

#endif
