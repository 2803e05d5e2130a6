/*
 * dirty - the lab's guest workload.
 *
 * usage: dirty [-m MiB] [-r MiB/s] [-i report_ms] [-w wake_ms]
 *
 * Allocates MiB of memory and keeps writing into every 4 KiB page of it,
 * as fast as it can, or at about MiB/s when -r is given (the dirty rate a
 * live migration has to keep up with). With -m 0 it only keeps time.
 *
 * Every report_ms (default 1000) it prints one line:
 *
 *   LAB-TICK <n> rt=<s.ms> maxgap_ms=<g> max_ms=<m> passes=<p> errors=<e>
 *
 * n grows by one per line and never restarts, so a test can tell that the
 * guest kept running. g is the longest stall between two clock checks since
 * the previous line, m the longest since start: a stall around a migration
 * is the downtime the guest saw (the clock is checked at least every
 * 256 KiB of writes, and every wake_ms, default 10, when idle). Each page
 * holds a tag of
 * the pass that wrote it and its index, checked before it is rewritten: a
 * page that lost a write (e.g. a migration that missed a dirty page) is
 * reported as "LAB-CORRUPT page=<i> ..." and counted in errors.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PAGE 4096
#define CHECK_PAGES 64 /* clock check every 256 KiB */
#define SLICE_MS 10    /* rate limiting granularity */

struct state {
    uint64_t *buf;
    size_t npages;
    size_t next;   /* next page to write */
    uint64_t pass; /* completed passes over the buffer */
    uint64_t errors;
    double last;   /* last clock check */
    double maxgap; /* since the last report */
    double maxall; /* since start */
};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void check_clock(struct state *s)
{
    double t = now();

    if (t - s->last > s->maxgap) s->maxgap = t - s->last;
    if (t - s->last > s->maxall) s->maxall = t - s->last;
    s->last = t;
}

static uint64_t tag(uint64_t pass, size_t page)
{
    return (pass << 32) ^ page ^ 0x5a5a000000005a5aULL;
}

/* Write npages pages, continuing where the previous call stopped. */
static void dirty_pages(struct state *s, size_t npages)
{
    size_t i;

    for (i = 0; i < npages; i++) {
        uint64_t *w = s->buf + s->next * (PAGE / sizeof(uint64_t));
        uint64_t want = s->pass ? tag(s->pass - 1, s->next) : 0;

        if (s->pass && *w != want) {
            s->errors++;
            if (s->errors <= 10)
                printf("LAB-CORRUPT page=%zu pass=%llu want=%llx got=%llx\n",
                       s->next, (unsigned long long)s->pass,
                       (unsigned long long)want, (unsigned long long)*w);
        }
        *w = tag(s->pass, s->next);
        if (++s->next == s->npages) {
            s->next = 0;
            s->pass++;
        }
        if (i % CHECK_PAGES == 0) check_clock(s);
    }
}

static void sleep_ms(double ms)
{
    struct timespec ts;

    if (ms <= 0) return;
    ts.tv_sec = (time_t)(ms / 1000);
    ts.tv_nsec = (long)((ms - ts.tv_sec * 1000.0) * 1e6);
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: dirty [-m MiB] [-r MiB/s] [-i report_ms] [-w wake_ms]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    struct state s;
    long mib = 0, report_ms = 1000, wake_ms = SLICE_MS;
    double rate = 0, credit = 0, lastrep, t;
    unsigned long tick = 0;
    int c;

    while ((c = getopt(argc, argv, "m:r:i:w:")) != -1) {
        switch (c) {
        case 'm':
            mib = atol(optarg);
            break;
        case 'r':
            rate = atof(optarg);
            break;
        case 'i':
            report_ms = atol(optarg);
            break;
        case 'w':
            wake_ms = atol(optarg);
            break;
        default:
            usage();
        }
    }
    if (mib < 0 || rate < 0 || report_ms <= 0 || wake_ms <= 0) usage();
    setvbuf(stdout, NULL, _IOLBF, 0);
    memset(&s, 0, sizeof(s));
    s.npages = ((size_t)mib << 20) / PAGE;
    if (s.npages) {
        s.buf = calloc(s.npages, PAGE);
        if (!s.buf) {
            printf("LAB-ERROR malloc %ld MiB failed\n", mib);
            return 1;
        }
        /* touch everything once so pass 0 is not a page-fault benchmark */
        memset(s.buf, 0, s.npages * PAGE);
    }
    printf("LAB-DIRTY-START mib=%ld rate=%.1f report_ms=%ld\n", mib, rate,
           report_ms);
    s.last = lastrep = now();
    for (;;) {
        if (s.npages && rate == 0) {
            dirty_pages(&s, CHECK_PAGES * 16);
        } else if (s.npages) {
            /* rate limited: the pages owed for one slice, then sleep */
            credit += rate * (1 << 20) / PAGE * SLICE_MS / 1000.0;
            dirty_pages(&s, (size_t)credit);
            credit -= (size_t)credit;
            sleep_ms(SLICE_MS - (now() - s.last) * 1000);
        } else {
            /* Each wake-up of an idle guest costs its host a VM exit, under
             * nested emulation a lot: guests that only need to stay alive
             * (many on one lab dom0) wake less often. */
            sleep_ms(wake_ms);
        }
        check_clock(&s);
        t = s.last;
        if ((t - lastrep) * 1000 >= report_ms) {
            printf("LAB-TICK %lu rt=%.3f maxgap_ms=%.1f max_ms=%.1f "
                   "passes=%llu errors=%llu\n",
                   ++tick, t, s.maxgap * 1000, s.maxall * 1000,
                   (unsigned long long)s.pass, (unsigned long long)s.errors);
            s.maxgap = 0;
            lastrep = t;
        }
    }
}
