/*
 * anatomy.c - the downtime's phases: bookkeeping, JSON and one line of
 * text.  Pure: the sender's marks and the target's intervals come in,
 * nothing here reads a clock.
 */
#include <stdio.h>
#include <string.h>

#include "config/diag.h"
#include "wire/anatomy.h"
#include "wire/json.h"

static const char *const phase_keys[ANAT_NPHASES] = {
    "suspend_ms", "final_copy_ms", "end_ms",  "restore_ms",
    "rename_ms",  "go_ms",         "start_ms"};
static const char *const phase_text[ANAT_NPHASES] = {
    "suspend", "final copy", "END", "restore", "rename", "go", "start"};
static const char *const target_keys[ANAT_NTARGET] = {"restore_ms",
                                                      "go_wait_ms", "start_ms"};

void anat_init(struct anatomy *a)
{
    unsigned i;

    for (i = 0; i < ANAT_NPHASES; i++)
        a->ms[i] = -1;
    for (i = 0; i < ANAT_NTARGET; i++)
        a->target_ms[i] = -1;
}

void anat_from_marks(struct anatomy *a, const double at[ANAT_NMARKS])
{
    unsigned i;

    /* Phase i runs from mark i to mark i + 1. */
    for (i = 0; i < ANAT_NPHASES; i++)
        a->ms[i] =
            at[i] > 0 && at[i + 1] >= at[i] ? (at[i + 1] - at[i]) * 1000 : -1;
}

const char *anat_phase_key(enum anat_phase p)
{
    return (unsigned)p < ANAT_NPHASES ? phase_keys[p] : NULL;
}

const char *anat_target_key(enum anat_target t)
{
    return (unsigned)t < ANAT_NTARGET ? target_keys[t] : NULL;
}

double anat_total_ms(const struct anatomy *a)
{
    double sum = 0;
    unsigned i;

    for (i = 0; i < ANAT_NPHASES; i++)
        if (a->ms[i] >= 0) sum += a->ms[i];
    return sum;
}

int anat_known(const struct anatomy *a)
{
    unsigned i;

    for (i = 0; i < ANAT_NPHASES; i++)
        if (a->ms[i] >= 0) return 1;
    for (i = 0; i < ANAT_NTARGET; i++)
        if (a->target_ms[i] >= 0) return 1;
    return 0;
}

void anat_json(yajl_gen g, const struct anatomy *a)
{
    unsigned i, target = 0;

    if (!g) return;
    json_str(g, "anatomy");
    yajl_gen_map_open(g);
    for (i = 0; i < ANAT_NPHASES; i++)
        if (a->ms[i] >= 0) json_kv_num(g, phase_keys[i], a->ms[i]);
    json_kv_num(g, "total_ms", anat_total_ms(a));
    for (i = 0; i < ANAT_NTARGET; i++)
        target |= a->target_ms[i] >= 0;
    if (target) {
        json_str(g, "target");
        yajl_gen_map_open(g);
        for (i = 0; i < ANAT_NTARGET; i++)
            if (a->target_ms[i] >= 0)
                json_kv_num(g, target_keys[i], a->target_ms[i]);
        yajl_gen_map_close(g);
    }
    yajl_gen_map_close(g);
}

/* A member that is a number >= 0, else -1. */
static double get_ms(yajl_val obj, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v = obj ? yajl_tree_get(obj, path, yajl_t_number) : NULL;

    return v && YAJL_GET_DOUBLE(v) >= 0 ? YAJL_GET_DOUBLE(v) : -1;
}

void anat_from_json(yajl_val obj, struct anatomy *a)
{
    const char *path[] = {"target", NULL};
    yajl_val t = obj ? yajl_tree_get(obj, path, yajl_t_object) : NULL;
    unsigned i;

    anat_init(a);
    if (!obj || !YAJL_IS_OBJECT(obj)) return;
    for (i = 0; i < ANAT_NPHASES; i++)
        a->ms[i] = get_ms(obj, phase_keys[i]);
    for (i = 0; i < ANAT_NTARGET; i++)
        a->target_ms[i] = get_ms(t, target_keys[i]);
}

/* "12 ms", or "0.4 ms" below 10, where a tenth still means something. */
static void put_ms(char *dst, size_t len, double ms)
{
    diag_appendf(dst, len, ms < 10 ? "%.1f ms" : "%.0f ms", ms);
}

/* " (target T + W on the way)" for a phase the target measured part of. */
static void put_split(char *dst, size_t len, double seen, double target)
{
    if (target < 0) return;
    diag_appendf(dst, len, " (target ");
    put_ms(dst, len, target);
    if (seen >= target) {
        diag_appendf(dst, len, " + ");
        put_ms(dst, len, seen - target);
        diag_appendf(dst, len, " on the way");
    }
    diag_appendf(dst, len, ")");
}

int anat_format(const struct anatomy *a, char *dst, size_t len)
{
    unsigned i, n = 0;

    if (len) dst[0] = 0;
    if (!len || !anat_known(a)) return 0;
    for (i = 0; i < ANAT_NPHASES; i++) {
        if (a->ms[i] < 0) continue;
        diag_appendf(dst, len, "%s%s ", n++ ? ", " : "", phase_text[i]);
        put_ms(dst, len, a->ms[i]);
        if (i == ANAT_RESTORE)
            put_split(dst, len, a->ms[i], a->target_ms[ANAT_T_RESTORE]);
        if (i == ANAT_START)
            put_split(dst, len, a->ms[i], a->target_ms[ANAT_T_START]);
    }
    if (n) {
        diag_appendf(dst, len, "; total ");
        put_ms(dst, len, anat_total_ms(a));
    }
    return (int)strlen(dst);
}

/* --- the target's side ---------------------------------------------------- */

int anat_rx_line(struct anat_rx *rx, const char *line, long long now_us,
                 long long fed_last_us, unsigned long long fed_bytes)
{
    if (strstr(line, "migration target: Transfer complete")) {
        rx->received_us = now_us;
        rx->end_us = fed_last_us;
        rx->bytes_at_received = fed_bytes;
        return 1;
    }
    if (strstr(line, "migration target: Got permission")) {
        rx->go_us = now_us;
        /*
         * xl read "go" from the feeder: if the feeder had it already when
         * "received" was stamped, its last read then was "go", not the
         * stream's END, and the restore's start is unknown.
         */
        rx->end_valid = rx->received_us && fed_bytes > rx->bytes_at_received;
        return 1;
    }
    /* xl 4.17 spells it "successsfully"; a fixed xl may not. */
    if (strstr(line, "migration target: Domain started succ")) {
        rx->started_us = now_us;
        return 1;
    }
    return 0;
}

/* to - from when both are known and in order, else -1. */
static long long span(long long from, long long to)
{
    return from > 0 && to >= from ? to - from : -1;
}

void anat_rx_steps(const struct anat_rx *rx, long long us[ANAT_NTARGET])
{
    us[ANAT_T_RESTORE] = rx->end_valid ? span(rx->end_us, rx->received_us) : -1;
    us[ANAT_T_GO_WAIT] = span(rx->received_us, rx->go_us);
    us[ANAT_T_START] = span(rx->go_us, rx->started_us);
}
