/*
 * send.c - saving a guest into a stream with libxenguest, relocd's way:
 * xc_domain_save() called here, live with our precopy policy, framed as
 * libxl frames it (facts verified in the lab: ../shared/SENDER-FACTS.md).
 * libxl still does what it owns: config retrieval, suspend (with QEMU's
 * stop and state save for HVM), rename, resume, destroy and scheduler caps;
 * dm.c does the rest of what libxl does for QEMU.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libxl_utils.h>
#include <xenctrl.h>
#include <xenguest.h>
#include <xenstore.h>

#include "wire/buf.h"
#include "wire/fdio.h"
#include "wire/msg.h"
#include "wire/xlstream.h"
#include "xen/xen.h"
#include "xen/ctx.h"
#include "xen/dm.h"

struct xen_guest {
    libxl_ctx *ctx;
    xc_interface *xch;
    uint32_t domid;
    char *name, *json;
    unsigned long pages;
    int hvm, needs_libxl, vcpus, suspended;
    enum xen_dm dm;
    char *err; /* the save's reason buffer, for the callbacks */
    size_t errlen;
    libxl_domain_sched_params orig;
    int have_orig;
    const struct xen_save_hooks *hooks;
};

static int guest_config(struct xen_guest *g, char *err, size_t errlen)
{
    libxl_domain_config dc;
    int rc = -1;

    libxl_domain_config_init(&dc);
    if (libxl_retrieve_domain_configuration(g->ctx, g->domid, &dc, NULL)) {
        snprintf(err, errlen, "cannot read domain %u's configuration",
                 g->domid);
    } else if (dc.b_info.num_vnuma_nodes) {
        snprintf(err, errlen,
                 "%s has a vNUMA layout, which libxl cannot "
                 "migrate",
                 dc.c_info.name);
    } else {
        g->hvm = dc.c_info.type == LIBXL_DOMAIN_TYPE_HVM;
        g->vcpus = dc.b_info.max_vcpus ? dc.b_info.max_vcpus : 1;
        /* As xl: the receiver must not try to reuse our domid. */
        dc.c_info.domid = 0;
        g->name = strdup(dc.c_info.name);
        g->json = libxl_domain_config_to_json(g->ctx, &dc);
        rc = g->name && g->json ? 0 : -1;
        if (rc) snprintf(err, errlen, "out of memory");
    }
    libxl_domain_config_dispose(&dc);
    return rc;
}

struct xen_guest *xen_guest_open(const char *domain, char *err, size_t errlen)
{
    struct xen_guest *g = calloc(1, sizeof(*g));
    libxl_dominfo info;

    if (!g || !(g->ctx = xen_ctx_new()) || !(g->xch = xen_xch_open())) {
        snprintf(err, errlen, "cannot open the Xen control interfaces");
        goto fail;
    }
    if (libxl_domain_qualifier_to_domid(g->ctx, domain, &g->domid) ||
        g->domid == 0) {
        snprintf(err, errlen, "no guest domain '%s' here", domain);
        goto fail;
    }
    libxl_dominfo_init(&info);
    if (libxl_domain_info(g->ctx, &info, g->domid)) {
        snprintf(err, errlen, "domain %u vanished", g->domid);
        goto fail;
    }
    g->pages = (unsigned long)(info.current_memkb / 4);
    libxl_dominfo_dispose(&info);
    if (guest_config(g, err, errlen) < 0) goto fail;
    /* Every HVM guest of 4.17 has a device model; relocd saves QEMU
     * upstream in dom0 itself, and leaves the others to libxl. */
    g->dm = xen_dm_kind(g->ctx, g->domid, g->hvm);
    g->needs_libxl = g->dm == XEN_DM_OTHER;
    return g;
fail:
    xen_guest_close(g);
    return NULL;
}

void xen_guest_close(struct xen_guest *g)
{
    if (!g) return;
    if (g->xch) xc_interface_close(g->xch);
    free(g->json);
    free(g->name);
    xen_ctx_free(g->ctx);
    free(g);
}

