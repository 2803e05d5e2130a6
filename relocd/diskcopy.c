/*
 * diskcopy.c - read the source's pending blocks and send them as records.
 *
 * A pass walks the disk in order, over runs of pending blocks.  Each run
 * is read DISK_DATA_MAX bytes at a time and looked at in 4 KiB grains: a
 * grain of zeros joins a ZERO record (adjacent ones make one record), other
 * grains go as DATA.  So a block device, where everything reads as data,
 * still sends its empty parts as 16-byte records, and a partly written
 * tracking block sends only its written grains.  In pass 0 the blocks the
 * tracker found unallocated are holes: they go as ZERO without a read,
 * which also clears whatever the target held there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wire/buf.h"
#include "wire/chan.h"
#include "wire/clock.h"
#include "wire/diskframe.h"
#include "wire/msg.h"
#include "relocd/diskcopy.h"
#include "relocd/diskmap.h"
#include "relocd/disksize.h"

#define GRAIN 4096
#define FRAME_MAX (PROTO_HDR_LEN + DISK_DATA_HEAD + DISK_DATA_MAX)
/* How long a failed send waits for the receiver's ERROR to say why. */
#define WHY_MS 1000

struct diskcopy {
    int fd;
    uint64_t size;
    uint32_t block;
    struct disktrack *t;
    struct chan *c;
    struct diskcopy_cfg cfg;
    struct diskmap *pending; /* the blocks the next pass sends */
    struct diskmap *era;     /* scratch: the last closed era */
    int first;               /* pass 0 not sent: unset blocks are holes */
    uint8_t *rbuf;           /* DISK_DATA_MAX, aligned for O_DIRECT */
    struct buf *out;
    struct proto_frame *in;
    uint64_t zoff, zlen;     /* a ZERO record still growing */
    struct disk_count pass;  /* of the pass being sent */
    struct disk_count total; /* total.pass: passes sent */
    struct diskcopy_stats st;
    char err[1024];
};

static enum proto_err dc_fail(struct diskcopy *dc, enum proto_err e,
                              const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static enum proto_err dc_fail(struct diskcopy *dc, enum proto_err e,
                              const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(dc->err, sizeof(dc->err), fmt, ap);
    va_end(ap);
    return e;
}

/* The source's size; -1 with errno and err for what cannot be a disk. */
static int source_size(int fd, uint64_t *size_r, char *err, size_t errlen)
{
    struct disk_size d;
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0) {
        snprintf(err, errlen, "source: %s", strerror(errno));
        return -1;
    }
    if ((fl & O_ACCMODE) != O_RDONLY) {
        snprintf(err, errlen,
                 "the source must be open read-only: relocd "
                 "never writes it");
        errno = EBADF;
        return -1;
    }
    if (disk_size(fd, &d) < 0) {
        snprintf(err, errlen, "source size: %s",
                 errno == EINVAL ? "the source is neither a file nor a block "
                                   "device"
                                 : strerror(errno));
        return -1;
    }
    *size_r = d.size;
    return 0;
}

/* The geometry the wire and the tracker must agree on. */
static int geometry_ok(uint64_t size, const struct disktrack *t, char *err,
                       size_t errlen)
{
    if (!size || size % DISK_SECTOR || size > DISK_SIZE_MAX)
        snprintf(err, errlen, "a disk of %llu bytes: not a multiple of %u",
                 (unsigned long long)size, DISK_SECTOR);
    else if (t->size != size)
        snprintf(err, errlen, "the tracker's disk has %llu bytes, not %llu",
                 (unsigned long long)t->size, (unsigned long long)size);
    else if (t->block_size < DISK_BLOCK_MIN || t->block_size > DISK_BLOCK_MAX ||
             t->block_size % GRAIN)
        snprintf(err, errlen, "tracking blocks of %u bytes", t->block_size);
    else
        return 1;
    errno = EINVAL;
    return 0;
}

