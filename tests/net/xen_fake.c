/*
 * xen_fake.c - the test double of xen/xen.h, linked into
 * build/relocd-fake for tests/net: no hypervisor, but the same decisions.
 *
 *   RELOCD_FAKE_FREE_MB   free memory the fake host has (default 4096)
 *   RELOCD_FAKE_DOMAINS   space-separated names already running here
 *   RELOCD_FAKE_HERE      names the pre-flight sees as running here
 *                         (default RELOCD_FAKE_DOMAINS): a guest both
 *                         sides can send and receive
 *   RELOCD_FAKE_RECEIVER  program run as "xl migrate-receive" (default
 *                         tests/net/fake_xl.py receive); gets the flags
 *   RELOCD_FAKE_NICS      the sent guest's vifs: "BRIDGE,MAC,IP;..."
 *   RELOCD_FAKE_DISKS     the sent guest's disks: "VDEV=PATH;..." (raw
 *                         files); RELOCD_FAKE_DISK_WRITES blocks of each
 *                         are written in every pre-copy round
 *   RELOCD_FAKE_CPU_LEAF  the sent guest's highest basic CPUID leaf (13;
 *                         knob cpu_leaf)
 *   RELOCD_FAKE_HOST_LEAF the highest one this host offers (0x16): more is
 *                         a CPU policy this host cannot run
 *   RELOCD_FAKE_UUIDS     UUIDs of the domains here (see below); the sent
 *                         guest's UUID is fake_uuid() of its name
 *   FAKE_XL_DIR           where fake_xl.py marks the guests it started
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "wire/clock.h"
#include "wire/fdio.h"
#include "wire/msg.h"
#include "xen/xen.h"
#include "wire/xlstream.h"

static long long json_int(yajl_val root, const char *a, const char *b)
{
    const char *path[] = {a, b, NULL};
    yajl_val v = yajl_tree_get(root, path, yajl_t_number);

    return v && YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : 0;
}

static const char *jstr(yajl_val v)
{
    const char *s = v ? YAJL_GET_STRING(v) : NULL;

    return s ? s : "";
}

/* name is in the space-separated list of the environment variable var */
static int name_listed(const char *var, const char *name)
{
    const char *list = getenv(var);
    char copy[1024], *tok, *save;

    snprintf(copy, sizeof(copy), "%s", list ? list : "");
    for (tok = strtok_r(copy, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save))
        if (!strcmp(tok, name)) return 1;
    return 0;
}

static long env_long(const char *name, long def);

/* A domain of that name runs here: for the pre-flight's clash check. */
static int name_taken(const char *name)
{
    return getenv("RELOCD_FAKE_HERE")
               ? name_listed("RELOCD_FAKE_HERE", name)
               : name_listed("RELOCD_FAKE_DOMAINS", name);
}

int xen_preflight(const struct msg_preflight *req,
                  struct msg_preflight_result *res, char *name_r,
                  size_t namelen)
{
    const char *free_env = getenv("RELOCD_FAKE_FREE_MB");
    const char *npath[] = {"c_info", "name", NULL};
    const char *tpath[] = {"c_info", "type", NULL};
    long long need, free_mb = free_env ? atoll(free_env) : 4096;
    yajl_val root = yajl_tree_parse(req->config, NULL, 0), name, type;

    res->ok = 1;
    /* RELOCD_FAKE_PREFLIGHT_MS: checks as slow as a loaded dom0's (lvm,
     * libxl under emulation) */
    usleep((useconds_t)env_long("RELOCD_FAKE_PREFLIGHT_MS", 0) * 1000);
    name = root ? yajl_tree_get(root, npath, yajl_t_string) : NULL;
    type = root ? yajl_tree_get(root, tpath, yajl_t_string) : NULL;
    if (!name) {
        msg_check_add(res, "config", 0, "not a libxl domain configuration");
        yajl_tree_free(root);
        return 0;
    }
    snprintf(name_r, namelen, "%s", jstr(name));
    if (req->live && !strcmp(jstr(type), "pv"))
        msg_check_add(res, "live-pv", 0,
                      "live migration of a PV guest needs shadow paging, "
                      "which this Xen was built without; migrate it offline");
    msg_check_add(res, "name", !name_taken(name_r), "%s %s", name_r,
                  name_taken(name_r) ? "already runs here" : "is free");
    if (req->cpu) {
        long host = env_long("RELOCD_FAKE_HOST_LEAF", 0x16);
        long guest = req->cpu->nleaves ? (long)req->cpu->leaves[0].a : 0;

        msg_check_add(res, "cpu", guest <= host,
                      "the guest's CPUID goes to leaf %#lx, this host's to "
                      "%#lx",
                      guest, host);
    }
    need = json_int(root, "b_info", "max_memkb") / 1024;
    res->mem_known = 1;
    res->free_kb = (uint64_t)free_mb * 1024;
    res->need_kb = (uint64_t)need * 1024;
    msg_check_add(res, "memory", need <= free_mb,
                  "needs %lld MiB, %lld MiB free in Xen", need, free_mb);
    yajl_tree_free(root);
    return 0;
}

