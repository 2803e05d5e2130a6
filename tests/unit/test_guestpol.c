/*
 * test_guestpol.c - what a received guest may use in dom0 (guestpol.c):
 * disks, 9pfs shares, hotplug scripts, device-model and bootloader
 * arguments, against made-up dom0 devices and paths.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "config/conf.h"
#include "relocd/guestpol.h"
#include "relocd/hostdev.h"
#include "wire/msg.h"
#include "t.h"

/* The paths of the made-up host: name, where it leads, what it is. */
static const struct node {
    const char *path, *real;
    mode_t mode;
    unsigned maj, min;
} nodes[] = {
    {"/dev/vg0/root", "/dev/dm-0", S_IFBLK, 253, 0},
    {"/dev/disk/by-uuid/1234", "/dev/dm-0", S_IFBLK, 253, 0},
    {"/dev/vg0/guest1", "/dev/dm-1", S_IFBLK, 253, 1},
    {"/dev/dm-1", "/dev/dm-1", S_IFBLK, 253, 1},
    {"/dev/sda", "/dev/sda", S_IFBLK, 8, 0},
    {"/dev/sda2", "/dev/sda2", S_IFBLK, 8, 2},
    {"/dev/sdd", "/dev/sdd", S_IFBLK, 8, 48},
    {"/dev/null", "/dev/null", S_IFCHR, 1, 3},
    {"/srv/xen/a.img", "/srv/xen/a.img", S_IFREG, 0, 0},
    {"/srv/xen/link.img", "/etc/shadow", S_IFREG, 0, 0},
    {"/srv/share", "/srv/share", S_IFDIR, 0, 0},
    {"/", "/", S_IFDIR, 0, 0},
};

static int fake_resolve(const char *path, char *real, struct stat *st)
{
    size_t i;

    for (i = 0; i < sizeof(nodes) / sizeof(nodes[0]); i++)
        if (!strcmp(path, nodes[i].path)) {
            memset(st, 0, sizeof(*st));
            st->st_mode = nodes[i].mode | 0600;
            st->st_rdev = makedev(nodes[i].maj, nodes[i].min);
            snprintf(real, 4096, "%s", nodes[i].real);
            return 0;
        }
    errno = ENOENT;
    return -1;
}

/* dom0: root on dm-0, on sda2, on sda */
static struct hostdev dom0 = {3, {0}};

static struct guestpol_env env(void)
{
    struct guestpol_env e = {NULL, CONF_DEFAULT_SCRIPTS, 0, &dom0,
                             NULL, fake_resolve};

    dom0.dev[0] = makedev(253, 0);
    dom0.dev[1] = makedev(8, 2);
    dom0.dev[2] = makedev(8, 0);
    return e;
}

/* "ok", or the first refusal as "CHECK: message"; *nfailed counts them. */
static const char *verdict_n(const char *json, const struct guestpol_env *e,
                             int *nfailed)
{
    static char out[600];
    struct msg_preflight_result res = {.ok = 1};
    unsigned i;

    guestpol_check(json, strlen(json), e, &res);
    snprintf(out, sizeof(out), "%s", res.ok ? "ok" : "?");
    *nfailed = 0;
    for (i = res.nchecks; i-- > 0;)
        if (!res.checks[i].ok) {
            snprintf(out, sizeof(out), "%s: %s", res.checks[i].check,
                     res.checks[i].message);
            ++*nfailed;
        }
    return out;
}

static const char *verdict(const char *json, const struct guestpol_env *e)
{
    int n;

    return verdict_n(json, e, &n);
}

static const char *disk(const char *path, const struct guestpol_env *e)
{
    char json[512];

    snprintf(json, sizeof(json),
             "{\"c_info\":{\"name\":\"g\"},\"disks\":[{\"pdev_path\":\"%s\","
             "\"vdev\":\"xvda\",\"backend\":\"phy\"}]}",
             path);
    return verdict(json, e);
}

