/*
 * nbdlink - an NBD client for the lab's dom0 that names its backend:
 * Debian 12's nbd-client (3.24) cannot set the kernel's backend
 * identifier (NBD_ATTR_BACKEND_IDENTIFIER, /sys/block/nbdN/backend,
 * Linux >= 5.14), which relocd compares to tell shared storage
 * (storage-shared).
 *
 * usage: nbdlink connect [-E] [-i IDENT] [-b BLKSIZE] [-t TIMEOUT_S]
 *                        HOST PORT EXPORT /dev/nbdN
 *        nbdlink disconnect /dev/nbdN
 *        nbdlink info [-E] HOST PORT EXPORT
 *        nbdlink read [-E] HOST PORT EXPORT [OFFSET LENGTH]
 *        nbdlink write [-E] [-F] HOST PORT EXPORT OFFSET   (data on stdin)
 *        nbdlink trim [-E] HOST PORT EXPORT OFFSET LENGTH
 *
 * connect: the fixed newstyle handshake in user space (NBD_OPT_GO, or
 * NBD_OPT_EXPORT_NAME with -E or when the server does not know GO), then
 * the socket to the kernel with generic netlink NBD_CMD_CONNECT (family
 * "nbd"; drivers/block/nbd.c nbd_genl_connect): the device's index, the
 * export's size and transmission flags, BLKSIZE (512), the socket, and
 * IDENT (default nbd://HOST:PORT/EXPORT) as the backend identifier.  No
 * request timeout unless -t (the kernel then waits instead of cutting
 * the connection).  The kernel keeps the socket: nbdlink exits.
 * disconnect: NBD_CMD_DISCONNECT.  info / read / write / trim: the same
 * handshake, then requests from user space (no kernel NBD needed: the
 * tools' own test, tests/lab/src/nbd-selftest.sh): info prints
 * "size=N flags=0xF", read copies the export (or LENGTH bytes at
 * OFFSET) to stdout, write stdin to OFFSET (-F: each request with FUA)
 * then flushes, trim discards.  Errors on stderr, exit status 1.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <linux/genetlink.h>
#include <linux/nbd-netlink.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "nbdproto.h"

#define CHUNK (256 * 1024) /* user-space requests: at most this long */
#define NLBUF 8192         /* one netlink message, sent or received */

struct conn {
    int s;
    uint64_t size;
    uint16_t tflags;
    uint64_t handle;
};

