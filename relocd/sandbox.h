/*
 * sandbox.h - how a session's pre-authentication process gives up root:
 * an empty chroot, an unprivileged uid, no new privileges, and a seccomp
 * filter that allows only the system calls TLS and framing need (OpenSSH's
 * sandbox-seccomp-filter.c, README.xen 10).
 */
#ifndef RELOCD_SANDBOX_H
#define RELOCD_SANDBOX_H

#include <stddef.h>
#include <sys/types.h>

/* Who the sandboxed process becomes (relocd-privsep-user). */
struct sandbox_id {
    uid_t uid;
    gid_t gid;
};

/*
 * Looks user up in the password database; call it before any chroot.
 * Returns 0, or -1 with err filled: an unknown user, or root itself.
 */
int sandbox_id_lookup(const char *user, struct sandbox_id *id, char *err,
                      size_t errlen);

/*
 * Makes dir an empty directory fit to chroot into: owned by root and
 * writable by no one else.  Returns 0, or -1 with err filled.
 */
int sandbox_empty_dir(const char *dir, char *err, size_t errlen);

/*
 * Only the identity: groups, gid and uid of id, no new privileges, not
 * dumpable; no chroot, no filter.  For work that needs the system's files
 * but not root (the allow-list's DNS lookup).  Skipped without root.
 * Returns 0, or -1 with err filled; on -1 the caller must exit.
 */
int sandbox_drop_user(const struct sandbox_id *id, char *err, size_t errlen);

/*
 * Enters the sandbox, for good: chroot(empty_dir), the groups, gid and
 * uid of id, PR_SET_NO_NEW_PRIVS, then the seccomp filter.  Without root
 * (a test) the chroot and the uid change are skipped and only the last two
 * apply.  Descriptors stay open: what the process holds is what it keeps.
 * Returns 0, or -1 with err filled; on -1 the caller must exit.
 */
int sandbox_enter(const char *empty_dir, const struct sandbox_id *id, char *err,
                  size_t errlen);

#endif