static void test_disks_default(void)
{
    struct guestpol_env e = env();

    T_EQ_STR(disk("/dev/vg0/guest1", &e), "ok");
    T_EQ_STR(disk("/dev/sdd", &e), "ok");
    T_EQ_STR(disk("/dev/sda2", &e),
             "disk: disk xvda: /dev/sda2 (/dev/sda2) is dom0's own: mounted, "
             "swapped on or beneath one; a received guest never gets it");
    T_EQ_STR(disk("/dev/disk/by-uuid/1234", &e),
             "disk: disk xvda: /dev/disk/by-uuid/1234 (/dev/dm-0) is dom0's "
             "own: mounted, swapped on or beneath one; a received guest "
             "never gets it");
    T_EQ_STR(disk("/dev/sda", &e),
             "disk: disk xvda: /dev/sda (/dev/sda) is dom0's own: mounted, "
             "swapped on or beneath one; a received guest never gets it");
    T_EQ_STR(disk("/srv/xen/a.img", &e),
             "disk: disk xvda: /srv/xen/a.img is an image file in dom0; list "
             "it in relocd-disk-allow to hand it to a received guest");
    T_EQ_STR(disk("/dev/null", &e),
             "disk: disk xvda: /dev/null is not a block device or an image "
             "file");
    T_EQ_STR(disk("guest.img", &e),
             "disk: disk xvda: 'guest.img' is not a clean absolute path");
    T_EQ_STR(disk("/dev/vg0/../sda", &e),
             "disk: disk xvda: '/dev/vg0/../sda' is not a clean absolute "
             "path");
    /* absent here: the Xen layer's devices check says so */
    T_EQ_STR(disk("/dev/vg9/nothere", &e), "ok");
    /* dom0's devices unknown: no block device passes */
    e.dom0 = NULL;
    e.dom0_err = "reading /proc/self/mountinfo: EPERM";
    T_EQ_STR(disk("/dev/sdd", &e),
             "disk: disk xvda: /dev/sdd: cannot tell which devices dom0 uses "
             "(reading /proc/self/mountinfo: EPERM)");
}

static void test_disks_listed(void)
{
    struct guestpol_env e = env();

    e.disk_allow = "/dev/vg0/[!.]* /srv/xen/?*.img";
    T_EQ_STR(disk("/dev/vg0/guest1", &e), "ok"); /* the name counts */
    T_EQ_STR(disk("/srv/xen/a.img", &e), "ok");
    T_EQ_STR(disk("/dev/dm-1", &e),
             "disk: disk xvda: /dev/dm-1 (/dev/dm-1) is not in "
             "relocd-disk-allow");
    /* a link on shared storage: its target counts */
    T_EQ_STR(disk("/srv/xen/link.img", &e),
             "disk: disk xvda: /srv/xen/link.img (/etc/shadow) is not in "
             "relocd-disk-allow");
    /* dom0's own even when listed */
    T_EQ_STR(disk("/dev/vg0/root", &e),
             "disk: disk xvda: /dev/vg0/root (/dev/dm-0) is dom0's own: "
             "mounted, swapped on or beneath one; a received guest never "
             "gets it");
    T_EQ_STR(disk("/dev/sdd", &e),
             "disk: disk xvda: /dev/sdd (/dev/sdd) is not in "
             "relocd-disk-allow");
    T_EQ_STR(disk("/srv/other/x.img", &e),
             "disk: disk xvda: /srv/other/x.img is not in relocd-disk-allow");
    T_EQ_STR(disk("/srv/xen/sub/x.img", &e),
             "disk: disk xvda: /srv/xen/sub/x.img is not in "
             "relocd-disk-allow");
    T_EQ_STR(disk("/srv/xen/new.img", &e), "ok"); /* absent, but listed */
}

