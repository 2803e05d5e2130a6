/*
 * dmctl.h - device-mapper requests relocd makes while a guest's I/O or
 * the guest itself waits: the ioctls that `dmsetup suspend|resume`,
 * `dmsetup status` and `dmsetup message` make, without a process
 * start-up each (0.2-0.5 s under the lab's TCG, inside the downtime when
 * the last disk pass runs).  Linux's include/uapi/linux/dm-ioctl.h and
 * libdevmapper's libdm-iface.c are the reference.
 */
#ifndef RELOCD_DMCTL_H
#define RELOCD_DMCTL_H

#include <stddef.h>
#include <stdint.h>

/* Suspends (suspend 1: waits for the I/O in flight) or resumes /dev/mapper/
 * node, as `dmsetup suspend|resume`; 0, or -1 with errno. */
int dmctl_suspend(const char *node, int suspend);

/*
 * The node's status as `dmsetup status node` prints it: a line "START
 * LENGTH TARGET PARAMS" per target, NUL-terminated in out; 0, or -1 with
 * errno (EMSGSIZE: more than outlen - 1 bytes).
 */
int dmctl_status(const char *node, char *out, size_t outlen);

/* Sends message to the node's target at sector, as `dmsetup message node
 * sector message`; 0, or -1 with errno. */
int dmctl_message(const char *node, uint64_t sector, const char *message);

/*
 * The lines of a DM_TABLE_STATUS answer: data (len bytes from the
 * ioctl's data_start) holding count dm_target_spec records, each
 * followed by its NUL-terminated params and naming the next by offset
 * from data.  0, or -1 with errno (EPROTO: a record outside data;
 * EMSGSIZE: out too small).  Apart for the unit test.
 */
int dmctl_status_text(const char *data, size_t len, uint32_t count, char *out,
                      size_t outlen);

#endif
