/*
 * test_anatomy.c - the downtime's phases: marks to phases, the target's
 * stamps of xl's messages, JSON both ways and the line for people.
 */
#include <stdlib.h>
#include <yajl/yajl_tree.h>

#include "tests/unit/t.h"
#include "wire/anatomy.h"
#include "wire/json.h"

static int near(double a, double b)
{
    return a - b < 1e-6 && b - a < 1e-6;
}

static void test_marks(void)
{
    double at[ANAT_NMARKS] = {10.0,   10.120, 10.200,  10.2001,
                              10.600, 10.610, 10.6101, 10.650};
    struct anatomy a;

    anat_init(&a);
    T_OK(!anat_known(&a), "nothing known at first");
    anat_from_marks(&a, at);
    T_OK(near(a.ms[ANAT_SUSPEND], 120), "suspend %f", a.ms[ANAT_SUSPEND]);
    T_OK(near(a.ms[ANAT_FINAL_COPY], 80), "copy %f", a.ms[ANAT_FINAL_COPY]);
    T_OK(near(a.ms[ANAT_RESTORE], 399.9), "restore %f", a.ms[ANAT_RESTORE]);
    T_OK(near(a.ms[ANAT_START], 39.9), "start %f", a.ms[ANAT_START]);
    T_OK(near(anat_total_ms(&a), 650), "total %f", anat_total_ms(&a));
    T_OK(a.target_ms[ANAT_T_RESTORE] < 0, "target untouched");

    /* A failed commit: the marks stop; what follows is unknown. */
    at[ANAT_RENAMED] = at[ANAT_GO_SENT] = at[ANAT_RUNNING] = 0;
    anat_from_marks(&a, at);
    T_OK(a.ms[ANAT_RESTORE] >= 0, "restore still known");
    T_OK(a.ms[ANAT_RENAME] < 0 && a.ms[ANAT_GO] < 0 && a.ms[ANAT_START] < 0,
         "unknown after the last mark");
    /* Marks out of order are not a phase. */
    at[ANAT_SAVED] = 9.0;
    anat_from_marks(&a, at);
    T_OK(a.ms[ANAT_FINAL_COPY] < 0, "out of order");
    T_EQ_STR(anat_phase_key(ANAT_FINAL_COPY), "final_copy_ms");
    T_OK(anat_phase_key(ANAT_NPHASES) == NULL, "out of range");
    T_EQ_STR(anat_target_key(ANAT_T_GO_WAIT), "go_wait_ms");
}

/* xl 4.17's messages, in the order migrate_receive() prints them. */
static void test_rx(void)
{
    struct anat_rx rx = {0};
    long long us[ANAT_NTARGET];

    T_EQ_INT(anat_rx_line(&rx, "migration target: Ready to receive domain.",
                          1000, 900, 54),
             0);
    T_EQ_INT(anat_rx_line(&rx,
                          "migration target: Transfer complete, requesting "
                          "permission to start domain.",
                          500000, 350000, 1000000),
             1);
    /* "go" (44 bytes) came in after that stamp: the END was the last. */
    T_EQ_INT(anat_rx_line(&rx,
                          "migration target: Got permission, starting "
                          "domain.",
                          520000, 519000, 1000044),
             1);
    T_EQ_INT(anat_rx_line(&rx,
                          "migration target: Domain started successsfully.",
                          560000, 519000, 1000044),
             1);
    anat_rx_steps(&rx, us);
    T_EQ_INT(us[ANAT_T_RESTORE], 150000);
    T_EQ_INT(us[ANAT_T_GO_WAIT], 20000);
    T_EQ_INT(us[ANAT_T_START], 40000);

    /* The stamp came after "go" was in: the feeder's last read was "go". */
    rx = (struct anat_rx){0};
    anat_rx_line(&rx, "migration target: Transfer complete, x", 500000, 499000,
                 1000044);
    anat_rx_line(&rx, "migration target: Got permission, starting domain.",
                 500100, 499000, 1000044);
    anat_rx_steps(&rx, us);
    T_EQ_INT(us[ANAT_T_RESTORE], -1);
    T_EQ_INT(us[ANAT_T_GO_WAIT], 100);
    T_EQ_INT(us[ANAT_T_START], -1);

    /* A receiver that failed early said none of it. */
    rx = (struct anat_rx){0};
    anat_rx_line(&rx, "migration target: Domain creation failed (code -3).", 1,
                 1, 1);
    anat_rx_steps(&rx, us);
    T_OK(us[0] < 0 && us[1] < 0 && us[2] < 0, "all unknown");
}