static void test_shares(void)
{
    struct guestpol_env e = env();
    static const char share[] =
        "{\"p9s\":[{\"tag\":\"share\",\"path\":\"/\"}]}";

    /* dom0's whole tree */
    T_EQ_STR(verdict(share, &e),
             "disk: 9pfs share 0: '/' is not a clean absolute path");
    T_EQ_STR(verdict("{\"p9s\":[{\"tag\":\"s\",\"path\":\"/srv/share\"}]}", &e),
             "disk: 9pfs share 0: /srv/share is a directory in dom0; list it "
             "in relocd-disk-allow to hand it to a received guest");
    e.disk_allow = "/srv/share";
    T_EQ_STR(verdict("{\"p9s\":[{\"tag\":\"s\",\"path\":\"/srv/share\"}]}", &e),
             "ok");
}

static const char *script(const char *disk_script, const char *nic_script,
                          const struct guestpol_env *e)
{
    char json[512];

    snprintf(json, sizeof(json),
             "{\"disks\":[{\"vdev\":\"xvda\",\"pdev_path\":\"%s\"%s%s%s}],"
             "\"nics\":[{\"mac\":\"00:16:3e:00:00:01\"%s%s%s}]}",
             disk_script ? "iqn.2001-05.com.example:x" : "/dev/sdd",
             disk_script ? ",\"script\":\"" : "",
             disk_script ? disk_script : "", disk_script ? "\"" : "",
             nic_script ? ",\"script\":\"" : "", nic_script ? nic_script : "",
             nic_script ? "\"" : "");
    return verdict(json, e);
}

static void test_scripts(void)
{
    struct guestpol_env e = env();

    T_EQ_STR(script(NULL, NULL, &e), "ok");
    T_EQ_STR(script(NULL, "vif-bridge", &e), "ok");
    T_EQ_STR(script(NULL, "/etc/xen/scripts/vif-route", &e), "ok");
    T_EQ_STR(script(NULL, "/tmp/evil", &e),
             "script: vif 0: script /tmp/evil is not in relocd-allow-scripts");
    T_EQ_STR(script(NULL, "../../../tmp/evil", &e),
             "script: vif 0: script '../../../tmp/evil' is not a clean path");
    T_EQ_STR(script(NULL, "/etc/xen/scripts/sub/vif-bridge", &e),
             "script: vif 0: script /etc/xen/scripts/sub/vif-bridge is not in "
             "relocd-allow-scripts");
    T_EQ_STR(script("block-iscsi", NULL, &e),
             "script: disk xvda: script block-iscsi is not in "
             "relocd-allow-scripts");
    /* an allowed script's own target syntax is not a path */
    e.allow_scripts = "vif-bridge block-iscsi /opt/xen/vif-*";
    T_EQ_STR(script("block-iscsi", "/opt/xen/vif-ovs", &e), "ok");
    T_EQ_STR(script(NULL, "vif-route", &e),
             "script: vif 0: script vif-route is not in relocd-allow-scripts");
    e.allow_scripts = "";
    T_EQ_STR(script(NULL, "vif-bridge", &e),
             "script: vif 0: script vif-bridge is not in relocd-allow-scripts");
    /* the stock block script still gets the path checked */
    e = env();
    T_EQ_STR(verdict("{\"disks\":[{\"vdev\":\"xvdb\",\"pdev_path\":"
                     "\"/dev/sda\",\"script\":\"block\"}]}",
                     &e),
             "disk: disk xvdb: /dev/sda (/dev/sda) is dom0's own: mounted, "
             "swapped on or beneath one; a received guest never gets it");
}

static const char *binfo(const char *b, const struct guestpol_env *e)
{
    char json[512];

    snprintf(json, sizeof(json), "{\"c_info\":{\"name\":\"g\"},\"b_info\":%s}",
             b);
    return verdict(json, e);
}

