/*
 * admit.h - the parent's admission of a new connection, before any session
 * exists: pending limits (total, per host, random early drop as OpenSSH's
 * MaxStartups start:rate:full) and a rate-limited log of refusals.  No I/O,
 * no clock, no randomness of its own: the caller passes them in.
 */
#ifndef RELOCD_ADMIT_H
#define RELOCD_ADMIT_H

enum admit_verdict {
    ADMIT_OK,
    ADMIT_FULL,    /* relocd-max-pending sessions are pending */
    ADMIT_HOST,    /* relocd-max-pending-per-host from this address */
    ADMIT_DROP,    /* random early drop between drop-start and full */
    ADMIT_PENALTY, /* its sessions kept failing before authentication */
};

struct admit_limits {
    unsigned full;       /* relocd-max-pending */
    unsigned per_host;   /* relocd-max-pending-per-host */
    unsigned drop_start; /* relocd-pending-drop-start */
    unsigned drop_rate;  /* relocd-pending-drop-rate, percent */
};

/* A source logs one line per this many seconds ... */
#define ADMIT_LOG_HOST_S 10
/* ... and all sources together at most this many lines per summary. */
#define ADMIT_LOG_BURST 10
#define ADMIT_LOG_SUMMARY_S 60
#define ADMIT_LOG_HOSTS 64

struct admit_log_host {
    char ip[64];
    long long last_ms; /* when a line was last logged for it */
};

struct admit_log {
    struct admit_log_host host[ADMIT_LOG_HOSTS];
    unsigned next;       /* the slot a new source replaces */
    long long window_ms; /* start of the summary window; 0: none */
    unsigned refused;    /* in the window */
    unsigned logged;     /* lines in the window */
};

/*
 * Per-source penalties (OpenSSH 9.8's PerSourcePenalties, "noauth"): each
 * session of an address that fails before it authenticates (garbage, a
 * failed or timed-out handshake, a refused peer) adds ADMIT_PENALTY_MS to
 * the address's penalty; once that reaches ADMIT_PENALTY_MIN_MS ahead of
 * now, the parent refuses the address at accept, without forking a session
 * for it (the fork, the sandbox and the TLS attempt are what a flood of
 * bogus connections costs), until the penalty has run down.  Capped at
 * ADMIT_PENALTY_MAX_MS, OpenSSH's default maximum (600 s): since the
 * kernel drops a penalised source (synfilter.h), no failure extends its
 * penalty while it runs, so only a burst of failures before it (a flood's
 * idle connections judged at their deadline) reaches that far, while a
 * few failures (a wrong key) stay far below.  An address never penalises
 * another.
 */
#define ADMIT_PENALTY_MS 2000
#define ADMIT_PENALTY_MIN_MS 10000
#define ADMIT_PENALTY_MAX_MS 600000
#define ADMIT_PENALTY_HOSTS 256

struct admit_penalty_host {
    char ip[64];
    long long until_ms; /* penalised up to here; 0: a free slot */
    int told;           /* the refusing was logged; again once run down */
};

struct admit_penalties {
    struct admit_penalty_host host[ADMIT_PENALTY_HOSTS];
};

/* admit.c */

/*
 * The verdict for one more connection, with pending sessions in all and
 * from_host of them from its address.  exempt: the address alone is in the
 * allow-list; only the per-host cap applies to it, so no number of
 * outsiders can lock out a listed peer (and listed peers, each capped,
 * are few).  rnd is uniform in 0..99.
 */
enum admit_verdict admit_decide(const struct admit_limits *l, unsigned pending,
                                unsigned from_host, int exempt, unsigned rnd);

/* The reason for a refusal, for ERROR busy and the log. */
const char *admit_reason(enum admit_verdict v);

/*
 * Counts one refusal from ip at now_ms; returns 1 when it should be
 * logged, 0 when the log stays quiet (the summary counts it).
 */
int admit_log_note(struct admit_log *al, const char *ip, long long now_ms);

/*
 * Returns 1 when the summary window ended with refusals that were not all
 * logged, with their count and the window's length in seconds; the window
 * starts again.  0 when nothing is due.
 */
int admit_log_summary(struct admit_log *al, long long now_ms,
                      unsigned *refused_r, unsigned *secs_r);

/*
 * One session from ip failed before authenticating, at now_ms.  Returns
 * 1 when this starts the refusing of ip (to be logged: once until its
 * penalty has run down completely), else 0.
 */
int admit_penalize(struct admit_penalties *p, const char *ip, long long now_ms);

/*
 * The milliseconds ip stays refused (its penalty has reached the minimum
 * and not yet run down), or 0.
 */
long long admit_penalty_left(const struct admit_penalties *p, const char *ip,
                             long long now_ms);

/*
 * The addresses refused since their penalty reached the minimum, until it
 * has run down completely: the kernel drops their packets meanwhile
 * (synfilter.h), so no failure of theirs extends it.  At most cap, into
 * ips (pointers into p, in the table's order); returns how many.
 */
unsigned admit_penalty_dropped(const struct admit_penalties *p,
                               long long now_ms, const char **ips,
                               unsigned cap);

#endif
