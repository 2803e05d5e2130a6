/*
 * nbdserve - a small NBD server for the lab's dom0 (busybox, no
 * nbd-server): one file served as one export (storage-shared: the
 * storage that both "hosts" of one dom0 see).
 *
 * usage: nbdserve [-d] [-r] [-a ADDR] [-p PORT] [-e EXPORT] FILE
 *
 * Listens on ADDR (0.0.0.0) port PORT (10809); -e: the only export name
 * accepted (default: any name).  Fixed newstyle handshake
 * (NetworkBlockDevice/nbd doc/proto.md) with NBD_OPT_EXPORT_NAME,
 * NBD_OPT_INFO, NBD_OPT_GO and NBD_OPT_ABORT; any other option is
 * answered NBD_REP_ERR_UNSUP.  Transmission: READ, WRITE (FUA:
 * fdatasync before the reply), FLUSH (fdatasync), TRIM (a punched hole),
 * DISC, simple replies only, with pread/pwrite on FILE, so that every
 * connection sees the others' writes at once (NBD_FLAG_CAN_MULTI_CONN).
 * -r: read-only export.  One process per connection.  -d: into the
 * background once listening, the server's pid on stdout.  Errors go to
 * stderr.
 */
#define _GNU_SOURCE /* fallocate */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "nbdproto.h"

#define CHUNK (256 * 1024)  /* I/O buffer: a request goes through in these */
#define MAX_REQ (32U << 20) /* the longest READ or WRITE accepted */

struct export
{
    int fd;
    uint64_t size;
    uint16_t tflags;
    const char *name; /* NULL: any name */
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "nbdserve[%d]: ", (int)getpid());
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static void usage(void)
{
    fprintf(stderr, "usage: nbdserve [-d] [-r] [-a ADDR] [-p PORT] "
                    "[-e EXPORT] FILE\n");
    exit(2);
}

/* discard N bytes of input, through a bounded buffer */
static int skip(int s, uint64_t n)
{
    unsigned char buf[4096];
    size_t k;

    while (n > 0) {
        k = n < sizeof(buf) ? (size_t)n : sizeof(buf);
        if (readn(s, buf, k) < 0) return -1;
        n -= k;
    }
    return 0;
}

static int opt_reply(int s, uint32_t opt, uint32_t type, const void *data,
                     uint32_t len)
{
    unsigned char h[NBD_REP_HDR];

    put64(h, NBD_REP_MAGIC);
    put32(h + 8, opt);
    put32(h + 12, type);
    put32(h + 16, len);
    if (writen(s, h, sizeof(h)) < 0) return -1;
    return len ? writen(s, data, len) : 0;
}

static int name_ok(const struct export *ex, const char *name)
{
    return !ex->name || !strcmp(ex->name, name);
}

/*
 * NBD_OPT_INFO / NBD_OPT_GO: LEN bytes of data, name and information
 * requests; 1 when GO may enter transmission, 0 to go on haggling, -1
 */
