/*
 * dmctl.c - device-mapper ioctls on /dev/mapper/control (dmctl.h), laid
 * out as libdevmapper lays them out: a struct dm_ioctl, its payload at
 * data_start = sizeof(struct dm_ioctl), data_size the whole buffer.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/dm-ioctl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "relocd/dmctl.h"

#define DMCTL_CONTROL "/dev/mapper/control"
#define DMCTL_BUF 16384 /* a status answer: one era line is ~40 bytes */

/* The buffer of one request: the header, then room for what goes with it. */
union dmctl_buf {
    struct dm_ioctl io;
    char bytes[DMCTL_BUF];
};

/* The header for node; -1 with ENAMETOOLONG if dm cannot name it. */
static int dmctl_init(union dmctl_buf *b, const char *node, uint32_t flags)
{
    size_t len = strlen(node);

    memset(&b->io, 0, sizeof(b->io));
    if (len >= sizeof(b->io.name)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    b->io.version[0] = DM_VERSION_MAJOR;
    b->io.data_size = sizeof(*b);
    b->io.data_start = sizeof(b->io);
    b->io.flags = flags;
    memcpy(b->io.name, node, len + 1);
    return 0;
}

static int dmctl_call(unsigned long cmd, union dmctl_buf *b)
{
    int fd, r, saved;

    fd = open(DMCTL_CONTROL, O_RDWR | O_CLOEXEC);
    if (fd < 0) return -1;
    do
        r = ioctl(fd, cmd, &b->io);
    while (r < 0 && errno == EINTR);
    saved = errno;
    close(fd);
    errno = saved;
    return r < 0 ? -1 : 0;
}

/*
 * No flag but the suspend one: the kernel flushes and waits for the I/O
 * in flight, as `dmsetup suspend` without --noflush asks.
 */
int dmctl_suspend(const char *node, int suspend)
{
    union dmctl_buf b;

    if (dmctl_init(&b, node, suspend ? DM_SUSPEND_FLAG : 0) < 0) return -1;
    b.io.data_size = sizeof(b.io);
    return dmctl_call(DM_DEV_SUSPEND, &b);
}

int dmctl_status_text(const char *data, size_t len, uint32_t count, char *out,
                      size_t outlen)
{
    struct dm_target_spec spec;
    size_t at = 0, used = 0, plen;
    const char *params;
    uint32_t i;
    int n;

    if (outlen == 0) {
        errno = EMSGSIZE;
        return -1;
    }
    out[0] = '\0';
    for (i = 0; i < count; i++) {
        if (at > len || len - at < sizeof(spec)) goto bad;
        memcpy(&spec, data + at, sizeof(spec));
        params = data + at + sizeof(spec);
        plen = strnlen(params, len - at - sizeof(spec));
        if (plen == len - at - sizeof(spec)) goto bad; /* no NUL */
        n = snprintf(out + used, outlen - used,
                     "%" PRIu64 " %" PRIu64 " %.*s %s\n",
                     (uint64_t)spec.sector_start, (uint64_t)spec.length,
                     (int)strnlen(spec.target_type, sizeof(spec.target_type)),
                     spec.target_type, params);
        if (n < 0 || (size_t)n >= outlen - used) {
            errno = EMSGSIZE;
            return -1;
        }
        used += (size_t)n;
        /* the next record must lie further on: no loop, no going back */
        if (i + 1 < count && spec.next <= at) goto bad;
        at = spec.next;
    }
    return 0;
bad:
    errno = EPROTO;
    return -1;
}

int dmctl_status(const char *node, char *out, size_t outlen)
{
    union dmctl_buf b;
    size_t start, size;

    if (dmctl_init(&b, node, 0) < 0 || dmctl_call(DM_TABLE_STATUS, &b) < 0)
        return -1;
    if (b.io.flags & DM_BUFFER_FULL_FLAG) {
        errno = EMSGSIZE;
        return -1;
    }
    start = b.io.data_start;
    size = b.io.data_size;
    if (start < sizeof(b.io) || start > size || size > sizeof(b)) {
        errno = EPROTO;
        return -1;
    }
    return dmctl_status_text(b.bytes + start, size - start, b.io.target_count,
                             out, outlen);
}

int dmctl_message(const char *node, uint64_t sector, const char *message)
{
    union dmctl_buf b;
    struct dm_target_msg *msg;
    size_t len = strlen(message);

    if (dmctl_init(&b, node, 0) < 0) return -1;
    if (len + 1 > sizeof(b) - sizeof(b.io) - sizeof(*msg)) {
        errno = EMSGSIZE;
        return -1;
    }
    msg = (struct dm_target_msg *)(b.bytes + sizeof(b.io));
    msg->sector = sector;
    memcpy(msg->message, message, len + 1);
    return dmctl_call(DM_TARGET_MSG, &b);
}
