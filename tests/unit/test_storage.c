/*
 * test_storage.c - block migration's bookkeeping on both sides: which
 * disks of a libxl config are copied and where (--disk-map, the config
 * rewrite), and the target's pre-flight, creation, tokens and cleanup;
 * disks that both hosts see as one storage are left out of the copy.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "relocd/storage.h"
#include "relocd/storage_rx.h"
#include "t.h"

/* Shared storage: relocd-fake's identity (tests/net/diskid_fake.c) is
 * linked in: a file under a "shared" directory, named by its real path. */
static char dir[64], err[512];

static char *cfg_with(const char *a, const char *b)
{
    static char text[2048];

    snprintf(text, sizeof(text),
             "{\"c_info\": {\"name\": \"g\"}, \"disks\": [\n"
             "  {\"pdev_path\": \"%s\", \"vdev\": \"xvda\", \"format\": "
             "\"raw\", \"readwrite\": 1},\n"
             "  {\"pdev_path\":\"%s\",\"vdev\":\"xvdb\",\"readwrite\":1},\n"
             "  {\"pdev_path\": \"/iso/cd.iso\", \"vdev\": \"xvdc\", "
             "\"is_cdrom\": 1}]}",
             a, b);
    return text;
}

static void test_rewrite(void)
{
    struct msg_disk_map m[2] = {{"/src/a.img", "/dst/a.img"},
                                {"/src/b.img", "/dst/b2.img"}};
    const char *c = cfg_with("/src/a.img", "/src/b.img");
    char *r = storage_rewrite(c, m, 2, err, sizeof(err));

    T_OK(r && strstr(r, "\"pdev_path\": \"/dst/a.img\""), "%s", r ? r : err);
    T_OK(r && strstr(r, "\"pdev_path\":\"/dst/b2.img\""), "%s", r ? r : err);
    T_OK(r && !strstr(r, "/src/"), "%s", r ? r : err);
    T_OK(r && strstr(r, "/iso/cd.iso"), "the cdrom moved");
    free(r);
    /* a prefix of a path is not the path */
    snprintf(m[0].src, sizeof(m[0].src), "/src/a");
    r = storage_rewrite(c, m, 1, err, sizeof(err));
    T_OK(!r && strstr(err, "has no disk /src/a"), "%s", err);
    free(r);
    /* one path, two disks: which would the target get? */
    c = cfg_with("/src/a.img", "/src/a.img");
    snprintf(m[0].src, sizeof(m[0].src), "/src/a.img");
    r = storage_rewrite(c, m, 1, err, sizeof(err));
    T_OK(!r && strstr(err, "more than one disk"), "%s", err);
    free(r);
}

