/*
 * test_admit.c - the parent's admission: pending limits, early drop, the
 * refusal log's rate limit, and per-source penalties.
 */
#include <stdio.h>
#include <string.h>

#include "relocd/admit.h"
#include "t.h"

static const struct admit_limits lim = {16, 4, 8, 30};

static void test_hard_limits(void)
{
    T_EQ_INT(admit_decide(&lim, 0, 0, 0, 0), ADMIT_OK);
    T_EQ_INT(admit_decide(&lim, 16, 0, 0, 99), ADMIT_FULL);
    T_EQ_INT(admit_decide(&lim, 3, 4, 1, 99), ADMIT_HOST);
    T_EQ_INT(admit_decide(&lim, 3, 4, 0, 99), ADMIT_HOST);
    /* Outsiders filling relocd-max-pending do not lock out a listed peer. */
    T_EQ_INT(admit_decide(&lim, 16, 0, 1, 99), ADMIT_OK);
    T_EQ_INT(admit_decide(&lim, 40, 3, 1, 0), ADMIT_OK);
    T_EQ_INT(admit_decide(&lim, 3, 3, 0, 0), ADMIT_OK);
}

static void test_early_drop_is_openssh_s(void)
{
    unsigned r, dropped = 0;

    /* Below start nothing, at start rate %, halfway 65 %. */
    for (r = 0; r < 100; r++)
        dropped += admit_decide(&lim, 7, 0, 0, r) == ADMIT_DROP;
    T_EQ_INT(dropped, 0);
    for (dropped = 0, r = 0; r < 100; r++)
        dropped += admit_decide(&lim, 8, 0, 0, r) == ADMIT_DROP;
    T_EQ_INT(dropped, 30);
    for (dropped = 0, r = 0; r < 100; r++)
        dropped += admit_decide(&lim, 12, 0, 0, r) == ADMIT_DROP;
    T_EQ_INT(dropped, 65);
    /* Nor is an address the allow-list admits by itself dropped. */
    for (dropped = 0, r = 0; r < 100; r++)
        dropped += admit_decide(&lim, 15, 0, 1, r) != ADMIT_OK;
    T_EQ_INT(dropped, 0);
}

static void test_no_drop_when_start_is_full(void)
{
    struct admit_limits l = {4, 4, 4, 100};

    T_EQ_INT(admit_decide(&l, 3, 0, 0, 0), ADMIT_OK);
    T_EQ_INT(admit_decide(&l, 4, 0, 0, 99), ADMIT_FULL);
}

static void test_log_one_line_per_host(void)
{
    static struct admit_log al;
    unsigned n, secs, i, lines = 0;

    for (i = 0; i < 1000; i++)
        lines += admit_log_note(&al, "192.0.2.1", 1000 + i);
    T_EQ_INT(lines, 1);
    T_EQ_INT(admit_log_note(&al, "192.0.2.2", 2000), 1);
    /* The same host again after ADMIT_LOG_HOST_S. */
    T_EQ_INT(admit_log_note(&al, "192.0.2.1", 1000 + ADMIT_LOG_HOST_S * 1000),
             1);
    T_EQ_INT(admit_log_summary(&al, 30000, &n, &secs), 0);
    T_EQ_INT(
        admit_log_summary(&al, 1000 + ADMIT_LOG_SUMMARY_S * 1000, &n, &secs),
        1);
    T_EQ_INT(n, 1002);
    T_EQ_INT(secs, ADMIT_LOG_SUMMARY_S);
    T_EQ_INT(admit_log_summary(&al, 200000, &n, &secs), 0);
}

static void test_log_burst_of_many_hosts(void)
{
    static struct admit_log al;
    unsigned i, lines = 0, n, secs;
    char ip[64];

    for (i = 0; i < 500; i++) {
        snprintf(ip, sizeof(ip), "198.51.100.%u", i % 250);
        lines += admit_log_note(&al, ip, 5000);
    }
    T_EQ_INT(lines, ADMIT_LOG_BURST);
    T_EQ_INT(
        admit_log_summary(&al, 5000 + ADMIT_LOG_SUMMARY_S * 1000, &n, &secs),
        1);
    T_EQ_INT(n, 500);
}

