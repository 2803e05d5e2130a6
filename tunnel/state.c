/*
 * state.c - the tunnel state file: parsing, formatting, and reading and
 * writing it on disk (new file, fsync, rename); the caller holds the lock
 * (manager.c).
 *
 * State file, version 1 (one tunnel line, then its holder lines):
 *   relocd-tunnels 1
 *   tunnel IFNAME KIND PEER LOCAL BRIDGE ID PORT MTU EFLAGS PID PSTART
 *   holder IFNAME NAME
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/diag.h"
#include "tunnel/conf.h"
#include "tunnel/internal.h"
#include "tunnel/state.h"
#include "tunnel/tunnel.h"
#include "wire/fdio.h"

#define STATE_MAX_BYTES (4 << 20)
#define STATE_MAX_TUNNELS 1024
#define STATE_MAX_HOLDERS 4096
#define STATE_VERSION 1

/* --- holders ------------------------------------------------------------ */

ssize_t tunnel_holder_find(const struct tunnel *t, const char *holder)
{
    size_t i;

    for (i = 0; i < t->nholders; i++)
        if (!strcmp(t->holders[i], holder)) return (ssize_t)i;
    return -1;
}

/* Adds holder unless it is there.  Returns 0, or -1 (ENOMEM, ENOSPC). */
int tunnel_holder_add(struct tunnel *t, const char *holder)
{
    char(*nh)[TUNNEL_HOLDER_MAX];

    if (tunnel_holder_find(t, holder) >= 0) return 0;
    if (t->nholders >= STATE_MAX_HOLDERS) {
        errno = ENOSPC;
        return -1;
    }
    nh = reallocarray(t->holders, t->nholders + 1, sizeof(*nh));
    if (!nh) return -1;
    t->holders = nh;
    snprintf(t->holders[t->nholders++], TUNNEL_HOLDER_MAX, "%s", holder);
    return 0;
}

/* --- the state file: parsing -------------------------------------------- */

void tunnel_clear(struct tunnel *t)
{
    free(t->holders);
    memset(t, 0, sizeof(*t));
}

void tunnel_state_clear(struct tunnel_state *st)
{
    size_t i;

    for (i = 0; i < st->n; i++)
        tunnel_clear(&st->v[i]);
    free(st->v);
    st->v = NULL;
    st->n = 0;
}

static struct tunnel *state_by_ifname(struct tunnel_state *st,
                                      const char *ifname)
{
    size_t i;

    for (i = 0; i < st->n; i++)
        if (!strcmp(st->v[i].ifname, ifname)) return &st->v[i];
    return NULL;
}

/* Appends a copy of t (holders moved).  Returns 0, or -1 (ENOMEM). */
int tunnel_state_append(struct tunnel_state *st, struct tunnel *t)
{
    struct tunnel *nv;

    if (st->n >= STATE_MAX_TUNNELS) {
        errno = ENOSPC;
        return -1;
    }
    nv = reallocarray(st->v, st->n + 1, sizeof(*nv));
    if (!nv) return -1;
    st->v = nv;
    st->v[st->n++] = *t;
    memset(t, 0, sizeof(*t));
    return 0;
}

/* The numbers of a tunnel line, after its names and addresses. */
static int state_nums(struct tunnel *t, char **f)
{
    unsigned long long v[6];
    static const unsigned long long max[6] = {
        UINT32_MAX, 65535, TUNNEL_MTU_MAX, 0xff, INT_MAX, ULLONG_MAX};
    int i;

    for (i = 0; i < 6; i++)
        if (tunnel_parse_ulong(f[i], max[i], &v[i]) < 0) return -1;
    if (v[2] < TUNNEL_MTU_MIN) return -1;
    if (t->kind == TUNNEL_VXLAN && (v[0] == 0 || v[0] > TUNNEL_VNI_MAX))
        return -1;
    t->id = (uint32_t)v[0];
    t->dstport = (uint16_t)v[1];
    t->mtu = (unsigned)v[2];
    t->etherip_flags = (unsigned)v[3];
    t->pid = (pid_t)v[4];
    t->pid_start = v[5];
    return 0;
}

/* "tunnel IFNAME KIND PEER LOCAL BRIDGE ID PORT MTU EFLAGS PID PSTART" */
static int state_tunnel(struct tunnel_state *st, char **f, int nf)
{
    struct tunnel t;

    memset(&t, 0, sizeof(t));
    if (nf != 12 || !tunnel_ifname_ok(f[1]) || !tunnel_ifname_ok(f[5]))
        return -1;
    if (tunnel_kind_parse(f[2], &t.kind) < 0 ||
        tunnel_parse_ip4(f[3], &t.peer) < 0 ||
        tunnel_parse_ip4(f[4], &t.local) < 0 || state_nums(&t, f + 6) < 0)
        return -1;
    if (state_by_ifname(st, f[1])) return -1;
    snprintf(t.ifname, sizeof(t.ifname), "%s", f[1]);
    snprintf(t.bridge, sizeof(t.bridge), "%s", f[5]);
    return tunnel_state_append(st, &t);
}

/* "holder IFNAME NAME", after its tunnel's line. */
static int state_holder(struct tunnel_state *st, char **f, int nf)
{
    struct tunnel *t;

    if (nf != 3 || !tunnel_holder_ok(f[2])) return -1;
    if (!(t = state_by_ifname(st, f[1])) || tunnel_holder_find(t, f[2]) >= 0)
        return -1;
    return tunnel_holder_add(t, f[2]);
}

