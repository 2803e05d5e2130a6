/*
 * test_disktrack_era.c - the dm-era tracker without device-mapper: the
 * parsers of the tools' output, and the commands it runs in order
 * against a fake dmsetup/era_invalidate (tests/lab/scenarios/
 * storage-era-probe runs it on real Xen).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "relocd/diskmap.h"
#include "relocd/disktrack.h"
#include "t.h"

#define KiB 1024ULL
#define MiB (1024 * KiB)

/* ---- parsers ----------------------------------------------------------- */

static void test_table_single_and_segments(void)
{
    char err[160];
    uint64_t n = 0;

    T_EQ_INT(disktrack_era_parse_table("0 65536 linear 7:0 0\n", &n, err,
                                       sizeof(err)),
             0);
    T_EQ_INT(n, 65536);
    T_EQ_INT(disktrack_era_parse_table("0 100 linear 8:1 2048\n"
                                       "100 28 linear 8:2 0\n",
                                       &n, err, sizeof(err)),
             0);
    T_EQ_INT(n, 128);
}

static void test_table_refused(void)
{
    char err[160], big[64 * 24 + 64];
    uint64_t n = 0, at = 0;
    size_t off = 0;
    int i;

    T_EQ_INT(disktrack_era_parse_table("", &n, err, sizeof(err)), -1);
    T_OK(strstr(err, "no live table"), "%s", err);
    T_EQ_INT(disktrack_era_parse_table("0 100 linear 8:1 0\n200 8 linear 8:2 "
                                       "0\n",
                                       &n, err, sizeof(err)),
             -1);
    T_OK(strstr(err, "starts at 200"), "%s", err);
    T_EQ_INT(disktrack_era_parse_table("0 131072 era 7:1 253:2 128\n", &n, err,
                                       sizeof(err)),
             -1);
    T_OK(strstr(err, "already runs era"), "%s", err);
    T_EQ_INT(
        disktrack_era_parse_table("0 x linear 7:0 0\n", &n, err, sizeof(err)),
        -1);
    T_EQ_INT(
        disktrack_era_parse_table("0 0 linear 7:0 0\n", &n, err, sizeof(err)),
        -1);
    T_EQ_INT(disktrack_era_parse_table("0 99999999999999999999 linear\n", &n,
                                       err, sizeof(err)),
             -1);
    for (i = 0; i < 65; i++, at += 8)
        off +=
            (size_t)snprintf(big + off, sizeof(big) - off,
                             "%llu 8 linear 7:0 0\n", (unsigned long long)at);
    T_EQ_INT(disktrack_era_parse_table(big, &n, err, sizeof(err)), -1);
    T_OK(strstr(err, "more than 64"), "%s", err);
}

static void test_status(void)
{
    char err[160];
    uint32_t era = 0;
    uint64_t used = 0, total = 0;

    T_EQ_INT(disktrack_era_parse_status("0 65536 era 8 43/2048 7 -\n", &era,
                                        &used, &total, err, sizeof(err)),
             0);
    T_EQ_INT(era, 7);
    T_EQ_INT(used, 43);
    T_EQ_INT(total, 2048);
    T_EQ_INT(disktrack_era_parse_status("0 65536 era 8 43/2048 9 21\n", &era,
                                        &used, &total, err, sizeof(err)),
             0);
    T_EQ_INT(era, 9);
    /* an LVM refresh would silently put linear back: close must notice */
    T_EQ_INT(disktrack_era_parse_status("0 65536 linear \n", &era, &used,
                                        &total, err, sizeof(err)),
             -1);
    T_OK(strstr(err, "no longer runs era"), "%s", err);
    T_EQ_INT(disktrack_era_parse_status("0 65536 era 8 4x/2048 7 -\n", &era,
                                        &used, &total, err, sizeof(err)),
             -1);
    T_EQ_INT(disktrack_era_parse_status("0 65536 era 8 43/2048 4294967296 -\n",
                                        &era, &used, &total, err, sizeof(err)),
             -1);
    T_EQ_INT(disktrack_era_parse_status("0 65536 era 8 43/2048 7 -\n"
                                        "65536 8 era 8 1/2 3 -\n",
                                        &era, &used, &total, err, sizeof(err)),
             -1);
}

