/*
 * tcpseq - a TCP connection that must survive a live migration (seed 000:
 * open SSH sessions survive the move).
 *
 * usage: tcpseq -l PORT                       (in the guest: echo server)
 *        tcpseq -c ADDR -p PORT [-i ms] [-r ms]   (outside: the client)
 *
 * The server echoes every byte of each connection it accepts, one at a
 * time.  The client sends a record every -i ms (default 100: an
 * interactive session's keystrokes): a 4-byte big-endian sequence number
 * and 12 bytes derived from it, and checks that every record comes back
 * whole and in order.  Every -r ms (default 1000) it prints
 *
 *   TCPSEQ sent=<n> echoed=<m> maxgap_ms=<g> bad=<b>
 *
 * g being the longest time since the previous report without an echo
 * while records were outstanding: a migration's stall as the connection
 * saw it.  On SIGTERM or SIGINT, or when the connection fails, it prints
 * one last line
 *
 *   TCPSEQ-END sent=<n> echoed=<m> maxgap_ms=<G> bad=<b> state=<s>
 *
 * with G the longest gap of the whole run and s "open" (the connection
 * held until the end), "eof" or "reset" (with the error), and exits 0
 * only for "open" with nothing bad.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REC 16 /* bytes per record */

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void usage(void)
{
    fprintf(stderr, "usage: tcpseq -l PORT | tcpseq -c ADDR -p PORT "
                    "[-i interval_ms] [-r report_ms]\n");
    exit(2);
}

/* ---- server ------------------------------------------------------------ */

static void echo_all(int fd)
{
    char b[4096];
    ssize_t n, off, w;

    while ((n = read(fd, b, sizeof(b))) > 0)
        for (off = 0; off < n; off += w)
            if ((w = write(fd, b + off, (size_t)(n - off))) <= 0) return;
}

static int serve(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    int one = 1, ls = socket(AF_INET, SOCK_STREAM, 0), fd;

    if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
        bind(ls, (struct sockaddr *)&a, sizeof(a)) || listen(ls, 4)) {
        perror("tcpseq: listen");
        return 1;
    }
    for (;;) {
        fd = accept(ls, NULL, NULL);
        if (fd < 0) continue;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        echo_all(fd);
        close(fd);
    }
}

/* ---- client ------------------------------------------------------------ */

struct client {
    uint32_t sent, echoed, bad;
    uint8_t in[REC];
    size_t have;   /* bytes of the record being read */
    double last;   /* last echo, or when the oldest outstanding was sent */
    double gap;    /* longest since the last report */
    double gapall; /* longest of the run */
};

static void record(uint32_t seq, uint8_t *r)
{
    int i;

    r[0] = (uint8_t)(seq >> 24);
    r[1] = (uint8_t)(seq >> 16);
    r[2] = (uint8_t)(seq >> 8);
    r[3] = (uint8_t)seq;
    for (i = 4; i < REC; i++)
        r[i] = (uint8_t)(seq * 31 + i);
}

static void echo_in(struct client *c)
{
    uint8_t want[REC];

    record(c->echoed, want);
    if (memcmp(c->in, want, REC)) {
        c->bad++;
        if (c->bad <= 5)
            printf("TCPSEQ-BAD record %u came back wrong\n", c->echoed);
    }
    c->echoed++;
    c->last = now_ms();
}

/* The stall so far: time without an echo while one was outstanding. */
static void gap_update(struct client *c)
{
    double g = c->sent > c->echoed ? now_ms() - c->last : 0;

    if (g > c->gap) c->gap = g;
    if (g > c->gapall) c->gapall = g;
}

static int finish(struct client *c, const char *state, const char *why)
{
    gap_update(c);
    printf("TCPSEQ-END sent=%u echoed=%u maxgap_ms=%.0f bad=%u state=%s%s%s\n",
           c->sent, c->echoed, c->gapall, c->bad, state, why ? " " : "",
           why ? why : "");
    return strcmp(state, "open") || c->bad ? 1 : 0;
}

static int client(const char *addr, int port, int iv_ms, int rep_ms)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
    struct client c;
    double next_send, next_rep;
    uint8_t r[REC];
    struct pollfd p;
    ssize_t n;
    int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

    memset(&c, 0, sizeof(c));
    if (fd < 0 || inet_pton(AF_INET, addr, &a.sin_addr) != 1 ||
        connect(fd, (struct sockaddr *)&a, sizeof(a))) {
        perror("tcpseq: connect");
        return 1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    printf("TCPSEQ-CONNECTED %s:%d\n", addr, port);
    c.last = next_send = next_rep = now_ms();
    next_rep += rep_ms;
    while (!stop) {
        double t = now_ms(), wait = next_send - t;

        if (next_rep - t < wait) wait = next_rep - t;
        p = (struct pollfd){.fd = fd, .events = POLLIN};
        if (poll(&p, 1, wait > 0 ? (int)wait + 1 : 0) < 0 && errno != EINTR)
            return finish(&c, "reset", strerror(errno));
        if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
            n = read(fd, c.in + c.have, REC - c.have);
            if (n == 0) return finish(&c, "eof", NULL);
            if (n < 0 && errno != EINTR && errno != EAGAIN)
                return finish(&c, "reset", strerror(errno));
            if (n > 0 && (c.have += (size_t)n) == REC) {
                echo_in(&c);
                c.have = 0;
            }
        }
        gap_update(&c);
        t = now_ms();
        if (t >= next_send) {
            /* the clock of a stall starts at the oldest unanswered send */
            if (c.sent == c.echoed) c.last = t;
            record(c.sent, r);
            if (send(fd, r, REC, MSG_NOSIGNAL) != REC)
                return finish(&c, "reset", strerror(errno));
            c.sent++;
            next_send += iv_ms;
        }
        if (t >= next_rep) {
            printf("TCPSEQ sent=%u echoed=%u maxgap_ms=%.0f bad=%u\n", c.sent,
                   c.echoed, c.gap, c.bad);
            c.gap = 0;
            next_rep += rep_ms;
        }
    }
    return finish(&c, "open", NULL);
}

int main(int argc, char **argv)
{
    const char *addr = NULL;
    int o, listen_port = 0, port = 0, iv = 100, rep = 1000;

    while ((o = getopt(argc, argv, "l:c:p:i:r:")) != -1) {
        switch (o) {
        case 'l':
            listen_port = atoi(optarg);
            break;
        case 'c':
            addr = optarg;
            break;
        case 'p':
            port = atoi(optarg);
            break;
        case 'i':
            iv = atoi(optarg);
            break;
        case 'r':
            rep = atoi(optarg);
            break;
        default:
            usage();
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    if (listen_port > 0 && listen_port < 65536) return serve(listen_port);
    if (!addr || port <= 0 || port > 65535 || iv <= 0 || rep <= 0) usage();
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    return client(addr, port, iv, rep);
}