/* Splits a line into at most max fields; returns their number. */
static int split(char *line, char **f, int max)
{
    char *save = NULL, *tok;
    int n = 0;

    for (tok = strtok_r(line, " \t", &save); tok;
         tok = strtok_r(NULL, " \t", &save)) {
        if (n == max) return max + 1;
        f[n++] = tok;
    }
    return n;
}

static int state_line(struct tunnel_state *st, char *line, int *version)
{
    char *f[13];
    int nf = split(line, f, 12);

    if (nf == 0 || f[0][0] == '#') return 0;
    if (!*version) {
        if (nf != 2 || strcmp(f[0], "relocd-tunnels") || strcmp(f[1], "1"))
            return -1;
        *version = STATE_VERSION;
        return 0;
    }
    if (!strcmp(f[0], "tunnel")) return state_tunnel(st, f, nf);
    if (!strcmp(f[0], "holder")) return state_holder(st, f, nf);
    return -1;
}

int tunnel_state_parse(const char *text, size_t len, struct tunnel_state *st,
                       char *err, size_t errlen)
{
    char *copy, *line, *next;
    int version = 0, lineno = 1;

    memset(st, 0, sizeof(*st));
    if (len > STATE_MAX_BYTES || memchr(text, '\0', len))
        return diag_errf(err, errlen, "state file too big or binary");
    if (!(copy = strndup(text, len))) return -1;
    for (line = copy; line; line = next, lineno++) {
        if ((next = strchr(line, '\n'))) *next++ = '\0';
        if (state_line(st, line, &version) < 0) {
            free(copy);
            tunnel_state_clear(st);
            return diag_errf(err, errlen, "state file line %d: bad %s", lineno,
                             version ? "entry" : "header");
        }
    }
    free(copy);
    if (!version && len) {
        tunnel_state_clear(st);
        return diag_errf(err, errlen, "state file has no header");
    }
    return 0;
}

/* --- the state file: formatting ----------------------------------------- */

static int format_tunnel(FILE *f, const struct tunnel *t)
{
    char peer[INET_ADDRSTRLEN], local[INET_ADDRSTRLEN];
    size_t i;

    inet_ntop(AF_INET, &t->peer, peer, sizeof(peer));
    inet_ntop(AF_INET, &t->local, local, sizeof(local));
    fprintf(f, "tunnel %s %s %s %s %s %u %u %u %u %ld %llu\n", t->ifname,
            tunnel_kind_name(t->kind), peer, local, t->bridge, t->id,
            t->dstport, t->mtu, t->etherip_flags, (long)t->pid, t->pid_start);
    for (i = 0; i < t->nholders; i++)
        fprintf(f, "holder %s %s\n", t->ifname, t->holders[i]);
    return ferror(f) ? -1 : 0;
}

int tunnel_state_format(const struct tunnel_state *st, char **text_r,
                        size_t *len_r)
{
    FILE *f = open_memstream(text_r, len_r);
    size_t i;
    int rc = 0;

    if (!f) return -1;
    fprintf(f,
            "# relocd tunnels: written by relocd, do not edit\n"
            "relocd-tunnels %d\n",
            STATE_VERSION);
    for (i = 0; i < st->n && rc == 0; i++)
        rc = format_tunnel(f, &st->v[i]);
    if (fclose(f) != 0 || rc < 0) {
        free(*text_r);
        *text_r = NULL;
        errno = ENOMEM;
        return -1;
    }
    return 0;
}

/* --- the state file on disk --------------------------------------------- */

int tunnel_state_load(const char *path, struct tunnel_state *st, char *err,
                      size_t errlen)
{
    char *text;
    size_t len;
    int fd, rc;

    memset(st, 0, sizeof(*st));
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) return 0;
    if (fd < 0 || fdio_read_file(fd, STATE_MAX_BYTES, &text, &len) < 0) {
        rc = errno;
        if (fd >= 0) close(fd);
        return diag_errnof(err, errlen, rc, "%s: %s", path, strerror(rc));
    }
    close(fd);
    rc = tunnel_state_parse(text, len, st, err, errlen);
    free(text);
    return rc;
}

int tunnel_state_save(const char *path, const struct tunnel_state *st,
                      char *err, size_t errlen)
{
    char *text = NULL, tmp[PATH_MAX];
    size_t len;
    int fd = -1, rc = -1, saved;

    if (snprintf(tmp, sizeof(tmp), "%s.new", path) >= (int)sizeof(tmp))
        return diag_errnof(err, errlen, ENAMETOOLONG, "%s: name too long",
                           path);
    if (tunnel_state_format(st, &text, &len) < 0) goto out;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || fdio_write_all(fd, text, len) < 0 || fsync(fd) < 0) goto out;
    if (close(fd) < 0) {
        fd = -1;
        goto out;
    }
    fd = -1;
    rc = rename(tmp, path);
out:
    saved = errno;
    if (fd >= 0) close(fd);
    free(text);
    if (rc < 0) {
        unlink(tmp);
        return diag_errnof(err, errlen, saved, "%s: %s", path, strerror(saved));
    }
    return 0;
}
