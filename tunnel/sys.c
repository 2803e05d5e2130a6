/*
 * sys.c - tunnel_sys_ops: what the manager's decisions do to the
 * system.  Kernel tunnels are rtnetlink devices (tunnel_nl.c).  An EtherIP
 * tunnel is a TAP device owned by a process of its own (etherip.c); the
 * state file keeps its PID and start time, so a restarted relocd finds it
 * again and never signals a stranger that inherited the PID.
 */
#include <net/if.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#include "config/diag.h"
#include "tunnel/etherip.h"
#include "tunnel/conf.h"
#include "tunnel/tunnel.h"
#include "wire/clock.h"

#define STOP_WAIT_MS 2000

/* Start time (clock ticks after boot) and state letter of a process. */
static int proc_stat(pid_t pid, unsigned long long *start_r, char *state_r)
{
    char path[64], buf[1024], *p;
    unsigned long long start;
    ssize_t n;
    int fd, i;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = '\0';
    /* The name may hold spaces and parentheses: skip to the last ')'. */
    if (!(p = strrchr(buf, ')')) || p[1] != ' ' || !p[2]) return -1;
    *state_r = p[2];
    for (i = 0, p += 2; i < 19 && p; i++)
        if ((p = strchr(p, ' '))) p++;
    if (!p || sscanf(p, "%llu", &start) != 1) return -1;
    *start_r = start;
    return 0;
}

/* Whether t's EtherIP process is the one we started, and running. */
static int eip_alive(const struct tunnel *t)
{
    unsigned long long start;
    char state;

    if (t->pid <= 1 || proc_stat(t->pid, &start, &state) < 0) return 0;
    return start == t->pid_start && state != 'Z' && state != 'X';
}

/* SIGTERM, then SIGKILL after STOP_WAIT_MS; its TAP goes with it. */
static void eip_stop(const struct tunnel *t)
{
    int waited;

    if (!eip_alive(t)) return;
    kill(t->pid, SIGTERM);
    for (waited = 0; waited < STOP_WAIT_MS && eip_alive(t); waited += 10)
        clock_sleep_ms(10);
    if (eip_alive(t)) kill(t->pid, SIGKILL);
    /* The TAP is gone once its last descriptor closed. */
    for (waited = 0; waited < STOP_WAIT_MS && if_nametoindex(t->ifname);
         waited += 10)
        clock_sleep_ms(10);
}

static int eip_create(struct tunnel *t, char *err, size_t errlen)
{
    struct etherip_opts o;
    char state;
    pid_t pid;
    int saved;

    memset(&o, 0, sizeof(o));
    snprintf(o.ifname, sizeof(o.ifname), "%s", t->ifname);
    o.local = t->local;
    o.peer = t->peer;
    o.flags = t->etherip_flags;
    if (etherip_spawn(&o, &pid, err, errlen) < 0) return -1;
    t->pid = pid;
    if (proc_stat(pid, &t->pid_start, &state) < 0) t->pid_start = 0;
    if (tunnel_nl_attach(t->ifname, t->bridge, t->mtu, err, errlen) < 0) {
        saved = errno;
        eip_stop(t);
        t->pid = 0;
        errno = saved;
        return -1;
    }
    return 0;
}

static int sys_create(struct tunnel *t, char *err, size_t errlen)
{
    int rc;

    if (t->kind == TUNNEL_ETHERIP) return eip_create(t, err, errlen);
    rc = tunnel_nl_create(t, err, errlen);
    /* Our own name taken: a relocd died between creating the device and
     * writing the state file.  (A clash of VNIs is EEXIST too, but then
     * no device has our name.) */
    if (rc < 0 && errno == EEXIST && if_nametoindex(t->ifname)) {
        tunnel_nl_delete(t->ifname, err, errlen);
        rc = tunnel_nl_create(t, err, errlen);
    }
    return rc;
}

static int sys_destroy(const struct tunnel *t, char *err, size_t errlen)
{
    char ignored[256];

    if (t->kind == TUNNEL_ETHERIP) eip_stop(t);
    if (!err) {
        err = ignored;
        errlen = sizeof(ignored);
    }
    if (tunnel_nl_delete(t->ifname, err, errlen) < 0 && errno != ENODEV)
        return -1;
    return 0;
}

static int sys_check(const struct tunnel *t)
{
    struct tunnel_nl_link l;
    char why[256];
    const char *kind =
        t->kind == TUNNEL_ETHERIP ? "tun" : tunnel_kind_name(t->kind);
    int br = (int)if_nametoindex(t->bridge);

    if (t->kind == TUNNEL_ETHERIP && !eip_alive(t)) return 0;
    if (tunnel_nl_get(t->ifname, &l, why, sizeof(why)) < 0) return 0;
    return !strcmp(l.kind, kind) && br && l.master == br && l.up;
}

static int sys_set_mtu(const struct tunnel *t, unsigned mtu, char *err,
                       size_t errlen)
{
    return tunnel_nl_set_mtu(t->ifname, mtu, err, errlen);
}

/* The route's source address: what connect() on a UDP socket picks. */
static int sys_source(struct in_addr peer, struct in_addr *local_r, char *err,
                      size_t errlen)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(9)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), saved;

    sa.sin_addr = peer;
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
        saved = errno;
        snprintf(err, errlen, "no route to %s: %s", inet_ntoa(peer),
                 strerror(saved));
        if (fd >= 0) close(fd);
        errno = saved;
        return -1;
    }
    close(fd);
    *local_r = sa.sin_addr;
    return 0;
}

/* EtherIP needs a TAP device and a raw socket for protocol 97. */
static int eip_probe(char *err, size_t errlen)
{
    int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC), saved;

    if (fd < 0) {
        saved = errno;
        return diag_errnof(err, errlen, saved, "etherip: /dev/net/tun: %s",
                           strerror(saved));
    }
    close(fd);
    fd = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, ETHERIP_PROTO);
    if (fd < 0) {
        saved = errno;
        return diag_errnof(err, errlen, saved, "etherip: raw socket: %s",
                           strerror(saved));
    }
    close(fd);
    return 0;
}

static int sys_probe(enum tunnel_kind kind, char *err, size_t errlen)
{
    if (kind == TUNNEL_ETHERIP) return eip_probe(err, errlen);
    return tunnel_nl_probe(kind, err, errlen);
}

const struct tunnel_ops tunnel_sys_ops = {
    .create = sys_create,
    .destroy = sys_destroy,
    .check = sys_check,
    .port_mtu = tunnel_nl_port_mtu,
    .set_mtu = sys_set_mtu,
    .source = sys_source,
    .probe = sys_probe,
};