/* RELOCD_FAKE_UUIDS: space-separated UUIDs of the domains here; unset:
 * unknown, as when Xen cannot be asked. */
int xen_domain_uuid_exists(const char *uuid)
{
    const char *list = getenv("RELOCD_FAKE_UUIDS");
    const char *p;

    if (!list) return -1;
    p = strstr(list, uuid);
    return p && (p == list || p[-1] == ' ') &&
           (p[strlen(uuid)] == ' ' || !p[strlen(uuid)]);
}

pid_t xen_receive_start(int in_fd, int out_fd, int err_fd, char *const flags[],
                        unsigned nflags)
{
    const char *prog = getenv("RELOCD_FAKE_RECEIVER");
    char *argv[16];
    unsigned i, n = 0;
    pid_t pid;

    argv[n++] = (char *)(prog ? prog : "tests/net/fake_xl.py");
    argv[n++] = "receive";
    for (i = 0; i < nflags && n < 15; i++)
        argv[n++] = flags[i];
    argv[n] = NULL;
    pid = fork();
    if (pid == 0) {
        dup2(in_fd, 0);
        dup2(out_fd, 1);
        if (err_fd >= 0) dup2(err_fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

/*
 * FAKE_XL_DIR: the directory where tests/net/fake_xl.py marks the guests
 * whose copy runs here (file NAME, its inode number the domid); unset:
 * unknown, as when Xen cannot be asked.
 */
int xen_domain_lookup(const char *name, uint32_t *domid)
{
    const char *dir = getenv("FAKE_XL_DIR");
    char path[512];
    struct stat st;

    if (!dir) return -1;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if (stat(path, &st) < 0) return 0;
    *domid = (uint32_t)st.st_ino;
    return 1;
}

/*
 * FAKE_XL_DIR/NAME.disks, one path a line: the disks the guest NAME that
 * runs here uses (no file: none, as the source's own copy of a guest
 * moving within one host).
 */
int xen_disk_used_by(const char *name, const char *path)
{
    const char *dir = getenv("FAKE_XL_DIR");
    char file[512], line[4200];
    uint32_t domid;
    FILE *f;
    int r = xen_domain_lookup(name, &domid);

    if (r <= 0) return r;
    snprintf(file, sizeof(file), "%s/%s.disks", dir, name);
    if (!(f = fopen(file, "re"))) return 0;
    while (r != 1 && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        r = !strcmp(line, path);
    }
    fclose(f);
    return r == 1;
}

void xen_receive_cleanup(const char *name)
{
    fprintf(stderr, "fake: cleanup of %s--incoming\n", name ? name : "?");
}

/* --- sending: a simulated guest ------------------------------------------
 *
 *   RELOCD_FAKE_DOMAINS    the guests that exist here (names)
 *   RELOCD_FAKE_GUEST_MB   their memory (default 64; knob mb)
 *   RELOCD_FAKE_DIRTY_PPS  pages each dirties per second (default 0)
 *   RELOCD_FAKE_ROUND_MS   extra time per pre-copy round (default 0)
 *   RELOCD_FAKE_STATE      directory: file NAME holds the guest's state
 *                          (running, suspended, renamed:X, destroyed);
 *                          files NAME.mb, NAME.pps, NAME.round_ms,
 *                          NAME.link_mbps, NAME.suspend_ms and
 *                          NAME.close_ms there override the knobs for
 *                          one guest (close_ms: xen_guest_close takes
 *                          that long, as a worker may linger after its
 *                          result, e.g. reaping its TLS relay)
 *   RELOCD_FAKE_LINK_MBPS  simulated link: each round lasts at least its
 *                          pages / this rate (default 0 = as fast as it goes)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <time.h>

struct xen_guest {
    char name[128];
    char json[4096];
    unsigned long pages;
    int suspended, cap_pct;
};

static void fake_state(const struct xen_guest *g, const char *state)
{
    const char *dir = getenv("RELOCD_FAKE_STATE");
    char path[512];
    FILE *f;

    if (!dir) return;
    snprintf(path, sizeof(path), "%s/%s", dir, g->name);
    f = fopen(path, "w");
    if (f) {
        fprintf(f, "%s\n", state);
        fclose(f);
    }
}

static long env_long(const char *name, long def)
{
    const char *v = getenv(name);

    return v ? atol(v) : def;
}

/* A per-guest knob from the state directory, else the environment. */
static long fake_param(const struct xen_guest *g, const char *knob,
                       const char *env, long def)
{
    const char *dir = getenv("RELOCD_FAKE_STATE");
    char path[512];
    long v = env_long(env, def);
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s.%s", dir ? dir : "", g->name, knob);
    f = dir ? fopen(path, "r") : NULL;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1) v = def;
        fclose(f);
    }
    return v;
}

/* A stable UUID per name: 00000000-0000-4000-8000-<12 hex of a hash>. */
static void fake_uuid(const char *name, char *out, size_t len)
{
    unsigned long long h = 1469598103934665603ULL;

    for (; *name; name++)
        h = (h ^ (unsigned char)*name) * 1099511628211ULL;
    snprintf(out, len, "00000000-0000-4000-8000-%012llx",
             h & 0xffffffffffffULL);
}

/* RELOCD_FAKE_NICS as libxl's "nics" array, appended to json. */
static void fake_nics(char *json, size_t len)
{
    const char *env = getenv("RELOCD_FAKE_NICS");
    char copy[1024], *nic, *save, *br, *mac, *ip;
    size_t n = strlen(json);
    int first = 1;

    snprintf(copy, sizeof(copy), "%s", env ? env : "");
    n += (size_t)snprintf(json + n, len - n, ",\"nics\":[");
    for (nic = strtok_r(copy, ";", &save); nic && n < len;
         nic = strtok_r(NULL, ";", &save)) {
        br = strtok(nic, ",");
        mac = strtok(NULL, ",");
        ip = strtok(NULL, ",");
        n += (size_t)snprintf(
            json + n, len - n, "%s{\"bridge\":\"%s\",\"mac\":\"%s\"%s%s%s}",
            first ? "" : ",", br ? br : "", mac ? mac : "",
            ip ? ",\"ip\":\"" : "", ip ? ip : "", ip ? "\"" : "");
        first = 0;
    }
    if (n < len) snprintf(json + n, len - n, "]");
}

/* RELOCD_FAKE_DISKS ("VDEV=PATH;..."): libxl's "disks" array, appended. */
static void fake_disks(char *json, size_t len)
{
    const char *env = getenv("RELOCD_FAKE_DISKS");
    char copy[1024], *d, *save, *eq;
    size_t n = strlen(json);
    int first = 1;

    if (!env) return;
    snprintf(copy, sizeof(copy), "%s", env);
    n += (size_t)snprintf(json + n, len - n, ",\"disks\":[");
    for (d = strtok_r(copy, ";", &save); d && n < len;
         d = strtok_r(NULL, ";", &save)) {
        if (!(eq = strchr(d, '='))) continue;
        *eq = 0;
        n += (size_t)snprintf(json + n, len - n,
                              "%s{\"pdev_path\": \"%s\",\"vdev\":\"%s\","
                              "\"format\":\"raw\",\"readwrite\":1}",
                              first ? "" : ",", eq + 1, d);
        first = 0;
    }
    if (n < len) snprintf(json + n, len - n, "]");
}

/*
 * The fake guest's disk writes in pre-copy round it (RELOCD_FAKE_DISK_WRITES
 * 4 KiB blocks a round on each disk, knob disk_writes): each block holds
 * the round and its number, at offsets that move with the round.
 */
static void fake_disk_writes(const struct xen_guest *g, unsigned it)
{
    long n = fake_param(g, "disk_writes", "RELOCD_FAKE_DISK_WRITES", 0);
    const char *env = getenv("RELOCD_FAKE_DISKS");
    char copy[1024], *d, *save, *eq, block[4096];
    struct stat st;
    long i;
    int fd;

    snprintf(copy, sizeof(copy), "%s", env ? env : "");
    for (d = strtok_r(copy, ";", &save); n > 0 && d;
         d = strtok_r(NULL, ";", &save)) {
        if (!(eq = strchr(d, '='))) continue;
        fd = open(eq + 1, O_WRONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) < 0 || st.st_size < 4096) {
            if (fd >= 0) close(fd);
            continue;
        }
        for (i = 0; i < n; i++) {
            memset(block, 'a' + (int)((it + (unsigned)i) % 26), sizeof(block));
            snprintf(block, sizeof(block), "round %u write %ld", it, i);
            if (pwrite(fd, block, sizeof(block),
                       (off_t)(((uint64_t)it * 7919 + (uint64_t)i * 104729) %
                               ((uint64_t)st.st_size / 4096) * 4096)) < 0)
                break;
        }
        close(fd);
    }
}