static int use_export_name; /* -E */

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    va_list ap;

    fputs("nbdlink: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void usage(void)
{
    fputs("usage: nbdlink connect [-E] [-i IDENT] [-b BLKSIZE] "
          "[-t TIMEOUT_S] HOST PORT EXPORT /dev/nbdN\n"
          "       nbdlink disconnect /dev/nbdN\n"
          "       nbdlink info [-E] HOST PORT EXPORT\n"
          "       nbdlink read [-E] HOST PORT EXPORT [OFFSET LENGTH]\n"
          "       nbdlink write [-E] [-F] HOST PORT EXPORT OFFSET\n"
          "       nbdlink trim [-E] HOST PORT EXPORT OFFSET LENGTH\n",
          stderr);
    exit(2);
}

static int num(const char *s, unsigned long long *v)
{
    char *end;

    errno = 0;
    *v = strtoull(s, &end, 0);
    if (errno || end == s || *end) {
        say("not a number: %s", s);
        return -1;
    }
    return 0;
}

/* HOST: a numeric address (a static binary has no name service) */
static int dial(const char *host, const char *port)
{
    struct sockaddr_in6 s6 = {.sin6_family = AF_INET6};
    struct sockaddr_in s4 = {.sin_family = AF_INET};
    struct sockaddr *sa = (struct sockaddr *)&s4;
    socklen_t salen = sizeof(s4);
    unsigned long long p;
    int s, one = 1;

    if (num(port, &p) < 0 || p == 0 || p > 65535) return -1;
    s4.sin_port = s6.sin6_port = htons((uint16_t)p);
    if (inet_pton(AF_INET6, host, &s6.sin6_addr) == 1) {
        sa = (struct sockaddr *)&s6;
        salen = sizeof(s6);
    } else if (inet_pton(AF_INET, host, &s4.sin_addr) != 1) {
        say("%s: not a numeric address", host);
        return -1;
    }
    s = socket(sa->sa_family, SOCK_STREAM, 0);
    if (s < 0 || connect(s, sa, salen) < 0) {
        say("connect %s port %s: %s", host, port, strerror(errno));
        if (s >= 0) close(s);
        return -1;
    }
    setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return s;
}

static int lost(const char *what)
{
    say("%s: %s", what, errno ? strerror(errno) : "the server hung up");
    return -1;
}

static int send_opt(int s, uint32_t opt, const void *data, uint32_t len)
{
    unsigned char h[NBD_OPT_HDR];

    put64(h, NBD_IHAVEOPT);
    put32(h + 8, opt);
    put32(h + 12, len);
    if (writen(s, h, sizeof(h)) < 0 || (len && writen(s, data, len) < 0))
        return lost("sending an option");
    return 0;
}

/* NBD_OPT_EXPORT_NAME: the size and flags follow, or the server hangs up */
static int go_export_name(struct conn *c, const char *name, int no_zeroes)
{
    unsigned char r[10 + 124];

    if (send_opt(c->s, NBD_OPT_EXPORT_NAME, name, (uint32_t)strlen(name)))
        return -1;
    if (readn(c->s, r, no_zeroes ? 10 : sizeof(r)) < 0)
        return lost("export refused");
    c->size = get64(r);
    c->tflags = get16(r + 8);
    return 0;
}

/*
 * NBD_OPT_GO's replies up to the final one: 0 in transmission, 1 when
 * the server does not know GO, -1 on an error reply
 */
static int go_replies(struct conn *c)
{
    unsigned char h[NBD_REP_HDR], d[512];
    uint32_t type, len, k;
    int have_export = 0;

    for (;;) {
        if (readn(c->s, h, sizeof(h)) < 0) return lost("option reply");
        if (get64(h) != NBD_REP_MAGIC || get32(h + 8) != NBD_OPT_GO) {
            say("bad option reply");
            return -1;
        }
        type = get32(h + 12);
        len = get32(h + 16);
        k = len < sizeof(d) - 1 ? len : sizeof(d) - 1;
        if (readn(c->s, d, k) < 0) return lost("option reply");
        for (uint32_t left = len - k, n; left > 0; left -= n) {
            unsigned char junk[512]; /* what does not fit: skipped */

            n = left < sizeof(junk) ? left : sizeof(junk);
            if (readn(c->s, junk, n) < 0) return lost("option reply");
        }
        if (type == NBD_REP_INFO && k >= 12 && get16(d) == NBD_INFO_EXPORT) {
            c->size = get64(d + 2);
            c->tflags = get16(d + 10);
            have_export = 1;
        } else if (type == NBD_REP_ACK) {
            if (have_export) return 0;
            say("NBD_OPT_GO acknowledged without the export's size");
            return -1;
        } else if (type == NBD_REP_ERR_UNSUP) {
            return 1;
        } else if (type & NBD_REP_ERR) {
            d[k] = '\0';
            say("export refused (reply 0x%x)%s%s", type, k ? ": " : "",
                (char *)d);
            return -1;
        }
    }
}

/* the fixed newstyle handshake, into the transmission phase */
static int handshake(struct conn *c, const char *name)
{
    unsigned char h[18], *o;
    uint32_t nlen = (uint32_t)strlen(name);
    int no_zeroes, r;

    if (nlen > NBD_NAME_MAX) {
        say("export name too long");
        return -1;
    }
    if (readn(c->s, h, sizeof(h)) < 0) return lost("handshake");
    if (get64(h) != NBD_MAGIC || get64(h + 8) != NBD_IHAVEOPT ||
        !(get16(h + 16) & NBD_FLAG_FIXED_NEWSTYLE)) {
        say("not a fixed newstyle NBD server");
        return -1;
    }
    no_zeroes = !!(get16(h + 16) & NBD_FLAG_NO_ZEROES);
    put32(h,
          NBD_FLAG_C_FIXED_NEWSTYLE | (no_zeroes ? NBD_FLAG_C_NO_ZEROES : 0));
    if (writen(c->s, h, 4) < 0) return lost("handshake");
    if (use_export_name) return go_export_name(c, name, no_zeroes);
    o = malloc(4 + nlen + 2);
    if (!o) return -1;
    put32(o, nlen);
    memcpy(o + 4, name, nlen);
    put16(o + 4 + nlen, 0); /* no information requests */
    r = send_opt(c->s, NBD_OPT_GO, o, 4 + nlen + 2);
    free(o);
    if (r == 0) r = go_replies(c);
    if (r == 1) /* an older server */
        r = go_export_name(c, name, no_zeroes);
    return r;
}

static int open_conn(struct conn *c, const char *host, const char *port,
                     const char *name)
{
    memset(c, 0, sizeof(*c));
    c->s = dial(host, port);
    if (c->s < 0) return -1;
    if (handshake(c, name) < 0) {
        close(c->s);
        return -1;
    }
    return 0;
}

/* one request in user space; READ's data into BUF; 0, or -1 said */
static int request(struct conn *c, uint16_t type, uint16_t flags, uint64_t off,
                   uint32_t len, void *buf)
{
    unsigned char h[NBD_REQ_HDR];
    int has_data = type == NBD_CMD_WRITE;

    put32(h, NBD_REQ_MAGIC);
    put16(h + 4, flags);
    put16(h + 6, type);
    put64(h + 8, ++c->handle);
    put64(h + 16, off);
    put32(h + 24, len);
    if (writen(c->s, h, sizeof(h)) < 0 ||
        (has_data && writen(c->s, buf, len) < 0))
        return lost("request");
    if (type == NBD_CMD_DISC) return 0;
    if (readn(c->s, h, NBD_REPLY_HDR) < 0) return lost("reply");
    if (get32(h) != NBD_SIMPLE_REPLY_MAGIC || get64(h + 8) != c->handle) {
        say("bad reply");
        return -1;
    }
    if (get32(h + 4)) {
        say("request %u at %llu: error %u", type, (unsigned long long)off,
            get32(h + 4));
        return -1;
    }
    if (type == NBD_CMD_READ && readn(c->s, buf, len) < 0)
        return lost("read data");
    return 0;
}

static int cmd_info(struct conn *c)
{
    printf("size=%llu flags=0x%x\n", (unsigned long long)c->size, c->tflags);
    return 0;
}

static int cmd_read(struct conn *c, uint64_t off, uint64_t len)
{
    unsigned char *buf = malloc(CHUNK);
    uint32_t k;
    int r = 0;

    if (!buf) return -1;
    while (r == 0 && len > 0) {
        k = len < CHUNK ? (uint32_t)len : CHUNK;
        r = request(c, NBD_CMD_READ, 0, off, k, buf);
        if (r == 0 && writen(1, buf, k) < 0) r = lost("stdout");
        off += k;
        len -= k;
    }
    free(buf);
    return r;
}

static int cmd_write(struct conn *c, uint64_t off, int fua)
{
    unsigned char *buf = malloc(CHUNK);
    ssize_t n;
    int r = 0;

    if (!buf) return -1;
    while (r == 0 && (n = read(0, buf, CHUNK)) > 0) {
        r = request(c, NBD_CMD_WRITE, fua ? NBD_CMD_FLAG_FUA : 0, off,
                    (uint32_t)n, buf);
        off += (uint64_t)n;
    }
    if (r == 0 && n < 0) r = lost("stdin");
    if (r == 0) r = request(c, NBD_CMD_FLUSH, 0, 0, 0, NULL);
    free(buf);
    return r;
}

/* ---- generic netlink ---------------------------------------------------- */

struct nlmsg {
    unsigned char buf[NLBUF] __attribute__((aligned(NLMSG_ALIGNTO)));
    size_t len;
};

static struct nlattr *nl_put(struct nlmsg *m, uint16_t type, const void *data,
                             size_t dlen)
{
    struct nlattr *a = (struct nlattr *)(m->buf + m->len);
    size_t n = NLA_HDRLEN + dlen;

    if (m->len + NLA_ALIGN(n) > sizeof(m->buf)) return NULL;
    a->nla_type = type;
    a->nla_len = (uint16_t)n;
    if (dlen) memcpy((unsigned char *)a + NLA_HDRLEN, data, dlen);
    memset((unsigned char *)a + n, 0, NLA_ALIGN(n) - n);
    m->len += NLA_ALIGN(n);
    return a;
}

static int nl_put_u32(struct nlmsg *m, uint16_t type, uint32_t v)
{
    return nl_put(m, type, &v, sizeof(v)) ? 0 : -1;
}

static int nl_put_u64(struct nlmsg *m, uint16_t type, uint64_t v)
{
    return nl_put(m, type, &v, sizeof(v)) ? 0 : -1;
}

/* a nest's header, to be closed by nl_end (its length from here) */
static size_t nl_begin(struct nlmsg *m, uint16_t type)
{
    size_t at = m->len;

    return nl_put(m, type, NULL, 0) ? at : 0;
}

static void nl_end(struct nlmsg *m, size_t at)
{
    ((struct nlattr *)(m->buf + at))->nla_len = (uint16_t)(m->len - at);
}

static void nl_start(struct nlmsg *m, uint16_t family, uint8_t cmd)
{
    struct nlmsghdr *n = (struct nlmsghdr *)m->buf;
    struct genlmsghdr *g = (struct genlmsghdr *)NLMSG_DATA(n);

    memset(m->buf, 0, NLMSG_HDRLEN + GENL_HDRLEN);
    n->nlmsg_type = family;
    n->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
    n->nlmsg_seq = 1;
    g->cmd = cmd;
    g->version = family == GENL_ID_CTRL ? 1 : NBD_GENL_VERSION;
    m->len = NLMSG_HDRLEN + GENL_HDRLEN;
}

/*
 * send M, read the answer up to its ack; a reply's attribute WANT (a
 * u16) into *OUT when OUT; 0, or -1 with errno (the kernel's error)
 */
static int nl_talk(int s, struct nlmsg *m, uint16_t want, uint16_t *out)
{
    static unsigned char rb[NLBUF * 2] __attribute__((aligned(NLMSG_ALIGNTO)));
    struct nlmsghdr *n = (struct nlmsghdr *)m->buf;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    ssize_t r;

    n->nlmsg_len = (uint32_t)m->len;
    if (sendto(s, m->buf, m->len, 0, (struct sockaddr *)&kernel,
               sizeof(kernel)) < 0)
        return -1;
    for (;;) {
        r = recv(s, rb, sizeof(rb), 0);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        for (n = (struct nlmsghdr *)rb; NLMSG_OK(n, (size_t)r);
             n = NLMSG_NEXT(n, r)) {
            if (n->nlmsg_seq != 1) continue;
            if (n->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(n);

                errno = -e->error;
                return e->error ? -1 : 0;
            }
            if (out && n->nlmsg_len >= NLMSG_HDRLEN + GENL_HDRLEN) {
                unsigned char *p = (unsigned char *)NLMSG_DATA(n) + GENL_HDRLEN;
                unsigned char *end = (unsigned char *)n + n->nlmsg_len;

                while (p + NLA_HDRLEN <= end) {
                    struct nlattr *a = (struct nlattr *)p;

                    if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end) break;
                    if ((a->nla_type & NLA_TYPE_MASK) == want &&
                        a->nla_len >= NLA_HDRLEN + 2)
                        memcpy(out, p + NLA_HDRLEN, 2);
                    p += NLA_ALIGN(a->nla_len);
                }
            }
        }
    }
}