static int parse_text(const char *text, struct diskmap *m, char *err,
                      size_t errlen)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    int r = disktrack_era_parse_blocks(f, m, err, errlen);

    fclose(f);
    return r;
}

static void test_blocks_as_0_9_0_writes_them(void)
{
    /* era_invalidate 0.9.0, verbatim (its ranges have `end = "N"`) */
    const char *out = "<blocks>\n"
                      "  <block block=\"0\"/>\n"
                      "  <range begin=\"3\" end = \"6\"/>\n"
                      "  <block block=\"15\"/>\n"
                      "</blocks>\n";
    struct diskmap *m = diskmap_new(1 * MiB, 64 * KiB);
    char err[160];

    T_EQ_INT(parse_text(out, m, err, sizeof(err)), 0);
    T_EQ_INT(diskmap_count(m), 5);
    T_OK(diskmap_test(m, 0) && diskmap_test(m, 3) && diskmap_test(m, 5) &&
             diskmap_test(m, 15),
         "the reported blocks");
    T_OK(!diskmap_test(m, 6) && !diskmap_test(m, 2), "end is exclusive");
    diskmap_clear(m);
    T_EQ_INT(parse_text("<blocks>\n</blocks>\n", m, err, sizeof(err)), 0);
    T_EQ_INT(diskmap_count(m), 0);
    /* the Rust rewrite spells it without blanks */
    T_EQ_INT(parse_text("<blocks>\n<range begin=\"1\" end=\"3\"/>\n</blocks>",
                        m, err, sizeof(err)),
             0);
    T_EQ_INT(diskmap_count(m), 2);
    diskmap_free(m);
}

static void test_blocks_refused(void)
{
    static const char *const bad[] = {
        "",                                             /* nothing */
        "<blocks>\n<block block=\"1\"/>\n",             /* no close */
        "<blocks>\n<block block=\"16\"/>\n</blocks>\n", /* past the disk */
        "<blocks>\n<range begin=\"4\" end=\"4\"/>\n</blocks>\n", /* empty */
        "<blocks>\n<range begin=\"4\" end=\"17\"/>\n</blocks>\n",
        "<blocks>\n<block block=\"-1\"/>\n</blocks>\n",
        "<blocks>\n<block blocks=\"1\"/>\n</blocks>\n",
        "<blocks>\n<block block=\"1\">\n</blocks>\n",
        "<blocks>\n</blocks>\n<blocks>\n", /* after close */
        "<superblock>\n</superblock>\n",
        "<blocks>\n<block block=\"1\"/> junk\n</blocks>\n",
    };
    struct diskmap *m = diskmap_new(1 * MiB, 64 * KiB);
    char err[160], *longline;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        T_OK(parse_text(bad[i], m, err, sizeof(err)) == -1, "case %zu", i);
    longline = malloc(1024);
    memset(longline, ' ', 1023);
    longline[1023] = '\0';
    memcpy(longline, "<blocks>\n", 9);
    T_EQ_INT(parse_text(longline, m, err, sizeof(err)), -1);
    T_OK(strstr(err, "too long"), "%s", err);
    free(longline);
    diskmap_free(m);
}

/* ---- the command sequence against a fake dmsetup ----------------------- */

struct fake {
    char log[8192];   /* one line a command */
    unsigned era;     /* the era status reports */
    const char *fail; /* a command line prefix that exits 1 */
    int fail_n;       /* ...that many times (-1: always) */
    const char *blocks;
    const char *info;  /* dmsetup info's answer (NULL: 253:3) */
    const char *table; /* dmsetup table's (NULL: one linear line) */
    int loops, loop_fd;
    char dir[64];
};

/* One line of what the fake saw, in order. */
static void __attribute__((format(printf, 2, 3)))
fake_log(struct fake *f, const char *fmt, ...)
{
    size_t n = strlen(f->log);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(f->log + n, sizeof(f->log) - n, fmt, ap);
    va_end(ap);
}