int xen_guest_disk_node(struct xen_guest *g, const char *vdev, char *node,
                        size_t nodelen, char *err, size_t errlen)
{
    snprintf(node, nodelen, "fake-%s-%s", g->name, vdev);
    (void)err;
    (void)errlen;
    return 0;
}

struct xen_guest *xen_guest_open(const char *domain, char *err, size_t errlen)
{
    struct xen_guest *g;
    char uuid[40];

    if (!name_listed("RELOCD_FAKE_DOMAINS", domain)) {
        snprintf(err, errlen, "no guest domain '%s' here", domain);
        return NULL;
    }
    g = calloc(1, sizeof(*g));
    if (!g) return NULL;
    snprintf(g->name, sizeof(g->name), "%s", domain);
    g->pages =
        (unsigned long)fake_param(g, "mb", "RELOCD_FAKE_GUEST_MB", 64) * 256;
    fake_uuid(domain, uuid, sizeof(uuid));
    snprintf(g->json, sizeof(g->json),
             "{\"c_info\":{\"type\":\"pvh\",\"name\":\"%s\","
             "\"uuid\":\"%s\"},\"b_info\":{\"max_memkb\":%lu}",
             domain, uuid, g->pages * 4);
    fake_nics(g->json, sizeof(g->json) - 1);
    fake_disks(g->json, sizeof(g->json) - 1);
    strcat(g->json, "}");
    fake_state(g, "running");
    return g;
}