static int opt_info(int s, const struct export *ex, uint32_t opt, uint32_t len)
{
    unsigned char d[4 + NBD_NAME_MAX + 2], r[14];
    uint32_t nlen;
    uint16_t i, nreq;
    int want_bs = 0;

    if (len < 6 || len > sizeof(d) + 2 * 64) {
        if (skip(s, len) < 0) return -1;
        return opt_reply(s, opt, NBD_REP_ERR_INVALID, NULL, 0);
    }
    if (readn(s, d, 4) < 0) return -1;
    nlen = get32(d);
    if (nlen > NBD_NAME_MAX || nlen > len - 6) {
        if (skip(s, len - 4) < 0) return -1;
        return opt_reply(s, opt, NBD_REP_ERR_INVALID, NULL, 0);
    }
    if (readn(s, d + 4, nlen + 2) < 0) return -1;
    nreq = get16(d + 4 + nlen);
    if (len != 4 + nlen + 2 + 2U * nreq) {
        if (skip(s, len - 4 - nlen - 2) < 0) return -1;
        return opt_reply(s, opt, NBD_REP_ERR_INVALID, NULL, 0);
    }
    for (i = 0; i < nreq; i++) {
        if (readn(s, r, 2) < 0) return -1;
        want_bs |= get16(r) == NBD_INFO_BLOCK_SIZE;
    }
    d[4 + nlen] = '\0';
    if (!name_ok(ex, (char *)d + 4)) {
        say("no export \"%s\"", (char *)d + 4);
        return opt_reply(s, opt, NBD_REP_ERR_UNKNOWN, NULL, 0);
    }
    put16(r, NBD_INFO_EXPORT);
    put64(r + 2, ex->size);
    put16(r + 10, ex->tflags);
    if (opt_reply(s, opt, NBD_REP_INFO, r, 12) < 0) return -1;
    if (want_bs) { /* no constraints beyond the defaults: say which */
        put16(r, NBD_INFO_BLOCK_SIZE);
        put32(r + 2, 1);
        put32(r + 6, 4096);
        put32(r + 10, MAX_REQ);
        if (opt_reply(s, opt, NBD_REP_INFO, r, 14) < 0) return -1;
    }
    if (opt_reply(s, opt, NBD_REP_ACK, NULL, 0) < 0) return -1;
    return opt == NBD_OPT_GO;
}

/* NBD_OPT_EXPORT_NAME: 1 into transmission, -1 (the session ends) */
static int opt_export_name(int s, const struct export *ex, uint32_t len,
                           int no_zeroes)
{
    char name[NBD_NAME_MAX + 1];
    unsigned char r[10 + 124];

    if (len > NBD_NAME_MAX) {
        say("export name of %u bytes", len);
        return -1;
    }
    if (readn(s, name, len) < 0) return -1;
    name[len] = '\0';
    if (!name_ok(ex, name)) { /* cannot be answered but by hanging up */
        say("no export \"%s\"", name);
        return -1;
    }
    memset(r, 0, sizeof(r));
    put64(r, ex->size);
    put16(r + 8, ex->tflags);
    return writen(s, r, no_zeroes ? 10 : sizeof(r)) < 0 ? -1 : 1;
}

/* the handshake: 0 when in transmission, -1 when the session is over */
static int handshake(int s, const struct export *ex)
{
    unsigned char h[18];
    uint32_t cflags, opt, len;
    int r, no_zeroes;

    put64(h, NBD_MAGIC);
    put64(h + 8, NBD_IHAVEOPT);
    put16(h + 16, NBD_FLAG_FIXED_NEWSTYLE | NBD_FLAG_NO_ZEROES);
    if (writen(s, h, 18) < 0 || readn(s, h, 4) < 0) return -1;
    cflags = get32(h);
    if (cflags & ~(NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES)) {
        say("unknown client flags 0x%x", cflags);
        return -1;
    }
    no_zeroes = !!(cflags & NBD_FLAG_C_NO_ZEROES);
    for (;;) {
        if (readn(s, h, NBD_OPT_HDR) < 0) return -1;
        if (get64(h) != NBD_IHAVEOPT) {
            say("bad option magic");
            return -1;
        }
        opt = get32(h + 8);
        len = get32(h + 12);
        switch (opt) {
        case NBD_OPT_EXPORT_NAME:
            return opt_export_name(s, ex, len, no_zeroes) == 1 ? 0 : -1;
        case NBD_OPT_INFO:
        case NBD_OPT_GO:
            r = opt_info(s, ex, opt, len);
            if (r < 0) return -1;
            if (r == 1) return 0;
            break;
        case NBD_OPT_ABORT:
            if (skip(s, len) == 0) opt_reply(s, opt, NBD_REP_ACK, NULL, 0);
            return -1;
        default:
            if (len > (1U << 20)) { /* a client this odd is not haggling */
                say("option %u with %u bytes of data", opt, len);
                return -1;
            }
            if (skip(s, len) < 0 ||
                opt_reply(s, opt, NBD_REP_ERR_UNSUP, NULL, 0) < 0)
                return -1;
        }
    }
}

static uint32_t nbd_errno(int e)
{
    switch (e) {
    case EPERM:
    case EROFS:
        return NBD_EPERM;
    case EINVAL:
        return NBD_EINVAL;
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return NBD_ENOSPC;
    default:
        return NBD_EIO;
    }
}