const char *xen_guest_name(const struct xen_guest *g)
{
    return g->name;
}

const char *xen_guest_config(const struct xen_guest *g)
{
    return g->json;
}

unsigned long xen_guest_pages(const struct xen_guest *g)
{
    return g->pages;
}

int xen_guest_cpu_policy(struct xen_guest *g, struct msg_cpu_policy *p,
                         char *err, size_t errlen)
{
    xen_cpuid_leaf_t leaves[MSG_MAX_CPUID_LEAVES];
    xen_msr_entry_t msrs[MSG_MAX_MSRS];
    uint32_t nl = MSG_MAX_CPUID_LEAVES, nm = MSG_MAX_MSRS, i;
    xc_cpu_policy_t *pol = xc_cpu_policy_init();
    int rc = -1;

    if (!pol)
        snprintf(err, errlen, "out of memory");
    else if (xc_cpu_policy_get_domain(g->xch, g->domid, pol) ||
             xc_cpu_policy_serialise(g->xch, pol, leaves, &nl, msrs, &nm))
        snprintf(err, errlen, "reading domain %u's CPU policy: %s", g->domid,
                 strerror(errno));
    else
        rc = 0;
    xc_cpu_policy_destroy(pol);
    if (rc) return -1;
    p->nleaves = nl;
    p->nmsrs = nm;
    for (i = 0; i < nl; i++)
        p->leaves[i] = (struct msg_cpuid_leaf){
            leaves[i].leaf, leaves[i].subleaf, leaves[i].a,
            leaves[i].b,    leaves[i].c,       leaves[i].d};
    for (i = 0; i < nm; i++)
        p->msrs[i] = (struct msg_msr){msrs[i].idx, msrs[i].flags, msrs[i].val};
    return 0;
}

/* The backend's directory of the guest's disk vdev: 0 and its path. */
static int disk_backend(struct xs_handle *xs, uint32_t domid, const char *vdev,
                        char *path, size_t len)
{
    char base[128], p[192], *dev;
    char **ids;
    unsigned n = 0, i;
    int rc = -1;

    snprintf(base, sizeof(base), "/local/domain/0/backend/vbd/%u", domid);
    ids = xs_directory(xs, XBT_NULL, base, &n);
    for (i = 0; ids && i < n && rc < 0; i++) {
        snprintf(p, sizeof(p), "%s/%s/dev", base, ids[i]);
        dev = xs_read(xs, XBT_NULL, p, NULL);
        if (dev && !strcmp(dev, vdev) &&
            snprintf(path, len, "%s/%s", base, ids[i]) < (int)len)
            rc = 0;
        free(dev);
    }
    free(ids);
    return rc;
}

int xen_guest_disk_node(struct xen_guest *g, const char *vdev, char *node,
                        size_t nodelen, char *err, size_t errlen)
{
    struct xs_handle *xs = xs_open(XS_OPEN_READONLY);
    char dir[256], p[300], *phys = NULL;
    int rc = -1;

    if (!xs)
        snprintf(err, errlen, "cannot open xenstore: %s", strerror(errno));
    else if (disk_backend(xs, g->domid, vdev, dir, sizeof(dir)) < 0)
        snprintf(err, errlen, "%s has no disk %s served by dom0", g->name,
                 vdev);
    else if (snprintf(p, sizeof(p), "%s/physical-device-path", dir) >=
                 (int)sizeof(p) ||
             !(phys = xs_read(xs, XBT_NULL, p, NULL)))
        snprintf(err, errlen, "%s: no physical-device-path in xenstore", vdev);
    else if (strncmp(phys, "/dev/mapper/", 12) || !phys[12] ||
             strchr(phys + 12, '/'))
        snprintf(err, errlen,
                 "%s: the backend holds %s, not a device-mapper node, so "
                 "its writes cannot be tracked (README.xen 3.5)",
                 vdev, phys);
    else if (snprintf(node, nodelen, "%s", phys + 12) >= (int)nodelen)
        snprintf(err, errlen, "%s: node name too long", vdev);
    else
        rc = 0;
    free(phys);
    if (xs) xs_close(xs);
    return rc;
}