static int fake_run(void *arg, const char *const argv[], char *out,
                    size_t outlen, char *msg, size_t msglen)
{
    struct fake *f = arg;
    char line[512] = "";
    size_t n = 0;
    int i;

    for (i = 0; argv[i]; i++)
        n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s", i ? " " : "",
                              argv[i]);
    fake_log(f, "%s\n", line);
    if (out) out[0] = '\0';
    if (msg) snprintf(msg, msglen, "fake failure\n");
    if (f->fail && !strncmp(line, f->fail, strlen(f->fail)) && f->fail_n) {
        if (f->fail_n > 0) f->fail_n--;
        return 1;
    }
    if (!strcmp(argv[1], "table"))
        snprintf(out, outlen, "%s",
                 f->table ? f->table : "0 2048 linear 7:0 0\n");
    if (!strcmp(argv[1], "info"))
        snprintf(out, outlen, "%s\n", f->info ? f->info : "253:3");
    if (!strcmp(argv[1], "status"))
        snprintf(out, outlen, "0 2048 era 8 12/2048 %u -\n", f->era);
    if (!strcmp(argv[1], "resume") ||
        (argv[3] && !strcmp(argv[3], "take_metadata_snap")))
        f->era++;
    if (!strcmp(argv[0], "era_invalidate")) {
        FILE *o = fopen(argv[5], "w");

        fputs(f->blocks, o);
        fclose(o);
    }
    return 0;
}

static int fake_attach(void *arg, const char *path, char *dev, size_t devlen)
{
    struct fake *f = arg;

    (void)path;
    f->loops++;
    snprintf(dev, devlen, "/dev/loop7");
    return f->loop_fd;
}

static void fake_detach(void *arg, int fd)
{
    struct fake *f = arg;

    if (fd == f->loop_fd) f->loops--;
}

static struct disktrack *fake_tracker(struct fake *f,
                                      struct disktrack_era_sys *sys)
{
    struct disktrack_era_cfg cfg = {.node = "vbd-1-51712", .sys = sys};
    char err[160];

    memset(f, 0, sizeof(*f));
    f->loop_fd = 99;
    f->fail_n = -1;
    f->era = 1;
    f->blocks = "<blocks>\n</blocks>\n";
    snprintf(f->dir, sizeof(f->dir), "/tmp/test_era.XXXXXX");
    if (!mkdtemp(f->dir)) return NULL;
    *sys = (struct disktrack_era_sys){.run = fake_run,
                                      .loop_attach = fake_attach,
                                      .loop_detach = fake_detach,
                                      .arg = f};
    cfg.dir = f->dir;
    /* 1 MiB: 2048 sectors, 16 blocks of 64 KiB */
    return disktrack_era_new(&cfg, 1 * MiB, 64 * KiB, err, sizeof(err));
}

static int file_exists(const struct fake *f, const char *suffix)
{
    char p[128];

    snprintf(p, sizeof(p), "%s/vbd-1-51712.%s", f->dir, suffix);
    return access(p, F_OK) == 0;
}

static void fake_cleanup(struct fake *f)
{
    char p[128];
    static const char *const sfx[] = {"table", "meta", "era", "blocks"};

    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof(p), "%s/vbd-1-51712.%s", f->dir, sfx[i]);
        unlink(p);
    }
    rmdir(f->dir);
}

/* The log with the tmp dir replaced by D, for exact comparison. */
static const char *log_of(struct fake *f)
{
    static char out[8192];
    const char *p = f->log, *hit;
    size_t n = 0, dl = strlen(f->dir);

    while ((hit = strstr(p, f->dir))) {
        n += (size_t)snprintf(out + n, sizeof(out) - n, "%.*sD", (int)(hit - p),
                              p);
        p = hit + dl;
    }
    snprintf(out + n, sizeof(out) - n, "%s", p);
    return out;
}

