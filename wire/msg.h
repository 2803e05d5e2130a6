/*
 * msg.h - the JSON control messages of the relocd protocol (README.xen 3.1),
 * encoded into frames and decoded from untrusted frames into fixed structs.
 *
 * msg_put_*() append one frame to a buffer and return 0 or -1 (errno).
 * msg_get_*() return PERR_OK, or PERR_BAD_MESSAGE with a reason in why.
 */
#ifndef RELOCD_MSG_H
#define RELOCD_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "config/converge.h"
#include "wire/proto.h"

struct buf;

struct msg_hello {
    int version, min_version;
    char software[128];
    char host[256];
};

struct msg_error {
    enum proto_err code;
    char message[1024];
};

/*
 * The guest's CPU policy as libxenguest serialises it (xen_cpuid_leaf_t,
 * xen_msr_entry_t), for the target to hold against what its Xen can offer
 * before anything moves.  Bounds: Xen 4.17 serialises ~100 leaves, 1 MSR.
 */
#define MSG_MAX_CPUID_LEAVES 512
#define MSG_MAX_MSRS 64
struct msg_cpuid_leaf {
    uint32_t leaf, subleaf, a, b, c, d;
};
struct msg_msr {
    uint32_t idx, flags;
    uint64_t val;
};
struct msg_cpu_policy {
    unsigned nleaves, nmsrs;
    struct msg_cpuid_leaf leaves[MSG_MAX_CPUID_LEAVES];
    struct msg_msr msrs[MSG_MAX_MSRS];
};

/*
 * --copy-storage (README.xen 3.5): the disks the target is to create, as
 * PREFLIGHT's optional "disks" names them ({"path","size","allocated"}):
 * the path in the config sent, the size in bytes (a multiple of 512) and
 * how many of them hold data on the source (what the copy will allocate).
 */
#define MSG_MAX_DISKS 8
#define MSG_DISK_PATH_MAX 256
#define MSG_DISK_SIZE_MAX (1ULL << 56)
#define MSG_DISK_ID_MAX 256
struct msg_disk {
    char path[MSG_DISK_PATH_MAX];
    uint64_t size;
    uint64_t allocated;
    /*
     * Optional "id" (since 0.x): the source disk's kernel identity
     * (relocd/diskid.h), "" when it has none or the sender is older.
     */
    char id[MSG_DISK_ID_MAX];
};

struct msg_preflight {
    char *config; /* libxl JSON text, malloc'd: msg_preflight_clear() */
    int live;
    int local; /* not on the wire: the peer is this host (loopback) */
    /* NULL when the sender sent none; malloc'd: msg_preflight_clear() */
    struct msg_cpu_policy *cpu;
    unsigned ndisks; /* "disks": absent when 0 */
    struct msg_disk disks[MSG_MAX_DISKS];
};

#define MSG_MAX_CHECKS 16
struct msg_check {
    char check[32];
    int ok;
    char message[512];
};

struct msg_preflight_result {
    int ok;
    /*
     * Optional members "free_kb" and "need_kb" (since 0.x; older servers
     * send neither): Xen's free memory on the target and what this guest
     * would take of it, for xl-relocate evacuate's placement.  mem_known
     * 0: not told (nothing is sent, and a missing pair decodes as 0).
     */
    int mem_known;
    uint64_t free_kb, need_kb;
    /*
     * Optional "shared" (since 0.x): the indices of PREFLIGHT's disks that
     * the target sees as the same storage; those are not copied.  A bit
     * per disk; absent (an older server) is 0, all copied.
     */
    uint32_t shared;
    unsigned nchecks;
    struct msg_check checks[MSG_MAX_CHECKS];
};

#define MSG_MAX_FLAGS 8
#define MSG_TOKEN_LEN 32
struct msg_migrate {
    char mode[32];
    unsigned nflags;
    char flags[MSG_MAX_FLAGS][16];
    /*
     * Optional "anatomy" (since 0.x): the client wants an ANATOMY frame
     * after the stream phase.  Servers before it ignore the member and
     * send none; 0 when absent.
     */
    int anatomy;
    /*
     * Optional "disks" (README.xen 3.5): with mode "xl-stream", one token
     * for each disk of the last PREFLIGHT, in its order, which binds the
     * disk connections to this migration; with mode "disk", exactly one,
     * the token of the disk this connection carries.  32 hex digits.
     */
    unsigned ntokens;
    char tokens[MSG_MAX_DISKS][MSG_TOKEN_LEN + 1];
};

/*
 * ANATOMY: the server's downtime phases on its own clock, in microseconds
 * (README.xen 3.6); each member is optional, MSG_ANATOMY_UNKNOWN when the
 * server could not tell.  Bounded to a day: anything longer is a lie.
 */