int xen_guest_needs_libxl(const struct xen_guest *g)
{
    return g->needs_libxl;
}

/* --- libxenguest callbacks ------------------------------------------------ */

static int cb_precopy(struct precopy_stats st, void *data)
{
    struct xen_guest *g = data;

    switch (g->hooks->precopy(g->hooks->data, st.iteration, st.dirty_count)) {
    case XEN_PRECOPY_STOP:
        return XGS_POLICY_STOP_AND_COPY;
    case XEN_PRECOPY_ABORT:
        return XGS_POLICY_ABORT;
    default:
        return XGS_POLICY_CONTINUE_PRECOPY;
    }
}

/* Whether the domain is shut down for suspend (whatever libxl said). */
static int suspended_now(struct xen_guest *g)
{
    libxl_dominfo info;
    int rc;

    libxl_dominfo_init(&info);
    rc = !libxl_domain_info(g->ctx, &info, g->domid) && info.shutdown &&
         info.shutdown_reason == LIBXL_SHUTDOWN_REASON_SUSPEND;
    libxl_dominfo_dispose(&info);
    return rc;
}

/*
 * libxl suspends the guest the way it prefers (event channel or xenstore),
 * and for HVM then stops QEMU and saves its state.
 */
static int cb_suspend(void *data)
{
    struct xen_guest *g = data;

    if (g->hooks->suspending) g->hooks->suspending(g->hooks->data);
    if (libxl_domain_suspend_only(g->ctx, g->domid, NULL)) {
        /* QEMU's save can fail after the guest suspended: resume it
         * then (xl resumes after any failed save). */
        g->suspended = suspended_now(g);
        return 0;
    }
    g->suspended = 1;
    if (g->hooks->suspended) g->hooks->suspended(g->hooks->data);
    return 1; /* libxenguest's convention for success */
}

/*
 * Mandatory for PVH/HVM streams: on before the first round, off when
 * libxenguest is done (also after a failure).  PVH has no QEMU.
 */
static int cb_logdirty(uint32_t domid, unsigned enable, void *data)
{
    struct xen_guest *g = data;
    char why[512];

    if (g->dm != XEN_DM_QEMU_XEN) return 0;
    if (xen_dm_logdirty(g->ctx, domid, enable, why, sizeof(why)) == 0) return 0;
    /* The first failure is the reason; libxenguest says only "failed". */
    if (!g->err[0]) snprintf(g->err, g->errlen, "%s", why);
    return -1;
}

/* The stream header, or an empty record (LIBXC_CONTEXT, END): 0 or -1. */
static int put_marker(int fd, int header, uint32_t type)
{
    struct buf *b = buf_new(XLS_STREAM_HDR_LEN);
    int rc = -1;

    if (b &&
        (header ? xls_put_stream_header(b)
                : xls_put_record(b, type, XLS_EMULATOR_NONE, NULL, 0)) == 0)
        rc = fdio_write_all(fd, buf_ptr(b), buf_len(b));
    buf_free(b);
    return rc;
}

