/*
 * fuzz_guestpol.c - what a received guest may use in dom0, read from the
 * libxl JSON a peer sends in PREFLIGHT (guestpol.c): any bytes, no crash,
 * and a result that keeps its bounds.  Paths resolve to made-up nodes, so
 * the harness never looks at the machine's files.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "config/conf.h"
#include "relocd/guestpol.h"
#include "relocd/hostdev.h"
#include "wire/msg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* /dev/X a block device (8:len), /d/X a directory, others an image. */
static int fuzz_resolve(const char *path, char *real, struct stat *st)
{
    size_t n = strlen(path);

    if (n % 7 == 3) {
        errno = ENOENT;
        return -1;
    }
    memset(st, 0, sizeof(*st));
    st->st_mode = !strncmp(path, "/dev/", 5) ? S_IFBLK
                  : !strncmp(path, "/d/", 3) ? S_IFDIR
                                             : S_IFREG;
    st->st_rdev = makedev(8, (unsigned)n);
    memcpy(real, path, n + 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct hostdev dom0 = {1, {0}};
    struct guestpol_env env = {
        size % 2 ? "/dev/vg0/* /srv/*.img" : NULL,
        CONF_DEFAULT_SCRIPTS,
        (int)(size % 3 == 0),
        size % 5 ? &dom0 : NULL,
        "unknown",
        fuzz_resolve,
    };
    struct msg_preflight_result res = {.ok = 1};
    unsigned i;

    dom0.dev[0] = makedev(8, 9);
    guestpol_check((const char *)data, size, &env, &res);
    if (res.nchecks > MSG_MAX_CHECKS) abort();
    for (i = 0; i < res.nchecks; i++)
        if (strnlen(res.checks[i].message, sizeof(res.checks[i].message)) ==
            sizeof(res.checks[i].message))
            abort();
    return 0;
}
