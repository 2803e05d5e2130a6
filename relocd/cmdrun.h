/*
 * cmdrun.h - running an admin's command (dmsetup, lvcreate) the way a
 * shell would, with its output bounded: the one place relocd forks a tool
 * whose answer it reads.
 */
#ifndef RELOCD_CMDRUN_H
#define RELOCD_CMDRUN_H

#include <stddef.h>

/*
 * Runs argv (argv[0] looked up in PATH), stdin from /dev/null and no
 * descriptor of ours but stdout and stderr (lvm warns of every other
 * one).  Its stdout, NUL-terminated, goes to out (at most outlen - 1
 * bytes, or the run fails with EMSGSIZE), the start of its stderr to msg
 * (for the reason of a failure); either may be NULL.  The exit status
 * (0-255), or -1 with errno when it could not run or died of a signal.
 */
int cmdrun(const char *const argv[], char *out, size_t outlen, char *msg,
           size_t msglen);

/* The last line of a tool's message in msg (trailing newlines cut). */
const char *cmdrun_last_line(char *msg);

#endif
