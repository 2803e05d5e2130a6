/*
 * dm.c - QEMU upstream around relocd's own xc_domain_save, as libxl 4.17
 * does it: log-dirty over QMP while pre-copy runs, QEMU's saved state in
 * the stream after libxenguest's.  Stopping QEMU and saving its state is
 * libxl_domain_suspend_only's part (send.c's suspend callback): for an HVM
 * guest it stops QEMU and saves it to libxl's state file once the guest
 * is suspended, and libxl_domain_resume sends QEMU "cont" after a failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libxl_utils.h>
#include <xenstore.h>

#include "wire/buf.h"
#include "wire/clock.h"
#include "wire/fdio.h"
#include "wire/json.h"
#include "wire/qmp.h"
#include "wire/xlstream.h"
#include "xen/dm.h"

/* libxl's directories (XEN_RUN_DIR, XEN_LIB_DIR of Debian's build). */
#define DM_RUN_DIR "/var/run/xen"
#define DM_LIB_DIR "/var/lib/xen"
/* libxl's timeout for a log-dirty switch (domain_suspend_switch_...). */
#define DM_LOGDIRTY_MS (10 * 1000)
/* EMULATOR_XENSTORE_DATA of one guest: a few physmap entries. */
#define DM_XS_DATA_MAX (64 * 1024)

enum xen_dm xen_dm_kind(libxl_ctx *ctx, uint32_t domid, int hvm)
{
    struct xs_handle *xs;
    char path[64], *v = NULL;
    enum xen_dm kind = XEN_DM_OTHER;

    if (!hvm) return XEN_DM_NONE;
    if (libxl_get_stubdom_id(ctx, domid)) return XEN_DM_OTHER;
    snprintf(path, sizeof(path), "/libxl/%u/dm-version", domid);
    if ((xs = xs_open(XS_OPEN_READONLY))) {
        v = xs_read(xs, XBT_NULL, path, NULL);
        xs_close(xs);
    }
    /* libxl: an absent key is qemu-traditional, as before 4.3. */
    if (v && !strcmp(v, "qemu_xen")) kind = XEN_DM_QEMU_XEN;
    free(v);
    return kind;
}

/*
 * libxl's lock of the domain's QMP socket (libxl__ev_qmplock_init,
 * libxl__userdata_path): QEMU serves one QMP client at a time, and
 * libxl's users queue on this flock.  The fd, or -1 with a reason.
 */
static int qmp_lock(libxl_ctx *ctx, uint32_t domid, long long deadline,
                    char *err, size_t errlen)
{
    libxl_dominfo info;
    char path[256];
    struct stat a, b;
    int fd = -1;

    libxl_dominfo_init(&info);
    if (libxl_domain_info(ctx, &info, domid)) {
        snprintf(err, errlen, "domain %u vanished", domid);
        return -1;
    }
    snprintf(path, sizeof(path),
             DM_LIB_DIR "/userdata-l.%u." LIBXL_UUID_FMT ".qmp-socket-lock",
             domid, LIBXL_UUID_BYTES(info.uuid));
    libxl_dominfo_dispose(&info);
    while (clock_ms() < deadline) {
        if (fd < 0 && (fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666)) < 0)
            break;
        if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
            clock_sleep_ms(20);
            continue;
        }
        /* As libxl: a lock on a file its holder deleted is no lock. */
        if (!fstat(fd, &a) && !stat(path, &b) && a.st_ino == b.st_ino &&
            a.st_dev == b.st_dev)
            return fd;
        close(fd);
        fd = -1;
    }
    snprintf(err, errlen, "QEMU's QMP lock %s: %s", path,
             fd < 0 ? strerror(errno) : "held by another client");
    if (fd >= 0) close(fd);
    return -1;
}

