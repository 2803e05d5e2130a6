/*
 * guestpol.c - what a received guest may use in dom0 (see guestpol.h).
 *
 * libxl_domain_config's JSON (libxl_types.idl, Xen 4.17):
 *   "disks": [{"pdev_path", "vdev", "script", ...}], "nics": [{"script"}],
 *   "p9s": [{"tag", "path"}], "b_info": {"device_model",
 *   "device_model_user", "extra", "extra_pv", "extra_hvm",
 *   "stubdomain_kernel", "stubdomain_ramdisk", "bootloader",
 *   "bootloader_args", "type.pv": {"bootloader", "bootloader_args"}}.
 * libxl turns a script without '/' into /etc/xen/scripts/NAME
 * (libxl__abs_path) and a bootloader without '/' into its own bin
 * directory's; xl's default bootloader is pygrub.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yajl/yajl_tree.h>

#include "config/diag.h"
#include "config/pathpat.h"
#include "relocd/guestpol.h"
#include "relocd/hostdev.h"
#include "wire/msg.h"

#define GUESTPOL_SCRIPT_DIR "/etc/xen/scripts"
/*
 * Stock values: pygrub as xl names it and where Debian and upstream install
 * it; QEMU as Debian's libxl runs it; libxl's firmware directory.
 */
#define GUESTPOL_BOOTLOADERS                                                   \
    "pygrub /usr/lib/xen-*/bin/pygrub /usr/lib/xen/bin/pygrub /usr/bin/pygrub"
#define GUESTPOL_QEMU                                                          \
    "/usr/bin/qemu-system-i386 /usr/lib/xen-*/bin/qemu-system-i386 "           \
    "/usr/lib/xen/bin/qemu-system-i386"
#define GUESTPOL_FIRMWARE "/usr/lib/xen-*/boot/* /usr/lib/xen/boot/*"
/* QEMU character devices an HVM serial port may be without dom0 paths */
#define GUESTPOL_SERIALS "pty none null vc"

struct guestpol {
    const struct guestpol_env *env;
    struct msg_preflight_result *res;
    unsigned refused, disks, scripts;
};

static const char *jget_str(yajl_val obj, const char *key)
{
    const char *path[] = {key, NULL};
    yajl_val v = obj ? yajl_tree_get(obj, path, yajl_t_string) : NULL;
    const char *s = v ? YAJL_GET_STRING(v) : NULL;

    return s && *s ? s : NULL;
}

/* The key's array, NULL when absent, null or not an array. */
static yajl_val jget_array(yajl_val obj, const char *key)
{
    const char *path[] = {key, NULL};

    return obj ? yajl_tree_get(obj, path, yajl_t_array) : NULL;
}

