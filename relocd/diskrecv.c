/*
 * diskrecv.c - write a disk's passes into the target, sync, acknowledge.
 *
 * States: HELLO expected -> passes (DATA, ZERO, PASS_END)* -> DONE.  The
 * sender counts each pass's records and bytes in PASS_END and the passes
 * in DONE; a difference means a record was lost or invented, and the copy
 * is refused rather than acknowledged.  ACK is sent only after
 * fdatasync(2) of the target succeeded, so the sender may let the target
 * attach the disk (the memory stream's END) once ACK arrived.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h> /* BLKZEROOUT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "wire/buf.h"
#include "wire/chan.h"
#include "wire/msg.h"
#include "relocd/diskrecv.h"
#include "relocd/disksize.h"

enum recv_state { RECV_HELLO, RECV_PASSES, RECV_DONE };

struct diskrecv {
    int fd;
    int is_blk;
    uint64_t size; /* 0 until HELLO when the caller did not fix it */
    enum recv_state state;
    struct disk_count pass;  /* of the pass in progress */
    struct disk_count total; /* total.pass counts the passes ended */
};

static enum proto_err fail(enum proto_err e, char *why, size_t whylen,
                           const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static enum proto_err fail(enum proto_err e, char *why, size_t whylen,
                           const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return e;
}

struct diskrecv *diskrecv_new(int fd, uint64_t size)
{
    struct diskrecv *r = calloc(1, sizeof(*r));

    if (!r) return NULL;
    r->fd = fd;
    r->size = size;
    return r;
}

void diskrecv_free(struct diskrecv *r)
{
    free(r);
}

int diskrecv_done(const struct diskrecv *r)
{
    return r->state == RECV_DONE;
}

void diskrecv_count(const struct diskrecv *r, struct disk_count *c_r)
{
    *c_r = r->total;
}

/* Sizes a file to the disk, or checks that a device holds it. */
static enum proto_err recv_fit(struct diskrecv *r, uint64_t size, char *why,
                               size_t whylen)
{
    struct disk_size d;

    if (disk_size(r->fd, &d) < 0)
        return fail(PERR_INTERNAL, why, whylen, "target: %s",
                    errno == EINVAL ? "neither a file nor a block device"
                                    : strerror(errno));
    r->is_blk = d.is_blk;
    if (d.is_blk) {
        if (d.size < size)
            return fail(PERR_PREFLIGHT, why, whylen,
                        "target device has %llu bytes, the disk %llu",
                        (unsigned long long)d.size, (unsigned long long)size);
        return PERR_OK;
    }
    if (ftruncate(r->fd, (off_t)size) < 0)
        return fail(errno == EFBIG || errno == ENOSPC ? PERR_PREFLIGHT
                                                      : PERR_INTERNAL,
                    why, whylen, "sizing the target to %llu bytes: %s",
                    (unsigned long long)size, strerror(errno));
    return PERR_OK;
}

static enum proto_err recv_hello(struct diskrecv *r,
                                 const struct proto_frame *f, struct buf *out,
                                 char *why, size_t whylen)
{
    struct disk_hello h;
    enum proto_err e = diskframe_get_hello(f, &h, why, whylen);

    if (e) return e;
    if (r->size && h.size != r->size)
        return fail(PERR_BAD_MESSAGE, why, whylen,
                    "HELLO says %llu bytes, pre-flight %llu",
                    (unsigned long long)h.size, (unsigned long long)r->size);
    e = recv_fit(r, h.size, why, whylen);
    if (e) return e;
    r->size = h.size;
    r->state = RECV_PASSES;
    if (diskframe_put_ready(out) < 0)
        return fail(PERR_INTERNAL, why, whylen, "READY: %s", strerror(errno));
    return PERR_OK;
}

static int write_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
    ssize_t n;

    while (len) {
        n = pwrite(fd, p, len, (off_t)off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            if (n == 0) errno = EIO;
            return -1;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

/* Zeros by writing them, where nothing cheaper works. */
static int write_zeros(int fd, uint64_t off, uint64_t len)
{
    static const uint8_t zeros[64 * 1024];
    size_t n;

    while (len) {
        n = len < sizeof(zeros) ? (size_t)len : sizeof(zeros);
        if (write_all(fd, zeros, n, off) < 0) return -1;
        off += n;
        len -= n;
    }
    return 0;
}

/* Makes [off, off + len) read zeros, allocating nothing where it can. */
static int zero_range(struct diskrecv *r, uint64_t off, uint64_t len)
{
    uint64_t range[2] = {off, len};

    if (r->is_blk) {
        if (ioctl(r->fd, BLKZEROOUT, range) == 0) return 0;
    } else if (fallocate(r->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                         (off_t)off, (off_t)len) == 0) {
        return 0;
    }
    if (errno != EOPNOTSUPP && errno != ENOTTY && errno != EINVAL) return -1;
    return write_zeros(r->fd, off, len);
}

static enum proto_err recv_data(struct diskrecv *r, const struct proto_frame *f,
                                char *why, size_t whylen)
{
    struct disk_data d;
    enum proto_err e = diskframe_get_data(f, r->size, &d, why, whylen);

    if (e) return e;
    if (write_all(r->fd, d.bytes, d.len, d.offset) < 0)
        return fail(PERR_INTERNAL, why, whylen,
                    "writing the target at %llu: %s",
                    (unsigned long long)d.offset, strerror(errno));
    r->pass.records++;
    r->pass.data_bytes += d.len;
    return PERR_OK;
}

static enum proto_err recv_zero(struct diskrecv *r, const struct proto_frame *f,
                                char *why, size_t whylen)
{
    struct disk_zero z;
    enum proto_err e = diskframe_get_zero(f, r->size, &z, why, whylen);

    if (e) return e;
    if (zero_range(r, z.offset, z.len) < 0)
        return fail(PERR_INTERNAL, why, whylen,
                    "zeroing the target at %llu: %s",
                    (unsigned long long)z.offset, strerror(errno));
    r->pass.records++;
    r->pass.zero_bytes += z.len;
    return PERR_OK;
}

static int same_count(const struct disk_count *a, const struct disk_count *b)
{
    return a->pass == b->pass && a->records == b->records &&
           a->data_bytes == b->data_bytes && a->zero_bytes == b->zero_bytes;
}

static enum proto_err recv_pass_end(struct diskrecv *r,
                                    const struct proto_frame *f, char *why,
                                    size_t whylen)
{
    struct disk_count c;
    enum proto_err e = diskframe_get_pass_end(f, &c, why, whylen);

    if (e) return e;
    r->pass.pass = r->total.pass;
    if (!same_count(&c, &r->pass))
        return fail(PERR_BAD_MESSAGE, why, whylen,
                    "pass %u: the sender counts pass %u, %u records, %llu+%llu "
                    "bytes; %u records, %llu+%llu bytes arrived",
                    r->pass.pass, c.pass, c.records,
                    (unsigned long long)c.data_bytes,
                    (unsigned long long)c.zero_bytes, r->pass.records,
                    (unsigned long long)r->pass.data_bytes,
                    (unsigned long long)r->pass.zero_bytes);
    /*
     * Writeback of the pass starts now, without waiting for it: DONE's
     * fdatasync comes while the guest is suspended and should find only
     * the last pass's blocks not yet on the disk.  A file that cannot
     * (EINVAL, ESPIPE) is synced there all the same.
     */
    (void)sync_file_range(r->fd, 0, 0, SYNC_FILE_RANGE_WRITE);
    r->total.pass++;
    r->total.records += r->pass.records;
    r->total.data_bytes += r->pass.data_bytes;
    r->total.zero_bytes += r->pass.zero_bytes;
    memset(&r->pass, 0, sizeof(r->pass));
    return PERR_OK;
}

static enum proto_err recv_done(struct diskrecv *r, const struct proto_frame *f,
                                struct buf *out, char *why, size_t whylen)
{
    uint32_t passes;
    enum proto_err e = diskframe_get_done(f, &passes, why, whylen);

    if (e) return e;
    if (passes != r->total.pass || r->pass.records)
        return fail(PERR_BAD_MESSAGE, why, whylen,
                    "DONE after %u passes; %u ended, %u records after the last",
                    passes, r->total.pass, r->pass.records);
    if (fdatasync(r->fd) < 0)
        return fail(PERR_INTERNAL, why, whylen, "syncing the target: %s",
                    strerror(errno));
    r->state = RECV_DONE;
    if (diskframe_put_ack(out, &r->total) < 0)
        return fail(PERR_INTERNAL, why, whylen, "ACK: %s", strerror(errno));
    return PERR_OK;
}

static enum proto_err recv_peer_error(const struct proto_frame *f, char *why,
                                      size_t whylen)
{
    struct msg_error m;

    if (msg_get_error(f, &m, why, whylen) != PERR_OK) return PERR_BAD_MESSAGE;
    return fail(PERR_PEER, why, whylen, "sender: %s", m.message);
}

enum proto_err diskrecv_frame(struct diskrecv *r, const struct proto_frame *f,
                              struct buf *out, char *why, size_t whylen)
{
    const char *name = diskframe_type_name(f->type);

    if (f->type == PROTO_ERROR) return recv_peer_error(f, why, whylen);
    if (r->state == RECV_HELLO && f->type == DISK_HELLO)
        return recv_hello(r, f, out, why, whylen);
    if (r->state == RECV_PASSES) {
        switch (f->type) {
        case DISK_DATA:
            return recv_data(r, f, why, whylen);
        case DISK_ZERO:
            return recv_zero(r, f, why, whylen);
        case DISK_PASS_END:
            return recv_pass_end(r, f, why, whylen);
        case DISK_DONE:
            return recv_done(r, f, out, why, whylen);
        }
    }
    return fail(PERR_UNEXPECTED, why, whylen, "%s%s not expected now",
                name ? "" : "frame type ", name ? name : "unknown");
}

/* Tells the sender why we stop, if it can still hear it. */
static void recv_tell(struct chan *c, struct buf *out, enum proto_err e,
                      const char *why)
{
    if (e == PERR_EOF || e == PERR_IO || e == PERR_TIMEOUT || e == PERR_PEER)
        return;
    buf_reset(out);
    if (msg_put_error(out, e, "%s", why) == 0) chan_send(c, out);
}

enum proto_err diskrecv_run(struct diskrecv *r, struct chan *c, int idle_ms,
                            char *why, size_t whylen)
{
    struct proto_frame *f = malloc(sizeof(*f));
    struct buf *out = buf_new(PROTO_HDR_LEN + 1024 + 64);
    enum proto_err e = PERR_INTERNAL;

    snprintf(why, whylen, "out of memory");
    while (f && out && r->state != RECV_DONE) {
        chan_set_timeout(c, idle_ms);
        e = chan_recv_frame(c, f);
        if (e) {
            snprintf(why, whylen, "%s", proto_strerror(e));
            break;
        }
        e = diskrecv_frame(r, f, out, why, whylen);
        if (!e && buf_len(out) && (e = chan_send(c, out)))
            snprintf(why, whylen, "%s", proto_strerror(e));
        if (e) break;
    }
    if (e && out) recv_tell(c, out, e, why);
    buf_free(out);
    free(f);
    return e;
}