static void test_new(void)
{
    char a[128], b[128], cfg[4096];
    struct msg_disk_map m = {"", "/dst/a.img"};
    struct msg_preflight *p = calloc(1, sizeof(*p));
    struct storage *st;
    int fd;

    snprintf(a, sizeof(a), "%s/a.img", dir);
    snprintf(b, sizeof(b), "%s/b.img", dir);
    snprintf(m.src, sizeof(m.src), "%s", a);
    fd = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    T_OK(fd >= 0 && ftruncate(fd, 1 << 20) == 0 &&
             pwrite(fd, "x", 1, 8192) == 1,
         "making %s", a);
    close(fd);
    snprintf(cfg, sizeof(cfg), "%s", cfg_with(a, b));
    /* b does not exist: refused, with its name */
    st = storage_new(cfg, &m, 1, err, sizeof(err));
    T_OK(!st && strstr(err, b), "%s", err);
    fd = open(b, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    T_OK(fd >= 0 && ftruncate(fd, 2 << 20) == 0, "making %s", b);
    close(fd);
    st = storage_new(cfg, &m, 1, err, sizeof(err));
    T_OK(st != NULL, "%s", err);
    if (!st) return;
    T_EQ_INT(storage_ndisks(st), 2);
    T_EQ_STR(storage_disk(st, 0)->dst, "/dst/a.img");
    T_EQ_STR(storage_disk(st, 1)->dst, b); /* unmapped: same path */
    T_EQ_INT(storage_disk(st, 0)->size, 1 << 20);
    T_OK(storage_disk(st, 0)->allocated >= 4096 &&
             storage_disk(st, 0)->allocated < (1 << 20),
         "allocated %llu", (unsigned long long)storage_disk(st, 0)->allocated);
    T_OK(strstr(storage_config(st), "/dst/a.img") != NULL, "not rewritten");
    storage_preflight(st, p);
    T_EQ_INT(p->ndisks, 2);
    T_EQ_STR(p->disks[0].path, "/dst/a.img");
    T_EQ_INT(p->disks[1].size, 2 << 20);
    storage_free(st);
    /* not raw: refused */
    snprintf(cfg, sizeof(cfg),
             "{\"disks\":[{\"pdev_path\":\"%s\",\"format\":\"qcow2\"}]}", a);
    T_OK(!storage_new(cfg, NULL, 0, err, sizeof(err)) && strstr(err, "qcow2"),
         "%s", err);
    T_OK(!storage_new("{\"disks\":[]}", NULL, 0, err, sizeof(err)) &&
             strstr(err, "no disk"),
         "%s", err);
    unlink(a);
    unlink(b);
    free(p);
}

static void test_target(void)
{
    struct msg_disk d[2];
    char tokens[2][MSG_TOKEN_LEN + 1] = {"0123456789abcdef0123456789abcdef",
                                         "fedcba9876543210fedcba9876543210"};
    char allow[128], regdir[128], path[256];
    struct msg_preflight_result *res = calloc(1, sizeof(*res));
    struct stat st;
    uint64_t size = 0;
    unsigned n;
    int fd;

    memset(d, 0, sizeof(d));
    snprintf(allow, sizeof(allow), "%s/*.img", dir);
    snprintf(regdir, sizeof(regdir), "%s/disks", dir);
    snprintf(d[0].path, sizeof(d[0].path), "%s/t0.img", dir);
    snprintf(d[1].path, sizeof(d[1].path), "%s/t1.img", dir);
    d[0].size = d[1].size = 1 << 20;
    d[0].allocated = 4096;
    res->ok = 1;
    n = 2;
    storage_rx_check(d, &n, allow, res);
    T_OK(res->ok, "%s", res->checks[0].message);
    T_EQ_INT(n, 2);
    T_EQ_INT(res->shared, 0);
    /* outside the list, or no list: nothing is created there */
    memset(res, 0, sizeof(*res));
    res->ok = 1;
    storage_rx_check(d, &n, NULL, res);
    T_OK(!res->ok && strstr(res->checks[0].message, "relocd-disk-allow"), "%s",
         res->checks[0].message);
    /* more than the file system has */
    memset(res, 0, sizeof(*res));
    res->ok = 1;
    d[1].allocated = d[1].size = 1ULL << 55;
    storage_rx_check(d, &n, allow, res);
    T_OK(!res->ok && strstr(res->checks[0].message, "MiB free"), "%s",
         res->checks[0].message);
    d[1].allocated = 0;
    d[1].size = 1 << 20;

    T_EQ_INT(storage_rx_create(regdir, d, 2, tokens, err, sizeof(err)), 0);
    T_OK(stat(d[0].path, &st) == 0 && st.st_size == 1 << 20 &&
             (st.st_mode & 0777) == 0600,
         "%s not made", d[0].path);
    /* now it exists: pre-flight refuses to take it */
    memset(res, 0, sizeof(*res));
    res->ok = 1;
    n = 1;
    storage_rx_check(d, &n, allow, res);
    T_OK(!res->ok && strstr(res->checks[0].message, "exists already"), "%s",
         res->checks[0].message);
    fd = storage_rx_open(regdir, tokens[1], &size, path, sizeof(path), err,
                         sizeof(err));
    T_OK(fd >= 0, "%s", err);
    T_EQ_INT(size, 1 << 20);
    T_EQ_STR(path, d[1].path);
    if (fd >= 0) close(fd);
    T_EQ_INT(storage_rx_open(regdir, "00000000000000000000000000000000", &size,
                             path, sizeof(path), err, sizeof(err)),
             -1);
    T_EQ_INT(storage_rx_open(regdir, "../../../../etc/passwd", &size, path,
                             sizeof(path), err, sizeof(err)),
             -1);
    /* a failed receive: tokens and disks go */
    storage_rx_finish(regdir, d, 2, tokens, 0);
    T_OK(stat(d[0].path, &st) < 0 && stat(d[1].path, &st) < 0, "disks kept");
    T_EQ_INT(storage_rx_open(regdir, tokens[0], &size, path, sizeof(path), err,
                             sizeof(err)),
             -1);
    /* a successful one keeps the disks */
    T_EQ_INT(storage_rx_create(regdir, d, 1, tokens, err, sizeof(err)), 0);
    storage_rx_finish(regdir, d, 1, tokens, 1);
    T_OK(stat(d[0].path, &st) == 0, "the disk of a received guest went");
    unlink(d[0].path);
    rmdir(regdir);
    free(res);
}

/* A file of size bytes at path. */
static void make_file(const char *path, off_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

    T_OK(fd >= 0 && ftruncate(fd, size) == 0, "making %s", path);
    if (fd >= 0) close(fd);
}

/* PREFLIGHT with d, checked here: the result, n what is left to create. */
static struct msg_preflight_result *check(struct msg_disk *d, unsigned *n,
                                          const char *allow)
{
    static struct msg_preflight_result res;

    memset(&res, 0, sizeof(res));
    res.ok = 1;
    storage_rx_check(d, n, allow, &res);
    return &res;
}

/*
 * Shared storage on both sides: the target leaves out a disk whose path
 * has the source's identity and size, refuses one of another size, and
 * says why an existing path that is another storage is not taken; the
 * source drops what the target said and copies the rest.
 */
static void test_shared(void)
{
    char sh[96], a[128], alias[128], local[128], allow[160], cfg[4096];
    struct msg_preflight *p = calloc(1, sizeof(*p));
    struct msg_preflight_result *r;
    struct msg_disk d[2];
    struct storage *st;
    unsigned n;

    snprintf(sh, sizeof(sh), "%s/shared", dir);
    snprintf(a, sizeof(a), "%s/a.img", sh);
    snprintf(alias, sizeof(alias), "%s/alias.img", dir);
    snprintf(local, sizeof(local), "%s/local.img", dir);
    snprintf(allow, sizeof(allow), "%s/*.img", dir);
    mkdir(sh, 0700);
    make_file(a, 1 << 20);
    make_file(local, 1 << 20);
    T_OK(symlink(a, alias) == 0, "linking %s", alias);

    /* the source: a's identity goes into PREFLIGHT, local's is none */
    snprintf(cfg, sizeof(cfg), "%s", cfg_with(a, local));
    st = storage_new(cfg, NULL, 0, err, sizeof(err));
    T_OK(st != NULL, "%s", err);
    if (!st) return;
    storage_preflight(st, p);
    T_OK(!strncmp(p->disks[0].id, "fake:", 5), "id '%s'", p->disks[0].id);
    T_EQ_STR(p->disks[1].id, "");

    /* the target: alias is a (shared), a new path for the local disk */
    memcpy(d, p->disks, sizeof(d));
    snprintf(d[0].path, sizeof(d[0].path), "%s", alias);
    snprintf(d[1].path, sizeof(d[1].path), "%s/new.img", dir);
    n = 2;
    r = check(d, &n, allow);
    T_OK(r->ok, "%s", r->checks[0].message);
    T_EQ_INT(r->shared, 1);
    T_EQ_INT(n, 1);
    T_OK(strstr(d[0].path, "new.img") != NULL, "left: %s", d[0].path);
    T_OK(strstr(r->checks[0].message, "not copied") != NULL, "%s",
         r->checks[0].message);

    /* the same storage but not of the source's size: refused */
    memcpy(d, p->disks, sizeof(d));
    snprintf(d[0].path, sizeof(d[0].path), "%s", alias);
    d[0].size = 2 << 20;
    n = 1;
    r = check(d, &n, allow);
    T_OK(!r->ok && strstr(r->checks[0].message, "not of its size"), "%s",
         r->checks[0].message);

    /* a path that exists and is another storage: refused, saying so */
    memcpy(d, p->disks, sizeof(d));
    snprintf(d[0].path, sizeof(d[0].path), "%s", local);
    n = 1;
    r = check(d, &n, allow);
    T_OK(!r->ok && strstr(r->checks[0].message, "exists already") &&
             strstr(r->checks[0].message, "no identity here"),
         "%s", r->checks[0].message);

    /* an older source sends no identity: nothing is shared */
    memcpy(d, p->disks, sizeof(d));
    snprintf(d[0].path, sizeof(d[0].path), "%s", alias);
    d[0].id[0] = 0;
    n = 1;
    r = check(d, &n, allow);
    T_OK(!r->ok && r->shared == 0, "%s", r->checks[0].message);

    /* the source leaves a out: one disk copied, one shared */
    T_EQ_INT(storage_leave_shared(st, 1u << 2), -1);
    T_EQ_INT(storage_leave_shared(st, 1), 0);
    T_EQ_INT(storage_ndisks(st), 1);
    T_EQ_INT(storage_nshared(st), 1);
    T_EQ_STR(storage_disk(st, 0)->src, local);
    T_EQ_STR(storage_shared_disk(st, 0)->src, a);
    T_OK(storage_shared_disk(st, 1) == NULL, "a second shared disk");
    storage_free(st);
    unlink(alias);
    unlink(a);
    unlink(local);
    rmdir(sh);
    free(p);
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/test_storage.XXXXXX");
    if (!mkdtemp(dir)) return 1;
    test_rewrite();
    test_new();
    test_target();
    test_shared();
    rmdir(dir);
    return t_done("test_storage");
}
