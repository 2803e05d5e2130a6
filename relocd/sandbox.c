/*
 * sandbox.c - dropping root and filtering system calls (sandbox.h).
 *
 * The filter is plain classic BPF, like OpenSSH's: it checks the
 * architecture first (a 32-bit or x32 call would number differently),
 * then allows a fixed list.  Everything else fails with EPERM rather than
 * killing the process, so that a library's optional probe (OpenSSL, the
 * sanitizers) degrades instead of dying; none of the allowed calls opens a
 * file, a socket or a process.
 */
#include <errno.h>
#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "config/diag.h"
#include "relocd/sandbox.h"

#if defined(__x86_64__)
#define SANDBOX_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SANDBOX_ARCH AUDIT_ARCH_AARCH64
#else
#error "sandbox.c: add this architecture's AUDIT_ARCH_*"
#endif

int sandbox_id_lookup(const char *user, struct sandbox_id *id, char *err,
                      size_t errlen)
{
    struct passwd *pw;

    errno = 0;
    pw = getpwnam(user);
    if (!pw)
        return diag_errnof(err, errlen, errno ? errno : ENOENT,
                           "relocd-privsep-user %s: no such user", user);
    if (pw->pw_uid == 0 || pw->pw_gid == 0)
        return diag_errnof(err, errlen, EPERM,
                           "relocd-privsep-user %s: must not be root "
                           "(uid or gid 0)",
                           user);
    id->uid = pw->pw_uid;
    id->gid = pw->pw_gid;
    return 0;
}

int sandbox_empty_dir(const char *dir, char *err, size_t errlen)
{
    struct stat st;

    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        return diag_errnof(err, errlen, errno, "cannot make %s: %s", dir,
                           strerror(errno));
    if (lstat(dir, &st) < 0)
        return diag_errnof(err, errlen, errno, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & 022))
        return diag_errnof(err, errlen, EPERM,
                           "%s: not a directory of uid %u that only it "
                           "writes",
                           dir, (unsigned)geteuid());
    return 0;
}

/* Loads the syscall number, or the first argument (for socketcall-free
 * per-argument checks, none today). */
#define SB_LOAD_NR                                                             \
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr))
#define SB_ALLOW(nr)                                                           \
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (nr), 0, 1),                           \
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

/*
 * TLS over a descriptor it already holds (OpenSSL, kernel TLS's
 * setsockopt), the framing, the monitor's socket with SCM_RIGHTS, memory,
 * time and randomness, and exiting.  No open, socket, connect, execve,
 * fork, ptrace, kill, chroot, mount or set*id.
 */
static const struct sock_filter sandbox_filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SANDBOX_ARCH, 1, 0),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
    SB_LOAD_NR,
#ifdef __X32_SYSCALL_BIT
    BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, __X32_SYSCALL_BIT, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
#endif
    SB_ALLOW(__NR_read),
    SB_ALLOW(__NR_write),
    SB_ALLOW(__NR_readv),
    SB_ALLOW(__NR_writev),
    SB_ALLOW(__NR_close),
    SB_ALLOW(__NR_recvfrom),
    SB_ALLOW(__NR_sendto),
    SB_ALLOW(__NR_recvmsg),
    SB_ALLOW(__NR_sendmsg),
    SB_ALLOW(__NR_shutdown),
    SB_ALLOW(__NR_setsockopt),
    SB_ALLOW(__NR_getsockopt),
    SB_ALLOW(__NR_getsockname),
    SB_ALLOW(__NR_getpeername),
    SB_ALLOW(__NR_fcntl),
    SB_ALLOW(__NR_fstat),
    SB_ALLOW(__NR_newfstatat),
    SB_ALLOW(__NR_lseek),
    SB_ALLOW(__NR_ppoll),
#ifdef __NR_poll
    SB_ALLOW(__NR_poll),
#endif
    SB_ALLOW(__NR_pselect6),
    SB_ALLOW(__NR_brk),
    SB_ALLOW(__NR_mmap),
    SB_ALLOW(__NR_munmap),
    SB_ALLOW(__NR_mremap),
    SB_ALLOW(__NR_mprotect),
    SB_ALLOW(__NR_madvise),
    SB_ALLOW(__NR_futex),
    SB_ALLOW(__NR_getrandom),
    SB_ALLOW(__NR_clock_gettime),
    SB_ALLOW(__NR_clock_nanosleep),
    SB_ALLOW(__NR_nanosleep),
    SB_ALLOW(__NR_gettimeofday),
    SB_ALLOW(__NR_getpid),
    SB_ALLOW(__NR_gettid),
    SB_ALLOW(__NR_getuid),
    SB_ALLOW(__NR_geteuid),
    SB_ALLOW(__NR_getgid),
    SB_ALLOW(__NR_getegid),
    SB_ALLOW(__NR_rt_sigaction),
    SB_ALLOW(__NR_rt_sigprocmask),
    SB_ALLOW(__NR_rt_sigreturn),
    SB_ALLOW(__NR_sigaltstack),
    SB_ALLOW(__NR_restart_syscall),
    SB_ALLOW(__NR_sched_yield),
    SB_ALLOW(__NR_exit),
    SB_ALLOW(__NR_exit_group),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA)),
};

static int sandbox_seccomp(char *err, size_t errlen)
{
    struct sock_fprog prog = {
        .len = sizeof(sandbox_filter) / sizeof(sandbox_filter[0]),
        .filter = (struct sock_filter *)sandbox_filter,
    };

    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
        return diag_errnof(err, errlen, errno, "seccomp filter: %s",
                           strerror(errno));
    return 0;
}

/* Root into the empty directory and out of every root identity. */
static int sandbox_drop_root(const char *dir, const struct sandbox_id *id,
                             char *err, size_t errlen)
{
    if (dir && (chroot(dir) < 0 || chdir("/") < 0))
        return diag_errnof(err, errlen, errno, "chroot %s: %s", dir,
                           strerror(errno));
    if (setgroups(0, NULL) < 0 || setresgid(id->gid, id->gid, id->gid) < 0 ||
        setresuid(id->uid, id->uid, id->uid) < 0)
        return diag_errnof(err, errlen, errno, "dropping to uid %u: %s",
                           (unsigned)id->uid, strerror(errno));
    /* OpenSSH's paranoia: a kernel that let us back would be a bug. */
    if (setuid(0) == 0 || seteuid(0) == 0)
        return diag_errnof(err, errlen, EPERM, "could regain root");
    return 0;
}

/* The last word on privileges, before any filter. */
static int sandbox_no_privs(char *err, size_t errlen)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return diag_errnof(err, errlen, errno, "PR_SET_NO_NEW_PRIVS: %s",
                           strerror(errno));
    /* No core dump nor ptrace by the unprivileged user's other processes. */
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        return diag_errnof(err, errlen, errno, "PR_SET_DUMPABLE: %s",
                           strerror(errno));
    return 0;
}

int sandbox_drop_user(const struct sandbox_id *id, char *err, size_t errlen)
{
    if (geteuid() == 0 && sandbox_drop_root(NULL, id, err, errlen) < 0)
        return -1;
    return sandbox_no_privs(err, errlen);
}

int sandbox_enter(const char *empty_dir, const struct sandbox_id *id, char *err,
                  size_t errlen)
{
    if (geteuid() == 0 && sandbox_drop_root(empty_dir, id, err, errlen) < 0)
        return -1;
    if (sandbox_no_privs(err, errlen) < 0) return -1;
    return sandbox_seccomp(err, errlen);
}