/* Adds a failed check; returns -1. */
static int refuse(struct guestpol *gp, const char *check, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int refuse(struct guestpol *gp, const char *check, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    diag_verrf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    msg_check_add(gp->res, check, 0, "%s", msg);
    gp->refused++;
    return -1;
}

static int resolve_live(const char *path, char *real, struct stat *st)
{
    return realpath(path, real) && stat(real, st) == 0 ? 0 : -1;
}

/*
 * Whether relocd-disk-allow lets this path through.  The real path counts
 * (a link on shared storage must not lead out of the listed tree); a name
 * under /dev/ counts as written too, since udev's links there
 * (/dev/vg0/lv, /dev/disk/by-id/...) are root's and are what admins list.
 */
static int disk_listed(const struct guestpol *gp, const char *path,
                       const char *real, int blk)
{
    const char *allow = gp->env->disk_allow;

    return pathpat_match(allow, real, NULL) ||
           (blk && !strncmp(path, "/dev/", 5) && pathpat_clean(path) &&
            pathpat_match(allow, path, NULL));
}

/* One dom0 path the guest wants as a disk (what) or a 9pfs share; 0 if
 * allowed, else -1 and a failed check. */
static int check_path(struct guestpol *gp, const char *what, const char *path,
                      int share)
{
    const struct guestpol_env *env = gp->env;
    char real[PATH_MAX], vis[256], rvis[256];
    struct stat st;
    int blk;

    memset(&st, 0, sizeof(st));
    diag_vis(path, vis, sizeof(vis));
    if (!pathpat_clean(path))
        return refuse(gp, "disk", "%s: '%s' is not a clean absolute path", what,
                      vis);
    if ((env->resolve ? env->resolve : resolve_live)(path, real, &st) < 0) {
        /* Absent here: the devices check says so; only the list applies */
        if (env->disk_allow && !pathpat_match(env->disk_allow, path, NULL))
            return refuse(gp, "disk", "%s: %s is not in relocd-disk-allow",
                          what, vis);
        return 0;
    }
    diag_vis(real, rvis, sizeof(rvis));
    blk = S_ISBLK(st.st_mode) && !share;
    if (blk && !env->dom0)
        return refuse(gp, "disk",
                      "%s: %s: cannot tell which devices dom0 uses (%s)", what,
                      vis, env->dom0_err ? env->dom0_err : "unknown");
    if (blk && hostdev_has(env->dom0, st.st_rdev))
        return refuse(gp, "disk",
                      "%s: %s (%s) is dom0's own: mounted, swapped on or "
                      "beneath one; a received guest never gets it",
                      what, vis, rvis);
    if (!blk && !S_ISREG(st.st_mode) && !(share && S_ISDIR(st.st_mode)))
        return refuse(gp, "disk",
                      "%s: %s is not a block device or an image file", what,
                      vis);
    if (env->disk_allow && !disk_listed(gp, path, real, blk))
        return refuse(gp, "disk", "%s: %s (%s) is not in relocd-disk-allow",
                      what, vis, rvis);
    if (!env->disk_allow && !blk)
        return refuse(gp, "disk",
                      "%s: %s is %s in dom0; list it in relocd-disk-allow "
                      "to hand it to a received guest",
                      what, vis, share ? "a directory" : "an image file");
    return 0;
}

/* A hotplug script (libxl runs it as root); 0 if allowed, else -1. */
static int check_script(struct guestpol *gp, const char *what,
                        const char *script)
{
    char full[PATHPAT_MAX], vis[256];

    gp->scripts++;
    diag_vis(script, vis, sizeof(vis));
    if (!strchr(script, '/'))
        snprintf(full, sizeof(full), "%s/%s", GUESTPOL_SCRIPT_DIR, script);
    else
        snprintf(full, sizeof(full), "%s", script);
    if (!pathpat_clean(full))
        return refuse(gp, "script", "%s: script '%s' is not a clean path", what,
                      vis);
    if (!pathpat_match(gp->env->allow_scripts, full, GUESTPOL_SCRIPT_DIR))
        return refuse(gp, "script",
                      "%s: script %s is not in relocd-allow-scripts", what,
                      vis);
    return 0;
}

/*
 * A disk: its script, and its path unless a script other than block
 * gets it (then the target is that script's own syntax: an iSCSI IQN,
 * an NBD host) and the admin vouched for the script.
 */
static void check_disk(struct guestpol *gp, yajl_val d, size_t i)
{
    const char *vdev = jget_str(d, "vdev"), *path = jget_str(d, "pdev_path");
    const char *script = jget_str(d, "script"), *base;
    char what[64], vis[32];

    snprintf(what, sizeof(what), "disk %s",
             vdev ? diag_vis(vdev, vis, sizeof(vis)) : "?");
    if (!vdev) snprintf(what, sizeof(what), "disk %zu", i);
    gp->disks++;
    if (script) check_script(gp, what, script);
    base = script ? strrchr(script, '/') : NULL;
    base = base ? base + 1 : script;
    if (path && (!script || !strcmp(base, "block")))
        check_path(gp, what, path, 0);
}

static void check_devices(struct guestpol *gp, yajl_val root)
{
    yajl_val a;
    char what[64];
    size_t i;

    if ((a = jget_array(root, "disks")))
        for (i = 0; i < YAJL_GET_ARRAY(a)->len; i++)
            check_disk(gp, YAJL_GET_ARRAY(a)->values[i], i);
    if ((a = jget_array(root, "nics")))
        for (i = 0; i < YAJL_GET_ARRAY(a)->len; i++) {
            const char *s = jget_str(YAJL_GET_ARRAY(a)->values[i], "script");

            snprintf(what, sizeof(what), "vif %zu", i);
            if (s) check_script(gp, what, s);
        }
    if ((a = jget_array(root, "p9s")))
        for (i = 0; i < YAJL_GET_ARRAY(a)->len; i++) {
            const char *p = jget_str(YAJL_GET_ARRAY(a)->values[i], "path");

            snprintf(what, sizeof(what), "9pfs share %zu", i);
            if (p) check_path(gp, what, p, 1);
        }
}

/*
 * b_info fields that become root's command lines or files read here, with
 * the values libxl or xl give them by default (NULL: none), which pass.
 */
static const struct dm_field {
    const char *key, *stock;
} dm_fields[] = {
    {"device_model", GUESTPOL_QEMU},
    {"device_model_user", NULL},
    {"extra", NULL},
    {"extra_pv", NULL},
    {"extra_hvm", NULL},
    /* libxl__domain_build_info_setdefault() fills in a stub domain's */
    {"stubdomain_kernel", GUESTPOL_FIRMWARE},
    {"stubdomain_ramdisk", GUESTPOL_FIRMWARE},
    {"bootloader", GUESTPOL_BOOTLOADERS},
    {"bootloader_args", NULL},
};

/*
 * Whether v is one of the stock values: a bare name against the list's
 * bare names, a clean absolute path against its patterns.
 */
static int dm_stock(const char *v, const char *stock)
{
    char path[PATHPAT_MAX];

    if (!stock) return 0;
    if (strchr(v, '/')) return pathpat_clean(v) && pathpat_match(stock, v, "");
    /* "/NAME" lies directly in "": its last component meets bare names */
    snprintf(path, sizeof(path), "/%s", v);
    return pathpat_match(stock, path, "");
}

/* One field, in b_info or (bootloader*: deprecated) in its type.pv. */
static void check_dm_field(struct guestpol *gp, yajl_val obj,
                           const struct dm_field *f)
{
    yajl_val a = jget_array(obj, f->key);
    const char *v = jget_str(obj, f->key);
    char vis[128];

    if (a && YAJL_GET_ARRAY(a)->len)
        refuse(gp, "device-model",
               "the guest sets b_info.%s, which shapes a root command line "
               "here; relocd-allow-device-model-args is no",
               f->key);
    else if (v && !dm_stock(v, f->stock))
        refuse(gp, "device-model",
               "the guest sets b_info.%s to %s, %s here; "
               "relocd-allow-device-model-args is no",
               f->key, diag_vis(v, vis, sizeof(vis)),
               f->stock ? "not the stock one: root would use it"
                        : "which shapes a root command line");
}

/* The device model's and bootloader's fields; refusals in gp. */
static void check_device_model(struct guestpol *gp, yajl_val b)
{
    const char *tpath[] = {"type.pv", NULL};
    yajl_val pv = b ? yajl_tree_get(b, tpath, yajl_t_object) : NULL;
    size_t i;

    for (i = 0; i < sizeof(dm_fields) / sizeof(dm_fields[0]); i++) {
        check_dm_field(gp, b, &dm_fields[i]);
        if (!strncmp(dm_fields[i].key, "bootloader", 10))
            check_dm_field(gp, pv, &dm_fields[i]);
    }
}

/* The number of elements of the array under key (0: none, not an array). */
static size_t jarray_len(yajl_val obj, const char *key)
{
    yajl_val a = jget_array(obj, key);

    return a ? YAJL_GET_ARRAY(a)->len : 0;
}

/* The i'th element of the array under key if it is a string, else NULL. */
static const char *jarray_str(yajl_val obj, const char *key, size_t i)
{
    yajl_val a = jget_array(obj, key), v;

    v = a && i < YAJL_GET_ARRAY(a)->len ? YAJL_GET_ARRAY(a)->values[i] : NULL;
    return v && YAJL_IS_STRING(v) ? YAJL_GET_STRING(v) : NULL;
}

static int serial_stock(const char *v)
{
    const char *w = GUESTPOL_SERIALS;
    size_t n;

    for (; *w; w += n + (w[n] == ' ')) {
        n = strcspn(w, " ");
        if (strlen(v) == n && !strncmp(v, w, n)) return 1;
    }
    return 0;
}

/*
 * QEMU's character devices in dom0: an HVM serial port ("file:PATH",
 * "/dev/ttyS0", "unix:...") and a channel's socket, whose path QEMU
 * unlinks before it binds.
 */
static void check_chardevs(struct guestpol *gp, yajl_val root, yajl_val b)
{
    const char *hpath[] = {"type.hvm", NULL},
               *spath[] = {"connection.socket", NULL};
    yajl_val hvm = b ? yajl_tree_get(b, hpath, yajl_t_object) : NULL;
    yajl_val ch = jget_array(root, "channels");
    const char *v = jget_str(hvm, "serial");
    char vis[128];
    size_t i;

    for (i = 0; !(v && !serial_stock(v)) && i < jarray_len(hvm, "serial_list");
         i++)
        v = jarray_str(hvm, "serial_list", i);
    if (v && !serial_stock(v))
        refuse(gp, "device-model",
               "the guest's serial port is %s, a device or file of QEMU's in "
               "dom0; relocd-allow-device-model-args is no",
               diag_vis(v, vis, sizeof(vis)));
    for (i = 0; ch && i < YAJL_GET_ARRAY(ch)->len; i++) {
        yajl_val c = YAJL_GET_ARRAY(ch)->values[i];
        yajl_val sock =
            YAJL_IS_OBJECT(c) ? yajl_tree_get(c, spath, yajl_t_object) : NULL;

        if ((v = jget_str(sock, "path")))
            refuse(gp, "device-model",
                   "channel %zu: QEMU would bind a socket at %s in dom0 "
                   "(removing what is there); "
                   "relocd-allow-device-model-args is no",
                   i, diag_vis(v, vis, sizeof(vis)));
    }
}

/*
 * Host hardware: PCI (libxl seizes a device from dom0's driver when the
 * config says "seize"), USB, device-tree devices, I/O memory, ports and
 * IRQs.  Never for a received guest.
 */
static void check_passthrough(struct guestpol *gp, yajl_val root, yajl_val b)
{
    static const char *const in_root[] = {"pcidevs", "usbdevs", "dtdevs"};
    static const char *const in_binfo[] = {"iomem", "ioports", "irqs"};
    const char *hpath[] = {"type.hvm", NULL}, *v;
    yajl_val hvm = b ? yajl_tree_get(b, hpath, yajl_t_object) : NULL;
    char vis[64];
    size_t i, n;

    for (i = 0; i < 3; i++) {
        if ((n = jarray_len(root, in_root[i])))
            refuse(gp, "passthrough",
                   "the guest asks for %zu of this host's %s; a received "
                   "guest gets no host hardware",
                   n, in_root[i]);
        if ((n = jarray_len(b, in_binfo[i])))
            refuse(gp, "passthrough",
                   "the guest asks for %zu of this host's %s ranges; a "
                   "received guest gets no host hardware",
                   n, in_binfo[i]);
    }
    v = jget_str(hvm, "usbdevice");
    for (i = 0; !(v && !strncmp(v, "host:", 5)) &&
                i < jarray_len(hvm, "usbdevice_list");
         i++)
        v = jarray_str(hvm, "usbdevice_list", i);
    if (v && !strncmp(v, "host:", 5))
        refuse(gp, "passthrough",
               "the guest asks for this host's USB device %s; a received "
               "guest gets no host hardware",
               diag_vis(v, vis, sizeof(vis)));
}

void guestpol_check(const char *json, size_t len,
                    const struct guestpol_env *env,
                    struct msg_preflight_result *res)
{
    const char *bpath[] = {"b_info", NULL};
    struct guestpol gp = {env, res, 0, 0, 0};
    char *text = malloc(len + 1);
    yajl_val root, b;

    if (!text) {
        msg_check_add(res, "host-access", 0, "out of memory");
        return;
    }
    /* yajl_tree_parse() wants a NUL-terminated text. */
    memcpy(text, json, len);
    text[len] = '\0';
    root = yajl_tree_parse(text, NULL, 0);
    free(text);
    if (!root || !YAJL_IS_OBJECT(root)) {
        yajl_tree_free(root);
        return;
    }
    b = yajl_tree_get(root, bpath, yajl_t_object);
    check_devices(&gp, root);
    check_passthrough(&gp, root, b);
    if (!env->allow_dm_args) {
        check_device_model(&gp, b);
        check_chardevs(&gp, root, b);
    }
    yajl_tree_free(root);
    if (!gp.refused)
        msg_check_add(res, "host-access", 1,
                      "%u disk(s) and %u script(s) are the admin's to give",
                      gp.disks, gp.scripts);
}