static void test_sequence_start_close_stop(void)
{
    struct fake f;
    struct disktrack_era_sys sys;
    struct disktrack *t = fake_tracker(&f, &sys);
    struct diskmap *first = diskmap_new(1 * MiB, 64 * KiB);
    struct diskmap *m = diskmap_new(1 * MiB, 64 * KiB);
    struct disktrack_era_stats st;

    T_OK(t != NULL, "new");
    if (!t) return;
    T_EQ_INT(disktrack_begin(t, -1, DISKTRACK_ALL, first), 0);
    T_EQ_INT(diskmap_count(first), 16);
    T_OK(file_exists(&f, "table") && file_exists(&f, "meta"), "files");
    T_EQ_STR(log_of(&f),
             "dmsetup table vbd-1-51712\n"
             "dmsetup create relocd-era-vbd-1-51712 D/vbd-1-51712.table\n"
             "dmsetup info -c --noheadings --separator : -o major,minor "
             "relocd-era-vbd-1-51712\n"
             "dmsetup reload vbd-1-51712 D/vbd-1-51712.era\n"
             "dmsetup suspend vbd-1-51712\n"
             "dmsetup resume vbd-1-51712\n"
             "dmsetup status vbd-1-51712\n");
    T_EQ_INT(f.loops, 1);
    {
        char p[128], line[128] = "";
        FILE *et;

        snprintf(p, sizeof(p), "%s/vbd-1-51712.era", f.dir);
        et = fopen(p, "r");
        T_OK(et && fgets(line, sizeof(line), et), "era table");
        T_EQ_STR(line, "0 2048 era /dev/loop7 253:3 128\n");
        if (et) fclose(et);
    }
    f.log[0] = '\0';
    /* the era started at begin is 2: the first close asks since 2 */
    f.blocks = "<blocks>\n  <range begin=\"2\" end = \"4\"/>\n</blocks>\n";
    T_EQ_INT(disktrack_close(t, m), 0);
    T_EQ_INT(diskmap_count(m), 2);
    T_EQ_STR(log_of(&f),
             "dmsetup suspend vbd-1-51712\n"
             "dmsetup resume vbd-1-51712\n"
             "dmsetup status vbd-1-51712\n"
             "dmsetup message vbd-1-51712 0 take_metadata_snap\n"
             "era_invalidate --metadata-snapshot --written-since 2 -o "
             "D/vbd-1-51712.blocks /dev/loop7\n"
             "dmsetup message vbd-1-51712 0 drop_metadata_snap\n");
    /* that boundary started era 3 (the snapshot then made 4): writes
     * after the boundary are in era 3 or later, and so the next close
     * asks since 3, not since 4 */
    f.log[0] = '\0';
    T_EQ_INT(disktrack_close(t, m), 0);
    T_OK(strstr(f.log, "--written-since 3 "), "%s", f.log);
    disktrack_era_stats(t, &st);
    T_EQ_INT(st.boundaries, 2);
    f.log[0] = '\0';
    disktrack_end(t);
    T_EQ_STR(log_of(&f), "dmsetup reload vbd-1-51712 D/vbd-1-51712.table\n"
                         "dmsetup suspend vbd-1-51712\n"
                         "dmsetup resume vbd-1-51712\n"
                         "dmsetup remove relocd-era-vbd-1-51712\n");
    T_EQ_INT(f.loops, 0);
    T_OK(!file_exists(&f, "table") && !file_exists(&f, "meta"), "cleaned");
    disktrack_free(t);
    diskmap_free(first);
    diskmap_free(m);
    fake_cleanup(&f);
}

/* The real sys suspends by ioctl: the boundary runs no process. */
static int fake_suspend(void *arg, const char *node, int suspend)
{
    struct fake *f = arg;

    fake_log(f, "ioctl %s %s\n", suspend ? "suspend" : "resume", node);
    if (!suspend) f->era++;
    if (f->fail && !strcmp(f->fail, "ioctl resume") && !suspend && f->fail_n) {
        if (f->fail_n > 0) f->fail_n--;
        errno = ENXIO;
        return -1;
    }
    return 0;
}