static void test_device_model(void)
{
    struct guestpol_env e = env();
    int n;

    T_EQ_STR(binfo("{\"max_memkb\":1024,\"extra\":null,\"extra_hvm\":[],"
                   "\"bootloader\":\"pygrub\",\"device_model\":\"\"}",
                   &e),
             "ok");
    T_EQ_STR(binfo("{\"bootloader\":\"/usr/lib/xen-4.17/bin/pygrub\"}", &e),
             "ok");
    T_EQ_STR(binfo("{\"extra\":[\"-drive\",\"file=/etc/shadow\"]}", &e),
             "device-model: the guest sets b_info.extra, which shapes a root "
             "command line here; relocd-allow-device-model-args is no");
    T_EQ_STR(binfo("{\"device_model\":\"/tmp/qemu\"}", &e),
             "device-model: the guest sets b_info.device_model to /tmp/qemu, "
             "not the stock one: root would use it here; "
             "relocd-allow-device-model-args is no");
    T_EQ_STR(binfo("{\"device_model\":\"/usr/bin/qemu-system-i386\"}", &e),
             "ok");
    T_EQ_STR(binfo("{\"device_model_user\":\"root\"}", &e),
             "device-model: the guest sets b_info.device_model_user to root, "
             "which shapes a root command line here; "
             "relocd-allow-device-model-args is no");
    /* libxl's default for a stub domain passes, another file does not */
    T_EQ_STR(binfo("{\"stubdomain_kernel\":\"/usr/lib/xen-4.17/boot/"
                   "qemu-stubdom-linux-kernel\"}",
                   &e),
             "ok");
    T_EQ_STR(binfo("{\"stubdomain_ramdisk\":\"/etc/shadow\"}", &e),
             "device-model: the guest sets b_info.stubdomain_ramdisk to "
             "/etc/shadow, not the stock one: root would use it here; "
             "relocd-allow-device-model-args is no");
    T_EQ_STR(binfo("{\"bootloader\":\"/bin/sh\"}", &e),
             "device-model: the guest sets b_info.bootloader to /bin/sh, not "
             "the stock one: root would use it here; "
             "relocd-allow-device-model-args is no");
    T_EQ_STR(binfo("{\"type.pv\":{\"bootloader\":\"/usr/lib/xen-4.17/bin/"
                   "../../../../bin/sh\"}}",
                   &e),
             "device-model: the guest sets b_info.bootloader to "
             "/usr/lib/xen-4.17/bin/../../../../bin/sh, not the stock one: "
             "root would use it here; relocd-allow-device-model-args is no");
    T_EQ_STR(binfo("{\"type.pv\":{\"bootloader_args\":[\"--output-directory="
                   "/etc\"]}}",
                   &e),
             "device-model: the guest sets b_info.bootloader_args, which "
             "shapes a root command line here; relocd-allow-device-model-args "
             "is no");
    T_EQ_STR(binfo("{\"bootloader\":\"pygrub2\"}", &e),
             "device-model: the guest sets b_info.bootloader to pygrub2, not "
             "the stock one: root would use it here; "
             "relocd-allow-device-model-args is no");
    verdict_n("{\"b_info\":{\"extra\":[\"-s\"],\"extra_hvm\":[\"-S\"],"
              "\"device_model\":\"/x\"}}",
              &e, &n);
    T_EQ_INT(n, 3);
    e.allow_dm_args = 1;
    T_EQ_STR(binfo("{\"extra\":[\"-s\"],\"bootloader\":\"/bin/sh\"}", &e),
             "ok");
    /* each refusal is its own check */
    e = env();
    verdict_n("{\"disks\":[{\"vdev\":\"xvda\",\"pdev_path\":\"/dev/sda\"},"
              "{\"vdev\":\"xvdb\",\"pdev_path\":\"/srv/xen/a.img\"}],"
              "\"nics\":[{\"script\":\"/tmp/x\"}],"
              "\"b_info\":{\"extra\":[\"-s\"]}}",
              &e, &n);
    T_EQ_INT(n, 4);
}

