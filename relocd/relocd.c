/*
 * relocd.c - the relocation daemon's entry point: command line, config
 * check mode, allow-list check mode, then the daemon proper.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "config/acl.h"
#include "config/conf.h"
#include "wire/keyfile.h"
#include "wire/log.h"
#include "wire/tls.h"
#include "wire/tls_psk.h"
#include "wire/version.h"
#include "relocd/peer.h"
#include "relocd/daemon.h"
#include "relocd/outgoing.h"
#include "relocd/rundir.h"
#include "relocd/sandbox.h"
#include "tunnel/conf.h"
#include "tunnel/keep.h"

#define RELOCD_DEFAULT_CONF "/etc/xen/xend-config.sxp"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: relocd [-d] [-f FILE]\n"
            "       relocd -n [-f FILE]\n"
            "       relocd [-f FILE] --check-peer IP [HOSTNAME]\n"
            "       relocd [-f FILE] --tunnels | --tunnel-release HOLDER\n"
            "       relocd --resume DOMID NAME\n"
            "\n"
            "  -d            stay in the foreground, debug output on stderr\n"
            "  -f FILE       configuration (default %s)\n"
            "  -n            check the configuration, print the effective\n"
            "                relocation settings and exit\n"
            "  --check-peer  print allow or deny for a peer address; with\n"
            "                HOSTNAME no reverse DNS lookup is made\n"
            "  --tunnels     list the L2 tunnels to other dom0s and who\n"
            "                holds them\n"
            "  --tunnel-release HOLDER\n"
            "                drop a holder (e.g. away:UUID) from every tunnel\n"
            "  --resume      resume a guest a failed move left suspended\n"
            "                here (renamed back from NAME--migratedaway)\n"
            "  -V            print the version\n",
            RELOCD_DEFAULT_CONF);
}

/* The configuration, xend's way, its tunnels checked; exits on an error. */
static struct relocd_conf *relocd_load_conf(const char *path, int explicit)
{
    struct relocd_conf *conf = NULL;
    char err[512];