int xen_dm_logdirty(libxl_ctx *ctx, uint32_t domid, int enable, char *err,
                    size_t errlen)
{
    long long deadline = clock_ms() + DM_LOGDIRTY_MS;
    char path[64], why[512];
    const unsigned char *args;
    yajl_gen g = json_begin();
    struct qmp *q = NULL;
    size_t len;
    int lock, rc = -1;

    json_kv_bool(g, "enable", enable);
    if (json_end(g, &args, &len) < 0) {
        json_free(g);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(path, sizeof(path), DM_RUN_DIR "/qmp-libxl-%u", domid);
    lock = qmp_lock(ctx, domid, deadline, why, sizeof(why));
    if (lock >= 0 &&
        (q = qmp_connect(path, (int)(deadline - clock_ms()), why,
                         sizeof(why))) &&
        qmp_execute(q, "xen-set-global-dirty-log", (const char *)args,
                    (int)(deadline - clock_ms()), why, sizeof(why)) == 0)
        rc = 0;
    qmp_close(q);
    if (lock >= 0) close(lock);
    json_free(g);
    if (rc)
        snprintf(err, errlen, "switching QEMU's log-dirty %s: %s",
                 enable ? "on" : "off", why);
    return rc;
}

static void savefile(uint32_t domid, char *path, size_t len)
{
    snprintf(path, len, DM_LIB_DIR "/qemu-save.%u", domid);
}

void xen_dm_forget(uint32_t domid)
{
    char path[64];

    savefile(domid, path, sizeof(path));
    unlink(path);
}

/*
 * QEMU's physmap keys, relative to its xenstore directory, as
 * libxl__save_emulator_xenstore_data packs them: key NUL value NUL, for
 * start_addr, size and name of each entry.  0, or -1 with a reason.
 */
static int xs_data(uint32_t domid, struct buf *out, char *err, size_t errlen)
{
    static const char *const keys[] = {"start_addr", "size", "name"};
    struct xs_handle *xs = xs_open(XS_OPEN_READONLY);
    char root[64], key[256], path[320], *val;
    unsigned n = 0, i, j;
    char **ents = NULL;
    int rc = 0;

    if (!xs) {
        snprintf(err, errlen, "cannot open xenstore: %s", strerror(errno));
        return -1;
    }
    snprintf(root, sizeof(root), "/local/domain/0/device-model/%u", domid);
    snprintf(path, sizeof(path), "%s/physmap", root);
    ents = xs_directory(xs, XBT_NULL, path, &n);
    for (i = 0; ents && i < n && !rc; i++) {
        for (j = 0; j < 3 && !rc; j++) {
            snprintf(key, sizeof(key), "physmap/%s/%s", ents[i], keys[j]);
            snprintf(path, sizeof(path), "%s/%s", root, key);
            if (!(val = xs_read(xs, XBT_NULL, path, NULL)) ||
                buf_put(out, key, strlen(key) + 1) < 0 ||
                buf_put(out, val, strlen(val) + 1) < 0) {
                snprintf(err, errlen, "QEMU's xenstore key %s: %s", path,
                         val ? "too much data" : strerror(errno));
                rc = -1;
            }
            free(val);
        }
    }
    free(ents);
    xs_close(xs);
    return rc;
}

/* Writes one record of QEMU upstream to fd: 0, or -1 (errno). */
static int put_record(int fd, uint32_t type, const void *body, size_t len)
{
    struct buf *b = buf_new(xls_record_size(XLS_EMULATOR_QEMU_UPSTREAM, len));
    int rc = -1;

    if (b &&
        xls_put_record(b, type, XLS_EMULATOR_QEMU_UPSTREAM, body, len) == 0)
        rc = fdio_write_all(fd, buf_ptr(b), buf_len(b));
    buf_free(b);
    return rc;
}

/* The state file QEMU wrote: its bytes, or -1 with a reason. */
static int read_state(const char *path, char **data_r, size_t *len_r, char *err,
                      size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1;
    struct stat st;

    if (fd < 0 || fstat(fd, &st) < 0)
        snprintf(err, errlen, "QEMU's saved state %s: %s", path,
                 strerror(errno));
    else if (!S_ISREG(st.st_mode))
        snprintf(err, errlen, "QEMU's saved state %s is not a plain file",
                 path);
    else if (fdio_read_file(fd, XLS_MAX_EMULATOR_CONTEXT, data_r, len_r) < 0)
        snprintf(err, errlen, "reading QEMU's saved state %s: %s", path,
                 strerror(errno));
    else
        rc = 0;
    if (fd >= 0) close(fd);
    return rc;
}

int xen_dm_put_records(uint32_t domid, int fd, char *err, size_t errlen)
{
    struct buf *xs = buf_new(DM_XS_DATA_MAX);
    char path[64], *state = NULL;
    size_t len = 0;
    int rc = -1;

    savefile(domid, path, sizeof(path));
    if (!xs)
        snprintf(err, errlen, "out of memory");
    else if (xs_data(domid, xs, err, errlen) == 0 &&
             read_state(path, &state, &len, err, errlen) == 0) {
        /* No physmap, no record: libxl writes none either. */
        if ((buf_len(xs) && put_record(fd, XLS_REC_EMULATOR_XENSTORE_DATA,
                                       buf_ptr(xs), buf_len(xs)) < 0) ||
            put_record(fd, XLS_REC_EMULATOR_CONTEXT, state, len) < 0)
            snprintf(err, errlen, "writing QEMU's records: %s",
                     strerror(errno));
        else
            rc = 0;
    }
    free(state);
    buf_free(xs);
    unlink(path);
    return rc;
}
