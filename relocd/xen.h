/*
 * xen.h - the only door from relocd to Xen.  relocd/xen*.c implement it with
 * libxl/libxenctrl; tests/net links a test double instead, so everything
 * else in relocd runs and is tested without a hypervisor.
 */
#ifndef RELOCD_XEN_H
#define RELOCD_XEN_H

#include <stddef.h>
#include <sys/types.h>

struct msg_preflight;
struct msg_preflight_result;

/*
 * Target-side checks for a guest described by its libxl JSON config,
 * touching nothing: free memory, Xen capabilities, guest type support
 * (live PV needs shadow paging), name/UUID clash, disks and bridges.
 * Fills res (res->ok is 0 when any check failed) and the guest's name.  Returns 0, or -1 when
 * the checks could not run at all (message in res as check "internal").
 */
int xen_preflight(const struct msg_preflight *req,
                  struct msg_preflight_result *res, char *name_r,
                  size_t namelen);

/*
 * Starts the receiver (`xl migrate-receive FLAGS`) with fd as its stdin and
 * stdout.  flags were validated by the caller.  Returns the pid, or -1.
 */
pid_t xen_receive_start(int fd, char *const flags[], unsigned nflags);

/*
 * After a failed receive: destroys what the receiver may have left behind
 * (a paused NAME--incoming).  name may be NULL when unknown.
 */
void xen_receive_cleanup(const char *name);

#endif