void xen_guest_close(struct xen_guest *g)
{
    long ms = g ? fake_param(g, "close_ms", "RELOCD_FAKE_CLOSE_MS", 0) : 0;

    if (ms > 0) usleep((useconds_t)ms * 1000);
    free(g);
}

const char *xen_guest_name(const struct xen_guest *g)
{
    return g->name;
}

const char *xen_guest_config(const struct xen_guest *g)
{
    return g->json;
}

unsigned long xen_guest_pages(const struct xen_guest *g)
{
    return g->pages;
}

/* Two leaves, as a real policy starts: 0 (the highest leaf), 1. */
int xen_guest_cpu_policy(struct xen_guest *g, struct msg_cpu_policy *p,
                         char *err, size_t errlen)
{
    (void)err;
    (void)errlen;
    p->nleaves = 2;
    p->leaves[0] = (struct msg_cpuid_leaf){
        0,
        0xffffffffu,
        (uint32_t)fake_param(g, "cpu_leaf", "RELOCD_FAKE_CPU_LEAF", 0xd),
        0x756e6547,
        0x6c65746e,
        0x49656e69};
    p->leaves[1] = (struct msg_cpuid_leaf){1,          0xffffffffu, 0x000306c3,
                                           0x00100800, 0x7ffafbff,  0xbfebfbff};
    p->nmsrs = 1;
    p->msrs[0] = (struct msg_msr){0xce, 0, 0x80000000ULL};
    return 0;
}