static void test_boundary_by_ioctl(void)
{
    struct fake f;
    struct disktrack_era_sys sys;
    struct disktrack *t = fake_tracker(&f, &sys);
    struct diskmap *m = diskmap_new(1 * MiB, 64 * KiB);

    sys.suspend = fake_suspend;
    disktrack_free(t);
    {
        struct disktrack_era_cfg cfg = {
            .node = "vbd-1-51712", .dir = f.dir, .sys = &sys};
        char err[160];

        t = disktrack_era_new(&cfg, 1 * MiB, 64 * KiB, err, sizeof(err));
    }
    T_EQ_INT(disktrack_begin(t, -1, DISKTRACK_ALL, m), 0);
    T_OK(strstr(log_of(&f), "reload vbd-1-51712 D/vbd-1-51712.era\n"
                            "ioctl suspend vbd-1-51712\n"
                            "ioctl resume vbd-1-51712\n"
                            "dmsetup status"),
         "%s", f.log);
    f.log[0] = '\0';
    T_EQ_INT(disktrack_close(t, m), 0);
    T_OK(!strncmp(f.log,
                  "ioctl suspend vbd-1-51712\nioctl resume "
                  "vbd-1-51712\ndmsetup status",
                  60),
         "%s", f.log);
    /* a resume that fails twice leaves the node suspended: said so */
    f.fail = "ioctl resume";
    f.fail_n = 2;
    T_EQ_INT(disktrack_close(t, m), -1);
    T_OK(strstr(disktrack_error(t), "left suspended"), "%s",
         disktrack_error(t));
    f.fail = NULL;
    disktrack_free(t);
    T_EQ_INT(f.loops, 0);
    diskmap_free(m);
    fake_cleanup(&f);
}

/* The real sys asks the status and sends messages by ioctl too. */
static int fake_status(void *arg, const char *node, char *out, size_t outlen)
{
    struct fake *f = arg;

    fake_log(f, "ioctl status %s\n", node);
    if (f->fail && !strcmp(f->fail, "ioctl status")) {
        errno = ENXIO;
        return -1;
    }
    snprintf(out, outlen, "0 2048 era 8 12/2048 %u -\n", f->era);
    return 0;
}

static int fake_message(void *arg, const char *node, const char *message)
{
    struct fake *f = arg;

    fake_log(f, "ioctl message %s %s\n", node, message);
    if (!strcmp(message, "take_metadata_snap")) f->era++;
    return 0;
}

/* The last pass runs while the guest is suspended: one process only. */
static void test_close_runs_one_process(void)
{
    struct fake f;
    struct disktrack_era_sys sys;
    struct disktrack *t = fake_tracker(&f, &sys);
    struct diskmap *m = diskmap_new(1 * MiB, 64 * KiB);
    struct disktrack_era_cfg cfg;
    char err[160];

    disktrack_free(t);
    sys.suspend = fake_suspend;
    sys.status = fake_status;
    sys.message = fake_message;
    cfg = (struct disktrack_era_cfg){
        .node = "vbd-1-51712", .dir = f.dir, .sys = &sys};
    t = disktrack_era_new(&cfg, 1 * MiB, 64 * KiB, err, sizeof(err));
    T_EQ_INT(disktrack_begin(t, -1, DISKTRACK_ALL, m), 0);
    f.log[0] = '\0';
    f.blocks = "<blocks>\n<range begin=\"1\" end=\"3\"/>\n</blocks>\n";
    T_EQ_INT(disktrack_close(t, m), 0);
    T_EQ_STR(log_of(&f), "ioctl suspend vbd-1-51712\n"
                         "ioctl resume vbd-1-51712\n"
                         "ioctl status vbd-1-51712\n"
                         "ioctl message vbd-1-51712 take_metadata_snap\n"
                         "era_invalidate --metadata-snapshot --written-since "
                         "2 -o D/vbd-1-51712.blocks /dev/loop7\n"
                         "ioctl message vbd-1-51712 drop_metadata_snap\n");
    /* a status that fails says which request, on which node */
    f.fail = "ioctl status";
    T_EQ_INT(disktrack_close(t, m), -1);
    T_OK(strstr(disktrack_error(t), "status of vbd-1-51712"), "%s",
         disktrack_error(t));
    f.fail = NULL;
    disktrack_free(t);
    T_EQ_INT(f.loops, 0);
    diskmap_free(m);
    fake_cleanup(&f);
}

