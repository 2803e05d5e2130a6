/*
 * test_diskcopy.c - a disk copied pass after pass through a socketpair
 * while a "guest" writes it (the memory tracker is told about each write),
 * then the target checked byte for byte, hole for hole, and the bytes on
 * the wire counted.  A copy that skips the final pass must be caught.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "relocd/diskcopy.h"
#include "relocd/diskmap.h"
#include "relocd/diskrecv.h"
#include "relocd/disktrack.h"
#include "wire/buf.h"
#include "wire/chan.h"
#include "wire/diskframe.h"
#include "wire/msg.h"
#include "t.h"

#define KiB 1024ULL
#define MiB (1024 * KiB)
#define DISK (4 * MiB)
#define BLOCK (64 * KiB)
#define IDLE_MS 20000

/* The source (a writer's fd and the engine's read-only one), the target. */
struct rig {
    char src_path[64], dst_path[64];
    int src_rw, src_ro, dst;
    struct disktrack *t;
    struct chan *c;
    pid_t child;
};

static int tmpfile_in(char *path, size_t len, const char *tag)
{
    int fd;

    snprintf(path, len, "/var/tmp/test_diskcopy.%s.XXXXXX", tag);
    fd = mkstemp(path);
    if (fd >= 0) unlink(path);
    return fd;
}

/* The guest writes len bytes of value v at off, and the tracker sees it. */
static void guest_write(struct rig *r, uint64_t off, size_t len, int v)
{
    uint8_t *p = malloc(len);

    memset(p, v, len);
    T_OK(pwrite(r->src_rw, p, len, (off_t)off) == (ssize_t)len, "pwrite");
    disktrack_mem_write(r->t, off, len);
    free(p);
}

/*
 * The source: 4 MiB; data in the first 256 KiB and at 1 MiB + 8 KiB,
 * 128 KiB allocated but zero at 2 MiB, a written-and-zeroed 4 KiB at
 * 3 MiB, holes elsewhere.
 */
static void make_source(struct rig *r)
{
    uint8_t blk[4096];
    int i;

    T_OK(ftruncate(r->src_rw, DISK) == 0, "truncate");
    for (i = 0; i < 64; i++) {
        memset(blk, i + 1, sizeof(blk));
        T_OK(pwrite(r->src_rw, blk, 4096, i * 4096) == 4096, "data");
    }
    memset(blk, 0x77, sizeof(blk));
    T_OK(pwrite(r->src_rw, blk, 4096, MiB + 8192) == 4096, "data 2");
    T_OK(fallocate(r->src_rw, 0, 2 * MiB, 128 * KiB) == 0, "zeros");
    memset(blk, 0, sizeof(blk));
    T_OK(pwrite(r->src_rw, blk, 4096, 3 * MiB) == 4096, "zero data");
    fsync(r->src_rw);
}

/* The receiver, in a child: exits with its proto_err. */
static void run_receiver(int sock, int dst)
{
    struct chan *c = chan_new(sock);
    struct diskrecv *rv = diskrecv_new(dst, 0);
    char why[512];
    enum proto_err e;

    e = diskrecv_run(rv, c, IDLE_MS, why, sizeof(why));
    if (e) fprintf(stderr, "receiver: %s: %s\n", proto_err_name(e), why);
    diskrecv_free(rv);
    chan_free(c);
    _exit(e);
}

/* Builds a rig; dst_fd >= 0 replaces the target (a bad one, for errors). */
static int rig_open(struct rig *r, int flags, int dst_fd)
{
    int sv[2];
    char path[80];

    memset(r, 0, sizeof(*r));
    r->src_rw = tmpfile_in(r->src_path, sizeof(r->src_path), "src");
    r->dst = dst_fd >= 0 ? dst_fd
                         : tmpfile_in(r->dst_path, sizeof(r->dst_path), "dst");
    snprintf(path, sizeof(path), "/proc/self/fd/%d", r->src_rw);
    make_source(r);
    r->src_ro = open(path, O_RDONLY | flags);
    if (r->src_ro < 0) return -1;
    r->t = disktrack_mem_new(DISK, BLOCK);
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return -1;
    r->child = fork();
    if (r->child == 0) {
        close(sv[0]);
        run_receiver(sv[1], r->dst);
    }
    close(sv[1]);
    r->c = chan_new(sv[0]);
    return 0;
}

