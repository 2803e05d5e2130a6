/*
 * anatomy.h - where a migration's downtime goes (README.xen 5, issue 16):
 * the sender's instants on its own monotonic clock, the target's intervals
 * on its own, and the phases between them, for the result event, the
 * summary line and the bench.  Every duration is measured on one host, so
 * the two hosts' clocks never need to agree: what the sender sees of a
 * target step, less what the target measured of it, is the transit.
 */
#ifndef RELOCD_ANATOMY_H
#define RELOCD_ANATOMY_H

#include <stddef.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

/* The sender's instants, in the order they happen. */
enum anat_mark {
    ANAT_SUSPEND_REQ, /* libxenguest's suspend callback is entered */
    ANAT_SUSPENDED,   /* it returns: the guest is suspended */
    ANAT_SAVED,       /* xc_domain_save returned: last page, libxc END */
    ANAT_END_SENT,    /* libxl's END record written */
    ANAT_RECEIVED,    /* the target said "domain received" */
    ANAT_RENAMED,     /* the source is NAME--migratedaway */
    ANAT_GO_SENT,     /* "cleared to unpause" written */
    ANAT_RUNNING,     /* the target reported its unpause */
    ANAT_NMARKS
};

/* The phases: each from one mark to the next. */
enum anat_phase {
    ANAT_SUSPEND,    /* suspend requested -> guest suspended */
    ANAT_FINAL_COPY, /* the last round, vCPU state, libxc END */
    ANAT_END,        /* libxl END */
    ANAT_RESTORE,    /* END sent -> "domain received", seen from here */
    ANAT_RENAME,     /* renaming the source */
    ANAT_GO,         /* writing "cleared to unpause" */
    ANAT_START,      /* "go" sent -> the target's report, seen from here */
    ANAT_NPHASES
};

/* What the target measured on its clock (the ANATOMY frame, 3.6). */
enum anat_target {
    ANAT_T_RESTORE, /* the stream's last byte in -> "domain received" */
    ANAT_T_GO_WAIT, /* "domain received" -> "go" in */
    ANAT_T_START,   /* "go" in -> unpaused (xl's rename and unpause) */
    ANAT_NTARGET
};

/* Milliseconds; negative: not known (not reached, or an old peer). */
struct anatomy {
    double ms[ANAT_NPHASES];
    double target_ms[ANAT_NTARGET];
};

/*
 * The target's side, from what stock xl migrate-receive prints on its
 * stderr (tools/xl/xl_migrate.c migrate_receive()), each line stamped when
 * relocd read it, and the feeder's mark (gate.h) at that moment.
 */
struct anat_rx {
    long long end_us;      /* the feeder's last read before "received" */
    long long received_us; /* "Transfer complete, requesting permission" */
    long long go_us;       /* "Got permission, starting domain" */
    long long started_us;  /* "Domain started successsfully" */
    unsigned long long bytes_at_received;
    int end_valid; /* "go" came in after the snapshot: end_us is the END */
};

/*
 * One line of xl's stderr, read at now_us, when the feeder had read
 * fed_bytes, the last of them at fed_last_us.  Returns 1 when the line
 * marked an instant, else 0.
 */
int anat_rx_line(struct anat_rx *rx, const char *line, long long now_us,
                 long long fed_last_us, unsigned long long fed_bytes);
/* The target's intervals (enum anat_target order), -1 where unknown. */
void anat_rx_steps(const struct anat_rx *rx, long long us[ANAT_NTARGET]);

/* Everything unknown. */
void anat_init(struct anatomy *a);
/*
 * The phases from the sender's marks (clock_s() seconds, 0: not reached).
 * A phase is known when both its marks are and in order; the target's
 * intervals are left as they are.
 */
void anat_from_marks(struct anatomy *a, const double at[ANAT_NMARKS]);
/* "suspend_ms"..., "restore_ms"...: the JSON names; NULL out of range. */
const char *anat_phase_key(enum anat_phase p);
const char *anat_target_key(enum anat_target t);
/* The sum of the known phases: suspend requested to target running. */
double anat_total_ms(const struct anatomy *a);
/* 1 when any phase or target interval is known. */
int anat_known(const struct anatomy *a);
/*
 * Appends "anatomy":{...} to an open JSON object: the known phases,
 * total_ms, and "target":{...} when the target said anything.
 */
void anat_json(yajl_gen g, const struct anatomy *a);
/* The reverse, from a parsed "anatomy" object (NULL: all unknown). */
void anat_from_json(yajl_val obj, struct anatomy *a);
/*
 * One line for people: "suspend 120 ms, final copy 80 ms, ..., target
 * restore 400 ms (target 350 ms, transit 50 ms), ...".  Returns the
 * length snprintf would have written, or 0 when nothing is known.
 */
int anat_format(const struct anatomy *a, char *dst, size_t len);

#endif