struct diskcopy *diskcopy_new(int src_fd, struct disktrack *t, struct chan *c,
                              const struct diskcopy_cfg *cfg, char *err,
                              size_t errlen)
{
    struct diskcopy *dc;
    uint64_t size = 0;
    void *p = NULL;

    if (source_size(src_fd, &size, err, errlen) < 0 ||
        !geometry_ok(size, t, err, errlen))
        return NULL;
    snprintf(err, errlen, "out of memory");
    dc = calloc(1, sizeof(*dc));
    if (!dc) return NULL;
    dc->fd = src_fd;
    dc->size = size;
    dc->block = t->block_size;
    dc->t = t;
    dc->c = c;
    dc->cfg = *cfg;
    dc->pending = diskmap_new(size, dc->block);
    dc->era = diskmap_new(size, dc->block);
    if (posix_memalign(&p, GRAIN, DISK_DATA_MAX) == 0) dc->rbuf = p;
    dc->out = buf_new(2 * FRAME_MAX);
    dc->in = malloc(sizeof(*dc->in));
    if (!dc->pending || !dc->era || !dc->rbuf || !dc->out || !dc->in) {
        diskcopy_free(dc);
        errno = ENOMEM;
        return NULL;
    }
    return dc;
}

void diskcopy_free(struct diskcopy *dc)
{
    if (!dc) return;
    diskmap_free(dc->pending);
    diskmap_free(dc->era);
    free(dc->rbuf);
    buf_free(dc->out);
    free(dc->in);
    free(dc);
}

const char *diskcopy_error(const struct diskcopy *dc)
{
    return dc->err[0] ? dc->err : "no error";
}

void diskcopy_stats(const struct diskcopy *dc, struct diskcopy_stats *s_r)
{
    *s_r = dc->st;
    s_r->passes = dc->total.pass;
    s_r->pending_bytes = diskmap_bytes(dc->pending);
}

/* The receiver's ERROR in dc->in: PERR_PEER and its message. */
static enum proto_err dc_peer_error(struct diskcopy *dc)
{
    struct msg_error m;

    if (msg_get_error(dc->in, &m, dc->err, sizeof(dc->err)))
        return PERR_BAD_MESSAGE;
    return dc_fail(dc, PERR_PEER, "target: %s", m.message);
}

/* A frame from the receiver (in dc->in): the type asked for, or ERROR. */
static enum proto_err dc_recv(struct diskcopy *dc, unsigned type)
{
    enum proto_err e;

    chan_set_timeout(dc->c, dc->cfg.idle_ms);
    e = chan_recv_frame(dc->c, dc->in);
    if (e)
        return dc_fail(dc, e, "waiting for the target's %s: %s",
                       diskframe_type_name(type), proto_strerror(e));
    if (dc->in->type == PROTO_ERROR) return dc_peer_error(dc);
    return PERR_OK;
}

/*
 * Sends what out holds, then len bytes at data (a DATA frame's bytes,
 * sent from where they were read); after a failure, the receiver may
 * have said why.
 */
static enum proto_err dc_flush_with(struct diskcopy *dc, const void *data,
                                    size_t len)
{
    size_t n = buf_len(dc->out) + len;
    enum proto_err e;

    chan_set_timeout(dc->c, dc->cfg.idle_ms);
    e = len ? chan_send_with(dc->c, dc->out, data, len)
            : chan_send(dc->c, dc->out);
    if (!e) {
        dc->st.wire_bytes += n;
        return PERR_OK;
    }
    dc_fail(dc, e, "sending the disk: %s", proto_strerror(e));
    chan_set_timeout(dc->c, WHY_MS);
    if (chan_recv_frame(dc->c, dc->in) == PERR_OK &&
        dc->in->type == PROTO_ERROR)
        return dc_peer_error(dc);
    return e;
}

static enum proto_err dc_flush(struct diskcopy *dc)
{
    return dc_flush_with(dc, NULL, 0);
}

/* Room for one more frame in out, sending what is there if need be. */
static enum proto_err dc_room(struct diskcopy *dc)
{
    return buf_avail(dc->out) < FRAME_MAX ? dc_flush(dc) : PERR_OK;
}

static enum proto_err dc_put_failed(struct diskcopy *dc, const char *what)
{
    return dc_fail(dc, PERR_INTERNAL, "encoding %s: %s", what, strerror(errno));
}

