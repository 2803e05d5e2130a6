/*
 * preflight.c - target-side checks before a guest is received.
 *
 * Everything here only reads: a failed check must leave the host exactly
 * as it was, and each failure names the check, the need and what is there.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <libxl_utils.h>
#include <xenctrl.h>
#include <xenguest.h>

#include "wire/msg.h"
#include "xen/xen.h"
#include "xen/ctx.h"

static const char *type_name(libxl_domain_type t)
{
    return libxl_domain_type_to_string(t) ? libxl_domain_type_to_string(t)
                                          : "unknown";
}

/* Xen's capabilities for the guest's type, and log-dirty for live moves. */
static void check_type(libxl_ctx *ctx, const libxl_domain_config *dc, int live,
                       struct msg_preflight_result *res)
{
    libxl_domain_type t = dc->c_info.type;
    libxl_physinfo pi;
    int ok;

    libxl_physinfo_init(&pi);
    if (libxl_get_physinfo(ctx, &pi)) {
        msg_check_add(res, "xen-caps", 0, "cannot read Xen's physinfo");
        return;
    }
    if (t == LIBXL_DOMAIN_TYPE_PV)
        ok = pi.cap_pv;
    else
        ok = pi.cap_hvm && (t == LIBXL_DOMAIN_TYPE_HVM || pi.cap_hap);
    msg_check_add(res, "xen-caps", ok, "%s guest: this Xen %s", type_name(t),
                  ok ? "supports it" : "cannot run it (needs hvm+hap)");
    /* A live PV move needs log-dirty on shadow page tables (xc_sr). */
    if (live && t == LIBXL_DOMAIN_TYPE_PV)
        msg_check_add(res, "live-pv", pi.cap_shadow,
                      "live migration of a PV guest needs shadow paging, "
                      "which this Xen %s; migrate it offline",
                      pi.cap_shadow ? "has" : "was built without");
    libxl_physinfo_dispose(&pi);
}

static void check_memory(libxl_ctx *ctx, libxl_domain_config *dc,
                         struct msg_preflight_result *res)
{
    uint64_t need = 0, free_kb = 0;

    if (libxl_domain_need_memory(ctx, dc, INVALID_DOMID, &need) ||
        libxl_get_free_memory(ctx, &free_kb)) {
        msg_check_add(res, "memory", 0, "cannot compute the memory needed");
        return;
    }
    /* Also as numbers: xl-relocate evacuate places guests by them. */
    res->mem_known = 1;
    res->free_kb = free_kb;
    res->need_kb = need;
    msg_check_add(
        res, "memory", need <= free_kb, "needs %llu MiB, %llu MiB free in Xen",
        (unsigned long long)need / 1024, (unsigned long long)free_kb / 1024);
}

/*
 * The domid of the live domain with this UUID, or -1; *dying: the domid
 * of one with this UUID that is being destroyed, or -1.
 */
static int domid_of_uuid(libxl_ctx *ctx, const libxl_uuid *uuid, int *dying)
{
    libxl_dominfo *info;
    int i, n, domid = -1;

    *dying = -1;
    info = libxl_list_domain(ctx, &n);
    for (i = 0; info && i < n; i++) {
        if (libxl_uuid_compare(&info[i].uuid, (libxl_uuid *)uuid)) continue;
        if (info[i].dying)
            *dying = (int)info[i].domid;
        else
            domid = (int)info[i].domid;
    }
    libxl_dominfo_list_free(info, n);
    return domid;
}

/*
 * The name and UUID must be free, except on a move to this very host
 * (loopback), where the running source holds both until xl's handshake
 * renames it NAME--migratedaway.  A copy destroyed moments ago (a failed
 * receive) lingers nameless until Xen frees its memory: said as such, not
 * as a clash with a running guest.
 */
static void check_clash(libxl_ctx *ctx, const libxl_domain_config *dc,
                        int local, struct msg_preflight_result *res)
{
    const char *name = dc->c_info.name;
    int dying, same = domid_of_uuid(ctx, &dc->c_info.uuid, &dying);
    char incoming[256];
    uint32_t domid;

    snprintf(incoming, sizeof(incoming), "%s--incoming", name);
    if (!libxl_name_to_domid(ctx, incoming, &domid))
        msg_check_add(res, "name", 0,
                      "%s is being received already "
                      "(domid %u)",
                      incoming, domid);
    else if (dying >= 0)
        msg_check_add(res, "name", 0,
                      "domain %d, a destroyed copy of %s, is still dying "
                      "here: retry once xl list no longer shows it",
                      dying, name);
    else if (!libxl_name_to_domid(ctx, name, &domid) &&
             !(local && same == (int)domid))
        msg_check_add(res, "name", 0,
                      "a domain named %s already runs here "
                      "(domid %u)",
                      name, domid);
    else if (same >= 0 && !local)
        msg_check_add(res, "name", 0, "domain %d here has %s's UUID", same,
                      name);
    else
        msg_check_add(res, "name", 1, "%s%s", name,
                      local ? ": a move within this host" : " is free");
}

/* A disk that --copy-storage brings along (created at MIGRATE). */
static int disk_copied(const struct msg_preflight *req, const char *path)
{
    unsigned i;

    for (i = 0; i < req->ndisks; i++)
        if (!strcmp(req->disks[i].path, path)) return 1;
    return 0;
}