/* a generic netlink socket and the nbd family's id; -1 said */
static int nbd_family(uint16_t *family)
{
    struct sockaddr_nl me = {.nl_family = AF_NETLINK};
    static struct nlmsg m;
    int s;

    s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
    if (s < 0 || bind(s, (struct sockaddr *)&me, sizeof(me)) < 0) {
        say("generic netlink: %s", strerror(errno));
        return -1;
    }
    *family = 0;
    nl_start(&m, GENL_ID_CTRL, CTRL_CMD_GETFAMILY);
    if (!nl_put(&m, CTRL_ATTR_FAMILY_NAME, NBD_GENL_FAMILY_NAME,
                sizeof(NBD_GENL_FAMILY_NAME)) ||
        nl_talk(s, &m, CTRL_ATTR_FAMILY_ID, family) < 0 || !*family) {
        say("no generic netlink family \"nbd\" (is nbd.ko loaded?): %s",
            strerror(errno));
        close(s);
        return -1;
    }
    return s;
}

/* /dev/nbdN -> N */
static int nbd_index(const char *dev, uint32_t *index)
{
    const char *b = strrchr(dev, '/');
    unsigned u;
    int end = 0;

    b = b ? b + 1 : dev;
    if (sscanf(b, "nbd%u%n", &u, &end) != 1 || b[end]) {
        say("%s: not an NBD device (/dev/nbdN)", dev);
        return -1;
    }
    *index = u;
    return 0;
}

