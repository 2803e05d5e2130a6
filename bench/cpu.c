/*
 * cpu.c - `relocd-bench run` and `quiesce`: CPU accounting for the
 * benchmark without cgroups.
 *
 * run: the CPU of a command and of every descendant that was reaped by its
 * parent, from getrusage(RUSAGE_CHILDREN) once the command was waited for.
 * Daemons (relocd, sshd) reap their workers, relays, sessions and xl
 * receivers, so their whole tree is counted once they have been quiesced
 * (no child left) and stopped.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"
#include "wire/clock.h"

static volatile sig_atomic_t run_child;

/* Stopping the runner stops what it runs (cleanup traps kill runners). */
static void on_signal(int sig)
{
    if (run_child > 0) kill(run_child, sig);
}

static double tv_s(struct timeval tv)
{
    return (double)tv.tv_sec + tv.tv_usec / 1e6;
}

static int write_pidfile(const char *path, pid_t pid)
{
    FILE *f = fopen(path, "w");

    if (!f) return -1;
    fprintf(f, "%d\n", (int)pid);
    return fclose(f);
}

/* Runs argv, then writes its wall time and CPU (children) to out. */
static int run(const char *out, const char *pidfile, char **argv)
{
    struct sigaction sa = {.sa_handler = on_signal};
    struct rusage ru;
    double t0 = clock_s(), wall;
    int status = 0;
    pid_t pid;
    FILE *f;

    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    pid = fork();
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    if (pid < 0) return bench_err("run", "fork: %s", strerror(errno));
    run_child = pid;
    if (pidfile && write_pidfile(pidfile, pid) < 0)
        bench_err("run", "cannot write %s", pidfile);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    wall = clock_s() - t0;
    getrusage(RUSAGE_CHILDREN, &ru);
    f = fopen(out, "w");
    if (!f) return bench_err("run", "cannot write %s", out);
    fprintf(f, "wall_s=%.6f user_s=%.6f sys_s=%.6f status=%d\n", wall,
            tv_s(ru.ru_utime), tv_s(ru.ru_stime), status);
    fclose(f);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 1;
}

int cpu_run_main(int argc, char **argv)
{
    const char *pidfile = NULL;
    int c;

    while ((c = getopt(argc, argv, "+p:")) != -1) {
        if (c != 'p') return 2;
        pidfile = optarg;
    }
    if (argc - optind < 2)
        return bench_err("run", "usage: run [-p PIDFILE] OUT COMMAND...");
    return run(argv[optind], pidfile, argv + optind + 1);
}

/* The parent of /proc/<name>, or -1 (gone, or not a process). */
static long proc_ppid(const char *name)
{
    char path[64], text[512], *p;
    long ppid = -1;
    size_t n;
    FILE *f;

    if (snprintf(path, sizeof(path), "/proc/%s/stat", name) >=
        (int)sizeof(path))
        return -1;
    f = fopen(path, "r");
    if (!f) return -1;
    n = fread(text, 1, sizeof(text) - 1, f);
    fclose(f);
    text[n] = '\0';
    /* comm may hold spaces and ')': the state follows the last ')'. */
    p = strrchr(text, ')');
    if (p && sscanf(p + 1, " %*c %ld", &ppid) != 1) ppid = -1;
    return ppid;
}

static int has_children(long pid)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    int found = 0;

    while (d && !found && (e = readdir(d)))
        if (e->d_name[0] >= '1' && e->d_name[0] <= '9')
            found = proc_ppid(e->d_name) == pid;
    if (d) closedir(d);
    return found;
}

int cpu_quiesce_main(int argc, char **argv)
{
    double deadline;
    long pid;

    if (argc != 3) return bench_err("quiesce", "usage: quiesce SECONDS PID");
    deadline = clock_s() + atof(argv[1]);
    pid = atol(argv[2]);
    while (has_children(pid)) {
        if (clock_s() > deadline)
            return bench_err("quiesce", "process %ld still has children", pid);
        usleep(20000);
    }
    return 0;
}
