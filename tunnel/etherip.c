/*
 * etherip.c - the EtherIP tunnel process: RFC 3378 framing and the loop
 * between a TAP device and a raw IPv4 socket (protocol 97).
 *
 * TAP -> network: read() returns one frame or one TCP super-frame with its
 * virtio-net header; super-frames are cut by etherip_tso() into segments
 * that fit the underlay's MTU, frames with a partial checksum are
 * completed, and up to TX_SEGS segments leave in one sendmmsg().
 * network -> TAP: recvmmsg() takes up to RX_BATCH datagrams (the kernel has
 * reassembled outer fragments), each is checked by etherip_decap() and
 * coalesced by etherip_gro_add(); one writev() per (super-)frame.
 * A full socket send buffer stops reading the TAP until it drains, so the
 * TAP's queue, not us, drops under overload -- as a NIC's ring would.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <linux/if_tun.h>

#include "config/diag.h"
#include "tunnel/etherip.h"
#include "wire/log.h"

#define TX_FRAMES 8  /* TAP reads per batch */
#define TX_SEGS 1024 /* segments per batch (sendmmsg caps at 1024) */
#define RX_BATCH 64  /* datagrams per recvmmsg */
#define RX_ROUNDS 8  /* recvmmsg calls per wake-up */
#define RX_BUF 65536 /* a reassembled outer datagram fits */
#define TAP_BUF (ETHERIP_VNET_HLEN + 65536)
#define SPAWN_WAIT_MS 5000
#define ETHERIP_NICE (-10)

struct eip {
    const struct etherip_opts *o;
    int tap, sk;
    uint8_t ehdr[ETHERIP_HLEN];
    size_t max_frame; /* inner frames up to this fit the underlay whole */
    time_t mtu_at;
    /* TAP -> network */
    uint8_t *tbuf[TX_FRAMES];
    int tx_frames;    /* tbuf[0..tx_frames) hold the batch's frames */
    size_t defer_len; /* tbuf[tx_frames] waits for an empty batch */
    size_t tx_n, tx_off;
    struct etherip_seg *segs;
    struct mmsghdr *tmsg;
    struct iovec *tiov;
    /* network -> TAP */
    uint8_t *rbuf;
    struct mmsghdr *rmsg;
    struct iovec *riov;
    struct etherip_gro *gro;
    struct etherip_stats st;
};

static volatile sig_atomic_t etherip_stop;

/* --- framing ------------------------------------------------------------ */

void etherip_hdr(uint8_t hdr[ETHERIP_HLEN], unsigned flags)
{
    hdr[0] = flags & ETHERIP_F_SEND_REV ? 0x03 : 0x30;
    hdr[1] = 0;
}

int etherip_decap(const uint8_t *pkt, size_t len, unsigned flags, size_t *off_r,
                  size_t *len_r)
{
    size_t ihl, tot;
    const uint8_t *eh;

    if (len < 20 || pkt[0] >> 4 != 4) goto inval;
    ihl = (size_t)(pkt[0] & 0x0f) * 4;
    tot = (size_t)pkt[2] << 8 | pkt[3];
    if (ihl < 20 || tot < ihl || tot > len || pkt[9] != ETHERIP_PROTO)
        goto inval;
    /* Fragments are reassembled before a raw socket sees them. */
    if (((pkt[6] << 8 | pkt[7]) & 0x3fff) != 0) goto inval;
    if (tot - ihl < ETHERIP_HLEN + ETHERIP_ETH_HLEN) goto inval;
    eh = pkt + ihl;
    /* RFC 3378: version 3 in the high nibble, the rest zero.  FreeBSD
     * before 8.0 and NetBSD's gif put the 3 in the low nibble. */
    if (eh[1] != 0 ||
        (eh[0] != 0x30 && !(eh[0] == 0x03 && (flags & ETHERIP_F_ACCEPT_REV)))) {
        errno = EPROTO;
        return -1;
    }
    *off_r = ihl + ETHERIP_HLEN;
    *len_r = tot - ihl - ETHERIP_HLEN;
    return 0;
inval:
    errno = EINVAL;
    return -1;
}