enum msg_anatomy_step {
    MSG_ANAT_RESTORE, /* "restore_us": the stream's last byte in ->
                         "domain received" */
    MSG_ANAT_GO_WAIT, /* "go_wait_us": "domain received" -> "go" in */
    MSG_ANAT_START,   /* "start_us": "go" in -> unpaused */
    MSG_ANAT_NSTEPS
};
#define MSG_ANATOMY_UNKNOWN (-1LL)
#define MSG_ANATOMY_MAX_US (86400LL * 1000000)
struct msg_anatomy {
    long long us[MSG_ANAT_NSTEPS];
};

int msg_put_hello(struct buf *out, const struct msg_hello *m);
int msg_put_error(struct buf *out, enum proto_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int msg_put_preflight(struct buf *out, const struct msg_preflight *m);
int msg_put_preflight_result(struct buf *out,
                             const struct msg_preflight_result *m);
int msg_put_migrate(struct buf *out, const struct msg_migrate *m);
int msg_put_accept(struct buf *out);
int msg_put_anatomy(struct buf *out, const struct msg_anatomy *m);

enum proto_err msg_get_hello(const struct proto_frame *f, struct msg_hello *m,
                             char *why, size_t whylen);
enum proto_err msg_get_error(const struct proto_frame *f, struct msg_error *m,
                             char *why, size_t whylen);
enum proto_err msg_get_preflight(const struct proto_frame *f,
                                 struct msg_preflight *m, char *why,
                                 size_t whylen);
enum proto_err msg_get_preflight_result(const struct proto_frame *f,
                                        struct msg_preflight_result *m,
                                        char *why, size_t whylen);
enum proto_err msg_get_migrate(const struct proto_frame *f,
                               struct msg_migrate *m, char *why, size_t whylen);
enum proto_err msg_get_accept(const struct proto_frame *f, char *why,
                              size_t whylen);
enum proto_err msg_get_anatomy(const struct proto_frame *f,
                               struct msg_anatomy *m, char *why, size_t whylen);

/* --disk-map SRC=DST: the source's disk path, the target's. */
struct msg_disk_map {
    char src[MSG_DISK_PATH_MAX];
    char dst[MSG_DISK_PATH_MAX];
};

/*
 * A migration request on the control socket, as xl-relocate sends it.  What
 * the user did not choose is left out, and the daemon fills it in from its
 * own (SIGHUP-reloaded) configuration.
 */
struct msg_ctl_migrate {
    char domain[128];
    char target[300];
    int port; /* 0: xend-relocation-port or relocd-tls-port */
    int ssl;  /* -1: xend-relocation-ssl */
    int live;
    int max_downtime_ms; /* 0: relocd-max-downtime */
    int bandwidth_mbps;  /* -1: relocd-bandwidth; 0 = unlimited */
    int converge_set;    /* 0: relocd-on-no-converge */
    enum converge on_no_converge;
    int timeout_s; /* 0 = none */
    /*
     * Like xl migrate -s: when via_set, no relocd on the target; the
     * stream goes to `sh -c "exec VIA TARGET xl migrate-receive"`, or to
     * `sh -c TARGET` when via is "" (stock xl migrate-receive at the end).
     */
    int via_set;
    char via[256];
    int paused; /* --paused: the target leaves the guest paused (xl -p) */
    /* --copy-storage and its --disk-map SRC=DST pairs (unmapped: same) */
    int copy_storage;
    unsigned nmaps;
    struct msg_disk_map maps[MSG_MAX_DISKS];
};

/* Control socket: a migration request, a cancel, and events (raw JSON). */
int msg_put_ctl_migrate(struct buf *out, const struct msg_ctl_migrate *r);
enum proto_err msg_get_ctl_migrate(const struct proto_frame *f,
                                   struct msg_ctl_migrate *r, char *why,
                                   size_t whylen);
int msg_put_ctl_cancel(struct buf *out, int id);
enum proto_err msg_get_ctl_cancel(const struct proto_frame *f, int *id_r,
                                  char *why, size_t whylen);
/* An event: any JSON object text, framed as it is. */
int msg_put_ctl_event(struct buf *out, const char *json);

void msg_preflight_clear(struct msg_preflight *m);
/* 1 when t is a disk token (MSG_TOKEN_LEN lowercase hex digits), else 0. */
int msg_token_ok(const char *t);
/* Adds a check to a result; a failed check makes the whole result fail. */
void msg_check_add(struct msg_preflight_result *r, const char *check, int ok,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

#endif
