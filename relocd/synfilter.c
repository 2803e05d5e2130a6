/*
 * synfilter.c - the socket filter that drops penalised sources.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "relocd/synfilter.h"

/* Offsets in the IP header, from the network header (SKF_NET_OFF). */
#define IP4_SRC 12
#define IP6_SRC 8

struct prog {
    struct sock_filter *insn;
    unsigned n;
};

static void emit(struct prog *p, unsigned short code, unsigned char jt,
                 unsigned char jf, unsigned k)
{
    p->insn[p->n++] = (struct sock_filter)BPF_JUMP(code, k, jt, jf);
}

static void emit_load_word(struct prog *p, unsigned off)
{
    emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, (unsigned)SKF_NET_OFF + off);
}

/* Equal: fall into "drop"; else skip it. */
static void emit_drop_if(struct prog *p, unsigned k)
{
    emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, k);
    emit(p, BPF_RET | BPF_K, 0, 0, 0);
}

/* The 32-bit word i (0-3) of an address, as BPF's big-endian load sees it. */
static unsigned word(const unsigned char *a, unsigned i)
{
    return (unsigned)a[4 * i] << 24 | (unsigned)a[4 * i + 1] << 16 |
           (unsigned)a[4 * i + 2] << 8 | a[4 * i + 3];
}

/* An IPv6 source: four words equal, else on to the next address. */
static void emit_drop_if6(struct prog *p, const unsigned char *a)
{
    unsigned i;

    for (i = 0; i < 4; i++) {
        emit_load_word(p, IP6_SRC + 4 * i);
        /* a mismatch skips this address's remaining loads and tests */
        emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, (unsigned char)(2 * (3 - i) + 1),
             word(a, i));
    }
    emit(p, BPF_RET | BPF_K, 0, 0, 0);
}

/* ips into IPv4 and IPv6 addresses (16 bytes each); -1 on a bad one. */
static int synfilter_parse(const char *const *ips, unsigned n,
                           unsigned char (*v4)[4], unsigned *n4,
                           unsigned char (*v6)[16], unsigned *n6)
{
    struct in6_addr a6;
    unsigned i;

    *n4 = *n6 = 0;
    for (i = 0; i < n; i++) {
        if (inet_pton(AF_INET, ips[i], v4[*n4]) == 1) {
            (*n4)++;
        } else if (inet_pton(AF_INET6, ips[i], &a6) == 1) {
            if (IN6_IS_ADDR_V4MAPPED(&a6))
                memcpy(v4[(*n4)++], &a6.s6_addr[12], 4);
            else
                memcpy(v6[(*n6)++], a6.s6_addr, 16);
        } else {
            return -1;
        }
    }
    return 0;
}

int synfilter_build(const char *const *ips, unsigned n,
                    struct sock_filter *prog)
{
    static unsigned char v4[SYNFILTER_MAX][4], v6[SYNFILTER_MAX][16];
    struct prog p = {prog, 0};
    unsigned i, n4, n6, to_v6;

    if (n > SYNFILTER_MAX || synfilter_parse(ips, n, v4, &n4, v6, &n6) < 0) {
        errno = EINVAL;
        return -1;
    }
    /* A = the IP version */
    emit(&p, BPF_LD | BPF_B | BPF_ABS, 0, 0, (unsigned)SKF_NET_OFF);
    emit(&p, BPF_ALU | BPF_RSH | BPF_K, 0, 0, 4);
    emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 4);
    /* not IPv4: on to the IPv6 part, past the IPv4 one (load, 2 a source,
     * accept) */
    to_v6 = 1 + 2 * n4 + 1;
    emit(&p, BPF_JMP | BPF_JA, 0, 0, to_v6);
    emit_load_word(&p, IP4_SRC);
    for (i = 0; i < n4; i++)
        emit_drop_if(&p, word(v4[i], 0));
    emit(&p, BPF_RET | BPF_K, 0, 0, 0xffffffffu);
    /* A still holds the version here: anything but IPv6 passes */
    emit(&p, BPF_JMP | BPF_JEQ | BPF_K, 1, 0, 6);
    emit(&p, BPF_RET | BPF_K, 0, 0, 0xffffffffu);
    for (i = 0; i < n6; i++)
        emit_drop_if6(&p, v6[i]);
    emit(&p, BPF_RET | BPF_K, 0, 0, 0xffffffffu);
    return (int)p.n;
}

int synfilter_apply(const int *fds, unsigned nfd, const char *const *ips,
                    unsigned n)
{
    static struct sock_filter insn[SYNFILTER_INSNS];
    struct sock_fprog prog;
    unsigned i;
    int len, rc = 0, dummy = 0;

    if (!n) {
        for (i = 0; i < nfd; i++)
            if (setsockopt(fds[i], SOL_SOCKET, SO_DETACH_FILTER, &dummy,
                           sizeof(dummy)) < 0 &&
                errno != ENOENT)
                rc = -1;
        return rc;
    }
    len = synfilter_build(ips, n, insn);
    if (len < 0) return -1;
    prog.len = (unsigned short)len;
    prog.filter = insn;
    for (i = 0; i < nfd; i++)
        if (setsockopt(fds[i], SOL_SOCKET, SO_ATTACH_FILTER, &prog,
                       sizeof(prog)) < 0)
            rc = -1;
    return rc;
}