/* what /sys/block/nbdN/backend says now, compared with IDENT */
static int check_backend(uint32_t index, const char *ident)
{
    char path[64], got[512];
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/sys/block/nbd%u/backend", index);
    f = fopen(path, "r");
    if (!f) {
        say("%s: %s", path, strerror(errno));
        return -1;
    }
    n = fread(got, 1, sizeof(got) - 1, f);
    fclose(f);
    got[n] = '\0';
    got[strcspn(got, "\n")] = '\0';
    if (strcmp(got, ident)) {
        say("%s says \"%s\", not \"%s\"", path, got, ident);
        return -1;
    }
    return 0;
}

static int cmd_connect(struct conn *c, uint32_t index, const char *ident,
                       uint64_t bsize, uint64_t timeout)
{
    static struct nlmsg m;
    uint16_t family;
    size_t socks, item;
    int s, r;

    s = nbd_family(&family);
    if (s < 0) return -1;
    nl_start(&m, family, NBD_CMD_CONNECT);
    r = nl_put_u32(&m, NBD_ATTR_INDEX, index) |
        nl_put_u64(&m, NBD_ATTR_SIZE_BYTES, c->size) |
        nl_put_u64(&m, NBD_ATTR_BLOCK_SIZE_BYTES, bsize) |
        nl_put_u64(&m, NBD_ATTR_SERVER_FLAGS, c->tflags);
    if (timeout) r |= nl_put_u64(&m, NBD_ATTR_TIMEOUT, timeout);
    socks = nl_begin(&m, NBD_ATTR_SOCKETS);
    item = nl_begin(&m, NBD_SOCK_ITEM);
    r |= nl_put_u32(&m, NBD_SOCK_FD, (uint32_t)c->s);
    if (!socks || !item)
        r = -1;
    else {
        nl_end(&m, item);
        nl_end(&m, socks);
    }
    if (!nl_put(&m, NBD_ATTR_BACKEND_IDENTIFIER, ident, strlen(ident) + 1))
        r = -1;
    if (r) {
        say("netlink message too long");
        close(s);
        return -1;
    }
    r = nl_talk(s, &m, 0, NULL);
    close(s);
    if (r < 0) {
        say("NBD_CMD_CONNECT nbd%u: %s (dmesg tells why)", index,
            strerror(errno));
        return -1;
    }
    return check_backend(index, ident);
}