static int reply(int s, const unsigned char *handle, uint32_t err)
{
    unsigned char r[NBD_REPLY_HDR];

    put32(r, NBD_SIMPLE_REPLY_MAGIC);
    put32(r + 4, err);
    memcpy(r + 8, handle, 8);
    return writen(s, r, sizeof(r));
}

static int in_range(const struct export *ex, uint64_t off, uint32_t len)
{
    return off <= ex->size && len <= ex->size - off;
}

/* READ: the first chunk is read before the reply header, so that an
 * error can still be told; a later one can only end the session */
static int do_read(int s, const struct export *ex, const unsigned char *h,
                   unsigned char *buf)
{
    uint64_t off = get64(h + 16);
    uint32_t len = get32(h + 24), k;
    ssize_t n;
    int first = 1;

    if (len > MAX_REQ || !in_range(ex, off, len))
        return reply(s, h + 8, NBD_EINVAL);
    do {
        k = len < CHUNK ? len : CHUNK;
        n = pread(ex->fd, buf, k, (off_t)off);
        if (n >= 0 && (uint32_t)n < k) /* the file shrank: zeroes */
            memset(buf + n, 0, k - (uint32_t)n);
        if (n < 0) {
            say("read: %s", strerror(errno));
            return first ? reply(s, h + 8, nbd_errno(errno)) : -1;
        }
        if (first && reply(s, h + 8, 0) < 0) return -1;
        if (writen(s, buf, k) < 0) return -1;
        first = 0;
        off += k;
        len -= k;
    } while (len > 0);
    return 0;
}

/* WRITE: the data is always read off the socket, written if it may be */
static int do_write(int s, const struct export *ex, const unsigned char *h,
                    unsigned char *buf)
{
    uint16_t flags = get16(h + 4);
    uint64_t off = get64(h + 16);
    uint32_t len = get32(h + 24), k, err = 0;

    if (len > MAX_REQ) { /* cannot even be skipped sensibly */
        say("write of %u bytes", len);
        return -1;
    }
    if (flags & ~NBD_CMD_FLAG_FUA)
        err = NBD_EINVAL;
    else if (ex->tflags & NBD_TF_READ_ONLY)
        err = NBD_EPERM;
    else if (!in_range(ex, off, len))
        err = NBD_ENOSPC;
    while (len > 0) {
        k = len < CHUNK ? len : CHUNK;
        if (readn(s, buf, k) < 0) return -1;
        if (!err && pwrite(ex->fd, buf, k, (off_t)off) != (ssize_t)k) {
            say("write: %s", strerror(errno));
            err = nbd_errno(errno);
        }
        off += k;
        len -= k;
    }
    if (!err && (flags & NBD_CMD_FLAG_FUA) && fdatasync(ex->fd) < 0)
        err = nbd_errno(errno);
    return reply(s, h + 8, err);
}

static int do_trim(int s, const struct export *ex, const unsigned char *h)
{
    uint64_t off = get64(h + 16);
    uint32_t len = get32(h + 24), err = 0;

    if (ex->tflags & NBD_TF_READ_ONLY)
        err = NBD_EPERM;
    else if (!in_range(ex, off, len))
        err = NBD_ENOSPC;
    /* a hint: a file system that cannot punch keeps the data */
    else if (len &&
             fallocate(ex->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                       (off_t)off, len) < 0 &&
             errno != EOPNOTSUPP)
        err = nbd_errno(errno);
    if (!err && (get16(h + 4) & NBD_CMD_FLAG_FUA) && fdatasync(ex->fd) < 0)
        err = nbd_errno(errno);
    return reply(s, h + 8, err);
}

/* the transmission phase, until DISC, the end of the connection or an
 * error that leaves the stream out of step */