static void test_start_fails_at_resume_and_puts_the_table_back(void)
{
    struct fake f;
    struct disktrack_era_sys sys;
    struct disktrack *t = fake_tracker(&f, &sys);
    struct diskmap *first = diskmap_new(1 * MiB, 64 * KiB);

    f.fail = "dmsetup resume";
    f.fail_n = 1;
    T_EQ_INT(disktrack_begin(t, -1, DISKTRACK_ALL, first), -1);
    T_OK(strstr(disktrack_error(t), "resume vbd-1-51712: exit 1"), "%s",
         disktrack_error(t));
    T_OK(strstr(f.log, "dmsetup reload vbd-1-51712 ") &&
             strstr(f.log, ".table\ndmsetup suspend vbd-1-51712\n"
                           "dmsetup resume vbd-1-51712\n"
                           "dmsetup remove relocd-era-vbd-1-51712\n"),
         "undone: %s", f.log);
    T_EQ_INT(f.loops, 0);
    T_OK(!file_exists(&f, "table"), "no state left");
    T_OK(!t->started, "not started");
    disktrack_free(t);
    diskmap_free(first);
    fake_cleanup(&f);
}

static void test_start_refuses_a_table_of_another_size(void)
{
    struct fake f;
    struct disktrack_era_sys sys;
    struct disktrack_era_cfg cfg = {.node = "lv0", .sys = &sys};
    struct disktrack *t;
    struct diskmap *first = diskmap_new(2 * MiB, 64 * KiB);
    char err[160];

    disktrack_free(fake_tracker(&f, &sys));
    cfg.dir = f.dir;
    t = disktrack_era_new(&cfg, 2 * MiB, 64 * KiB, err, sizeof(err));
    T_EQ_INT(disktrack_begin(t, -1, DISKTRACK_ALL, first), -1);
    T_OK(strstr(disktrack_error(t), "covers 1048576 bytes"), "%s",
         disktrack_error(t));
    T_EQ_STR(f.log, "dmsetup table lv0\n");
    disktrack_free(t);
    diskmap_free(first);
    fake_cleanup(&f);
}

static void test_start_refuses_a_bad_origin_number(void)
{
    struct fake f;
    struct disktrack_era_sys sys;
    struct disktrack *t = fake_tracker(&f, &sys);
    struct diskmap *first = diskmap_new(1 * MiB, 64 * KiB);

    f.info = "253:x";
    T_EQ_INT(disktrack_begin(t, -1, DISKTRACK_ALL, first), -1);
    T_OK(strstr(disktrack_error(t), "dmsetup info"), "%s", disktrack_error(t));
    T_OK(!strstr(f.log, "reload"), "the node untouched: %s", f.log);
    T_OK(strstr(f.log, "remove relocd-era-vbd-1-51712"), "origin gone");
    T_EQ_INT(f.loops, 0);
    disktrack_free(t);
    diskmap_free(first);
    fake_cleanup(&f);
}

static void test_close_drops_the_snapshot_when_invalidate_fails(void)
{
    struct fake f;
    struct disktrack_era_sys sys;
    struct disktrack *t = fake_tracker(&f, &sys);
    struct diskmap *m = diskmap_new(1 * MiB, 64 * KiB);

    T_EQ_INT(disktrack_begin(t, -1, DISKTRACK_ALL, m), 0);
    f.log[0] = '\0';
    f.fail = "era_invalidate";
    T_EQ_INT(disktrack_close(t, m), -1);
    T_OK(strstr(disktrack_error(t), "era_invalidate"), "%s",
         disktrack_error(t));
    T_OK(strstr(f.log, "drop_metadata_snap"), "dropped: %s", f.log);
    /* a bad answer fails the close too: a pass never guesses */
    f.fail = NULL;
    f.blocks = "<blocks>\n<block block=\"99\"/>\n</blocks>\n";
    T_EQ_INT(disktrack_close(t, m), -1);
    T_OK(strstr(disktrack_error(t), "bad entry"), "%s", disktrack_error(t));
    disktrack_free(t);
    T_EQ_INT(f.loops, 0);
    diskmap_free(m);
    fake_cleanup(&f);
}