static int cmd_disconnect(uint32_t index)
{
    static struct nlmsg m;
    uint16_t family;
    int s, r;

    s = nbd_family(&family);
    if (s < 0) return -1;
    nl_start(&m, family, NBD_CMD_DISCONNECT);
    r = nl_put_u32(&m, NBD_ATTR_INDEX, index);
    if (r == 0) r = nl_talk(s, &m, 0, NULL);
    if (r < 0) say("NBD_CMD_DISCONNECT nbd%u: %s", index, strerror(errno));
    close(s);
    return r;
}

/* ---- the command line ---------------------------------------------------- */

static int run_client(const char *cmd, int argc, char **argv, int fua)
{
    unsigned long long off = 0, len = 0;
    struct conn c;
    int r;

    if (argc < 3) usage();
    if (!strcmp(cmd, "info") && argc != 3) usage();
    if (!strcmp(cmd, "read") && argc != 3 && argc != 5) usage();
    if (!strcmp(cmd, "write") && argc != 4) usage();
    if (!strcmp(cmd, "trim") && argc != 5) usage();
    if ((argc > 3 && num(argv[3], &off) < 0) ||
        (argc > 4 && num(argv[4], &len) < 0))
        return 1;
    if (open_conn(&c, argv[0], argv[1], argv[2]) < 0) return 1;
    if (!strcmp(cmd, "info"))
        r = cmd_info(&c);
    else if (!strcmp(cmd, "read"))
        r = cmd_read(&c, off, argc == 5 ? len : c.size);
    else if (!strcmp(cmd, "write"))
        r = cmd_write(&c, off, fua);
    else
        r = len > UINT32_MAX
                ? -1
                : request(&c, NBD_CMD_TRIM, 0, off, (uint32_t)len, NULL);
    if (r == 0) r = request(&c, NBD_CMD_DISC, 0, 0, 0, NULL);
    close(c.s);
    return r < 0;
}

