/*
 * test_sandbox.c - a forked child enters the sandbox, and what it can
 * still do is checked from inside (its system calls) and from outside
 * (/proc/PID/status: uid, NoNewPrivs, Seccomp).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "relocd/sandbox.h"
#include "t.h"

/* What the sandboxed child saw, sent back over a pipe. */
struct inside {
    int entered;
    unsigned uid;
    int open_errno, socket_errno, pair_errno, write_ok;
};

static void child(const char *dir, const struct sandbox_id *id, int out, int go)
{
    struct inside in = {0};
    char err[256], c;
    int fds[2];

    in.entered = sandbox_enter(dir, id, err, sizeof(err)) == 0;
    if (!in.entered) fprintf(stderr, "sandbox_enter: %s\n", err);
    in.uid = (unsigned)getuid();
    errno = 0;
    in.open_errno = open("/etc/passwd", O_RDONLY) < 0 ? errno : 0;
    in.socket_errno = socket(AF_INET, SOCK_STREAM, 0) < 0 ? errno : 0;
    in.pair_errno = socketpair(AF_UNIX, SOCK_STREAM, 0, fds) < 0 ? errno : 0;
    in.write_ok = 1;
    /* Held descriptors still work: that is how the session talks. */
    if (write(out, &in, sizeof(in)) != sizeof(in)) _exit(2);
    if (read(go, &c, 1) != 1) _exit(3);
    _exit(0);
}

static int status_field(pid_t pid, const char *key, char *val, size_t len)
{
    char path[64], line[256];
    size_t klen = strlen(key);
    FILE *f;
    int rc = -1;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (!(f = fopen(path, "r"))) return -1;
    while (rc < 0 && fgets(line, sizeof(line), f))
        if (!strncmp(line, key, klen) && line[klen] == ':') {
            snprintf(val, len, "%s",
                     line + klen + 1 + strspn(line + klen + 1, "\t "));
            val[strcspn(val, "\t\n")] = 0;
            rc = 0;
        }
    fclose(f);
    return rc;
}

static void test_child_is_unprivileged_and_filtered(void)
{
    struct sandbox_id id;
    struct inside in = {0};
    char dir[] = "/tmp/test_sandbox.XXXXXX", err[256], v[64];
    int up[2], go[2], status = -1, root = geteuid() == 0;
    pid_t pid;

    if (!mkdtemp(dir)) abort();
    chmod(dir, 0755);
    T_OK(sandbox_empty_dir(dir, err, sizeof(err)) == 0, "%s", err);
    T_OK(sandbox_id_lookup("nobody", &id, err, sizeof(err)) == 0, "%s", err);
    if (pipe(up) < 0 || pipe(go) < 0) abort();
    pid = fork();
    if (pid == 0) child(dir, &id, up[1], go[0]);
    T_EQ_INT(read(up[0], &in, sizeof(in)), sizeof(in));
    T_OK(in.entered, "the child entered the sandbox");
    if (root) T_EQ_INT(in.uid, id.uid);
    T_EQ_INT(in.open_errno, EPERM);
    T_EQ_INT(in.socket_errno, EPERM);
    T_EQ_INT(in.pair_errno, EPERM);
    T_OK(status_field(pid, "NoNewPrivs", v, sizeof(v)) == 0 && !strcmp(v, "1"),
         "NoNewPrivs: %s", v);
    T_OK(status_field(pid, "Seccomp", v, sizeof(v)) == 0 && !strcmp(v, "2"),
         "Seccomp: %s", v);
    if (root) {
        snprintf(err, sizeof(err), "%u", (unsigned)id.uid);
        T_OK(status_field(pid, "Uid", v, sizeof(v)) == 0 && !strcmp(v, err),
             "Uid: %s", v);
        T_OK(status_field(pid, "Groups", v, sizeof(v)) == 0 && !v[0],
             "Groups: '%s'", v);
    }
    T_EQ_INT(write(go[1], "x", 1), 1);
    waitpid(pid, &status, 0);
    T_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d",
         status);
    close(up[0]);
    close(up[1]);
    close(go[0]);
    close(go[1]);
    rmdir(dir);
}

static void test_root_and_unknown_users_are_refused(void)
{
    struct sandbox_id id;
    char err[256];

    T_OK(sandbox_id_lookup("root", &id, err, sizeof(err)) < 0, "root refused");
    T_OK(strstr(err, "must not be root") != NULL, "%s", err);
    T_OK(sandbox_id_lookup("no-such-user-relocd", &id, err, sizeof(err)) < 0,
         "unknown user refused");
    T_OK(strstr(err, "no such user") != NULL, "%s", err);
}

static void test_writable_empty_dir_is_refused(void)
{
    char dir[] = "/tmp/test_sandbox.XXXXXX", err[256];

    if (!mkdtemp(dir)) abort();
    chmod(dir, 0777);
    T_OK(sandbox_empty_dir(dir, err, sizeof(err)) < 0, "0777 refused");
    rmdir(dir);
}

int main(void)
{
    test_child_is_unprivileged_and_filtered();
    test_root_and_unknown_users_are_refused();
    test_writable_empty_dir_is_refused();
    return t_done("test_sandbox");
}