/* Sends the ZERO record that was growing, if any. */
static enum proto_err dc_zero_flush(struct diskcopy *dc)
{
    enum proto_err e;

    if (!dc->zlen) return PERR_OK;
    if ((e = dc_room(dc))) return e;
    if (diskframe_put_zero(dc->out, dc->zoff, dc->zlen) < 0)
        return dc_put_failed(dc, "ZERO");
    dc->pass.records++;
    dc->pass.zero_bytes += dc->zlen;
    dc->zlen = 0;
    return PERR_OK;
}

/* [off, off + len) reads zero: grows the pending ZERO record. */
static enum proto_err dc_zero(struct diskcopy *dc, uint64_t off, uint64_t len)
{
    enum proto_err e;

    if (dc->zlen && dc->zoff + dc->zlen == off) {
        dc->zlen += len;
        return PERR_OK;
    }
    if ((e = dc_zero_flush(dc))) return e;
    dc->zoff = off;
    dc->zlen = len;
    return PERR_OK;
}

static enum proto_err dc_data(struct diskcopy *dc, uint64_t off,
                              const uint8_t *p, uint32_t len)
{
    enum proto_err e;

    if ((e = dc_zero_flush(dc)) || (e = dc_room(dc))) return e;
    if (diskframe_put_data_head(dc->out, off, len) < 0)
        return dc_put_failed(dc, "DATA");
    /* what out holds goes with it: the frames stay in order */
    if ((e = dc_flush_with(dc, p, len))) return e;
    dc->pass.records++;
    dc->pass.data_bytes += len;
    return PERR_OK;
}

static int is_zero(const uint8_t *p, size_t n)
{
    return !p[0] && !memcmp(p, p + 1, n - 1);
}

/* rbuf holds n bytes read at off: zero grains as ZERO, the rest as DATA. */
static enum proto_err dc_scan(struct diskcopy *dc, uint64_t off, size_t n)
{
    size_t i = 0, j, g;
    enum proto_err e = PERR_OK;

    while (i < n && !e) {
        g = n - i < GRAIN ? n - i : GRAIN;
        if (is_zero(dc->rbuf + i, g)) {
            e = dc_zero(dc, off + i, g);
            i += g;
            continue;
        }
        for (j = i + g; j < n; j += g) {
            g = n - j < GRAIN ? n - j : GRAIN;
            if (is_zero(dc->rbuf + j, g)) break;
        }
        e = dc_data(dc, off + i, dc->rbuf + i, (uint32_t)(j - i));
        i = j;
    }
    return e;
}