int xen_guest_needs_libxl(const struct xen_guest *g)
{
    (void)g;
    return 0;
}

/* Sends n pages as one libxc-style record per 256 pages. */
static int fake_pages(int fd, uint64_t n)
{
    static char page[256 * 4096];
    uint32_t rec[2];
    uint64_t chunk;

    for (; n; n -= chunk) {
        chunk = n < 256 ? n : 256;
        rec[0] = 1;
        rec[1] = (uint32_t)(chunk * 4096);
        if (fdio_write_all(fd, rec, sizeof(rec)) ||
            fdio_write_all(fd, page, chunk * 4096))
            return -1;
    }
    return 0;
}

/* libxl header, LIBXC_CONTEXT, libxc image and domain headers. */
static int fake_stream_start(int fd)
{
    return fdio_write_all(fd, xls_synthetic_start, sizeof(xls_synthetic_start));
}

/* Pre-copy rounds as libxenguest runs them; 1 stopped, -1 aborted. */
static int fake_precopy(struct xen_guest *g, int fd,
                        const struct xen_save_hooks *h)
{
    long pps = fake_param(g, "pps", "RELOCD_FAKE_DIRTY_PPS", 0);
    long round_ms = fake_param(g, "round_ms", "RELOCD_FAKE_ROUND_MS", 0);
    long link = fake_param(g, "link_mbps", "RELOCD_FAKE_LINK_MBPS", 0);
    double want;
    uint64_t dirty = 1044480;
    double t0;
    unsigned it;
    enum xen_precopy a;

    for (it = 0;; it++) {
        a = h->precopy(h->data, it, (long)dirty);
        if (a == XEN_PRECOPY_ABORT) return -1;
        t0 = clock_s();
        dirty = dirty > g->pages ? g->pages : dirty;
        if (fake_pages(fd, dirty)) return -1;
        fake_disk_writes(g, it);
        if (round_ms) usleep((useconds_t)round_ms * 1000);
        want = link ? (double)dirty * 4096 / (link * 1e6) : 0;
        if (clock_s() - t0 < want)
            usleep((useconds_t)((want - (clock_s() - t0)) * 1e6));
        if (a == XEN_PRECOPY_STOP) return 1;
        a = h->precopy(h->data, it + 1, -1);
        if (a == XEN_PRECOPY_ABORT) return -1;
        /* A CPU cap slows the guest's writes down in proportion. */
        dirty = (uint64_t)(pps * (clock_s() - t0) *
                           (g->cap_pct ? g->cap_pct / 100.0 : 1.0));
        if (a == XEN_PRECOPY_STOP) return 1;
    }
}

