/*
 * xlrecv.c - `relocd-bench receive` and `listen`: the receiving half of
 * `xl migrate-receive`, in C, so that the receiver costs the same on every
 * transport and is never the bottleneck (tests/net/fake_xl.py parses the
 * same stream in Python, for correctness rather than speed).
 *
 * It checks the framing as xl and libxenguest would read it
 * (docs/specs/libxl-migration-stream.pandoc, libxc-migration-stream.pandoc):
 * xl header and config, libxl header, records to libxl's END, with the
 * libxc stream inside LIBXC_CONTEXT; then xl's commit handshake with
 * "success".  Page data is copied into memory, as restore would.
 * BENCH_RECV_LOG, when set, names a file that gets one line per stream:
 * "received NAME bytes=N records=N seconds=S".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "wire/fdio.h"
#include "bench.h"
#include "wire/xlstream.h"
#include "wire/clock.h"

#define RD_SIZE (256u * 1024)

/* A buffered reader: most records arrive in few read(2) calls. */
struct rd {
    int fd;
    size_t off, len;
    uint64_t total;
    uint8_t buf[RD_SIZE];
};

struct xlrecv {
    struct rd in;
    int wfd;
    uint64_t records, stream_bytes;
    char name[128];
    uint8_t *body; /* BENCH_MAX_RECORD bytes: where page data lands */
};

static int rd_exact(struct rd *r, void *data, size_t len)
{
    uint8_t *p = data;
    size_t n;
    ssize_t got;

    while (len) {
        if (r->off == r->len && len >= RD_SIZE) {
            /* Large bodies go straight to their destination. */
            got = read(r->fd, p, len);
        } else if (r->off == r->len) {
            got = read(r->fd, r->buf, RD_SIZE);
            r->off = 0;
            r->len = got > 0 ? (size_t)got : 0;
            if (got > 0) r->total += (uint64_t)got;
            if (got > 0 || (got < 0 && errno == EINTR)) continue;
        } else {
            n = r->len - r->off < len ? r->len - r->off : len;
            memcpy(p, r->buf + r->off, n);
            r->off += n;
            p += n;
            len -= n;
            continue;
        }
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) return -1;
        r->total += (uint64_t)got;
        p += got;
        len -= (size_t)got;
    }
    return 0;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static int bad(const char *what)
{
    return bench_err("receive", "%s", what);
}

/* One record (libxl and libxc share the framing); its type in *type_r. */
static int record(struct xlrecv *x, uint32_t *type_r)
{
    uint8_t hdr[8];
    uint32_t len;

    if (rd_exact(&x->in, hdr, sizeof(hdr))) return bad("stream cut short");
    *type_r = le32(hdr);
    len = le32(hdr + 4);
    if (len > BENCH_MAX_RECORD) return bad("record over the size limit");
    /* Bodies are padded to 8 bytes. */
    len += (8 - len % 8) % 8;
    if (rd_exact(&x->in, x->body, len)) return bad("stream cut short");
    x->records++;
    return 0;
}

/* The libxc stream inside LIBXC_CONTEXT: headers, records to its END. */
static int libxc_stream(struct xlrecv *x)
{
    uint8_t hdr[24 + 12];
    uint32_t type;

    if (rd_exact(&x->in, hdr, sizeof(hdr))) return bad("stream cut short");
    if (be64(hdr) != BENCH_LIBXC_MARKER ||
        be64(hdr + 8) >> 32 != BENCH_LIBXC_ID)
        return bad("bad libxc image header");
    do {
        if (record(x, &type)) return 1;
    } while (type != BENCH_REC_END);
    return 0;
}

/* The domain's name from the JSON config, for the log line. */
static void config_name(struct xlrecv *x, const char *json)
{
    const char *path[] = {"c_info", "name", NULL};
    yajl_val root = yajl_tree_parse(json, NULL, 0);
    yajl_val v = root ? yajl_tree_get(root, path, yajl_t_string) : NULL;

    snprintf(x->name, sizeof(x->name), "%s",
             v && YAJL_GET_STRING(v) ? YAJL_GET_STRING(v) : "?");
    yajl_tree_free(root);
}

/* xl header and config, then the libxl stream to its END record. */
static int read_stream(struct xlrecv *x)
{
    uint8_t hdr[XLS_HDR_LEN], lh[16];
    struct xls_header h;
    const char *json;
    size_t jlen;
    uint32_t type;
    char err[256];

    if (rd_exact(&x->in, hdr, sizeof(hdr))) return bad("no xl header");
    if (xls_parse_header(hdr, sizeof(hdr), &h, err, sizeof(err)))
        return bad(err);
    if (rd_exact(&x->in, x->body, h.optional_data_len) ||
        xls_parse_config(x->body, h.optional_data_len, &json, &jlen, err,
                         sizeof(err)))
        return bad("bad xl config");
    config_name(x, json);
    if (rd_exact(&x->in, lh, sizeof(lh)) || be64(lh) != BENCH_LIBXL_IDENT ||
        lh[11] != 2)
        return bad("bad libxl stream header");
    for (;;) {
        if (record(x, &type)) return 1;
        if (type == BENCH_REC_END) return 0;
        if (type == BENCH_REC_LIBXC_CONTEXT && libxc_stream(x)) return 1;
    }
}

static void log_result(const struct xlrecv *x, double secs)
{
    const char *path = getenv("BENCH_RECV_LOG");
    FILE *f = path ? fopen(path, "a") : NULL;

    if (!f) return;
    fprintf(f, "received %s bytes=%llu records=%llu seconds=%.6f\n", x->name,
            (unsigned long long)x->stream_bytes, (unsigned long long)x->records,
            secs);
    fclose(f);
}

/* The whole receive on rfd/wfd; the process exit status. */
static int receive(int rfd, int wfd)
{
    static struct xlrecv x;
    static const char ok = 0;
    char go[sizeof(XLS_MSG_GO)];
    double t0 = clock_s();

    x.in.fd = rfd;
    x.wfd = wfd;
    x.body = malloc(BENCH_MAX_RECORD + 8);
    if (!x.body) return bad("out of memory");
    if (fdio_write_all(wfd, XLS_BANNER, XLS_BANNER_LEN))
        return bad("cannot write the banner");
    if (read_stream(&x)) return 1;
    /* What was read ahead of the END record is xl's "go", not stream. */
    x.stream_bytes = x.in.total - (x.in.len - x.in.off);
    if (fdio_write_all(wfd, XLS_MSG_READY, sizeof(XLS_MSG_READY)) ||
        rd_exact(&x.in, go, sizeof(go)) || memcmp(go, XLS_MSG_GO, sizeof(go)))
        return bad("no permission to unpause");
    if (fdio_write_all(wfd, XLS_MSG_REPORT, sizeof(XLS_MSG_REPORT)) ||
        fdio_write_all(wfd, &ok, 1))
        return bad("cannot report the result");
    log_result(&x, clock_s() - t0);
    free(x.body);
    return 0;
}

int xlrecv_receive_main(int argc, char **argv)
{
    (void)argc;
    (void)argv; /* xl's flags (-e -p -d ...) change nothing here */
    return receive(0, 1);
}

int xlrecv_listen_main(int argc, char **argv)
{
    int lfd, fd;

    if (argc != 3) return bad("usage: listen HOST PORT");
    lfd = bench_tcp_listen(argv[1], argv[2]);
    if (lfd < 0)
        return bench_err("listen", "%s port %s: %s", argv[1], argv[2],
                         strerror(errno));
    do {
        fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    close(lfd);
    if (fd < 0) return bench_err("listen", "accept: %s", strerror(errno));
    return receive(fd, fd);
}
