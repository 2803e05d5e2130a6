/*
 * storage.h - block migration on the source (`--copy-storage`, README.xen
 * 3.5): the guest's disks, each copied over a connection of its own
 * beside the memory stream, in step with memory's pre-copy rounds.
 *
 *   storage_new()       the disks of the guest's config, mapped
 *                       (--disk-map), opened read-only; the config the
 *                       target gets names the target's paths
 *   (PREFLIGHT with storage_preflight(), MIGRATE with storage_migrate())
 *   storage_connect()   a connection per disk, HELLO/READY, tracking on
 *   storage_pass()      before each memory round: pass 0, then the era
 *                       written since the previous pass
 *   (guest suspended)
 *   storage_finish()    the last era, DONE, each target's ACK
 *   storage_free()      on every path: tracking stopped, the source's
 *                       table restored, connections closed
 *
 * The source is never written: each disk is opened O_RDONLY and the
 * tracker only reloads the device's table (disktrack.h).
 */
#ifndef RELOCD_STORAGE_H
#define RELOCD_STORAGE_H

#include <stddef.h>
#include <stdint.h>

#include "relocd/diskid.h"
#include "wire/msg.h"

struct client_opts;
struct disktrack;
struct storage;
struct xen_guest;

/* Tracking blocks (dm-era's granularity) and the engine's idle limit. */
#define STORAGE_BLOCK (64 * 1024)
#define STORAGE_IDLE_MS 300000

/* A disk of the guest, as the config and the source know it. */
struct storage_disk_info {
    char vdev[16];
    char src[MSG_DISK_PATH_MAX]; /* pdev_path here */
    char dst[MSG_DISK_PATH_MAX]; /* pdev_path on the target */
    uint64_t size, allocated;
    char id[DISKID_MAX]; /* its kernel identity, "" when it has none */
};

/* What the copy did so far, summed over the disks. */
struct storage_stats {
    unsigned disks;      /* copied */
    unsigned shared;     /* left alone: the target sees the same storage */
    uint32_t passes;     /* of the disk with the most */
    uint64_t size;       /* the disks' sizes */
    uint64_t allocated;  /* what holds data on the sources */
    uint64_t data_bytes; /* sent as DATA */
    uint64_t zero_bytes; /* sent as ZERO */
    uint64_t wire_bytes; /* every frame */
    uint64_t era_bytes;  /* the last closed eras: the next pass's guess */
    uint64_t last_bytes; /* DATA bytes of the last pass sent */
    double last_pass_ms; /* how long it took */
    double close_ms;     /* of that: the disks' last era closes */
    double done_ms;      /* ... and their DONE to ACK (the targets' sync) */
};

/*
 * The disks of the libxl JSON config to copy (every writable disk with a
 * path, cdroms left out), each source path mapped by maps (nmaps; an
 * unmapped one keeps its path) and opened read-only.  NULL with a reason
 * in err: no disk, a disk not raw, a map that names no disk, a path JSON
 * would need to escape, a source that cannot be opened.
 */
struct storage *storage_new(const char *config, const struct msg_disk_map *maps,
                            unsigned nmaps, char *err, size_t errlen);
/* Ends tracking (restoring each device's table), closes all; NULL no-op. */
void storage_free(struct storage *st);

/* The guest's config with the target's paths (what both sides see). */
const char *storage_config(const struct storage *st);
unsigned storage_ndisks(const struct storage *st);
const struct storage_disk_info *storage_disk(const struct storage *st,
                                             unsigned i);
/* PREFLIGHT's disks, MIGRATE's tokens (fresh random ones). */
void storage_preflight(const struct storage *st, struct msg_preflight *m);
/*
 * PREFLIGHT_RESULT's shared disks (a bit per PREFLIGHT disk) leave the
 * copy: closed, and from now on counted in storage_nshared(), not in
 * storage_ndisks().  0, or -1 when shared names a disk that was not sent.
 */
int storage_leave_shared(struct storage *st, uint32_t shared);
unsigned storage_nshared(const struct storage *st);
const struct storage_disk_info *storage_shared_disk(const struct storage *st,
                                                    unsigned i);
int storage_migrate(struct storage *st, struct msg_migrate *m);

/*
 * Opens a tracker for each disk (the device-mapper node g's backend holds;
 * state in dir), a connection to the target with o (the same TLS or PSK
 * as the control connection), says MIGRATE "disk" with the disk's token,
 * HELLO, and starts tracking.  0, or -1 with a reason in err.
 */
int storage_connect(struct storage *st, struct xen_guest *g, const char *dir,
                    const struct client_opts *o, char *err, size_t errlen);
/* The connections' sockets (for a cancel to cut), -1 past the last. */
int storage_fd(const struct storage *st, unsigned i);

/* A pass on every disk: pass 0, or the era closed now.  0 or -1. */
int storage_pass(struct storage *st, char *err, size_t errlen);
/* The last pass (guest suspended), DONE, ACK.  0 or -1. */
int storage_finish(struct storage *st, char *err, size_t errlen);
/*
 * DONE and ACK without the last pass: only for README.xen 3.5's
 * demonstration that a copy missing the last era is caught.
 */
int storage_done(struct storage *st, char *err, size_t errlen);
/* Ends an era on every disk without sending it (the same demonstration). */
int storage_close(struct storage *st, char *err, size_t errlen);
/*
 * Ends tracking on every disk (each device's table restored) once no pass
 * is due.  0, or -1 with the first failure in err (it says how to put the
 * table back).
 */
int storage_untrack(struct storage *st, char *err, size_t errlen);
void storage_stats(const struct storage *st, struct storage_stats *s_r);

/*
 * What sender workers that died left tracked: each worker tracks in
 * era_root/PID (storage_connect's dir); every such directory whose
 * process is gone is undone (tables back, see disktrack_era_recover) and
 * removed, and each disk logged.  At start-up and when a worker ends.
 */
void storage_recover(const char *era_root);

/* disktrack_pick.c: the tracker for a disk (tests/net links a double). */
struct disktrack *disktrack_pick(const char *path, const char *node,
                                 const char *dir, uint64_t size, uint32_t block,
                                 char *err, size_t errlen);
/* ... and undoing what a dead one left of node's tracking in dir. */
int disktrack_restore(const char *dir, const char *node, char *err,
                      size_t errlen);

/*
 * The config text with each disk's pdev_path src replaced by dst (the
 * maps), for tests.  A malloc'd string, or NULL with a reason in err
 * (a map whose src is in no pdev_path, or in more than one).
 */
char *storage_rewrite(const char *config, const struct msg_disk_map *maps,
                      unsigned nmaps, char *err, size_t errlen);

#endif