/* A few failures (a wrong key) refuse nothing; a flood is refused. */
static void test_penalty_after_repeated_failures(void)
{
    static struct admit_penalties p;
    long long now = 100000;
    int i, admitted = 0;

    for (i = 0; i < ADMIT_PENALTY_MIN_MS / ADMIT_PENALTY_MS - 1; i++)
        T_EQ_INT(admit_penalize(&p, "192.0.2.6", now), 0);
    T_EQ_INT(admit_penalty_left(&p, "192.0.2.6", now), 0);
    /* The refusing starts, and is to be logged once. */
    T_EQ_INT(admit_penalize(&p, "192.0.2.6", now), 1);
    T_EQ_INT(admit_penalty_left(&p, "192.0.2.6", now), ADMIT_PENALTY_MIN_MS);
    /* Another address is not touched. */
    T_EQ_INT(admit_penalty_left(&p, "192.0.2.1", now), 0);
    /* A source failing every time it gets in: one session per 2 s. */
    for (i = 0; i < 60000; i += 10) {
        if (admit_penalty_left(&p, "192.0.2.6", now + i)) continue;
        admitted++;
        admit_penalize(&p, "192.0.2.6", now + i);
    }
    T_EQ_INT(admitted, 60000 / ADMIT_PENALTY_MS);
    /* Logged again only after the penalty ran out completely. */
    T_EQ_INT(admit_penalize(&p, "192.0.2.6", now + 60000), 0);
    for (i = 0; i < 5; i++)
        admit_penalize(&p, "192.0.2.6", now + 200000);
    T_EQ_INT(admit_penalize(&p, "192.0.2.6", now + 200000), 0);
}

static void test_penalty_capped_and_runs_down(void)
{
    static struct admit_penalties p;
    int i;

    for (i = 0; i < 1000; i++)
        admit_penalize(&p, "2001:db8::6", 0);
    T_EQ_INT(admit_penalty_left(&p, "2001:db8::6", 0), ADMIT_PENALTY_MAX_MS);
    T_EQ_INT(
        admit_penalty_left(&p, "2001:db8::6",
                           ADMIT_PENALTY_MAX_MS - ADMIT_PENALTY_MIN_MS + 1),
        0);
}

/* A flood of new addresses pushes out the mildest penalty, not a heavy one. */
static void test_penalty_table_keeps_the_worst(void)
{
    static struct admit_penalties p;
    char ip[64];
    int i;

    for (i = 0; i < ADMIT_PENALTY_MAX_MS / ADMIT_PENALTY_MS; i++)
        admit_penalize(&p, "192.0.2.66", 0);
    for (i = 0; i < 10 * ADMIT_PENALTY_HOSTS; i++) {
        snprintf(ip, sizeof(ip), "198.51.100.%d.%d", i / 250, i % 250);
        admit_penalize(&p, ip, 0);
    }
    T_EQ_INT(admit_penalty_left(&p, "192.0.2.66", 0), ADMIT_PENALTY_MAX_MS);
}

/*
 * The kernel drops a source from its penalty on until it has run down
 * completely (synfilter.h): below the minimum too, since no failure of
 * its can reach relocd meanwhile to extend it.
 */
static void test_penalty_dropped_until_run_down(void)
{
    static struct admit_penalties p;
    const char *ips[4];
    int i;

    for (i = 0; i < 4; i++)
        admit_penalize(&p, "192.0.2.7", 0);
    /* failing, not yet penalised */
    T_EQ_INT(admit_penalty_dropped(&p, 0, ips, 4), 0);
    admit_penalize(&p, "192.0.2.7", 0);
    admit_penalize(&p, "192.0.2.8", 0);
    T_EQ_INT(admit_penalty_dropped(&p, 0, ips, 4), 1);
    T_EQ_STR(ips[0], "192.0.2.7");
    /* refused at accept only while at the minimum, dropped to the end */
    T_EQ_INT(admit_penalty_left(&p, "192.0.2.7", 5000), 0);
    T_EQ_INT(admit_penalty_dropped(&p, 5000, ips, 4), 1);
    T_EQ_INT(admit_penalty_dropped(&p, 10000, ips, 4), 0);
    T_EQ_INT(admit_penalty_dropped(&p, 0, ips, 0), 0);
}

int main(void)
{
    test_hard_limits();
    test_early_drop_is_openssh_s();
    test_no_drop_when_start_is_full();
    test_log_one_line_per_host();
    test_log_burst_of_many_hosts();
    test_penalty_after_repeated_failures();
    test_penalty_capped_and_runs_down();
    test_penalty_table_keeps_the_worst();
    test_penalty_dropped_until_run_down();
    return t_done("test_admit");
}