static void test_json(void)
{
    double at[ANAT_NMARKS] = {1.0, 1.1, 1.2, 1.2, 1.5, 1.51, 1.51, 1.55};
    struct anatomy a, b;
    const unsigned char *text;
    size_t len;
    yajl_gen g = json_begin();
    yajl_val root;
    const char *path[] = {"anatomy", NULL};
    char err[128];

    anat_init(&a);
    anat_from_marks(&a, at);
    a.target_ms[ANAT_T_RESTORE] = 250;
    a.target_ms[ANAT_T_START] = 30;
    anat_json(g, &a);
    T_EQ_INT(json_end(g, &text, &len), 0);
    T_OK(strstr((const char *)text, "\"target\":{\"restore_ms\":250") != NULL,
         "%s", text);
    T_OK(strstr((const char *)text, "go_wait_ms") == NULL, "unknown omitted");
    root = yajl_tree_parse((const char *)text, err, sizeof(err));
    T_OK(root != NULL, "%s", err);
    anat_from_json(yajl_tree_get(root, path, yajl_t_object), &b);
    T_OK(near(b.ms[ANAT_RESTORE], a.ms[ANAT_RESTORE]), "restore back");
    T_OK(near(b.target_ms[ANAT_T_START], 30), "target start back");
    T_OK(b.target_ms[ANAT_T_GO_WAIT] < 0, "unknown stays unknown");
    yajl_tree_free(root);
    json_free(g);

    /* Garbage reads as unknown, never as numbers. */
    root = yajl_tree_parse("{\"suspend_ms\":\"x\",\"end_ms\":-3,"
                           "\"target\":[1]}",
                           err, sizeof(err));
    anat_from_json(root, &b);
    T_OK(!anat_known(&b), "garbage is unknown");
    yajl_tree_free(root);
    anat_from_json(NULL, &b);
    T_OK(!anat_known(&b), "NULL is unknown");
}

static void test_format(void)
{
    struct anatomy a;
    char line[512], tiny[16];

    anat_init(&a);
    T_EQ_INT(anat_format(&a, line, sizeof(line)), 0);
    T_EQ_STR(line, "");
    a.ms[ANAT_SUSPEND] = 120.4;
    a.ms[ANAT_FINAL_COPY] = 80;
    a.ms[ANAT_END] = 0.04;
    a.ms[ANAT_RESTORE] = 400;
    a.ms[ANAT_RENAME] = 12;
    a.ms[ANAT_GO] = 0.1;
    a.ms[ANAT_START] = 40;
    a.target_ms[ANAT_T_RESTORE] = 350;
    a.target_ms[ANAT_T_START] = 45;
    anat_format(&a, line, sizeof(line));
    T_EQ_STR(line, "suspend 120 ms, final copy 80 ms, END 0.0 ms, restore "
                   "400 ms (target 350 ms + 50 ms on the way), rename 12 ms, "
                   "go 0.1 ms, start 40 ms (target 45 ms); total 653 ms");
    /* Truncated, still terminated. */
    anat_format(&a, tiny, sizeof(tiny));
    T_EQ_INT((long long)strlen(tiny), sizeof(tiny) - 1);
}

int main(void)
{
    test_marks();
    test_rx();
    test_json();
    test_format();
    return t_done("test_anatomy");
}