    if (conf_load_xend(path, explicit, &conf, err, sizeof(err)) < 0 ||
        tunconf_check(conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        exit(1);
    }
    return conf;
}

/*
 * relocd -n, the unit's start check, refuses the secret files relocd would
 * refuse, with the same words.  A missing one is only a warning: a config
 * may be checked before the keys are deployed, and start-up says it again.
 */
static int check_secrets(const struct relocd_conf *conf)
{
    const char *path[] = {conf->ssl_key_file, conf->psk_file};
    const char *what[] = {TLS_KEY_WHAT, TLS_PSK_WHAT};
    char err[512];
    int rc = 0;
    size_t i;

    for (i = 0; i < sizeof(path) / sizeof(path[0]); i++) {
        if (!path[i] || keyfile_check(path[i], what[i], err, sizeof(err)) == 0)
            continue;
        if (errno == ENOENT) {
            fprintf(stderr, "warning: %s\n", err);
            continue;
        }
        fprintf(stderr, "%s\n", err);
        rc = -1;
    }
    return rc;
}

/*
 * relocd -n: the pre-shared key file's text too, as start-up reads it, and
 * the identity this host would send: only a warning when it is not one, as
 * a host that only receives sends none.
 */
static int check_psk(const struct relocd_conf *conf)
{
    char err[512], self[TLS_PSK_ID_MAX + 1];
    struct tls_psk *k;
    int rc = 0;

    if (!conf->psk_file ||
        keyfile_check(conf->psk_file, TLS_PSK_WHAT, err, sizeof(err)) < 0)
        return 0; /* check_secrets() has said why */
    if (!(k = tls_psk_new())) {
        fprintf(stderr, "%s: %s\n", conf->psk_file, strerror(errno));
        return -1;
    }
    if (tls_psk_read(k, conf->psk_file, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        rc = -1;
    } else if (tls_psk_self(k, conf->psk_identity, self, sizeof(self), err,
                            sizeof(err)) < 0) {
        fprintf(stderr, "warning: %s; this host cannot send\n", err);
    }
    tls_psk_free(k);
    return rc;
}

/*
 * The user sessions drop to must exist and not be root: found missing at
 * start, not at the first peer's connection, which would be refused.
 */
static int check_privsep_user(const struct relocd_conf *conf)
{
    struct sandbox_id id;
    char err[512];

    if (sandbox_id_lookup(conf->privsep_user, &id, err, sizeof(err)) == 0)
        return 0;
    fprintf(stderr, "relocd: %s\n", err);
    return -1;
}

/* relocd -n: the secret files, the sessions' user, and the run directory
 * if it exists. */
static int check_conf(const struct relocd_conf *conf)
{
    char err[512];
    int rc = check_secrets(conf);

    if (check_psk(conf) < 0) rc = -1;
    if (check_privsep_user(conf) < 0) rc = -1;

    if (rundir_check(conf->control_socket, 0, err, sizeof(err)) < 0) {
        fprintf(stderr, "%s\n", err);
        rc = -1;
    }
    return rc;
}

/*
 * Before the daemon proper: no core dump or ptrace of a process that
 * holds the PSK and the TLS key (sshd and ssh-agent do the same), and a
 * run directory no one else can write to.  0, or -1 with the reason said.
 */
static int daemon_prepare(const struct relocd_conf *conf)
{
    char err[512];

    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
        fprintf(stderr, "relocd: warning: prctl(PR_SET_DUMPABLE): %s\n",
                strerror(errno));
    if (check_privsep_user(conf) < 0) return -1;
    if (rundir_check(conf->control_socket, 1, err, sizeof(err)) == 0) return 0;
    fprintf(stderr, "relocd: %s\n", err);
    return -1;
}

static int check_peer(const struct relocd_conf *conf, const char *ip,
                      const char *host)
{
    char fqdn[1025];
    int allowed = peer_allowed(conf->acl, ip, host, -1, fqdn, sizeof(fqdn));

    printf("%s\n", allowed ? "allow" : "deny");
    return allowed ? 0 : 1;
}

enum { OPT_CHECK_PEER = 256, OPT_TUNNELS, OPT_TUNNEL_RELEASE, OPT_RESUME };

/*
 * --resume DOMID NAME: what the log tells the admin to run once the
 * target is known not to run the guest (xl itself has no such command).
 */
static int resume_cmd(const char *domid, const char *name)
{
    char msg[512], *end;
    unsigned long id = strtoul(domid, &end, 10);
    int rc;

    if (!*domid || *end || !id || id > 0x7fef) {
        fprintf(stderr, "relocd: --resume: '%s' is not a domain id\n", domid);
        return 2;
    }
    rc = outgoing_resume((unsigned)id, name, msg, sizeof(msg));
    fprintf(rc ? stderr : stdout, "relocd: %s\n", msg);
    return rc ? 1 : 0;
}

/* --tunnels (holder NULL) and --tunnel-release HOLDER */
static int tunnels_cmd(const struct relocd_conf *conf, const char *holder)
{
    char err[512];
    int rc = holder ? tunkeep_release(conf, holder, err, sizeof(err))
                    : tunkeep_list(conf, stdout, err, sizeof(err));

    if (rc < 0) fprintf(stderr, "relocd: %s\n", err);
    return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"check-peer", no_argument, NULL, OPT_CHECK_PEER},
        {"tunnels", no_argument, NULL, OPT_TUNNELS},
        {"tunnel-release", required_argument, NULL, OPT_TUNNEL_RELEASE},
        {"resume", no_argument, NULL, OPT_RESUME},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *path = RELOCD_DEFAULT_CONF;
    int ch, debug = 0, check = 0, want_peer = 0, explicit = 0, tunnels = 0;
    int resume = 0;
    const char *release = NULL;
    struct relocd_conf *conf;

    while ((ch = getopt_long(argc, argv, "df:hnV", longopts, NULL)) != -1) {
        switch (ch) {
        case 'd':
            debug = 1;
            break;
        case 'f':
            path = optarg;
            explicit = 1;
            break;
        case 'n':
            check = 1;
            break;
        case OPT_CHECK_PEER:
            want_peer = 1;
            break;
        case OPT_TUNNELS:
            tunnels = 1;
            break;
        case OPT_TUNNEL_RELEASE:
            release = optarg;
            break;
        case OPT_RESUME:
            resume = 1;
            break;
        case 'V':
            printf("relocd %s\n", RELOCD_VERSION);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    argc -= optind;
    argv += optind;
    if ((want_peer && (argc < 1 || argc > 2)) || (resume && argc != 2) ||
        (!want_peer && !resume && argc)) {
        usage(stderr);
        return 2;
    }
    if (resume) {
        log_init("relocd", LOG_TO_STDERR, debug);
        return resume_cmd(argv[0], argv[1]);
    }

    log_init("relocd", LOG_TO_STDERR, debug);
    conf = relocd_load_conf(path, explicit);
    if (check) {
        int rc = check_conf(conf) < 0 ? 1 : 0;

        if (!rc) conf_print(stdout, conf);
        conf_free(conf);
        return rc;
    }
    if (tunnels || release) {
        int rc = tunnels_cmd(conf, release);
        conf_free(conf);
        return rc;
    }
    if (want_peer) {
        int rc = check_peer(conf, argv[0], argc > 1 ? argv[1] : NULL);
        conf_free(conf);
        return rc;
    }
    if (daemon_prepare(conf) < 0) {
        conf_free(conf);
        return 1;
    }
    return relocd_main(conf, path, debug);
}