static void transmit(int s, const struct export *ex)
{
    unsigned char h[NBD_REQ_HDR], *buf;
    int r;

    buf = malloc(CHUNK);
    if (!buf) {
        say("out of memory");
        return;
    }
    for (;;) {
        if (readn(s, h, sizeof(h)) < 0) break;
        if (get32(h) != NBD_REQ_MAGIC) {
            say("bad request magic 0x%x", get32(h));
            break;
        }
        switch (get16(h + 6)) {
        case NBD_CMD_READ:
            r = do_read(s, ex, h, buf);
            break;
        case NBD_CMD_WRITE:
            r = do_write(s, ex, h, buf);
            break;
        case NBD_CMD_FLUSH:
            r = reply(s, h + 8, fdatasync(ex->fd) < 0 ? nbd_errno(errno) : 0);
            break;
        case NBD_CMD_TRIM:
            r = do_trim(s, ex, h);
            break;
        case NBD_CMD_DISC:
            free(buf);
            return;
        default:
            r = reply(s, h + 8, NBD_EINVAL);
        }
        if (r < 0) break;
    }
    free(buf);
}

static int listen_on(const char *addr, int port)
{
    struct sockaddr_in sin;
    int s, one = 1;

    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, addr, &sin.sin_addr) != 1) {
        say("bad address %s", addr);
        return -1;
    }
    s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0 ||
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(s, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
        listen(s, 16) < 0) {
        say("listen: %s", strerror(errno));
        return -1;
    }
    return s;
}

static int open_export(struct export *ex, const char *path, int ro)
{
    off_t end;

    ex->fd = open(path, ro ? O_RDONLY : O_RDWR);
    if (ex->fd < 0) {
        say("%s: %s", path, strerror(errno));
        return -1;
    }
    end = lseek(ex->fd, 0, SEEK_END); /* a file's or a block device's */
    if (end < 0) {
        say("%s: no size: %s", path, strerror(errno));
        return -1;
    }
    ex->size = (uint64_t)end;
    ex->tflags = NBD_TF_HAS_FLAGS | NBD_TF_SEND_FLUSH | NBD_TF_SEND_FUA |
                 NBD_TF_SEND_TRIM | NBD_TF_CAN_MULTI_CONN;
    if (ro) ex->tflags |= NBD_TF_READ_ONLY;
    return 0;
}

static void serve(int ls, const struct export *ex)
{
    int s, one = 1;
    pid_t pid;

    for (;;) {
        s = accept(ls, NULL, NULL);
        if (s < 0) {
            if (errno != EINTR && errno != ECONNABORTED)
                say("accept: %s", strerror(errno));
            continue;
        }
        pid = fork();
        if (pid == 0) {
            close(ls);
            setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
            if (handshake(s, ex) == 0) transmit(s, ex);
            _exit(0);
        }
        if (pid < 0) say("fork: %s", strerror(errno));
        close(s);
    }
}

int main(int argc, char **argv)
{
    struct export ex = {.fd = -1, .name = NULL};
    const char *addr = "0.0.0.0";
    int c, port = 10809, bg = 0, ro = 0, ls, nul;
    pid_t pid;

    while ((c = getopt(argc, argv, "a:de:p:r")) != -1) {
        switch (c) {
        case 'a':
            addr = optarg;
            break;
        case 'd':
            bg = 1;
            break;
        case 'e':
            ex.name = optarg;
            break;
        case 'p':
            port = atoi(optarg);
            break;
        case 'r':
            ro = 1;
            break;
        default:
            usage();
        }
    }
    if (optind != argc - 1 || port <= 0 || port > 65535) usage();
    if (open_export(&ex, argv[optind], ro) < 0) return 1;
    ls = listen_on(addr, port);
    if (ls < 0) return 1;
    signal(SIGCHLD, SIG_IGN); /* connections reap themselves */
    signal(SIGPIPE, SIG_IGN); /* a client gone is a write error */
    if (bg) {
        pid = fork();
        if (pid < 0) {
            say("fork: %s", strerror(errno));
            return 1;
        }
        if (pid > 0) { /* listening already: the caller may connect */
            printf("%d\n", (int)pid);
            return 0;
        }
        setsid();
        nul = open("/dev/null", O_RDWR);
        if (nul >= 0) {
            dup2(nul, 0);
            dup2(nul, 1);
            if (nul > 1) close(nul);
        }
    }
    serve(ls, &ex);
    return 0;
}