static void test_stop_that_cannot_restore_keeps_what_the_node_needs(void)
{
    struct fake f;
    struct disktrack_era_sys sys;
    struct disktrack *t = fake_tracker(&f, &sys);
    struct diskmap *m = diskmap_new(1 * MiB, 64 * KiB);

    T_EQ_INT(disktrack_begin(t, -1, DISKTRACK_ALL, m), 0);
    f.log[0] = '\0';
    f.fail = "dmsetup reload";
    disktrack_end(t);
    T_OK(strstr(disktrack_error(t), "still runs era"), "%s",
         disktrack_error(t));
    T_OK(!strstr(f.log, "remove"), "origin kept: %s", f.log);
    T_EQ_INT(f.loops, 1);
    T_OK(file_exists(&f, "table"), "the saved table stays for the admin");
    disktrack_free(t); /* stopped once: free does not retry */
    diskmap_free(m);
    fake_cleanup(&f);
}

static void test_close_notices_a_lost_era_table(void)
{
    struct fake f;
    struct disktrack_era_sys sys;
    struct disktrack *t = fake_tracker(&f, &sys);
    struct diskmap *m = diskmap_new(1 * MiB, 64 * KiB);

    T_EQ_INT(disktrack_begin(t, -1, DISKTRACK_ALL, m), 0);
    f.fail = "dmsetup status";
    T_EQ_INT(disktrack_close(t, m), -1);
    T_OK(strstr(disktrack_error(t), "status"), "%s", disktrack_error(t));
    disktrack_free(t);
    diskmap_free(m);
    fake_cleanup(&f);
}

static void test_new_refuses_bad_arguments(void)
{
    struct disktrack_era_cfg cfg = {.node = "a/b", .dir = "/run"};
    char err[160];

    errno = 0;
    T_OK(!disktrack_era_new(&cfg, 1 * MiB, 64 * KiB, err, sizeof(err)),
         "slash in a name");
    T_EQ_INT(errno, EINVAL);
    cfg.node = "-x";
    T_OK(!disktrack_era_new(&cfg, 1 * MiB, 64 * KiB, err, sizeof(err)),
         "option-like name");
    cfg.node = "ok";
    T_OK(!disktrack_era_new(&cfg, 1 * MiB, 512, err, sizeof(err)),
         "era blocks are 4 KiB at least");
    T_OK(!disktrack_era_new(&cfg, 1 * MiB + 1, 4096, err, sizeof(err)),
         "size in sectors");
    cfg.dir = "relative";
    T_OK(!disktrack_era_new(&cfg, 1 * MiB, 4096, err, sizeof(err)),
         "relative dir");
}

/* The real runner, with a dmsetup of our own first in PATH. */
static void with_fake_dmsetup(const char *script, const char *want)
{
    char dir[] = "/tmp/test_era_bin.XXXXXX", path[128], *old, env[4096];
    struct disktrack_era_cfg cfg = {.node = "lv0"};
    struct diskmap *m = diskmap_new(1 * MiB, 64 * KiB);
    struct disktrack *t;
    char err[160];
    FILE *f;

    T_OK(mkdtemp(dir) != NULL, "mkdtemp");
    snprintf(path, sizeof(path), "%s/dmsetup", dir);
    f = fopen(path, "w");
    fprintf(f, "#!/bin/sh\n%s\n", script);
    fclose(f);
    chmod(path, 0755);
    old = getenv("PATH");
    snprintf(env, sizeof(env), "%s:%s", dir, old ? old : "/bin");
    old = old ? strdup(old) : NULL;
    setenv("PATH", env, 1);
    cfg.dir = dir;
    t = disktrack_era_new(&cfg, 1 * MiB, 64 * KiB, err, sizeof(err));
    T_EQ_INT(disktrack_begin(t, -1, DISKTRACK_ALL, m), -1);
    T_OK(strstr(disktrack_error(t), want), "%s", disktrack_error(t));
    disktrack_free(t);
    if (old) setenv("PATH", old, 1);
    free(old);
    unlink(path);
    rmdir(dir);
    diskmap_free(m);
}