/* --- set-up ------------------------------------------------------------- */

static int tap_open(struct eip *e, char *err, size_t errlen)
{
    unsigned off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN;
    struct ifreq ifr;

    e->tap = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (e->tap < 0) {
        snprintf(err, errlen, "/dev/net/tun: %s", strerror(errno));
        return -1;
    }
    memset(&ifr, 0, sizeof(ifr));
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", e->o->ifname);
    if (ioctl(e->tap, TUNSETIFF, &ifr) < 0) {
        snprintf(err, errlen, "TAP %s: %s", e->o->ifname, strerror(errno));
        return -1;
    }
    if (e->o->flags & ETHERIP_F_NO_OFFLOAD) off = 0;
    /* Older kernels may refuse some bits: fewer offloads still work. */
    if (ioctl(e->tap, TUNSETOFFLOAD, off) < 0 &&
        ioctl(e->tap, TUNSETOFFLOAD, TUN_F_CSUM) < 0)
        ioctl(e->tap, TUNSETOFFLOAD, 0);
    return 0;
}

static int sock_open(struct eip *e, char *err, size_t errlen)
{
    struct sockaddr_in l = {.sin_family = AF_INET, .sin_addr = e->o->local};
    struct sockaddr_in r = {.sin_family = AF_INET, .sin_addr = e->o->peer};
    int sz = 8 << 20, pmtu = IP_PMTUDISC_DONT;

    e->sk =
        socket(AF_INET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, ETHERIP_PROTO);
    if (e->sk < 0) {
        snprintf(err, errlen, "raw socket: %s", strerror(errno));
        return -1;
    }
    /* bind: only datagrams to our address; connect: only from the peer. */
    if (bind(e->sk, (struct sockaddr *)&l, sizeof(l)) < 0 ||
        connect(e->sk, (struct sockaddr *)&r, sizeof(r)) < 0) {
        snprintf(err, errlen, "raw socket %s: %s", inet_ntoa(e->o->local),
                 strerror(errno));
        return -1;
    }
    /* Frames that do not fit the underlay go as outer fragments. */
    setsockopt(e->sk, IPPROTO_IP, IP_MTU_DISCOVER, &pmtu, sizeof(pmtu));
    if (setsockopt(e->sk, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof(sz)) < 0)
        setsockopt(e->sk, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    if (setsockopt(e->sk, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof(sz)) < 0)
        setsockopt(e->sk, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
    return 0;
}

/*
 * The underlay path MTU decides how big a segment may be; the TAP's MTU
 * how a super-frame that the peer sent whole is cut on its way in.
 */
static void mtu_refresh(struct eip *e)
{
    struct ifreq ifr;
    int mtu = 0;
    socklen_t l = sizeof(mtu);

    e->mtu_at = time(NULL);
    if (getsockopt(e->sk, IPPROTO_IP, IP_MTU, &mtu, &l) == 0 &&
        mtu > ETHERIP_OVERHEAD + 576)
        e->max_frame = (size_t)mtu - ETHERIP_OVERHEAD;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", e->o->ifname);
    if (ioctl(e->sk, SIOCGIFMTU, &ifr) == 0 && ifr.ifr_mtu > 0)
        etherip_gro_set_mtu(e->gro, (size_t)ifr.ifr_mtu);
}

static int bufs_alloc(struct eip *e)
{
    int i;

    for (i = 0; i < TX_FRAMES; i++)
        if (!(e->tbuf[i] = malloc(TAP_BUF))) return -1;
    e->segs = calloc(TX_SEGS, sizeof(*e->segs));
    e->tmsg = calloc(TX_SEGS, sizeof(*e->tmsg));
    e->tiov = calloc(TX_SEGS * 3, sizeof(*e->tiov));
    e->rbuf = malloc((size_t)RX_BATCH * RX_BUF);
    e->rmsg = calloc(RX_BATCH, sizeof(*e->rmsg));
    e->riov = calloc(RX_BATCH, sizeof(*e->riov));
    if (!e->segs || !e->tmsg || !e->tiov || !e->rbuf || !e->rmsg || !e->riov)
        return -1;
    for (i = 0; i < RX_BATCH; i++) {
        e->riov[i].iov_base = e->rbuf + (size_t)i * RX_BUF;
        e->riov[i].iov_len = RX_BUF;
        e->rmsg[i].msg_hdr.msg_iov = &e->riov[i];
        e->rmsg[i].msg_hdr.msg_iovlen = 1;
    }
    return 0;
}

static void eip_close(struct eip *e)
{
    int i;

    if (e->tap >= 0) close(e->tap);
    if (e->sk >= 0) close(e->sk);
    for (i = 0; i < TX_FRAMES; i++)
        free(e->tbuf[i]);
    free(e->segs);
    free(e->tmsg);
    free(e->tiov);
    free(e->rbuf);
    free(e->rmsg);
    free(e->riov);
    etherip_gro_free(e->gro);
}

/* Gives up root once the descriptors are open: nothing else needs it. */
static int drop_privs(const struct etherip_opts *o)
{
    struct passwd *pw;

    if ((o->flags & ETHERIP_F_KEEP_PRIVS) || geteuid() != 0) return 0;
    if (!(pw = getpwnam("nobody"))) return 0;
    if (setgroups(0, NULL) < 0 ||
        setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
        setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
        return -1;
    return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

static int tap_emit(void *arg, const struct virtio_net_hdr *vh,
                    const struct iovec *iov, int iovcnt);

static int eip_open(struct eip *e, const struct etherip_opts *o, char *err,
                    size_t errlen)
{
    memset(e, 0, sizeof(*e));
    e->o = o;
    e->tap = e->sk = -1;
    etherip_hdr(e->ehdr, o->flags);
    if (bufs_alloc(e) < 0 || !(e->gro = etherip_gro_new(tap_emit, e))) {
        snprintf(err, errlen, "%s", strerror(ENOMEM));
        return -1;
    }
    if (tap_open(e, err, errlen) < 0 || sock_open(e, err, errlen) < 0)
        return -1;
    mtu_refresh(e);
    /* A switch in user space: ahead of ordinary work, as ovs-vswitchd
     * (ovs-ctl's default -10), so that a busy dom0 does not starve it. */
    setpriority(PRIO_PROCESS, 0, ETHERIP_NICE);
    if (drop_privs(o) < 0) {
        snprintf(err, errlen, "dropping privileges: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/* --- TAP -> network ----------------------------------------------------- */

static void tx_queue(struct eip *e, size_t k)
{
    struct iovec *v = &e->tiov[3 * e->tx_n];
    struct etherip_seg *s;
    size_t i;

    for (i = 0; i < k; i++, v += 3) {
        s = &e->segs[e->tx_n + i];
        v[0].iov_base = e->ehdr;
        v[0].iov_len = ETHERIP_HLEN;
        v[1].iov_base = s->hdr;
        v[1].iov_len = s->hdr_len;
        v[2].iov_base = (void *)s->data;
        v[2].iov_len = s->data_len;
        memset(&e->tmsg[e->tx_n + i], 0, sizeof(e->tmsg[0]));
        e->tmsg[e->tx_n + i].msg_hdr.msg_iov = v;
        e->tmsg[e->tx_n + i].msg_hdr.msg_iovlen = 3;
    }
    e->tx_n += k;
}

/*
 * Turns one frame read from the TAP (virtio-net header first) into
 * segments.  Returns 0 (queued or dropped), or -1 when the batch has no
 * room left for it: the caller sends the batch first.
 */
static int tx_frame(struct eip *e, uint8_t *b, size_t n)
{
    struct virtio_net_hdr vh;
    uint8_t *f = b + ETHERIP_VNET_HLEN;
    size_t len = n - ETHERIP_VNET_HLEN, k = 1;

    memcpy(&vh, b, sizeof(vh));
    if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE &&
        (e->o->flags & ETHERIP_F_FRAGMENT) && len <= ETHERIP_FRAME_MAX &&
        e->tx_n < TX_SEGS && etherip_tso_whole(&vh, f, len) == 0) {
        /* One datagram; the kernel cuts it into outer fragments. */
        e->st.tap_rx_gso++;
        e->segs[e->tx_n].hdr_len = 0;
        e->segs[e->tx_n].data = f;
        e->segs[e->tx_n].data_len = len;
    } else if (vh.gso_type != VIRTIO_NET_HDR_GSO_NONE) {
        if (etherip_tso(&vh, f, len, e->max_frame, e->segs + e->tx_n,
                        TX_SEGS - e->tx_n, &k) < 0) {
            if (errno == ENOSPC && e->tx_n) return -1;
            e->st.tx_err++;
            return 0;
        }
        e->st.tap_rx_gso++;
    } else {
        if (e->tx_n == TX_SEGS) return -1;
        if (etherip_csum_complete(f, len, &vh) < 0) {
            e->st.tx_err++;
            return 0;
        }
        e->segs[e->tx_n].hdr_len = 0;
        e->segs[e->tx_n].data = f;
        e->segs[e->tx_n].data_len = len;
    }
    tx_queue(e, k);
    return 0;
}

/* Reads frames until the TAP is empty or the batch is full. */
static void tx_fill(struct eip *e)
{
    ssize_t r;
    uint8_t *b;

    while (!e->defer_len && e->tx_frames < TX_FRAMES) {
        b = e->tbuf[e->tx_frames];
        r = read(e->tap, b, TAP_BUF);
        if (r < 0) break;
        if (r < ETHERIP_VNET_HLEN + ETHERIP_ETH_HLEN) continue;
        e->st.tap_rx++;
        if (tx_frame(e, b, (size_t)r) < 0)
            e->defer_len = (size_t)r;
        else
            e->tx_frames++;
    }
}

/* After a batch went out: start the next with the frame that waited. */
static void tx_reset(struct eip *e)
{
    uint8_t *b;

    e->tx_n = e->tx_off = 0;
    if (e->defer_len) {
        b = e->tbuf[e->tx_frames];
        e->tbuf[e->tx_frames] = e->tbuf[0];
        e->tbuf[0] = b;
        e->tx_frames = 0;
        if (tx_frame(e, b, e->defer_len) < 0) e->st.tx_err++;
        e->tx_frames = e->tx_n ? 1 : 0;
        e->defer_len = 0;
    } else {
        e->tx_frames = 0;
    }
}

/* Sends the batch.  Returns 0 when it all went, 1 when the socket is full. */
static int tx_send(struct eip *e)
{
    int r;

    while (e->tx_off < e->tx_n) {
        r = sendmmsg(e->sk, e->tmsg + e->tx_off,
                     (unsigned)(e->tx_n - e->tx_off), 0);
        e->st.tx_calls++;
        if (r > 0) {
            e->tx_off += (size_t)r;
            e->st.tx_segs += (unsigned long long)r;
        } else if (errno == EAGAIN) {
            return 1;
        } else if (errno != EINTR) {
            /* Unreachable peer, ICMP error, no buffer: drop this one. */
            e->st.tx_err++;
            e->tx_off++;
        }
    }
    tx_reset(e);
    return 0;
}

static void tx_pump(struct eip *e)
{
    int i;

    for (i = 0; i < 4; i++) {
        if (e->tx_off < e->tx_n && tx_send(e)) return;
        tx_fill(e);
        if (e->tx_n == 0) return;
        if (tx_send(e)) return;
    }
}

/* --- network -> TAP ----------------------------------------------------- */

static int tap_emit(void *arg, const struct virtio_net_hdr *vh,
                    const struct iovec *iov, int iovcnt)
{
    struct eip *e = arg;
    struct iovec v[ETHERIP_GRO_SEGS + 1];

    if (iovcnt > ETHERIP_GRO_SEGS) return -1;
    v[0].iov_base = (void *)vh;
    v[0].iov_len = ETHERIP_VNET_HLEN;
    memcpy(v + 1, iov, (size_t)iovcnt * sizeof(*iov));
    if (writev(e->tap, v, iovcnt + 1) < 0) {
        e->st.tap_tx_err++;
        return -1;
    }
    e->st.tap_tx++;
    if (vh->gso_type != VIRTIO_NET_HDR_GSO_NONE) e->st.tap_tx_gso++;
    return 0;
}

static void rx_one(struct eip *e, uint8_t *p, const struct mmsghdr *m)
{
    struct virtio_net_hdr vh;
    struct iovec iov;
    size_t off, len;

    e->st.sock_rx++;
    if ((m->msg_hdr.msg_flags & MSG_TRUNC) ||
        etherip_decap(p, m->msg_len, e->o->flags, &off, &len) < 0) {
        e->st.rx_bad++;
        return;
    }
    if (!(e->o->flags & ETHERIP_F_NO_OFFLOAD)) {
        etherip_gro_add(e->gro, p + off, len);
        return;
    }
    memset(&vh, 0, sizeof(vh));
    iov.iov_base = p + off;
    iov.iov_len = len;
    tap_emit(e, &vh, &iov, 1);
}

static void rx_pump(struct eip *e)
{
    int n, i, round;

    for (round = 0; round < RX_ROUNDS; round++) {
        n = recvmmsg(e->sk, e->rmsg, RX_BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) return; /* EAGAIN, or an ICMP error reported once */
        e->st.rx_calls++;
        for (i = 0; i < n; i++)
            rx_one(e, e->rbuf + (size_t)i * RX_BUF, &e->rmsg[i]);
        etherip_gro_flush(e->gro);
        if (n < RX_BATCH) return;
    }
}

/* --- the loop ----------------------------------------------------------- */

static int eip_loop(struct eip *e, volatile sig_atomic_t *stop)
{
    struct pollfd p[2];
    int busy;

    while (!*stop) {
        busy = e->tx_off < e->tx_n;
        p[0].fd = e->tap;
        p[0].events = busy ? 0 : POLLIN;
        p[1].fd = e->sk;
        p[1].events = POLLIN | (busy ? POLLOUT : 0);
        if (poll(p, 2, 1000) < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (time(NULL) != e->mtu_at) mtu_refresh(e);
        if (p[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
            errno = EIO;
            return -1;
        }
        if ((p[0].revents & POLLIN) || (p[1].revents & POLLOUT)) tx_pump(e);
        if (p[1].revents & (POLLIN | POLLERR)) rx_pump(e);
    }
    return 0;
}

static void ready(int fd, int err, const char *why)
{
    char msg[512];
    int n;

    if (fd < 0) return;
    if (err)
        n = snprintf(msg, sizeof(msg), "error %d %s\n", err, why);
    else
        n = snprintf(msg, sizeof(msg), "ok %ld\n", (long)getpid());
    if (n > 0 && write(fd, msg, (size_t)n) < 0) log_warn("ready pipe");
    close(fd);
}

int etherip_run(const struct etherip_opts *o, int ready_fd,
                volatile sig_atomic_t *stop, struct etherip_stats *st_r)
{
    struct eip e;
    char why[256] = "";
    int rc, saved;

    if (eip_open(&e, o, why, sizeof(why)) < 0) {
        saved = errno ? errno : EINVAL;
        ready(ready_fd, saved, why);
        eip_close(&e);
        errno = saved;
        return -1;
    }
    ready(ready_fd, 0, NULL);
    log_info("%s: EtherIP to %s, underlay frames up to %zu bytes", o->ifname,
             inet_ntoa(o->peer), e.max_frame);
    rc = eip_loop(&e, stop);
    saved = errno;
    log_info("%s: stopped: %llu frames out, %llu in, %llu dropped", o->ifname,
             e.st.tap_rx, e.st.tap_tx,
             e.st.tx_err + e.st.rx_bad + e.st.tap_tx_err);
    if (st_r) *st_r = e.st;
    eip_close(&e);
    errno = saved;
    return rc;
}

/* --- a process per tunnel ----------------------------------------------- */

static void on_stop(int sig)
{
    (void)sig;
    etherip_stop = 1;
}

/* The grandchild: detached from the caller, runs the tunnel, exits. */
static void __attribute__((noreturn))
spawn_run(const struct etherip_opts *o, int fd)
{
    struct sigaction sa;
    char name[16];
    sigset_t all;
    int null;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = SIG_IGN;
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGPIPE, &sa, NULL);
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    /* The pipe goes out of the way first: stdio may have been closed. */
    if ((fd = fcntl(fd, F_DUPFD, 10)) < 0) _exit(1);
    null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
    }
    /* Keep stderr (the daemon's log), drop the daemon's other fds --
     * syslog's first, or its next send() could use a reused number. */
    closelog();
    if (dup2(fd, 3) < 0) _exit(1);
    close_range(4, ~0U, 0);
    snprintf(name, sizeof(name), "eip-%.11s", o->ifname);
    prctl(PR_SET_NAME, name, 0, 0, 0);
    log_procname("etherip");
    _exit(etherip_run(o, 3, &etherip_stop, NULL) < 0 ? 1 : 0);
}

/* Parses "ok PID" or "error ERRNO why" from the tunnel process. */
static int spawn_answer(const char *msg, pid_t *pid_r, char *err, size_t errlen)
{
    long v;
    int off = 0;

    if (sscanf(msg, "ok %ld", &v) == 1 && v > 1) {
        *pid_r = (pid_t)v;
        return 0;
    }
    if (sscanf(msg, "error %ld %n", &v, &off) == 1 && off > 0 && v > 0)
        return diag_errnof(err, errlen, (int)v, "%.*s",
                           (int)strcspn(msg + off, "\n"), msg + off);
    return diag_errnof(err, errlen, ECHILD,
                       "tunnel process died during set-up");
}

static int spawn_wait(int fd, pid_t *pid_r, char *err, size_t errlen)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    char msg[512] = "";
    ssize_t n = 0, r;

    while ((size_t)n < sizeof(msg) - 1 && !memchr(msg, '\n', (size_t)n)) {
        if (poll(&p, 1, SPAWN_WAIT_MS) <= 0)
            return diag_errnof(err, errlen, ETIMEDOUT,
                               "tunnel process did not start");
        r = read(fd, msg + n, sizeof(msg) - 1 - (size_t)n);
        if (r <= 0) break;
        n += r;
    }
    msg[n] = '\0';
    return spawn_answer(msg, pid_r, err, errlen);
}

int etherip_spawn(const struct etherip_opts *o, pid_t *pid_r, char *err,
                  size_t errlen)
{
    int p[2], rc, status;
    pid_t c;

    if (pipe2(p, O_CLOEXEC) < 0) return -1;
    c = fork();
    if (c < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (c == 0) {
        close(p[0]);
        setsid();
        if (fork() == 0) spawn_run(o, p[1]);
        _exit(0);
    }
    close(p[1]);
    while (waitpid(c, &status, 0) < 0 && errno == EINTR)
        ;
    rc = spawn_wait(p[0], pid_r, err, errlen);
    close(p[0]);
    return rc;
}
