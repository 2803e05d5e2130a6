/*
 * xen.h - the only door from relocd to Xen.  The files in xen/ implement it
 * with libxl/libxenctrl; tests/net links a test double instead, so
 * everything else in relocd runs and is tested without a hypervisor.
 */
#ifndef RELOCD_XEN_H
#define RELOCD_XEN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct msg_preflight;
struct msg_preflight_result;

/*
 * Target-side checks for a guest described by its libxl JSON config,
 * touching nothing: free memory, Xen capabilities, guest type support
 * (live PV needs shadow paging), name/UUID clash, disks and bridges
 * present.  What the guest may use in dom0 is the caller's check, outside
 * the Xen layer (relocd/guestpol.h), so the test double meets it too.
 * Fills res (res->ok is 0 when any check failed) and the guest's name.  Returns
 * 0, or -1 when the checks could not run at all (message in res as check
 * "internal").
 */
int xen_preflight(const struct msg_preflight *req,
                  struct msg_preflight_result *res, char *name_r,
                  size_t namelen);

/*
 * Starts the receiver (`xl migrate-receive FLAGS`) reading the stream from
 * in_fd and writing its side of xl's protocol to out_fd (the same fd, or
 * a pipe in and the socket out), its messages to err_fd (-1: ours).
 * flags were validated by the caller.  Returns the pid, or -1.
 */
pid_t xen_receive_start(int in_fd, int out_fd, int err_fd, char *const flags[],
                        unsigned nflags);

/*
 * The domain named name here: 1 and its domid in *domid, 0 when there is
 * none, -1 when Xen cannot be asked.  After the receiver exited, a domain
 * under the guest's own name (running, or paused with -p) is the sign
 * that xl's commit went through, unless it is the very domain that had
 * the name before the receive: the source's copy, when a guest moves
 * within one host.  xl migrate-receive's exit status does not say it: 0
 * after a failed unpause whose copy it destroyed, 1 when its report write
 * failed after the guest had started.
 */
int xen_domain_lookup(const char *name, uint32_t *domid);
/*
 * Whether the domain named name here has the disk at path: 1, 0 (no such
 * domain, or it has other disks), -1 when Xen cannot be asked.  A disk
 * copy a dead receive made is the guest's only when its domain uses it:
 * a domain of that name on another disk is the source's own copy, when a
 * guest moves within one host.
 */
int xen_disk_used_by(const char *name, const char *path);

/*
 * After a failed receive: destroys what the receiver may have left behind
 * (a paused NAME--incoming).  name may be NULL when unknown.
 */
void xen_receive_cleanup(const char *name);

/*
 * Whether a domain with this UUID ("xxxxxxxx-xxxx-...") exists here: 1, 0,
 * or -1 when Xen cannot be asked (callers then keep what they have).
 */
int xen_domain_uuid_exists(const char *uuid);

/* --- sending ------------------------------------------------------------- */

struct xen_guest;

/* The precopy hook's answer, libxenguest's XGS_POLICY_* by name. */
enum xen_precopy {
    XEN_PRECOPY_CONTINUE, /* another live round */
    XEN_PRECOPY_STOP,     /* suspend and copy what is left */
    XEN_PRECOPY_ABORT,    /* give up; the guest keeps running here */
};

struct xen_save_hooks {
    /* Before each batch of dirty_count pages, and after it (-1). */
    enum xen_precopy (*precopy)(void *data, unsigned iteration,
                                long dirty_count);
    /*
     * The downtime's first instants (anatomy.h), each hook optional:
     * suspending when the guest is asked to suspend, suspended right
     * after it is, saved when libxenguest has written its last record
     * (a plain stream has no callback between the last page and that).
     */
    void (*suspending)(void *data);
    void (*suspended)(void *data);
    void (*saved)(void *data);
    /*
     * Optional, after saved and before libxl's END record: the receiver
     * attaches the guest's disks only after END, so block migration's
     * last pass and its acknowledgement go here.  0, or -1 with a reason
     * in err: the save fails then (and the guest is resumed here).
     */
    int (*before_end)(void *data, char *err, size_t errlen);
    void *data;
};

