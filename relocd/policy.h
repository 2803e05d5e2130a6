/*
 * policy.h - relocd's pre-copy policy: when to stop copying a live guest's
 * memory and suspend it, from measured link and dirty rates.
 *
 * libxenguest asks its precopy_policy callback before every batch (with the
 * number of dirty pages) and after it (dirty count -1); returning
 * STOP_AND_COPY before a batch still sends that batch live, then suspends
 * and sends what was dirtied meanwhile (xg_sr_save.c send_memory_live()).
 * This module is that callback's brain, without Xen: relocd/sender.c feeds
 * it xen/send.c's stats and a clock, and applies the throttle it asks for.
 */
#ifndef RELOCD_POLICY_H
#define RELOCD_POLICY_H

#include <stdint.h>

#include "config/converge.h"

#define POLICY_PAGE_SIZE 4096
/* Libxenguest's own policy gives up after 5 rounds; we allow more. */
#define POLICY_MAX_ITERATIONS 30

enum policy_action {
    POLICY_CONTINUE, /* another live round */
    POLICY_STOP,     /* suspend and copy the rest */
    POLICY_ABORT,    /* give up; the guest keeps running here */
};

/*
 * The final copy may always take this share of --max-downtime or of the
 * floor, whichever is larger.  A floor that takes all of --max-downtime
 * leaves a target no copy can meet; squeezing the copy further (more
 * rounds, a throttle) would then cost the guest much and save it almost
 * nothing.
 */
#define POLICY_MIN_COPY_SHARE 0.1

struct policy_cfg {
    int max_downtime_ms;
    enum converge on_stuck;
    uint64_t guest_pages; /* the guest's real memory, in pages */
    /* The target's downtime floor (floor.h), added to the final copy's
     * estimate; 0 when none is known yet. */
    double floor_ms;
};

/* What one call decided, for progress events and the log. */
struct policy_event {
    unsigned iteration;
    uint64_t sent_bytes;     /* page data sent so far (real pages only) */
    uint64_t dirty_pages;    /* to send in this round */
    double rate_bps;         /* link rate, bytes/s (0 = not measured yet) */
    double dirty_pps;        /* guest dirty rate, pages/s */
    double expected_down_ms; /* downtime if we stopped now: the final
                                copy and the floor (-1 = unknown) */
    uint64_t disk_bytes;     /* of the copy, disk blocks (policy_set_disk) */
    int throttle_pct;        /* CPU cap asked for, 0 = none */
    enum policy_action action;
    const char *why; /* a short reason, static text */
};

struct policy {
    struct policy_cfg cfg;
    double t_pre, t_prev_pre; /* clock at this and the previous pre call */
    uint64_t round_pages;     /* pages of the round in flight */
    uint64_t sent_pages;      /* pages of the finished rounds */
    double rate_bps;
    unsigned slow_rounds; /* rounds in a row that did not halve */
    unsigned stuck_steps; /* throttle steps taken */
    int throttle_pct;
    int forced_abort;    /* cancel or timeout asked to stop */
    uint64_t disk_bytes; /* block migration: what the last pass will send */
    uint64_t round_disk; /* the disk bytes of the round in flight */
};

void policy_init(struct policy *p, const struct policy_cfg *cfg);
/*
 * What the final copy may take, in ms: --max-downtime less the floor, at
 * least POLICY_MIN_COPY_SHARE of the larger of the two.
 */
double policy_copy_budget_ms(const struct policy_cfg *cfg);
/*
 * One callback: iteration and dirty count (-1 after a batch) as
 * libxenguest passes them, now in seconds (any monotonic origin).  Fills
 * ev and returns its action.  libxenguest's own total of pages written
 * counts the holes of the first pass too, so the policy counts sent pages
 * itself (capped at the guest's size).
 */
enum policy_action policy_step(struct policy *p, unsigned iteration,
                               long dirty_count, double now,
                               struct policy_event *ev);
/*
 * Block migration: the bytes of disk blocks the final pass would send if
 * the guest stopped now (the last era's).  Disk and memory share the link
 * and the budget: they join the dirty pages in the expected downtime.
 */
void policy_set_disk(struct policy *p, uint64_t bytes);
/* Makes the next step abort (cancel, timeout). */
void policy_abort(struct policy *p);
const char *policy_action_name(enum policy_action a);

#endif