static int save_with_libxc(struct xen_guest *g, int fd, int live, char *err,
                           size_t errlen)
{
    struct save_callbacks cb;

    memset(&cb, 0, sizeof(cb));
    cb.precopy_policy = cb_precopy;
    cb.suspend = cb_suspend;
    cb.switch_qemu_logdirty = cb_logdirty;
    cb.data = g;
    if (g->dm == XEN_DM_QEMU_XEN) xen_dm_forget(g->domid);
    if (put_marker(fd, 1, 0) || put_marker(fd, 0, XLS_REC_LIBXC_CONTEXT)) {
        snprintf(err, errlen, "writing the stream: %s", strerror(errno));
        return -1;
    }
    xen_first_error_clear();
    if (xc_domain_save(g->xch, fd, g->domid, live ? XCFLAGS_LIVE : 0, &cb,
                       XC_STREAM_PLAIN, -1)) {
        if (err[0]) return -1;
        if (xen_first_error()[0])
            snprintf(err, errlen, "libxenguest could not save the guest: %s",
                     xen_first_error());
        else
            snprintf(err, errlen, "libxenguest could not save the guest (%s)",
                     strerror(errno));
        return -1;
    }
    if (g->hooks->saved) g->hooks->saved(g->hooks->data);
    /* libxl's order: libxenguest's data, QEMU's records, END. */
    if (g->dm == XEN_DM_QEMU_XEN &&
        xen_dm_put_records(g->domid, fd, err, errlen) < 0)
        return -1;
    if (g->hooks->before_end &&
        g->hooks->before_end(g->hooks->data, err, errlen) < 0)
        return -1;
    if (put_marker(fd, 0, XLS_REC_END)) {
        snprintf(err, errlen, "writing the stream end: %s", strerror(errno));
        return -1;
    }
    return 0;
}

/*
 * A failed save: the error says where the guest is, for the user has to
 * know that before anything else (a cut in pre-copy never suspended it).
 */
static void save_failed(struct xen_guest *g, char *err, size_t errlen)
{
    size_t n;
    const char *where = "the guest keeps running here";

    if (!err[0]) snprintf(err, errlen, "saving failed");
    if (g->suspended)
        where = xen_guest_resume(g) == 0
                    ? "the guest was resumed here"
                    : "resuming the guest here FAILED: check it with xl list";
    n = strlen(err);
    snprintf(err + n, errlen - n, "; %s", where);
}

int xen_guest_save(struct xen_guest *g, int fd, int live,
                   const struct xen_save_hooks *hooks, char *err, size_t errlen)
{
    int flags = fcntl(fd, F_GETFL), rc;

    g->hooks = hooks;
    g->err = err;
    g->errlen = errlen;
    err[0] = '\0';
    /* libxenguest expects a blocking descriptor, as libxl gives it. */
    if (flags >= 0) fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    if (g->needs_libxl)
        rc = libxl_domain_suspend(g->ctx, g->domid, fd,
                                  live ? LIBXL_SUSPEND_LIVE : 0, NULL);
    else
        rc = save_with_libxc(g, fd, live, err, errlen);
    if (rc) save_failed(g, err, errlen);
    return rc ? -1 : 0;
}

/* --- hand-over ------------------------------------------------------------ */

int xen_guest_rename(struct xen_guest *g, const char *name)
{
    return libxl_domain_rename(g->ctx, g->domid, NULL, name) ? -1 : 0;
}

int xen_guest_resume(struct xen_guest *g)
{
    if (libxl_domain_resume(g->ctx, g->domid, 1, NULL)) return -1;
    g->suspended = 0;
    return 0;
}

int xen_guest_destroy(struct xen_guest *g)
{
    return libxl_domain_destroy(g->ctx, g->domid, NULL) ? -1 : 0;
}

/*
 * The Xen analogue of QEMU's auto-converge: cap the guest's CPU time
 * (credit and credit2 caps are percent of one CPU for the whole domain).
 */
int xen_guest_throttle(struct xen_guest *g, int pct)
{
    libxl_domain_sched_params p;
    int rc;

    if (!g->have_orig) {
        libxl_domain_sched_params_init(&g->orig);
        if (libxl_domain_sched_params_get(g->ctx, g->domid, &g->orig))
            return -1;
        g->have_orig = 1;
    }
    if (g->orig.sched != LIBXL_SCHEDULER_CREDIT &&
        g->orig.sched != LIBXL_SCHEDULER_CREDIT2)
        return -1;
    libxl_domain_sched_params_init(&p);
    p.sched = g->orig.sched;
    p.cap = pct ? pct * g->vcpus : g->orig.cap;
    rc = libxl_domain_sched_params_set(g->ctx, g->domid, &p);
    libxl_domain_sched_params_dispose(&p);
    return rc ? -1 : 0;
}

unsigned xen_guest_domid(const struct xen_guest *g)
{
    return g->domid;
}