static int read_full(int fd, uint8_t *p, size_t len, uint64_t off)
{
    ssize_t n;

    while (len) {
        n = pread(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = ENODATA; /* the source shrank */
            return -1;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* Reads and sends [off, off + len) of the source. */
static enum proto_err dc_read_run(struct diskcopy *dc, uint64_t off,
                                  uint64_t len)
{
    enum proto_err e = PERR_OK;
    size_t n;

    while (len && !e) {
        n = len < DISK_DATA_MAX ? (size_t)len : DISK_DATA_MAX;
        if (read_full(dc->fd, dc->rbuf, n, off) < 0)
            return dc_fail(dc, PERR_INTERNAL, "reading the source at %llu: %s",
                           (unsigned long long)off, strerror(errno));
        dc->st.read_bytes += n;
        e = dc_scan(dc, off, n);
        off += n;
        len -= n;
    }
    return e;
}

/* The byte range of blocks [b, b + n), clipped to the disk. */
static void dc_range(const struct diskcopy *dc, uint64_t b, uint64_t n,
                     uint64_t *off_r, uint64_t *len_r)
{
    uint64_t end = (b + n) * dc->block;

    *off_r = b * dc->block;
    *len_r = (end < dc->size ? end : dc->size) - *off_r;
}

/* Every run of the pass: pending blocks read, holes (pass 0) zeroed. */
static enum proto_err dc_walk(struct diskcopy *dc)
{
    uint64_t b = 0, n, off, len, nb = diskmap_nblocks(dc->pending);
    int want = diskmap_test(dc->pending, 0);
    enum proto_err e = PERR_OK;

    while (b < nb && !e && diskmap_next_run(dc->pending, want, &b, &n)) {
        dc_range(dc, b, n, &off, &len);
        if (want)
            e = dc_read_run(dc, off, len);
        else if (dc->first)
            e = dc_zero(dc, off, len);
        b += n;
        want = !want;
    }
    return e ? e : dc_zero_flush(dc);
}

enum proto_err diskcopy_begin(struct diskcopy *dc)
{
    struct disk_hello h = {DISK_PROTO_VERSION, dc->block, dc->size};
    enum proto_err e;

    if (diskframe_put_hello(dc->out, &h) < 0) return dc_put_failed(dc, "HELLO");
    if ((e = dc_flush(dc)) || (e = dc_recv(dc, DISK_READY))) return e;
    e = diskframe_get_ready(dc->in, dc->err, sizeof(dc->err));
    if (e) return e;
    if (disktrack_begin(dc->t, dc->fd, dc->cfg.first, dc->pending) < 0)
        return dc_fail(dc, PERR_INTERNAL, "starting write tracking (%s): %s",
                       dc->t->ops->name, disktrack_error(dc->t));
    dc->first = 1;
    return PERR_OK;
}

enum proto_err diskcopy_close(struct diskcopy *dc)
{
    double t0 = clock_s();

    diskmap_clear(dc->era);
    if (disktrack_close(dc->t, dc->era) < 0)
        return dc_fail(dc, PERR_INTERNAL, "closing an era (%s): %s",
                       dc->t->ops->name, disktrack_error(dc->t));
    dc->st.close_ms = (clock_s() - t0) * 1000;
    dc->st.era_bytes = diskmap_bytes(dc->era);
    diskmap_merge(dc->pending, dc->era);
    return PERR_OK;
}

static void count_add(struct disk_count *to, const struct disk_count *c)
{
    to->records += c->records;
    to->data_bytes += c->data_bytes;
    to->zero_bytes += c->zero_bytes;
}

enum proto_err diskcopy_send(struct diskcopy *dc)
{
    enum proto_err e;

    memset(&dc->pass, 0, sizeof(dc->pass));
    dc->pass.pass = dc->total.pass;
    if ((e = dc_walk(dc)) || (e = dc_room(dc))) return e;
    if (diskframe_put_pass_end(dc->out, &dc->pass) < 0)
        return dc_put_failed(dc, "PASS_END");
    if ((e = dc_flush(dc))) return e;
    count_add(&dc->total, &dc->pass);
    dc->total.pass++;
    dc->st.records = dc->total.records;
    dc->st.data_bytes = dc->total.data_bytes;
    dc->st.zero_bytes = dc->total.zero_bytes;
    diskmap_clear(dc->pending);
    dc->first = 0;
    return PERR_OK;
}

enum proto_err diskcopy_done(struct diskcopy *dc)
{
    struct disk_count ack;
    enum proto_err e;
    double t0 = clock_s();

    if (diskframe_put_done(dc->out, dc->total.pass) < 0)
        return dc_put_failed(dc, "DONE");
    if ((e = dc_flush(dc)) || (e = dc_recv(dc, DISK_ACK))) return e;
    dc->st.done_ms = (clock_s() - t0) * 1000;
    e = diskframe_get_ack(dc->in, &ack, dc->err, sizeof(dc->err));
    if (e) return e;
    if (ack.pass != dc->total.pass || ack.records != dc->total.records ||
        ack.data_bytes != dc->total.data_bytes ||
        ack.zero_bytes != dc->total.zero_bytes)
        return dc_fail(dc, PERR_BAD_MESSAGE,
                       "the target acknowledged %u passes, %u records; "
                       "we sent %u, %u",
                       ack.pass, ack.records, dc->total.pass,
                       dc->total.records);
    return PERR_OK;
}

enum proto_err diskcopy_finish(struct diskcopy *dc)
{
    enum proto_err e;

    if ((e = diskcopy_close(dc)) || (e = diskcopy_send(dc))) return e;
    return diskcopy_done(dc);
}
