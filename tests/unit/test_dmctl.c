/*
 * test_dmctl.c - the DM_TABLE_STATUS answer read as `dmsetup status`
 * prints it, from buffers laid out as the kernel's retrieve_status()
 * lays them out (drivers/md/dm-ioctl.c), and the requests' refusals that
 * need no device-mapper.
 */
#include <errno.h>
#include <linux/dm-ioctl.h>
#include <stdint.h>
#include <string.h>

#include "relocd/dmctl.h"
#include "t.h"

/* Appends a target record at *at of data, as the kernel does. */
static void put_spec(char *data, size_t *at, uint64_t start, uint64_t len,
                     const char *type, const char *params)
{
    struct dm_target_spec spec;
    size_t here = *at;

    memset(&spec, 0, sizeof(spec));
    spec.sector_start = start;
    spec.length = len;
    strncpy(spec.target_type, type, sizeof(spec.target_type) - 1);
    *at += sizeof(spec);
    memcpy(data + *at, params, strlen(params) + 1);
    *at += strlen(params) + 1;
    *at = (*at + 7) & ~(size_t)7; /* align_ptr */
    spec.next = (uint32_t)*at;
    memcpy(data + here, &spec, sizeof(spec));
}

static void test_status_lines(void)
{
    char data[1024] = {0}, out[256];
    size_t at = 0;

    put_spec(data, &at, 0, 65536, "era", "8 43/2048 7 -");
    T_EQ_INT(dmctl_status_text(data, at, 1, out, sizeof(out)), 0);
    T_EQ_STR(out, "0 65536 era 8 43/2048 7 -\n");
    put_spec(data, &at, 65536, 2048, "linear", "");
    T_EQ_INT(dmctl_status_text(data, at, 2, out, sizeof(out)), 0);
    T_EQ_STR(out, "0 65536 era 8 43/2048 7 -\n65536 2048 linear \n");
    /* no target: nothing */
    T_EQ_INT(dmctl_status_text(data, 0, 0, out, sizeof(out)), 0);
    T_EQ_STR(out, "");
}

static void test_status_refuses_what_the_kernel_never_sends(void)
{
    char data[1024] = {0}, out[256];
    size_t at = 0;
    struct dm_target_spec spec;

    put_spec(data, &at, 0, 65536, "era", "8 43/2048 7 -");
    /* more records than the data holds */
    errno = 0;
    T_EQ_INT(dmctl_status_text(data, at, 2, out, sizeof(out)), -1);
    T_EQ_INT(errno, EPROTO);
    /* params without their NUL inside the data */
    T_EQ_INT(dmctl_status_text(data, sizeof(spec) + 4, 1, out, sizeof(out)),
             -1);
    T_EQ_INT(errno, EPROTO);
    /* a next that points back would loop */
    memcpy(&spec, data, sizeof(spec));
    spec.next = 0;
    memcpy(data, &spec, sizeof(spec));
    T_EQ_INT(dmctl_status_text(data, at, 2, out, sizeof(out)), -1);
    T_EQ_INT(errno, EPROTO);
    /* a type name that fills its field is cut there, not read past */
    memset(spec.target_type, 'x', sizeof(spec.target_type));
    spec.next = (uint32_t)at;
    memcpy(data, &spec, sizeof(spec));
    T_EQ_INT(dmctl_status_text(data, at, 1, out, sizeof(out)), 0);
    T_EQ_STR(out, "0 65536 xxxxxxxxxxxxxxxx 8 43/2048 7 -\n");
    /* out too small */
    T_EQ_INT(dmctl_status_text(data, at, 1, out, 10), -1);
    T_EQ_INT(errno, EMSGSIZE);
    T_EQ_INT(dmctl_status_text(data, at, 1, out, 0), -1);
}

static void test_requests_refuse_a_name_dm_cannot_hold(void)
{
    char name[DM_NAME_LEN + 8], out[64];

    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    errno = 0;
    T_EQ_INT(dmctl_suspend(name, 1), -1);
    T_EQ_INT(errno, ENAMETOOLONG);
    T_EQ_INT(dmctl_status(name, out, sizeof(out)), -1);
    T_EQ_INT(errno, ENAMETOOLONG);
    T_EQ_INT(dmctl_message(name, 0, "take_metadata_snap"), -1);
    T_EQ_INT(errno, ENAMETOOLONG);
}

int main(void)
{
    test_status_lines();
    test_status_refuses_what_the_kernel_never_sends();
    test_requests_refuse_a_name_dm_cannot_hold();
    return t_done("test_dmctl");
}
