/*
 * rundir.h - the run directory: where the control socket lives, and with
 * it relocd's state (incoming/ and outgoing/, the marks of moves in
 * flight).  Whoever may write to that directory may replace the socket
 * xl-relocate talks to or forge state, so it is checked as sshd's
 * StrictModes checks a user's files (OpenSSH's safe_path): it must be a
 * directory, not a symbolic link, owned by the effective user and writable
 * by no one else.
 */
#ifndef RELOCD_RUNDIR_H
#define RELOCD_RUNDIR_H

#include <stddef.h>
#include <sys/types.h>

/* rundir.c */

/*
 * Checks the directory of the control socket sock_path; with create, makes
 * it (mode 0755) when it does not exist.  0, or -1 with errno set and the
 * reason in err, e.g. "/run/relocd: bad owner or modes: mode 0777 lets
 * group or others write to it (chmod 755 /run/relocd)".  Without create a
 * missing directory passes: relocd makes it at start-up.
 */
int rundir_check(const char *sock_path, int create, char *err, size_t errlen);
/*
 * The state directory sub ("incoming", "outgoing") beside the control
 * socket sock_path, into path.  0, or -1 when it does not fit.
 */
int rundir_path(const char *sock_path, const char *sub, char *path, size_t len);
/*
 * Whether pid, which wrote a mark, is a process of a previous relocd that
 * outlived it (a sender worker, a receiving session): alive, not a zombie,
 * and running relocd's own program.  Settling a move under a live process
 * could resume a guest it is handing over, or destroy one it receives.
 */
int rundir_mark_alive(pid_t pid);

#endif
