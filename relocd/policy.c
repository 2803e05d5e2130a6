/*
 * policy.c - stop when the expected downtime is within the target.
 *
 * expected downtime = the target's floor (floor.h: suspend, restore,
 * commit) + the final copy: (pages still dirty * page size + the disk
 * blocks of the final pass, with --copy-storage) / measured link rate;
 * the policy stops when the copy fits in what the floor leaves of the
 * target.
 * The link rate is measured over each batch (between the call before and
 * the call after it), smoothed; the dirty rate is the dirty count divided
 * by the time of the round that produced it.  A guest "does not converge"
 * when two rounds in a row leave more than half of what the round before
 * sent (QEMU's auto-converge test); then the configured action applies:
 * throttle (CPU cap 50, 25, 10, 5 %, one step per further slow round;
 * forced stop when even 5 % does not help), force (stop now) or abort
 * (guest stays here).
 */
#include <string.h>

#include "relocd/policy.h"

static const int throttle_steps[] = {50, 25, 10, 5};
#define NTHROTTLE (sizeof(throttle_steps) / sizeof(throttle_steps[0]))
#define STUCK_ROUNDS 2

void policy_init(struct policy *p, const struct policy_cfg *cfg)
{
    memset(p, 0, sizeof(*p));
    p->cfg = *cfg;
}

double policy_copy_budget_ms(const struct policy_cfg *cfg)
{
    double budget = cfg->max_downtime_ms - cfg->floor_ms;
    double least = POLICY_MIN_COPY_SHARE * (cfg->floor_ms > cfg->max_downtime_ms
                                                ? cfg->floor_ms
                                                : cfg->max_downtime_ms);

    return budget > least ? budget : least;
}

void policy_abort(struct policy *p)
{
    p->forced_abort = 1;
}

void policy_set_disk(struct policy *p, uint64_t bytes)
{
    p->disk_bytes = bytes;
}

const char *policy_action_name(enum policy_action a)
{
    return a == POLICY_STOP    ? "stop-and-copy"
           : a == POLICY_ABORT ? "abort"
                               : "continue";
}

static enum policy_action decide(struct policy_event *ev, enum policy_action a,
                                 const char *why)
{
    ev->action = a;
    ev->why = why;
    return a;
}

/* After a batch: measure the link over it. */
static void policy_after(struct policy *p, double now)
{
    double dt = now - p->t_pre, rate;

    p->sent_pages += p->round_pages;
    if (dt <= 0 || !p->round_pages) return;
    rate = (double)p->round_pages * POLICY_PAGE_SIZE / dt;
    p->rate_bps = p->rate_bps ? 0.5 * p->rate_bps + 0.5 * rate : rate;
}

/* Non-convergence: the configured answer, one step at a time. */
static enum policy_action policy_stuck(struct policy *p,
                                       struct policy_event *ev)
{
    switch (p->cfg.on_stuck) {
    case CONVERGE_ABORT:
        return decide(ev, POLICY_ABORT, "not converging: abort as asked");
    case CONVERGE_FORCE:
        return decide(ev, POLICY_STOP, "not converging: forced stop");
    case CONVERGE_THROTTLE:
        break;
    }
    if (p->stuck_steps >= NTHROTTLE)
        return decide(ev, POLICY_STOP,
                      "not converging at the lowest "
                      "throttle: forced stop");
    p->throttle_pct = throttle_steps[p->stuck_steps++];
    ev->throttle_pct = p->throttle_pct;
    return decide(ev, POLICY_CONTINUE, "not converging: throttling");
}

/*
 * QEMU's auto-converge test: a round whose dirty set is more than half of
 * what the previous round sent is not converging.  Two such rounds in a
 * row are the verdict; each further one counts again (one more throttle
 * step).  In bytes, memory and disk together: a disk written faster than
 * the link does not converge either, however idle the memory is.
 */
static int policy_is_stuck(struct policy *p, uint64_t prev, uint64_t dirty)
{
    if (dirty * 2 <= prev) {
        p->slow_rounds = 0;
        return 0;
    }
    return ++p->slow_rounds >= STUCK_ROUNDS;
}

/* Before a batch: the decision. */
static enum policy_action policy_before(struct policy *p, uint64_t dirty,
                                        double now, struct policy_event *ev)
{
    double round = now - p->t_pre, copy_ms;
    uint64_t prev = p->round_pages * POLICY_PAGE_SIZE + p->round_disk;

    p->t_prev_pre = p->t_pre;
    p->t_pre = now;
    p->round_pages = dirty;
    p->round_disk = p->disk_bytes;
    if (ev->iteration == 0 || !p->rate_bps)
        return decide(ev, POLICY_CONTINUE, "first pass");
    ev->dirty_pps = round > 0 ? (double)dirty / round : 0;
    ev->disk_bytes = p->disk_bytes;
    copy_ms = ((double)dirty * POLICY_PAGE_SIZE + (double)p->disk_bytes) *
              1000 / p->rate_bps;
    ev->expected_down_ms = p->cfg.floor_ms + copy_ms;
    if (copy_ms <= policy_copy_budget_ms(&p->cfg))
        return decide(ev, POLICY_STOP,
                      ev->expected_down_ms <= p->cfg.max_downtime_ms
                          ? "expected downtime within target"
                          : "the floor alone exceeds the target: "
                            "shortest copy");
    if (ev->iteration >= POLICY_MAX_ITERATIONS)
        return p->cfg.on_stuck == CONVERGE_ABORT
                   ? decide(ev, POLICY_ABORT, "too many rounds: abort")
                   : decide(ev, POLICY_STOP, "too many rounds: forced stop");
    if (policy_is_stuck(p, prev, dirty * POLICY_PAGE_SIZE + p->disk_bytes))
        return policy_stuck(p, ev);
    return decide(ev, POLICY_CONTINUE,
                  p->slow_rounds ? "dirty set not halving" : "converging");
}

enum policy_action policy_step(struct policy *p, unsigned iteration,
                               long dirty_count, double now,
                               struct policy_event *ev)
{
    uint64_t dirty = dirty_count < 0 ? 0 : (uint64_t)dirty_count;

    /* The first call counts the whole address space, holes included. */
    if (p->cfg.guest_pages && dirty > p->cfg.guest_pages)
        dirty = p->cfg.guest_pages;
    memset(ev, 0, sizeof(*ev));
    ev->iteration = iteration;
    ev->dirty_pages = dirty;
    ev->expected_down_ms = -1;
    ev->throttle_pct = p->throttle_pct;
    if (p->forced_abort) return decide(ev, POLICY_ABORT, "cancelled");
    if (dirty_count < 0) {
        policy_after(p, now);
        ev->sent_bytes = p->sent_pages * POLICY_PAGE_SIZE;
        ev->rate_bps = p->rate_bps;
        return decide(ev, POLICY_CONTINUE, "batch sent");
    }
    ev->rate_bps = p->rate_bps;
    ev->sent_bytes = p->sent_pages * POLICY_PAGE_SIZE;
    return policy_before(p, dirty, now, ev);
}