int xen_guest_save(struct xen_guest *g, int fd, int live,
                   const struct xen_save_hooks *hooks, char *err, size_t errlen)
{
    static const uint32_t end[2] = {0, 0};
    int r = 1;

    if (fake_stream_start(fd) < 0 ||
        (live && (r = fake_precopy(g, fd, hooks)) < 0)) {
        if (!err[0])
            snprintf(err, errlen, "%s",
                     r < 0 ? "pre-copy aborted" : "stream write failed");
        return -1;
    }
    if (hooks->suspending) hooks->suspending(hooks->data);
    /* NAME.suspend_ms: how long the guest takes to suspend itself, with
     * its own CPU: a cap slows it down in proportion, as on Xen. */
    if (g->cap_pct)
        fprintf(stderr, "fake: %s suspends under a cap of %d%%\n", g->name,
                g->cap_pct);
    usleep(
        (useconds_t)(fake_param(g, "suspend_ms", "RELOCD_FAKE_SUSPEND_MS", 0) *
                     1000 * (g->cap_pct ? 100.0 / g->cap_pct : 1.0)));
    g->suspended = 1;
    fake_state(g, "suspended");
    if (hooks->suspended) hooks->suspended(hooks->data);
    /* libxc's END, then libxl's: the hook sits between them, as in send.c */
    r = fake_pages(fd, live ? 16 : g->pages) || fdio_write_all(fd, end, 8);
    if (!r && hooks->saved) hooks->saved(hooks->data);
    if (!r && hooks->before_end &&
        hooks->before_end(hooks->data, err, errlen)) {
        xen_guest_resume(g);
        return -1;
    }
    if (r || fdio_write_all(fd, end, 8)) {
        xen_guest_resume(g);
        snprintf(err, errlen, "stream write failed; the guest was resumed");
        return -1;
    }
    return 0;
}

int xen_guest_rename(struct xen_guest *g, const char *name)
{
    char state[160];

    snprintf(state, sizeof(state), "renamed:%s", name);
    fake_state(g, state);
    return 0;
}

int xen_guest_resume(struct xen_guest *g)
{
    g->suspended = 0;
    fake_state(g, "running");
    return 0;
}

int xen_guest_destroy(struct xen_guest *g)
{
    fake_state(g, "destroyed");
    return 0;
}

/* A stable domid per name, as the state files know no other. */
static unsigned fake_domid(const char *name)
{
    unsigned h = 5381;

    for (; *name; name++)
        h = h * 33 + (unsigned char)*name;
    return 1 + h % 30000;
}

unsigned xen_guest_domid(const struct xen_guest *g)
{
    return fake_domid(g->name);
}

/* The state file says it: only a suspended guest is ever renamed. */
int xen_guest_left(unsigned domid, const char *name, const char *away,
                   enum xen_left *state_r, char *cur_r, size_t curlen)
{
    const char *dir = getenv("RELOCD_FAKE_STATE");
    char path[512], state[160] = "";
    FILE *f;

    *state_r = XEN_LEFT_GONE;
    cur_r[0] = '\0';
    if (!dir) return -1;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((f = fopen(path, "r"))) {
        if (!fgets(state, sizeof(state), f)) state[0] = '\0';
        fclose(f);
    }
    state[strcspn(state, "\n")] = '\0';
    if (domid != fake_domid(name) || !state[0] || !strcmp(state, "destroyed"))
        return 0;
    snprintf(cur_r, curlen, "%s",
             strncmp(state, "renamed:", 8) ? name : state + 8);
    if (strcmp(cur_r, name) && strcmp(cur_r, away)) return 0;
    *state_r = strcmp(state, "running") ? XEN_LEFT_SUSPENDED : XEN_LEFT_RUNNING;
    return 0;
}

int xen_guest_takeback(unsigned domid, const char *name, const char *away,
                       char *err, size_t errlen)
{
    struct xen_guest g;

    (void)away;
    if (domid != fake_domid(name)) {
        snprintf(err, errlen, "no domain %u", domid);
        return -1;
    }
    snprintf(g.name, sizeof(g.name), "%s", name);
    fprintf(stderr, "fake: %s (domain %u) resumed\n", name, domid);
    return xen_guest_resume(&g);
}

int xen_guest_throttle(struct xen_guest *g, int pct)
{
    char text[16];

    snprintf(text, sizeof(text), "%d", pct);
    fprintf(stderr, "fake: %s throttled to %s%%\n", g->name, text);
    g->cap_pct = pct;
    return 0;
}
