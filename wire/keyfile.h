/*
 * keyfile.h - opening a file that holds a secret (this host's TLS private
 * key, the cluster's pre-shared key) only when no one else can read or
 * replace it, as OpenSSH refuses an unprotected private key
 * (sshkey_perm_ok) and a file owned by another user (safe_path).
 *
 * The rule: a regular file, owned by root or by the effective user, with
 * no permission bits for group or others.  The file is checked through
 * the descriptor that is then read, so it cannot be swapped in between.
 */
#ifndef RELOCD_KEYFILE_H
#define RELOCD_KEYFILE_H

#include <stddef.h>

/* keyfile.c */

/*
 * Opens path read-only (O_CLOEXEC, O_NOCTTY, O_NONBLOCK: a FIFO cannot
 * block us) and checks it; what ("private key", "pre-shared key") names it
 * in messages.  A descriptor the caller closes, or -1 with a message in
 * err naming path: errno is the system's for a failed open or fstat, else
 * EACCES, e.g. "FILE: UNPROTECTED PRIVATE KEY FILE! permissions 0644 are
 * too open: a private key file must not be accessible by group or others
 * (chmod 600)".
 */
int keyfile_open(const char *path, const char *what, char *err, size_t errlen);

/* keyfile_open() and close: 0 when path passes, else -1 as above. */
int keyfile_check(const char *path, const char *what, char *err, size_t errlen);

#endif
