/*
 * dm.h - an HVM guest's device model during relocd's save (internal to
 * xen/): what libxl does around xc_domain_save for QEMU (libxl_dom_save.c,
 * libxl_dom_suspend.c, libxl_stream_write.c, Xen 4.17), for send.c.
 */
#ifndef RELOCD_XEN_DM_H
#define RELOCD_XEN_DM_H

#include <stddef.h>
#include <stdint.h>
#include <libxl.h>

enum xen_dm {
    XEN_DM_NONE,     /* PV, PVH: nothing to save besides libxenguest's */
    XEN_DM_QEMU_XEN, /* QEMU upstream in dom0: relocd's engine saves it */
    XEN_DM_OTHER,    /* qemu-traditional or a stub domain: libxl's save */
};

/*
 * Which device model the running domain has, as libxl decides at save
 * time (libxl__device_model_version_running: xenstore's
 * /libxl/DOMID/dm-version; a stub domain: libxl_get_stubdom_id).
 */
enum xen_dm xen_dm_kind(libxl_ctx *ctx, uint32_t domid, int hvm);

/*
 * QEMU's own log-dirty (the pages its emulated devices write), on or off:
 * QMP xen-set-global-dirty-log on libxl's socket, under libxl's lock of
 * it, within 10 s as libxl.  Returns 0, or -1 with a reason in err.
 */
int xen_dm_logdirty(libxl_ctx *ctx, uint32_t domid, int enable, char *err,
                    size_t errlen);

/*
 * Removes a device-model state file left by an earlier save, so that
 * only the one this save makes can be sent.
 */
void xen_dm_forget(uint32_t domid);

/*
 * After libxenguest's data, with the guest suspended and QEMU stopped
 * and saved (libxl_domain_suspend_only does both for HVM): writes
 * libxl's EMULATOR_XENSTORE_DATA record (QEMU's physmap keys, when there
 * are any) and EMULATOR_CONTEXT record (QEMU's saved state) to fd, as
 * libxl's stream writer does, then removes the state file.  Returns 0,
 * or -1 with a reason in err.
 */
int xen_dm_put_records(uint32_t domid, int fd, char *err, size_t errlen);

#endif