static void test_real_runner_reads_stdout_stderr_and_bounds(void)
{
    /* stdout parsed: a node already tracked is refused */
    with_fake_dmsetup("echo '0 2048 era 7:1 253:1 128'; echo noise >&2",
                      "already runs era");
    /* stderr's last line is the reason */
    with_fake_dmsetup("echo one >&2; echo 'Device lv0 not found' >&2; exit 1",
                      "dmsetup table lv0: exit 1: Device lv0 not found");
    /* more than the table buffer: refused, not cut */
    with_fake_dmsetup("i=0; while [ $i -lt 400 ]; do "
                      "echo \"$i 8 linear 7:0 0 padding padding\"; "
                      "i=$((i+1)); done",
                      "Message too long");
}

/*
 * A sender worker killed with tracking on leaves era loaded on the node
 * and its files in dir: recovery puts the saved table back and removes
 * the origin, from those alone.  So does it where the worker got further
 * (the table back, the origin not yet removed) or not as far.
 */
static void test_recover_what_a_dead_tracker_left(void)
{
    struct fake f;
    struct disktrack_era_sys sys;
    struct disktrack *t = fake_tracker(&f, &sys);
    struct diskmap *first = diskmap_new(1 * MiB, 64 * KiB);
    struct disktrack_era_cfg cfg = {.node = "vbd-1-51712", .sys = &sys};
    char err[256] = "";

    T_OK(t != NULL, "new");
    if (!t) return;
    cfg.dir = f.dir;
    T_EQ_INT(disktrack_begin(t, -1, DISKTRACK_ALL, first), 0);
    /* the worker dies here: t is never stopped */
    f.log[0] = '\0';
    f.table = "0 2048 era /dev/loop7 253:3 128\n";
    T_EQ_INT(disktrack_era_recover(&cfg, err, sizeof(err)), 0);
    T_EQ_STR(log_of(&f), "dmsetup table vbd-1-51712\n"
                         "dmsetup reload vbd-1-51712 D/vbd-1-51712.table\n"
                         "dmsetup suspend vbd-1-51712\n"
                         "dmsetup resume vbd-1-51712\n"
                         "dmsetup remove relocd-era-vbd-1-51712\n");
    T_OK(!file_exists(&f, "table") && !file_exists(&f, "meta") &&
             !file_exists(&f, "era"),
         "files left");
    /* the table was back already: only the origin goes */
    f.log[0] = '\0';
    f.table = NULL;
    T_EQ_INT(disktrack_era_recover(&cfg, err, sizeof(err)), 0);
    T_EQ_STR(log_of(&f), "dmsetup table vbd-1-51712\n"
                         "dmsetup info relocd-era-vbd-1-51712\n"
                         "dmsetup remove relocd-era-vbd-1-51712\n");
    /* nothing but files: nothing to run */
    f.log[0] = '\0';
    f.fail = "dmsetup info";
    T_EQ_INT(disktrack_era_recover(&cfg, err, sizeof(err)), 0);
    T_EQ_STR(log_of(&f), "dmsetup table vbd-1-51712\n"
                         "dmsetup info relocd-era-vbd-1-51712\n");
    /* a table that cannot go back: kept, and err says how */
    f.log[0] = '\0';
    f.fail = "dmsetup reload";
    f.table = "0 2048 era /dev/loop7 253:3 128\n";
    T_EQ_INT(disktrack_era_recover(&cfg, err, sizeof(err)), -1);
    T_OK(strstr(err, "still runs era (restore: dmsetup reload vbd-1-51712"),
         "%s", err);
    f.fail = NULL;
    f.table = NULL;
    disktrack_free(t);
    diskmap_free(first);
    fake_cleanup(&f);
}

int main(void)
{
    test_table_single_and_segments();
    test_table_refused();
    test_status();
    test_blocks_as_0_9_0_writes_them();
    test_blocks_refused();
    test_sequence_start_close_stop();
    test_start_fails_at_resume_and_puts_the_table_back();
    test_boundary_by_ioctl();
    test_close_runs_one_process();
    test_start_refuses_a_table_of_another_size();
    test_start_refuses_a_bad_origin_number();
    test_close_drops_the_snapshot_when_invalidate_fails();
    test_stop_that_cannot_restore_keeps_what_the_node_needs();
    test_close_notices_a_lost_era_table();
    test_new_refuses_bad_arguments();
    test_real_runner_reads_stdout_stderr_and_bounds();
    test_recover_what_a_dead_tracker_left();
    return t_done("test_disktrack_era");
}