/* The receiver's verdict. */
static int rig_wait(struct rig *r)
{
    int st = 0;

    chan_free(r->c);
    r->c = NULL;
    waitpid(r->child, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 100 + WTERMSIG(st);
}

static void rig_close(struct rig *r)
{
    if (r->c) rig_wait(r);
    disktrack_free(r->t);
    close(r->src_rw);
    close(r->src_ro);
    close(r->dst);
}

static int same_bytes(int a, int b)
{
    static uint8_t pa[64 * KiB], pb[64 * KiB];
    uint64_t off;

    for (off = 0; off < DISK; off += sizeof(pa)) {
        if (pread(a, pa, sizeof(pa), (off_t)off) != sizeof(pa) ||
            pread(b, pb, sizeof(pb), (off_t)off) != sizeof(pb) ||
            memcmp(pa, pb, sizeof(pa)))
            return 0;
    }
    return 1;
}

static uint64_t allocated(int fd)
{
    struct stat st;

    fsync(fd);
    return fstat(fd, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

static struct diskcopy *new_copy(struct rig *r, enum disktrack_first first)
{
    struct diskcopy_cfg cfg = {first, IDLE_MS};
    char err[256];
    struct diskcopy *dc =
        diskcopy_new(r->src_ro, r->t, r->c, &cfg, err, sizeof(err));

    T_OK(dc != NULL, "diskcopy_new: %s", err);
    return dc;
}

#define T_PERR(call, want)                                                     \
    do {                                                                       \
        enum proto_err t_e_ = (call);                                          \
        T_OK(t_e_ == (want), "%s: %s", proto_err_name(t_e_),                   \
             dc ? diskcopy_error(dc) : "");                                    \
    } while (0)

/*
 * Bulk, then two live passes with the guest writing between them (data,
 * a hole filled, data zeroed), then writes while "suspended" and the
 * final pass.  skip_final leaves that last pass out (the mutation).
 */
static int copy_with_writes(struct rig *r, int skip_final,
                            struct diskcopy_stats *st)
{
    struct diskcopy *dc = new_copy(r, DISKTRACK_ALLOCATED);

    if (!dc) return -1;
    T_PERR(diskcopy_begin(dc), PERR_OK);
    guest_write(r, 100 * KiB, 8 * KiB, 0xd1); /* during the bulk read */
    T_PERR(diskcopy_send(dc), PERR_OK);
    T_PERR(diskcopy_close(dc), PERR_OK);
    guest_write(r, 5 * 4096, 4096, 0xd2);          /* over data */
    guest_write(r, 3 * MiB + 64 * KiB, 512, 0xd3); /* into a hole */
    T_PERR(diskcopy_send(dc), PERR_OK);
    T_PERR(diskcopy_close(dc), PERR_OK);
    guest_write(r, 0, 64 * KiB, 0); /* data zeroed */
    T_PERR(diskcopy_send(dc), PERR_OK);
    /* suspended: the last writes reached the tracker before the pause */
    guest_write(r, DISK - 4096, 4096, 0xd4);
    guest_write(r, 10 * 4096, 4096, 0xd5);
    if (skip_final) {
        T_PERR(diskcopy_done(dc), PERR_OK);
    } else {
        T_PERR(diskcopy_finish(dc), PERR_OK);
    }
    diskcopy_stats(dc, st);
    diskcopy_free(dc);
    return rig_wait(r);
}

static void test_copy_with_writes_matches_the_source(void)
{
    struct diskcopy_stats st;
    struct rig r;

    T_EQ_INT(rig_open(&r, 0, -1), 0);
    T_EQ_INT(copy_with_writes(&r, 0, &st), PERR_OK);
    T_OK(same_bytes(r.src_rw, r.dst), "target differs from source");
    T_OK(allocated(r.dst) <= allocated(r.src_rw) + BLOCK,
         "target allocates %llu, source %llu",
         (unsigned long long)allocated(r.dst),
         (unsigned long long)allocated(r.src_rw));
    T_EQ_INT(st.passes, 4);
    T_EQ_INT(st.pending_bytes, 0);
    T_OK(st.zero_bytes >= 128 * KiB, "zero blocks as ZERO: %llu",
         (unsigned long long)st.zero_bytes);
    rig_close(&r);
}

/* Discards count as writes too: a punched range must read zero there. */
static void guest_punch(struct rig *r, uint64_t off, uint64_t len)
{
    T_OK(fallocate(r->src_rw, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                   (off_t)off, (off_t)len) == 0,
         "punch");
    disktrack_mem_write(r->t, off, len);
}

/* Random writes, zeros and discards of random sizes, over many passes. */
static void test_random_writes_over_many_passes(void)
{
    struct diskcopy_stats st;
    struct diskcopy *dc;
    uint64_t seed = 0x9e3779b97f4a7c15ULL, off, len;
    struct rig r;
    int pass, i, kind;

    T_EQ_INT(rig_open(&r, 0, -1), 0);
    dc = new_copy(&r, DISKTRACK_ALLOCATED);
    T_PERR(diskcopy_begin(dc), PERR_OK);
    for (pass = 0; pass < 8; pass++) {
        T_PERR(diskcopy_send(dc), PERR_OK);
        for (i = 0; i < 40; i++) {
            seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
            off = (seed >> 20) % (DISK / 512) * 512;
            len = ((seed >> 8) % 400 + 1) * 512;
            if (len > DISK - off) len = DISK - off;
            kind = (int)(seed >> 60) % 4;
            if (kind == 3)
                guest_punch(&r, off, len);
            else
                guest_write(&r, off, (size_t)len, kind ? 0x10 + i : 0);
        }
        T_PERR(diskcopy_close(dc), PERR_OK);
    }
    T_PERR(diskcopy_finish(dc), PERR_OK);
    diskcopy_stats(dc, &st);
    diskcopy_free(dc);
    T_EQ_INT(rig_wait(&r), PERR_OK);
    T_EQ_INT(st.passes, 9);
    T_OK(same_bytes(r.src_rw, r.dst), "target differs from source");
    T_OK(allocated(r.dst) <= allocated(r.src_rw) + BLOCK,
         "target allocates %llu, source %llu",
         (unsigned long long)allocated(r.dst),
         (unsigned long long)allocated(r.src_rw));
    rig_close(&r);
}

/* The mutation: without the final pass the target must differ. */
static void test_skipping_the_final_pass_is_caught(void)
{
    struct diskcopy_stats st;
    struct rig r;

    T_EQ_INT(rig_open(&r, 0, -1), 0);
    T_EQ_INT(copy_with_writes(&r, 1, &st), PERR_OK);
    T_OK(!same_bytes(r.src_rw, r.dst), "a copy without its final pass "
                                       "was not detected");
    rig_close(&r);
}

/* An idle disk: the wire carries about the allocated data, no more. */
static void idle_copy(int flags, enum disktrack_first first)
{
    struct diskcopy_stats st;
    struct diskcopy *dc;
    struct rig r;
    uint64_t alloc;

    T_EQ_INT(rig_open(&r, flags, -1), 0);
    alloc = allocated(r.src_rw);
    dc = new_copy(&r, first);
    T_PERR(diskcopy_begin(dc), PERR_OK);
    diskcopy_stats(dc, &st);
    if (first == DISKTRACK_ALL)
        T_EQ_INT(st.pending_bytes, DISK);
    else
        T_OK(st.pending_bytes >= 65 * 4096 && st.pending_bytes < DISK,
             "pending %llu", (unsigned long long)st.pending_bytes);
    T_PERR(diskcopy_finish(dc), PERR_OK);
    diskcopy_stats(dc, &st);
    diskcopy_free(dc);
    T_EQ_INT(rig_wait(&r), PERR_OK);
    T_OK(same_bytes(r.src_rw, r.dst), "target differs");
    printf("test_diskcopy: idle %s%s: %llu bytes on the wire for %llu "
           "allocated, %llu as ZERO\n",
           first == DISKTRACK_ALL ? "all" : "allocated",
           flags ? " O_DIRECT" : "", (unsigned long long)st.wire_bytes,
           (unsigned long long)alloc, (unsigned long long)st.zero_bytes);
    T_OK(st.wire_bytes * 10 <= alloc * 11, "wire %llu, allocated %llu",
         (unsigned long long)st.wire_bytes, (unsigned long long)alloc);
    T_OK(st.zero_bytes >= 128 * KiB + 4096, "zeros %llu",
         (unsigned long long)st.zero_bytes);
    T_EQ_INT(st.data_bytes, 65 * 4096);
    T_OK(allocated(r.dst) <= alloc, "target allocates %llu, source %llu",
         (unsigned long long)allocated(r.dst), (unsigned long long)alloc);
    rig_close(&r);
}

static void test_idle_copy_sends_the_allocated_bytes(void)
{
    idle_copy(0, DISKTRACK_ALLOCATED);
}

/* Like a block device: everything is read, zeros still go as ZERO. */
static void test_idle_copy_of_everything_sends_zeros_as_records(void)
{
    idle_copy(0, DISKTRACK_ALL);
}

static void test_idle_copy_with_o_direct(void)
{
    char path[64], proc[64];
    int fd = tmpfile_in(path, sizeof(path), "direct"), d;

    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    d = open(proc, O_RDONLY | O_DIRECT);
    close(fd);
    if (d < 0) {
        printf("test_diskcopy: O_DIRECT: %s, skipped\n", strerror(errno));
        return;
    }
    close(d);
    idle_copy(O_DIRECT, DISKTRACK_ALLOCATED);
}

static void test_a_writable_source_is_refused(void)
{
    struct diskcopy_cfg cfg = {DISKTRACK_ALL, IDLE_MS};
    struct disktrack *t = disktrack_mem_new(DISK, BLOCK);
    char path[64], err[256];
    int fd = tmpfile_in(path, sizeof(path), "rw");

    T_OK(ftruncate(fd, DISK) == 0, "truncate");
    errno = 0;
    T_OK(!diskcopy_new(fd, t, NULL, &cfg, err, sizeof(err)), "refused");
    T_EQ_INT(errno, EBADF);
    T_OK(strstr(err, "read-only"), "%s", err);
    disktrack_free(t);
    close(fd);
}

static void test_geometry_is_checked(void)
{
    struct diskcopy_cfg cfg = {DISKTRACK_ALL, IDLE_MS};
    struct disktrack *t = disktrack_mem_new(DISK, BLOCK);
    char path[64], proc[64], err[256];
    int fd = tmpfile_in(path, sizeof(path), "odd"), ro;

    T_OK(ftruncate(fd, DISK + 100) == 0, "truncate");
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    ro = open(proc, O_RDONLY);
    T_OK(!diskcopy_new(ro, t, NULL, &cfg, err, sizeof(err)), "odd size");
    T_OK(strstr(err, "multiple of 512"), "%s", err);
    T_OK(ftruncate(fd, 2 * DISK) == 0, "truncate");
    T_OK(!diskcopy_new(ro, t, NULL, &cfg, err, sizeof(err)), "other size");
    T_OK(strstr(err, "tracker"), "%s", err);
    disktrack_free(t);
    close(ro);
    close(fd);
}

/* The receiver dies mid-copy: the sender gets a typed error. */
static void test_cut_connection_is_a_typed_error(void)
{
    struct diskcopy *dc;
    struct rig r;
    enum proto_err e;

    T_EQ_INT(rig_open(&r, 0, -1), 0);
    dc = new_copy(&r, DISKTRACK_ALL);
    T_PERR(diskcopy_begin(dc), PERR_OK);
    kill(r.child, SIGKILL);
    e = diskcopy_send(dc);
    if (e == PERR_OK) e = diskcopy_done(dc);
    T_OK(e == PERR_IO || e == PERR_EOF, "%s: %s", proto_err_name(e),
         diskcopy_error(dc));
    diskcopy_free(dc);
    T_EQ_INT(rig_wait(&r), 100 + SIGKILL);
    rig_close(&r);
}

/* A target that cannot be written: the sender hears why. */
static void test_target_failure_reaches_the_sender(void)
{
    char path[64], proc[64];
    int fd = tmpfile_in(path, sizeof(path), "ro"), ro;
    struct diskcopy *dc;
    struct rig r;
    enum proto_err e;

    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
    ro = open(proc, O_RDONLY);
    close(fd);
    T_EQ_INT(rig_open(&r, 0, ro), 0);
    dc = new_copy(&r, DISKTRACK_ALL);
    e = diskcopy_begin(dc);
    T_OK(e == PERR_PEER, "%s: %s", proto_err_name(e), diskcopy_error(dc));
    T_OK(strstr(diskcopy_error(dc), "sizing the target"), "%s",
         diskcopy_error(dc));
    diskcopy_free(dc);
    T_EQ_INT(rig_wait(&r), PERR_INTERNAL);
    rig_close(&r);
}

/* A tracker that fails: an internal error, tracking left to the caller. */
static void test_tracker_failure_is_internal(void)
{
    struct diskcopy *dc;
    struct rig r;

    T_EQ_INT(rig_open(&r, 0, -1), 0);
    dc = new_copy(&r, DISKTRACK_ALLOCATED);
    T_PERR(diskcopy_begin(dc), PERR_OK);
    disktrack_mem_fail_close(r.t, 1);
    T_PERR(diskcopy_send(dc), PERR_OK);
    T_PERR(diskcopy_finish(dc), PERR_INTERNAL);
    T_OK(strstr(diskcopy_error(dc), "closing an era (memory)"), "%s",
         diskcopy_error(dc));
    diskcopy_free(dc);
    T_EQ_INT(rig_wait(&r), PERR_EOF); /* the receiver never got DONE */
    rig_close(&r);
}

/* Frames fed to a receiver by hand, as a hostile sender writes them. */
struct feed {
    struct diskrecv *rv;
    struct buf *in, *out;
    struct proto_frame *f;
    char why[512];
    int dst;
};

static void feed_open(struct feed *fd)
{
    char path[64];

    fd->dst = tmpfile_in(path, sizeof(path), "feed");
    fd->rv = diskrecv_new(fd->dst, 0);
    fd->in = buf_new(PROTO_HDR_LEN + PROTO_MAX_FRAME);
    fd->out = buf_new(4096);
    fd->f = malloc(sizeof(*fd->f));
}

static void feed_close(struct feed *fd)
{
    diskrecv_free(fd->rv);
    buf_free(fd->in);
    buf_free(fd->out);
    free(fd->f);
    close(fd->dst);
}

/* Takes the frame in fd->in into the receiver. */
static enum proto_err feed(struct feed *fd)
{
    if (proto_frame_take(fd->in, fd->f) != PERR_OK) return PERR_EOF;
    return diskrecv_frame(fd->rv, fd->f, fd->out, fd->why, sizeof(fd->why));
}

static void test_receiver_refuses_bad_input(void)
{
    struct disk_hello h = {DISK_PROTO_VERSION, BLOCK, DISK};
    struct disk_count c = {0, 1, 512, 0};
    uint8_t sector[512] = {1};
    struct feed fd;

    feed_open(&fd);
    diskframe_put_data(fd.in, 0, sector, 512);
    T_EQ_INT(feed(&fd), PERR_UNEXPECTED); /* DATA before HELLO */
    diskframe_put_hello(fd.in, &h);
    T_EQ_INT(feed(&fd), PERR_OK);
    T_EQ_INT(buf_len(fd.out), PROTO_HDR_LEN); /* READY */
    diskframe_put_hello(fd.in, &h);
    T_EQ_INT(feed(&fd), PERR_UNEXPECTED); /* twice */
    diskframe_put_data(fd.in, DISK, sector, 512);
    T_EQ_INT(feed(&fd), PERR_BAD_MESSAGE); /* past the end */
    T_OK(strstr(fd.why, "past the disk"), "%s", fd.why);
    diskframe_put_zero(fd.in, DISK - 512, 1024);
    T_EQ_INT(feed(&fd), PERR_BAD_MESSAGE);
    diskframe_put_data(fd.in, 0, sector, 512);
    T_EQ_INT(feed(&fd), PERR_OK);
    c.records = 2; /* one more than arrived */
    diskframe_put_pass_end(fd.in, &c);
    T_EQ_INT(feed(&fd), PERR_BAD_MESSAGE);
    T_OK(strstr(fd.why, "pass 0"), "%s", fd.why);
    diskframe_put_done(fd.in, 0);
    T_EQ_INT(feed(&fd), PERR_BAD_MESSAGE); /* records after the last pass */
    T_OK(!diskrecv_done(fd.rv), "not done");
    msg_put_error(fd.in, PERR_INTERNAL, "cancelled");
    T_EQ_INT(feed(&fd), PERR_PEER);
    T_OK(strstr(fd.why, "cancelled"), "%s", fd.why);
    feed_close(&fd);
}

static void test_receiver_checks_the_agreed_size(void)
{
    struct disk_hello h = {DISK_PROTO_VERSION, BLOCK, DISK};
    struct feed fd;

    feed_open(&fd);
    diskrecv_free(fd.rv);
    fd.rv = diskrecv_new(fd.dst, 2 * DISK);
    diskframe_put_hello(fd.in, &h);
    T_EQ_INT(feed(&fd), PERR_BAD_MESSAGE);
    T_OK(strstr(fd.why, "pre-flight"), "%s", fd.why);
    feed_close(&fd);
}

/* A frame cut short by a closed connection: EOF, and an ERROR is not sent. */
static void test_truncated_frame_is_eof(void)
{
    struct disk_hello h = {DISK_PROTO_VERSION, BLOCK, DISK};
    uint8_t sector[512] = {0};
    struct buf *b = buf_new(4096);
    struct diskrecv *rv;
    struct chan *c;
    char why[256], path[64];
    int sv[2], dst = tmpfile_in(path, sizeof(path), "trunc");

    T_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    diskframe_put_hello(b, &h);
    diskframe_put_data(b, 0, sector, 512);
    T_OK(write(sv[0], buf_ptr(b), buf_len(b) - 100) > 0, "write");
    shutdown(sv[0], SHUT_WR);
    c = chan_new(sv[1]);
    rv = diskrecv_new(dst, 0);
    T_EQ_INT(diskrecv_run(rv, c, IDLE_MS, why, sizeof(why)), PERR_EOF);
    diskrecv_free(rv);
    chan_free(c);
    close(sv[0]);
    close(dst);
    buf_free(b);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_copy_with_writes_matches_the_source();
    test_skipping_the_final_pass_is_caught();
    test_random_writes_over_many_passes();
    test_idle_copy_sends_the_allocated_bytes();
    test_idle_copy_of_everything_sends_zeros_as_records();
    test_idle_copy_with_o_direct();
    test_a_writable_source_is_refused();
    test_geometry_is_checked();
    test_cut_connection_is_a_typed_error();
    test_target_failure_reaches_the_sender();
    test_tracker_failure_is_internal();
    test_receiver_refuses_bad_input();
    test_receiver_checks_the_agreed_size();
    test_truncated_frame_is_eof();
    return t_done("test_diskcopy");
}
