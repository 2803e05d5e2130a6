/*
 * flood - pre-authentication load on a relocd port, for the lab's
 * fault-load scenario (the C twin of tests/net/flood.py: the lab's dom0
 * has no Python).
 *
 *   flood HOST PORT SECONDS IDLE SRC[,SRC...] [TRICKLE-SRC [EVERY-MS]]
 *
 * Keeps IDLE connections to HOST:PORT open for SECONDS, bound round-robin
 * to the SRC addresses; a connection the server closes is opened again,
 * so the idle ones keep pressing on the pending slots for the whole run
 * (at most REFILL_PER_ROUND new ones per 20 ms).  It sleeps in epoll
 * between events: polling 200 sockets 50 times a second cost the lab's
 * one vCPU more than relocd's defences did.
 * With TRICKLE-SRC, opens a bogus connection from there every EVERY-MS
 * (50) milliseconds: garbage bytes or an instant close, alternately.
 * Talks only to HOST:PORT.  Prints what it did and the CPU seconds it
 * used, one line, when the time is up or at SIGTERM.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_IDLE 1024
#define MAX_SRCS 16
/*
 * New idle connections per 20 ms round (500/s): the flood runs in the
 * lab's dom0 beside relocd, so a refill spinning on instant refusals
 * would measure the attacker's CPU, not relocd's defences.
 */
#define REFILL_PER_ROUND 10

static struct sockaddr_in target;
static volatile sig_atomic_t stopping;

static void stop(int sig)
{
    (void)sig;
    stopping = 1;
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int addr(const char *ip, int port, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons(port);
    return inet_pton(AF_INET, ip, &sa->sin_addr) == 1 ? 0 : -1;
}

/* A non-blocking connect from SRC; -1 when even that fails. */
static int open_from(const struct sockaddr_in *src)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);

    if (fd < 0) return -1;
    if (bind(fd, (const struct sockaddr *)src, sizeof(*src)) < 0 ||
        (connect(fd, (const struct sockaddr *)&target, sizeof(target)) < 0 &&
         errno != EINPROGRESS)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One bogus peer: every other one writes garbage once it is connected. */
static void bogus(const struct sockaddr_in *src, unsigned long n)
{
    static const char junk[] = "\xff\xfe garbage \r\n\xff\xfe garbage \r\n";
    struct pollfd p;
    int fd = open_from(src);

    if (fd < 0) return;
    if (n % 2) {
        p.fd = fd;
        p.events = POLLOUT;
        if (poll(&p, 1, 200) == 1 && (p.revents & POLLOUT))
            (void)!write(fd, junk, sizeof(junk) - 1);
    }
    close(fd);
}

/* Opens idle connections up to want, at most REFILL_PER_ROUND of them. */
static int refill(int ep, const struct sockaddr_in *srcs, int nsrc, int want,
                  int *nconn, unsigned long *n)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP};
    int i, fd, added = 0;

    for (i = 0; *nconn < want && i < REFILL_PER_ROUND; i++) {
        fd = open_from(&srcs[(*n)++ % nsrc]);
        if (fd < 0) break;
        ev.data.fd = fd;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            close(fd);
            break;
        }
        (*nconn)++;
        added++;
    }
    return added;
}

int main(int argc, char **argv)
{
    struct epoll_event evs[64];
    struct sockaddr_in srcs[MAX_SRCS], trickle;
    unsigned long opened = 0, closed = 0, nbogus = 0, n = 0;
    int nconn = 0, nsrc = 0, idle, i, nev, ep, wait_ms, every_ms = 50;
    int have_trickle = 0;
    double end, t, next_bogus = 0, next_refill = 0;
    char *list, *tok;
    char buf[4096];
    struct rusage ru;

    if (argc < 6) {
        fprintf(stderr, "usage: flood HOST PORT SECONDS IDLE SRC[,SRC...] "
                        "[TRICKLE-SRC [EVERY-MS]]\n");
        return 2;
    }
    if (addr(argv[1], atoi(argv[2]), &target) < 0) {
        fprintf(stderr, "flood: bad host %s\n", argv[1]);
        return 2;
    }
    end = now() + atof(argv[3]);
    idle = atoi(argv[4]);
    if (idle < 0 || idle > MAX_IDLE) idle = MAX_IDLE;
    list = argv[5];
    while ((tok = strsep(&list, ",")) && nsrc < MAX_SRCS)
        if (addr(tok, 0, &srcs[nsrc++]) < 0) {
            fprintf(stderr, "flood: bad source %s\n", tok);
            return 2;
        }
    if (argc > 6) {
        if (addr(argv[6], 0, &trickle) < 0) {
            fprintf(stderr, "flood: bad source %s\n", argv[6]);
            return 2;
        }
        have_trickle = 1;
        if (argc > 7) every_ms = atoi(argv[7]);
    }
    ep = epoll_create1(0);
    if (ep < 0) {
        perror("flood: epoll_create1");
        return 1;
    }

    signal(SIGTERM, stop);
    signal(SIGPIPE, SIG_IGN);
    while (!stopping && (t = now()) < end) {
        if (nconn < idle && t >= next_refill) {
            opened += refill(ep, srcs, nsrc, idle, &nconn, &n);
            next_refill = t + 0.02;
        }
        if (have_trickle && t >= next_bogus) {
            next_bogus = t + every_ms / 1000.0;
            bogus(&trickle, nbogus++);
        }
        /* Sleep until the next bogus or refill is due, or an event. */
        t = now();
        wait_ms = 1000;
        if (have_trickle) wait_ms = (int)((next_bogus - t) * 1000) + 1;
        if (nconn < idle && (int)((next_refill - t) * 1000) + 1 < wait_ms)
            wait_ms = (int)((next_refill - t) * 1000) + 1;
        if (wait_ms < 0) wait_ms = 0;
        nev = epoll_wait(ep, evs, 64, wait_ms);
        for (i = 0; i < nev; i++) {
            if (!(evs[i].events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) &&
                read(evs[i].data.fd, buf, sizeof(buf)) > 0)
                continue;
            /* closed by the server (or reset): open another */
            close(evs[i].data.fd);
            nconn--;
            closed++;
        }
    }
    getrusage(RUSAGE_SELF, &ru);
    /* Its own CPU too: in the lab it shares the dom0 with its victim. */
    printf("opened %lu closed-by-server %lu bogus %lu cpu %.2f\n", opened,
           closed, nbogus,
           ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
               (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
    return 0;
}
