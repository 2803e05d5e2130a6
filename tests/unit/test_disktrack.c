/*
 * test_disktrack.c - the block set (diskmap) and the tracker's contract:
 * the first set, eras between closes, stop on every path.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "relocd/diskmap.h"
#include "relocd/disktrack.h"
#include "t.h"

#define KiB 1024ULL
#define MiB (1024 * KiB)

static void test_map_marks_every_block_a_range_touches(void)
{
    struct diskmap *m = diskmap_new(1 * MiB, 64 * KiB);

    T_EQ_INT(diskmap_nblocks(m), 16);
    diskmap_mark(m, 64 * KiB - 1, 2); /* straddles blocks 0 and 1 */
    T_OK(diskmap_test(m, 0) && diskmap_test(m, 1), "both halves");
    T_OK(!diskmap_test(m, 2), "not the next");
    diskmap_mark(m, 15 * MiB, 4096);         /* past the end: ignored */
    diskmap_mark(m, 1 * MiB - 512, 1 * MiB); /* clipped to the disk */
    T_EQ_INT(diskmap_count(m), 3);
    T_OK(!diskmap_test(m, 16) && !diskmap_test(m, ~0ULL), "out of range");
    diskmap_mark(m, 0, 0);
    T_EQ_INT(diskmap_count(m), 3);
    diskmap_free(m);
}

static void test_map_short_last_block_counts_its_bytes(void)
{
    struct diskmap *m = diskmap_new(100 * KiB, 64 * KiB);

    T_EQ_INT(diskmap_nblocks(m), 2);
    diskmap_fill(m);
    T_EQ_INT(diskmap_count(m), 2);
    T_EQ_INT(diskmap_bytes(m), 100 * KiB);
    diskmap_clear(m);
    diskmap_set(m, 0);
    T_EQ_INT(diskmap_bytes(m), 64 * KiB);
    diskmap_free(m);
}

static void test_map_fill_sets_no_bit_past_the_end(void)
{
    struct diskmap *m = diskmap_new(70 * 4096, 4096);
    uint64_t b = 0, n = 0;

    diskmap_fill(m);
    T_EQ_INT(diskmap_count(m), 70);
    T_EQ_INT(diskmap_next_run(m, 1, &b, &n), 1);
    T_EQ_INT(b, 0);
    T_EQ_INT(n, 70);
    b = 0;
    T_EQ_INT(diskmap_next_run(m, 0, &b, &n), 0);
    diskmap_free(m);
}

static void test_map_runs_alternate(void)
{
    struct diskmap *m = diskmap_new(200 * 4096, 4096);
    uint64_t b = 0, n = 0;

    diskmap_mark(m, 3 * 4096, 2 * 4096);   /* 3, 4 */
    diskmap_mark(m, 60 * 4096, 10 * 4096); /* 60..69: crosses a word */
    diskmap_set(m, 199);
    T_EQ_INT(diskmap_next_run(m, 1, &b, &n), 1);
    T_OK(b == 3 && n == 2, "first run %llu+%llu", (unsigned long long)b,
         (unsigned long long)n);
    b += n;
    T_EQ_INT(diskmap_next_run(m, 0, &b, &n), 1);
    T_OK(b == 5 && n == 55, "gap %llu+%llu", (unsigned long long)b,
         (unsigned long long)n);
    b += n;
    T_EQ_INT(diskmap_next_run(m, 1, &b, &n), 1);
    T_OK(b == 60 && n == 10, "second run");
    b += n;
    T_EQ_INT(diskmap_next_run(m, 1, &b, &n), 1);
    T_OK(b == 199 && n == 1, "last block");
    b += n;
    T_EQ_INT(diskmap_next_run(m, 1, &b, &n), 0);
    diskmap_free(m);
}

static void test_map_memory_is_bounded(void)
{
    errno = 0;
    T_OK(!diskmap_new(1ULL << 50, 4096) && errno == EFBIG, "4 PiB at 4 KiB");
    T_OK(!diskmap_new(0, 4096) && errno == EINVAL, "empty disk");
    T_OK(!diskmap_new(4096, 0) && errno == EINVAL, "no block");
}

static void test_map_merge_needs_same_geometry(void)
{
    struct diskmap *a = diskmap_new(1 * MiB, 4096);
    struct diskmap *b = diskmap_new(1 * MiB, 4096);
    struct diskmap *c = diskmap_new(1 * MiB, 8192);

    diskmap_set(b, 7);
    T_EQ_INT(diskmap_merge(a, b), 0);
    T_OK(diskmap_test(a, 7), "merged");
    T_EQ_INT(diskmap_merge(a, c), -1);
    diskmap_free(a);
    diskmap_free(b);
    diskmap_free(c);
}