static void check_devices(const libxl_domain_config *dc,
                          const struct msg_preflight *req,
                          struct msg_preflight_result *res)
{
    char path[512];
    struct stat st;
    int i;

    for (i = 0; i < dc->num_disks; i++) {
        const libxl_device_disk *d = &dc->disks[i];

        if (!d->pdev_path || !*d->pdev_path || d->is_cdrom || d->script ||
            disk_copied(req, d->pdev_path))
            continue;
        if (stat(d->pdev_path, &st) < 0) {
            msg_check_add(res, "disk", 0,
                          "%s: %s is not on this host "
                          "(shared storage or block migration needed)",
                          d->vdev, d->pdev_path);
            return;
        }
    }
    for (i = 0; i < dc->num_nics; i++) {
        const char *br = dc->nics[i].bridge;

        snprintf(path, sizeof(path), "/sys/class/net/%s", br ? br : "");
        if (br && *br && stat(path, &st) < 0) {
            msg_check_add(res, "bridge", 0,
                          "vif %d wants bridge %s, which "
                          "does not exist here",
                          i, br);
            return;
        }
    }
    msg_check_add(res, "devices", 1, "%d disk(s), %d nic(s) present",
                  dc->num_disks, dc->num_nics);
}

/* The sent policy as libxenguest's object; NULL with errno on failure. */
static xc_cpu_policy_t *guest_policy(xc_interface *xch,
                                     const struct msg_cpu_policy *p)
{
    xen_cpuid_leaf_t leaves[MSG_MAX_CPUID_LEAVES];
    xen_msr_entry_t msrs[MSG_MAX_MSRS];
    xc_cpu_policy_t *pol = xc_cpu_policy_init();
    unsigned i;

    for (i = 0; i < p->nleaves; i++)
        leaves[i] = (xen_cpuid_leaf_t){p->leaves[i].leaf, p->leaves[i].subleaf,
                                       p->leaves[i].a,    p->leaves[i].b,
                                       p->leaves[i].c,    p->leaves[i].d};
    for (i = 0; i < p->nmsrs; i++)
        msrs[i] =
            (xen_msr_entry_t){p->msrs[i].idx, p->msrs[i].flags, p->msrs[i].val};
    if (pol && !xc_cpu_policy_update_cpuid(xch, pol, leaves, p->nleaves) &&
        !xc_cpu_policy_update_msrs(xch, pol, msrs, p->nmsrs))
        return pol;
    xc_cpu_policy_destroy(pol);
    return NULL;
}

/*
 * The guest's CPU policy against the most this Xen offers a guest of its
 * type: what restore would find out only after the whole copy (Xen refuses
 * xc_set_domain_cpu_policy() with the same x86_cpu_policies_are_compatible
 * rule), here before anything moves.
 */
static void check_cpu(const libxl_domain_config *dc,
                      const struct msg_cpu_policy *p,
                      struct msg_preflight_result *res)
{
    unsigned idx = dc->c_info.type == LIBXL_DOMAIN_TYPE_PV
                       ? XEN_SYSCTL_cpu_policy_pv_max
                       : XEN_SYSCTL_cpu_policy_hvm_max;
    xc_interface *xch = xen_xch_open();
    xc_cpu_policy_t *host = xc_cpu_policy_init(), *guest = NULL;

    if (!xch || !host || xc_cpu_policy_get_system(xch, idx, host))
        msg_check_add(res, "cpu", 0, "cannot read this Xen's CPU policy");
    else if (!(guest = guest_policy(xch, p)))
        msg_check_add(res, "cpu", 0,
                      "the guest's CPU policy (%u CPUID leaves, %u MSRs) "
                      "does not load here",
                      p->nleaves, p->nmsrs);
    else if (!xc_cpu_policy_is_compatible(xch, host, guest))
        msg_check_add(res, "cpu", 0,
                      "the guest runs with CPU features this host's Xen "
                      "cannot offer a %s guest (relocd's log names the "
                      "leaf): its restore would fail",
                      type_name(dc->c_info.type));
    else
        msg_check_add(res, "cpu", 1,
                      "this host offers the guest's CPU features");
    xc_cpu_policy_destroy(guest);
    xc_cpu_policy_destroy(host);
    if (xch) xc_interface_close(xch);
}

int xen_preflight(const struct msg_preflight *req,
                  struct msg_preflight_result *res, char *name_r,
                  size_t namelen)
{
    libxl_domain_config dc;
    libxl_ctx *ctx = xen_ctx_new();

    res->ok = 1;
    if (!ctx) {
        msg_check_add(res, "internal", 0, "cannot open libxl");
        return -1;
    }
    libxl_domain_config_init(&dc);
    if (libxl_domain_config_from_json(ctx, &dc, req->config) ||
        !dc.c_info.name) {
        msg_check_add(res, "config", 0, "not a libxl domain configuration");
    } else {
        snprintf(name_r, namelen, "%s", dc.c_info.name);
        check_type(ctx, &dc, req->live, res);
        check_clash(ctx, &dc, req->local, res);
        check_devices(&dc, req, res);
        if (req->cpu) check_cpu(&dc, req->cpu, res);
        /* Last: libxl_domain_need_memory() fills in defaults in dc. */
        check_memory(ctx, &dc, res);
    }
    libxl_domain_config_dispose(&dc);
    xen_ctx_free(ctx);
    return 0;
}
