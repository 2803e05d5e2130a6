/*
 * guestpol.h - what a received guest may use in dom0, checked in
 * pre-flight (README.xen 2.3).  The peer is authenticated, but it
 * still writes the libxl configuration that root's xl migrate-receive
 * creates the guest from: its disk paths are opened in dom0, its hotplug
 * scripts run as root there, its device-model and bootloader arguments
 * become a root command line.  So the target's admin decides:
 *
 *   disk      every disk's (and 9pfs share's) dom0 path: never one of
 *             dom0's own block devices (hostdev.h); with relocd-disk-allow
 *             only what its patterns match; without it any other block
 *             device, and no image file or directory
 *   script    every disk's and vif's hotplug script: in
 *             relocd-allow-scripts (default CONF_DEFAULT_SCRIPTS)
 *   device-model  device_model_args{,_pv,_hvm}, device_model_user,
 *             bootloader_args, and a device_model_override, stub domain
 *             image or bootloader other than the stock one: only with
 *             relocd-allow-device-model-args; so are an HVM serial port
 *             other than a pty and a channel socket (QEMU's, in dom0)
 *   passthrough  host PCI/USB/device-tree devices, I/O memory, ports and
 *             IRQs: never
 *
 * The config is read here, outside xen/, so the test double runs the same
 * checks; the libxl JSON field names are those of libxl_types.idl, 4.17.
 */
#ifndef RELOCD_GUESTPOL_H
#define RELOCD_GUESTPOL_H

#include <stddef.h>
#include <sys/stat.h>

struct hostdev;
struct msg_preflight_result;

struct guestpol_env {
    const char *disk_allow;     /* relocd-disk-allow, NULL: the default */
    const char *allow_scripts;  /* relocd-allow-scripts */
    int allow_dm_args;          /* relocd-allow-device-model-args */
    const struct hostdev *dom0; /* NULL: unknown, no block device passes */
    const char *dom0_err;       /* why dom0 is NULL */
    /* realpath(3) into real (PATH_MAX bytes) and stat(2); NULL: those */
    int (*resolve)(const char *path, char *real, struct stat *st);
};

/* guestpol.c */

/*
 * Checks the guest's libxl JSON config (len bytes) against env: a failed
 * check in res for each refusal, named "disk", "script",
 * "device-model" or "passthrough" with what and why, or one passed check
 * "host-access" (msg_check_add() keeps the first MSG_MAX_CHECKS; any refusal
 * fails res). A config that is no JSON object is left to the "config" check.
 */
void guestpol_check(const char *json, size_t len,
                    const struct guestpol_env *env,
                    struct msg_preflight_result *res);

#endif
