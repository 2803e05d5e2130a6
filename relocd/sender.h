/*
 * sender.h - sending one guest to a target relocd (or into any xl
 * migrate-receive, given a connected stream): the worker's whole job.
 */
#ifndef RELOCD_SENDER_H
#define RELOCD_SENDER_H

#include <stdint.h>

#include "relocd/policy.h"
#include "wire/msg.h"

struct relocd_conf;

/* A migration to run, every default filled in (daemon.c). */
struct sender_req {
    char domain[128];
    char target[300];
    int port; /* 0: from the config */
    int ssl;  /* -1: xend-relocation-ssl */
    int live;
    int max_downtime_ms;
    int bandwidth_mbps; /* 0 = unlimited */
    enum converge on_stuck;
    int timeout_s; /* 0 = none */
    /*
     * Like xl migrate -s: when via_set, no relocd on the target; the
     * stream goes to `sh -c "exec VIA TARGET xl migrate-receive"`, or to
     * `sh -c TARGET` when via is "" (stock xl migrate-receive at the end).
     */
    int via_set;
    char via[256];
    int paused; /* the target leaves the guest paused (xl migrate -p) */
    /* --copy-storage: copy the disks; each maps[i].src goes to .dst */
    int copy_storage;
    unsigned nmaps;
    struct msg_disk_map maps[MSG_MAX_DISKS];
};

/* Where progress goes: one JSON object per call (without newline). */
typedef void (*sender_emit_fn)(void *data, const char *json);

/*
 * Sends the guest.  Returns 0 when it runs on the target (and is gone
 * here), 1 when it still runs here (refused, failed, cancelled); every
 * outcome is reported through emit with a final "result" event.
 */
int sender_run(const struct relocd_conf *conf, const struct sender_req *req,
               sender_emit_fn emit, void *emit_data);
/* Asynchronous cancel (from a signal handler): abort at the next step. */
void sender_cancel(void);

#endif