static void test_chardevs(void)
{
    struct guestpol_env e = env();

    T_EQ_STR(binfo("{\"type.hvm\":{\"serial\":\"pty\",\"serial_list\":["
                   "\"none\",\"vc\"]}}",
                   &e),
             "ok");
    T_EQ_STR(binfo("{\"type.hvm\":{\"serial_list\":[\"pty\",\"file:/etc/"
                   "cron.d/x\"]}}",
                   &e),
             "device-model: the guest's serial port is file:/etc/cron.d/x, a "
             "device or file of QEMU's in dom0; relocd-allow-device-model-args "
             "is no");
    T_EQ_STR(binfo("{\"type.hvm\":{\"serial\":\"/dev/ttyS0\"}}", &e),
             "device-model: the guest's serial port is /dev/ttyS0, a device "
             "or file of QEMU's in dom0; relocd-allow-device-model-args is no");
    T_EQ_STR(verdict("{\"channels\":[{\"name\":\"org.qemu.guest_agent.0\","
                     "\"connection\":\"pty\"},{\"name\":\"x\",\"connection\":"
                     "\"socket\",\"connection.socket\":{\"path\":"
                     "\"/etc/passwd\"}}]}",
                     &e),
             "device-model: channel 1: QEMU would bind a socket at /etc/passwd "
             "in dom0 (removing what is there); "
             "relocd-allow-device-model-args is no");
    e.allow_dm_args = 1;
    T_EQ_STR(binfo("{\"type.hvm\":{\"serial\":\"/dev/ttyS0\"}}", &e), "ok");
}

static void test_passthrough(void)
{
    struct guestpol_env e = env();
    int n;

    T_EQ_STR(verdict("{\"pcidevs\":[{\"bus\":3,\"seize\":true}]}", &e),
             "passthrough: the guest asks for 1 of this host's pcidevs; a "
             "received guest gets no host hardware");
    T_EQ_STR(verdict("{\"pcidevs\":[],\"usbdevs\":null,\"dtdevs\":{}}", &e),
             "ok");
    T_EQ_STR(binfo("{\"iomem\":[{\"start\":0,\"number\":1}]}", &e),
             "passthrough: the guest asks for 1 of this host's iomem ranges; "
             "a received guest gets no host hardware");
    T_EQ_STR(binfo("{\"type.hvm\":{\"usbdevice_list\":[\"tablet\","
                   "\"host:1234:5678\"]}}",
                   &e),
             "passthrough: the guest asks for this host's USB device "
             "host:1234:5678; a received guest gets no host hardware");
    T_EQ_STR(binfo("{\"type.hvm\":{\"usbdevice\":\"tablet\"}}", &e), "ok");
    /* not even with the device-model switch */
    e.allow_dm_args = 1;
    verdict_n("{\"usbdevs\":[{}],\"b_info\":{\"ioports\":[{}],\"irqs\":[7]}}",
              &e, &n);
    T_EQ_INT(n, 3);
}

static void test_not_a_config(void)
{
    struct guestpol_env e = env();
    struct msg_preflight_result res = {.ok = 1};

    guestpol_check("[1,2", 4, &e, &res);
    T_EQ_INT(res.nchecks, 0);
    guestpol_check("[]", 2, &e, &res);
    T_EQ_INT(res.nchecks, 0);
    T_EQ_STR(verdict("{\"disks\":{\"pdev_path\":\"/dev/sda\"},\"nics\":7,"
                     "\"b_info\":[]}",
                     &e),
             "ok");
    T_EQ_STR(verdict("{\"disks\":[7,null,{\"pdev_path\":5}]}", &e), "ok");
}

int main(void)
{
    test_disks_default();
    test_disks_listed();
    test_shares();
    test_scripts();
    test_device_model();
    test_chardevs();
    test_passthrough();
    test_not_a_config();
    return t_done("test_guestpol");
}
