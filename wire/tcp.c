/*
 * tcp.c - socket options and progress counters of migration sockets.
 */
#include <errno.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <linux/sockios.h>
#include <linux/tcp.h>

#include "wire/tcp.h"

int tcp_tune(int fd)
{
    int on = 1, idle = TCP_KEEP_IDLE_S, intvl = TCP_KEEP_INTVL_S;
    int cnt = TCP_KEEP_CNT;
    unsigned user = TCP_USER_TIMEOUT_MS;

    if (setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on)) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle)) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl)) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt)) < 0 ||
        setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user, sizeof(user)) < 0)
        return -1;
    return 0;
}

/*
 * linux/tcp.h's tcp_info: glibc's netinet/tcp.h lacks the byte counters.
 * Sent = acknowledged + still queued (SIOCOUTQ): what was written so far.
 */
int tcp_progress(int fd, struct tcp_progress *p)
{
    struct tcp_info ti = {0};
    socklen_t len = sizeof(ti);
    int outq = 0, inq = 0;

    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0) return -1;
    if (len < offsetof(struct tcp_info, tcpi_bytes_received) +
                  sizeof(ti.tcpi_bytes_received)) {
        errno = ENOSYS;
        return -1;
    }
    if (ioctl(fd, SIOCOUTQ, &outq) < 0 || ioctl(fd, SIOCINQ, &inq) < 0)
        return -1;
    p->received = ti.tcpi_bytes_received;
    p->sent = ti.tcpi_bytes_acked + (unsigned)outq;
    p->unread = (unsigned)inq;
    return 0;
}