/*
 * Opens the domain (name or domid) for sending: its libxl config as JSON
 * (as xl sends it), its name, size and type.  Returns NULL with a reason.
 */
struct xen_guest *xen_guest_open(const char *domain, char *err, size_t errlen);
void xen_guest_close(struct xen_guest *g);
const char *xen_guest_name(const struct xen_guest *g);
const char *xen_guest_config(const struct xen_guest *g);
unsigned long xen_guest_pages(const struct xen_guest *g);
/*
 * The guest's CPU policy as Xen holds it (what the target must be able to
 * offer), into p.  Returns 0, or -1 with a reason.
 */
struct msg_cpu_policy;
int xen_guest_cpu_policy(struct xen_guest *g, struct msg_cpu_policy *p,
                         char *err, size_t errlen);
/*
 * The device-mapper node that the backend holds for the guest's disk vdev
 * (xenstore's physical-device-path, /dev/mapper/NAME): NAME into node.
 * Returns 0, or -1 with a reason in err (no such disk, or the backend
 * holds something else: a loop device, a plain partition).
 */
int xen_guest_disk_node(struct xen_guest *g, const char *vdev, char *node,
                        size_t nodelen, char *err, size_t errlen);
/*
 * 1 for a guest our engine cannot save itself: HVM with a qemu-traditional
 * or stub-domain device model (QEMU upstream in dom0 is saved by relocd).
 */
int xen_guest_needs_libxl(const struct xen_guest *g);

/*
 * Writes the libxl v2 stream (header, LIBXC_CONTEXT, libxenguest's data,
 * for HVM QEMU's records, END) of the guest to fd: live with log-dirty and
 * hooks->precopy deciding when to stop, or offline (suspend first, no
 * log-dirty).  Returns 0 with the guest suspended, or -1 with the guest still
 * running (never suspended, or resumed) and a reason in err.
 */
int xen_guest_save(struct xen_guest *g, int fd, int live,
                   const struct xen_save_hooks *hooks, char *err,
                   size_t errlen);
/* libxl renames it (xenstore name, /vm/.../name, libxl's stored config). */
int xen_guest_rename(struct xen_guest *g, const char *name);
/* After a failed hand-over: resume the suspended guest here. */
int xen_guest_resume(struct xen_guest *g);
int xen_guest_destroy(struct xen_guest *g);
/* CPU cap in percent (credit2), 0 = back to what it was before. */
int xen_guest_throttle(struct xen_guest *g, int pct);
/* The domain id, which outlives renames (outgoing markers record it). */
unsigned xen_guest_domid(const struct xen_guest *g);

/* --- after a sender died (relocd/outgoing.c) ----------------------------- */

/* What Xen shows of a guest a dead sender held. */
enum xen_left {
    XEN_LEFT_GONE,      /* no domain domid under either name: destroyed */
    XEN_LEFT_RUNNING,   /* it exists and is not suspended */
    XEN_LEFT_SUSPENDED, /* shut down for suspend: it runs nowhere here */
};

/*
 * The domain domid, if it still bears name or away (a domid is reused only
 * after the domain died): its state into *state_r, its current name into
 * cur_r.  Returns 0, or -1 when Xen cannot be asked.
 */
int xen_guest_left(unsigned domid, const char *name, const char *away,
                   enum xen_left *state_r, char *cur_r, size_t curlen);
/*
 * xl's failed_resume for a suspended domain domid: renames it from away
 * back to name if needed, and resumes it (suspend_cancel).  Returns 0, or
 * -1 with a reason in err.  Callers check it is suspended first: resuming
 * a running guest would corrupt its state.
 */
int xen_guest_takeback(unsigned domid, const char *name, const char *away,
                       char *err, size_t errlen);

#endif