static int run_connect(int argc, char **argv, const char *ident, uint64_t bsize,
                       uint64_t timeout)
{
    char def[NBD_NAME_MAX + 600];
    struct conn c;
    uint32_t index;
    int r;

    if (argc != 4) usage();
    if (nbd_index(argv[3], &index) < 0) return 1;
    if (!ident) {
        snprintf(def, sizeof(def), "nbd://%s:%s/%s", argv[0], argv[1], argv[2]);
        ident = def;
    }
    if (open_conn(&c, argv[0], argv[1], argv[2]) < 0) return 1;
    r = cmd_connect(&c, index, ident, bsize, timeout);
    close(c.s); /* the kernel holds its own reference */
    if (r == 0)
        printf("%s: %llu bytes, flags 0x%x, backend %s\n", argv[3],
               (unsigned long long)c.size, c.tflags, ident);
    return r < 0;
}

int main(int argc, char **argv)
{
    unsigned long long bsize = 512, timeout = 0;
    const char *cmd, *ident = NULL;
    uint32_t index;
    int o, fua = 0;

    if (argc < 2) usage();
    cmd = argv[1];
    optind = 2;
    while ((o = getopt(argc, argv, "Eb:Fi:t:")) != -1) {
        switch (o) {
        case 'E':
            use_export_name = 1;
            break;
        case 'b':
            if (num(optarg, &bsize) < 0) return 1;
            break;
        case 'F':
            fua = 1;
            break;
        case 'i':
            ident = optarg;
            break;
        case 't':
            if (num(optarg, &timeout) < 0) return 1;
            break;
        default:
            usage();
        }
    }
    argc -= optind;
    argv += optind;
    if (!strcmp(cmd, "connect"))
        return run_connect(argc, argv, ident, bsize, timeout);
    if (!strcmp(cmd, "disconnect")) {
        if (argc != 1) usage();
        return nbd_index(argv[0], &index) < 0 || cmd_disconnect(index) < 0;
    }
    if (!strcmp(cmd, "info") || !strcmp(cmd, "read") || !strcmp(cmd, "write") ||
        !strcmp(cmd, "trim"))
        return run_client(cmd, argc, argv, fua);
    usage();
    return 2;
}
