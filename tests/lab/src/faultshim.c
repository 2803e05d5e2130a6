/*
 * faultshim.so - LD_PRELOADed into the target's `xl migrate-receive` by
 * the fault-* scenarios, so that they can cut the network at one exact
 * point of xl's commit handshake (tools/xl/xl_migrate.c), which no
 * timing from a shell script can hit: xl stops itself (SIGSTOP) just
 * before or just after it writes "domain received, ready to unpause",
 * after writing its pid to LAB_FAULT_FILE; the scenario cuts the link
 * and sends SIGCONT.
 *
 *   LAB_FAULT=before-ready | after-ready   where to stop (else: nothing)
 *   LAB_FAULT_FILE=PATH                    gets "PID\n" when xl stops
 *
 * Only a process named xl stops, and only once; every other call goes
 * straight to libc's write().
 *
 * LAB_FAULT=before-disk-sync, preloaded into the target relocd
 * (storage-faults): the process receiving a disk stops itself just
 * before it syncs the copy for DONE, the one fdatasync(2) relocd makes
 * (relocd/diskrecv.c): the source's guest is suspended and its last era
 * sent, so a cancel then lands inside the final pass.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char ready[] = "domain received, ready to unpause";

static ssize_t (*real_write)(int, const void *, size_t);

/* The process's name is name (its comm, as ps shows it). */
static int is_comm(const char *name)
{
    char comm[32] = "", want[34];
    FILE *f = fopen("/proc/self/comm", "r");

    if (!f) return 0;
    if (!fgets(comm, sizeof(comm), f)) comm[0] = 0;
    fclose(f);
    snprintf(want, sizeof(want), "%s\n", name);
    return !strcmp(comm, want);
}

static void stop_here(void)
{
    const char *path = getenv("LAB_FAULT_FILE");
    char line[32];
    int fd, n;

    if (!path) return;
    if (!real_write) real_write = dlsym(RTLD_NEXT, "write");
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return;
    n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
    real_write(fd, line, (size_t)n);
    close(fd);
    raise(SIGSTOP);
}

ssize_t write(int fd, const void *buf, size_t len)
{
    static int done;
    const char *where = getenv("LAB_FAULT");
    int hit;
    ssize_t r;

    if (!real_write) real_write = dlsym(RTLD_NEXT, "write");
    hit = where && !done && len >= sizeof(ready) - 1 &&
          !memcmp(buf, ready, sizeof(ready) - 1) && is_comm("xl");
    if (hit) done = 1;
    if (hit && !strcmp(where, "before-ready")) stop_here();
    r = real_write(fd, buf, len);
    if (hit && !strcmp(where, "after-ready")) stop_here();
    return r;
}

int fdatasync(int fd)
{
    static int (*real_fdatasync)(int);
    static int done;
    const char *where = getenv("LAB_FAULT");

    if (!real_fdatasync) real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
    if (where && !done && !strcmp(where, "before-disk-sync") &&
        is_comm("relocd")) {
        done = 1;
        stop_here();
    }
    return real_fdatasync(fd);
}
