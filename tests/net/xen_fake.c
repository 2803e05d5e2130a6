/*
 * xen_fake.c - the test double of relocd/xen.h, linked into
 * build/relocd-fake for tests/net: no hypervisor, but the same decisions.
 *
 *   RELOCD_FAKE_FREE_MB   free memory the fake host has (default 4096)
 *   RELOCD_FAKE_DOMAINS   space-separated names already running here
 *   RELOCD_FAKE_RECEIVER  program run as "xl migrate-receive" (default
 *                         tests/net/fake_xl.py receive); gets the flags
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_tree.h>

#include "msg.h"
#include "xen.h"

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

static int name_taken(const char *name)
{
    const char *list = getenv("RELOCD_FAKE_DOMAINS");
    char copy[1024], *tok, *save;

    snprintf(copy, sizeof(copy), "%s", list ? list : "");
    for (tok = strtok_r(copy, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save))
        if (!strcmp(tok, name))
            return 1;
    return 0;
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
    need = json_int(root, "b_info", "max_memkb") / 1024;
    msg_check_add(res, "memory", need <= free_mb,
                  "needs %lld MiB, %lld MiB free in Xen", need, free_mb);
    yajl_tree_free(root);
    return 0;
}

pid_t xen_receive_start(int fd, char *const flags[], unsigned nflags)
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
        dup2(fd, 0);
        dup2(fd, 1);
        execvp(argv[0], argv);
        _exit(127);
    }
    return pid;
}

void xen_receive_cleanup(const char *name)
{
    fprintf(stderr, "fake: cleanup of %s--incoming\n", name ? name : "?");
}