static void test_track_eras_between_closes(void)
{
    struct disktrack *t = disktrack_mem_new(1 * MiB, 64 * KiB);
    struct diskmap *m = diskmap_new(1 * MiB, 64 * KiB);

    disktrack_mem_write(t, 0, 4096); /* before start: the bulk reads it */
    T_EQ_INT(disktrack_begin(t, -1, DISKTRACK_ALL, m), 0);
    T_EQ_INT(diskmap_count(m), 16);
    diskmap_clear(m);
    disktrack_mem_write(t, 128 * KiB, 1);
    T_EQ_INT(disktrack_close(t, m), 0);
    T_EQ_INT(diskmap_count(m), 1);
    T_OK(diskmap_test(m, 2), "block 2");
    diskmap_clear(m);
    T_EQ_INT(disktrack_close(t, m), 0);
    T_EQ_INT(diskmap_count(m), 0); /* nothing since that boundary */
    disktrack_end(t);
    T_EQ_INT(disktrack_close(t, m), -1); /* ended */
    disktrack_free(t);
    diskmap_free(m);
}

static void test_track_close_failure_is_reported(void)
{
    struct disktrack *t = disktrack_mem_new(1 * MiB, 64 * KiB);
    struct diskmap *m = diskmap_new(1 * MiB, 64 * KiB);

    T_EQ_INT(disktrack_begin(t, -1, DISKTRACK_ALL, m), 0);
    disktrack_mem_fail_close(t, 2);
    T_EQ_INT(disktrack_close(t, m), 0);
    errno = 0;
    T_EQ_INT(disktrack_close(t, m), -1);
    T_EQ_INT(errno, EIO);
    T_OK(strstr(disktrack_error(t), "era"), "%s", disktrack_error(t));
    disktrack_free(t);
    diskmap_free(m);
}

static void test_track_refuses_a_map_of_another_disk(void)
{
    struct disktrack *t = disktrack_mem_new(1 * MiB, 64 * KiB);
    struct diskmap *m = diskmap_new(2 * MiB, 64 * KiB);

    T_EQ_INT(disktrack_begin(t, -1, DISKTRACK_ALL, m), -1);
    T_EQ_INT(errno, EINVAL);
    disktrack_free(t);
    diskmap_free(m);
}

/* A sparse file: data at 0, 1 MiB + 4 KiB, and the last 4 KiB. */
static int sparse_file(uint64_t size)
{
    char path[] = "/var/tmp/test_disktrack.XXXXXX";
    char blk[4096];
    int fd = mkstemp(path);

    if (fd < 0) return -1;
    unlink(path);
    memset(blk, 0xa5, sizeof(blk));
    if (ftruncate(fd, (off_t)size) < 0 ||
        pwrite(fd, blk, sizeof(blk), 0) != sizeof(blk) ||
        pwrite(fd, blk, sizeof(blk), (off_t)(MiB + 4096)) != sizeof(blk) ||
        pwrite(fd, blk, sizeof(blk), (off_t)(size - 4096)) != sizeof(blk)) {
        close(fd);
        return -1;
    }
    return fd;
}

static void test_track_first_set_is_the_allocated_blocks(void)
{
    uint64_t size = 4 * MiB;
    struct disktrack *t = disktrack_mem_new(size, 64 * KiB);
    struct diskmap *m = diskmap_new(size, 64 * KiB);
    int fd = sparse_file(size);

    T_OK(fd >= 0, "sparse file");
    T_EQ_INT(disktrack_begin(t, fd, DISKTRACK_ALLOCATED, m), 0);
    T_EQ_INT(diskmap_count(m), 3);
    T_OK(diskmap_test(m, 0) && diskmap_test(m, 16) && diskmap_test(m, 63),
         "blocks 0, 16, 63");
    disktrack_free(t);
    diskmap_free(m);
    close(fd);
}

static void test_track_bad_fd_stops_tracking(void)
{
    struct disktrack *t = disktrack_mem_new(1 * MiB, 64 * KiB);
    struct diskmap *m = diskmap_new(1 * MiB, 64 * KiB);

    T_EQ_INT(disktrack_begin(t, -1, DISKTRACK_ALLOCATED, m), -1);
    T_OK(strstr(disktrack_error(t), "SEEK_DATA"), "%s", disktrack_error(t));
    T_EQ_INT(t->started, 0);
    disktrack_free(t);
    diskmap_free(m);
}

int main(void)
{
    test_map_marks_every_block_a_range_touches();
    test_map_short_last_block_counts_its_bytes();
    test_map_fill_sets_no_bit_past_the_end();
    test_map_runs_alternate();
    test_map_memory_is_bounded();
    test_map_merge_needs_same_geometry();
    test_track_eras_between_closes();
    test_track_close_failure_is_reported();
    test_track_refuses_a_map_of_another_disk();
    test_track_first_set_is_the_allocated_blocks();
    test_track_bad_fd_stops_tracking();
    return t_done("test_disktrack");
}
