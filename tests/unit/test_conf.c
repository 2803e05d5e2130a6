/*
 * test_conf.c - the key table, xend's defaults and value rules
 * (tools/python/xen/xend/XendOptions.py, Xen 4.4), and Xen 4.4's shipped
 * xend-config.sxp.  Run from tests/unit: fixtures are data/NAME.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/acl.h"
#include "config/conf.h"
#include "config/sxp.h"
#include "t.h"

static int nwarn;
static char lastwarn[512];
static char lasterr[512];

static void grab_warn(void *arg, const char *msg)
{
    (void)arg;
    nwarn++;
    snprintf(lastwarn, sizeof(lastwarn), "%s", msg);
}

static const struct conf_opts quiet = {grab_warn, NULL};

/* Parses text as file "t.sxp"; NULL (error in lasterr) on failure. */
static struct relocd_conf *parse(const char *text)
{
    struct relocd_conf *conf = NULL;

    nwarn = 0;
    lastwarn[0] = lasterr[0] = '\0';
    if (conf_parse_opts(text, strlen(text), "t.sxp", &quiet, &conf, lasterr,
                        sizeof(lasterr)) < 0) {
        T_OK(conf == NULL, "conf set on error");
        return NULL;
    }
    T_EQ_INT(conf->warnings, nwarn);
    return conf;
}

/* The error a bad text gives, "" if it loaded. */
static const char *error(const char *text)
{
    struct relocd_conf *conf = parse(text);

    if (conf) {
        conf_free(conf);
        return "";
    }
    return lasterr;
}

/* One key's value as conf_print() shows it. */
static const char *printed(const struct relocd_conf *conf, const char *key)
{
    static char buf[4096], line[512];
    size_t klen = strlen(key);
    char *p, *nl;
    FILE *f;

    buf[0] = '\0';
    f = fmemopen(buf, sizeof(buf), "w");
    conf_print(f, conf);
    fclose(f);
    for (p = buf; p && *p; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if (!strncmp(p, key, klen) && p[klen] == ' ') {
            snprintf(line, sizeof(line), "%.*s",
                     (int)(nl ? nl - p - (int)klen - 1 : (int)strlen(p)),
                     p + klen + 1);
            return line;
        }
    }
    return "(not printed)";
}

static void check_defaults(const struct relocd_conf *c)
{
    T_EQ_INT(c->relocation_server, 0);
    T_EQ_INT(c->port, 8002);
    T_EQ_STR(c->address, "");
    T_EQ_STR(c->hosts_allow, "");
    T_EQ_INT(c->ssl_server, 0);
    T_EQ_INT(c->ssl_port, 8003);
    T_OK(c->ssl_key_file == NULL, "key file");
    T_OK(c->ssl_cert_file == NULL, "cert file");
    T_EQ_INT(c->ssl, 0);
    T_OK(c->ca_file == NULL, "ca file");
    T_OK(c->psk_file == NULL, "psk file");
    T_OK(c->psk_identity == NULL, "psk identity");
    T_EQ_INT(c->allow_insecure, 0);
    T_EQ_INT(c->max_migrations, 2);
    T_EQ_INT(c->max_pending, 16);
    T_EQ_INT(c->max_pending_per_host, 4);
    T_EQ_INT(c->pending_drop_start, 8);
    T_EQ_INT(c->pending_drop_rate, 30);
    T_EQ_INT(c->stream_idle_timeout, 300);
    T_EQ_INT(c->handshake_timeout, 10);
    T_EQ_STR(c->control_socket, "/run/relocd/relocd.sock");
    T_EQ_INT(c->max_downtime_ms, 300);
    T_EQ_INT(c->on_no_converge, CONVERGE_THROTTLE);
    T_EQ_INT(c->bandwidth_mbps, 0);
    T_OK(c->acl == NULL, "everyone");
    T_EQ_INT(c->allow_dm_args, 0);
    T_EQ_STR(c->allow_scripts, CONF_DEFAULT_SCRIPTS);
    T_OK(c->disk_allow == NULL, "disk-allow set by default");
}

static void test_defaults(void)
{
    struct relocd_conf *c = parse("");

    T_OK(c != NULL, "%s", lasterr);
    if (!c) return;
    check_defaults(c);
    T_EQ_INT(c->warnings, 0);
    conf_free(c);
    /* comments only, and xend's other keys, change nothing */
    c = parse("# nothing\n(xend-http-server yes)\n(xend-port 8000)\n"
              "(network-script 'network-bridge netdev=eth1')\n"
              "(vif-script vif-bridge) (dom0-min-mem 196)\n"
              "(xen-api-server ((9363 pam '^localhost$ example\\\\.com$')\n"
              "                 (unix none)))\n"
              "(pscsi-device-mask ('*')) (xend-unix-server yes)\n"
              "(RELOCD-NOT-OURS 1) (xend-relocation-unknown 1)\n");
    T_OK(c != NULL, "%s", lasterr);
    if (!c) return;
    check_defaults(c);
    T_EQ_INT(c->warnings, 0);
    conf_free(c);
}

static void test_print(void)
{
    static const char want[] = "xend-relocation-address ''\n"
                               "xend-relocation-hosts-allow ''\n"
                               "xend-relocation-port 8002\n"
                               "xend-relocation-server no\n"
                               "xend-relocation-server-ssl-cert-file ''\n"
                               "xend-relocation-server-ssl-key-file ''\n"
                               "xend-relocation-ssl no\n"
                               "xend-relocation-ssl-port 8003\n"
                               "xend-relocation-ssl-server no\n"
                               "relocd-allow-device-model-args no\n"
                               "relocd-allow-insecure no\n"
                               "relocd-allow-scripts block vif-bridge vif-nat "
                               "vif-openvswitch vif-route\n"
                               "relocd-bandwidth 0\n"
                               "relocd-control-socket /run/relocd/relocd.sock\n"
                               "relocd-crl-file ''\n"
                               "relocd-disk-allow ''\n"
                               "relocd-evacuate-hosts ''\n"
                               "relocd-evacuate-on-shutdown 0\n"
                               "relocd-handshake-timeout 10\n"
                               "relocd-max-downtime 300\n"
                               "relocd-max-migrations 2\n"
                               "relocd-max-pending 16\n"
                               "relocd-max-pending-per-host 4\n"
                               "relocd-on-no-converge throttle\n"
                               "relocd-pending-drop-rate 30\n"
                               "relocd-pending-drop-start 8\n"
                               "relocd-privsep-user nobody\n"
                               "relocd-psk-file ''\n"
                               "relocd-psk-identity ''\n"
                               "relocd-ssl-ca-file ''\n"
                               "relocd-stream-idle-timeout 300\n";
    struct relocd_conf *c = parse("");
    char buf[2048] = "";
    FILE *f;

    if (!c) return;
    f = fmemopen(buf, sizeof(buf), "w");
    conf_print(f, c);
    fclose(f);
    T_EQ_STR(buf, want);
    conf_free(c);
}

/* tools/examples/xend-config.sxp of Xen 4.4.0, byte for byte */
static void test_xen44_sample(void)
{
    struct relocd_conf *c = NULL;
    char err[512];

    T_EQ_INT(conf_load_opts("data/xen-4.4-xend-config.sxp", &quiet, &c, err,
                            sizeof(err)),
             0);
    T_OK(c != NULL, "%s", err);
    if (!c) return;
    T_EQ_INT(c->warnings, 0);
    T_EQ_INT(c->relocation_server, 1); /* (xend-relocation-server yes) */
    T_EQ_INT(c->port, 8002);
    T_EQ_STR(c->address, "");
    /* '^localhost$ ^localhost\\.localdomain$' in the file */
    T_EQ_STR(c->hosts_allow, "^localhost$ ^localhost\\.localdomain$");
    T_EQ_INT(c->ssl_server, 0);
    T_EQ_INT(c->ssl_port, 8003);
    T_OK(c->ssl_key_file == NULL && c->ssl_cert_file == NULL, "no ssl files");
    T_EQ_INT(c->ssl, 0);
    T_EQ_INT(acl_count(c->acl), 2);
    T_EQ_INT(acl_match(c->acl, "127.0.0.1", "localhost"), 1);
    T_EQ_INT(acl_match(c->acl, "127.0.0.1", "localhost.localdomain"), 1);
    T_EQ_INT(acl_match(c->acl, "127.0.0.1", "localhostXlocaldomain"), 0);
    T_EQ_INT(acl_match(c->acl, "127.0.0.1", NULL), 0);
    T_EQ_INT(acl_match(c->acl, "192.0.2.1", "peer.example.org"), 0);
    T_EQ_STR(printed(c, "xend-relocation-hosts-allow"),
             "^localhost$ ^localhost\\.localdomain$");
    T_EQ_STR(printed(c, "xend-relocation-server"), "yes");
    /* and the relocd-* keys are at their defaults */
    T_EQ_INT(c->max_migrations, 2);
    T_EQ_STR(c->control_socket, "/run/relocd/relocd.sock");
    conf_free(c);
}

static void test_all_keys(void)
{
    struct relocd_conf *c = NULL;
    char err[512];

    T_EQ_INT(conf_load_opts("data/all-keys.sxp", &quiet, &c, err, sizeof(err)),
             0);
    T_OK(c != NULL, "%s", err);
    if (!c) return;
    T_EQ_INT(c->relocation_server, 0);
    T_EQ_INT(c->port, 9102);
    T_EQ_STR(c->address, "eth1");
    T_EQ_STR(c->hosts_allow, "^192\\.0\\.2\\. ^node[0-9]+\\.example\\.org$");
    T_EQ_INT(c->ssl_server, 1);
    T_EQ_INT(c->ssl_port, 9103);
    T_EQ_STR(c->ssl_key_file, "/etc/xen/relocd.key"); /* xend's dirname rule */
    T_EQ_STR(c->ssl_cert_file, "/etc/relocd/relocd.crt");
    T_EQ_INT(c->ssl, 1);
    T_EQ_STR(c->ca_file, "/etc/relocd/ca.pem");
    T_EQ_STR(c->psk_file, "/etc/relocd/psk");
    T_EQ_STR(c->psk_identity, "dom0a");
    T_EQ_STR(c->crl_file, "/etc/relocd/crl.pem");
    T_EQ_INT(c->allow_insecure, 1);
    T_EQ_INT(c->max_migrations, 64);
    T_EQ_INT(c->max_pending, 1024);
    T_EQ_INT(c->max_pending_per_host, 1024);
    T_EQ_INT(c->pending_drop_start, 1024);
    T_EQ_INT(c->pending_drop_rate, 100);
    T_EQ_INT(c->stream_idle_timeout, 86400);
    T_EQ_INT(c->handshake_timeout, 3600);
    T_EQ_STR(c->control_socket, "/tmp/relocd-test.sock");
    T_EQ_INT(c->max_downtime_ms, 600000);
    T_EQ_INT(c->on_no_converge, CONVERGE_ABORT);
    T_EQ_INT(c->bandwidth_mbps, 125);
    T_EQ_STR(c->disk_allow, "/dev/vg0/* /srv/xen/*.img");
    T_EQ_STR(c->allow_scripts, "vif-bridge block-iscsi /opt/xen/vif-*");
    T_EQ_INT(c->allow_dm_args, 1);
    T_EQ_STR(c->privsep_user, "relocd");
    T_EQ_STR(c->evacuate_hosts, "host-b host-c:8003");
    T_EQ_INT(c->evacuate_on_shutdown, 3600);
    T_EQ_INT(acl_match(c->acl, "192.0.2.77", NULL), 1);
    T_EQ_INT(acl_match(c->acl, "::ffff:192.0.2.77", NULL), 1);
    T_EQ_INT(acl_match(c->acl, "198.51.100.1", "node12.example.org"), 1);
    T_EQ_INT(acl_match(c->acl, "198.51.100.1", "nodeX.example.org"), 0);
    T_EQ_INT(c->warnings, 0);
    T_EQ_STR(printed(c, "relocd-on-no-converge"), "abort");
    T_EQ_STR(printed(c, "relocd-allow-insecure"), "yes");
    T_EQ_STR(printed(c, "xend-relocation-address"), "eth1");
    T_EQ_STR(printed(c, "xend-relocation-server-ssl-key-file"),
             "/etc/xen/relocd.key");
    conf_free(c);
}

static void test_files(void)
{
    struct relocd_conf *c = NULL;
    char err[512];

    T_EQ_INT(conf_load_opts("data/crlf.sxp", &quiet, &c, err, sizeof(err)), 0);
    T_OK(c != NULL, "%s", err);
    if (c) {
        T_EQ_INT(c->relocation_server, 1);
        T_EQ_INT(c->port, 8102);
        T_EQ_STR(c->hosts_allow, "^peer$");
        T_EQ_INT(c->on_no_converge, CONVERGE_FORCE);
        conf_free(c);
    }
    T_EQ_INT(conf_load("data/bad-unbalanced.sxp", &c, err, sizeof(err)), -1);
    T_EQ_STR(err, "data/bad-unbalanced.sxp:2: unexpected end of file: list "
                  "opened here is not closed");
    T_EQ_INT(conf_load("data/bad-unknown-key.sxp", &c, err, sizeof(err)), -1);
    T_EQ_STR(err, "data/bad-unknown-key.sxp:2: unknown key "
                  "'relocd-no-such-key'");
    T_EQ_INT(conf_load("data/bad-ssl-no-key.sxp", &c, err, sizeof(err)), -1);
    T_EQ_STR(err, "data/bad-ssl-no-key.sxp:1: xend-relocation-ssl-server is "
                  "on but xend-relocation-server-ssl-key-file is not set");
    T_EQ_INT(conf_load("data/no-such-file", &c, err, sizeof(err)), -1);
    T_EQ_INT(errno, ENOENT);
    T_EQ_STR(err, "data/no-such-file: No such file or directory");
    T_EQ_INT(conf_load("data", &c, err, sizeof(err)), -1);
    T_EQ_STR(err, "data: Is a directory");
    T_OK(c == NULL, "no config on error");
}

static void test_too_big(void)
{
    char path[] = "/tmp/test_conf.XXXXXX", err[512];
    struct relocd_conf *c = NULL;
    size_t len = SXP_MAX_SIZE + 1;
    char *buf = malloc(len);
    int fd = mkstemp(path);

    T_OK(fd >= 0 && buf, "mkstemp");
    if (fd < 0 || !buf) {
        free(buf);
        return;
    }
    memset(buf, ' ', len);
    T_EQ_INT(write(fd, buf, len), (long long)len);
    close(fd);
    T_EQ_INT(conf_load(path, &c, err, sizeof(err)), -1);
    T_EQ_INT(errno, EFBIG);
    T_OK(strstr(err, ": larger than 1048576 bytes") != NULL, "%s", err);
    /* exactly the limit is fine */
    T_EQ_INT(truncate(path, SXP_MAX_SIZE), 0);
    T_EQ_INT(conf_load(path, &c, err, sizeof(err)), 0);
    conf_free(c);
    unlink(path);
    free(buf);
}

/* get_config_bool(): yes y 1 on true t / no n 0 off false f, any case */
static void test_bools(void)
{
    static const char *const yes[] = {"yes",  "y",    "1",      "on",
                                      "true", "t",    "YES",    "Y",
                                      "On",   "TRUE", "'True'", "\"t\""};
    static const char *const no[] = {"no",    "n",     "0",       "off",
                                     "false", "f",     "NO",      "N",
                                     "Off",   "FaLsE", "'false'", "\"F\""};
    char text[128];
    size_t i;

    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        struct relocd_conf *c;

        snprintf(text, sizeof(text), "(relocd-allow-insecure %s)", yes[i]);
        c = parse(text);
        T_OK(c && c->allow_insecure == 1, "%s: %s", yes[i], lasterr);
        conf_free(c);
        snprintf(text, sizeof(text), "(xend-relocation-ssl %s)", no[i]);
        c = parse(text);
        T_OK(c && c->ssl == 0, "%s: %s", no[i], lasterr);
        conf_free(c);
    }
    T_EQ_STR(error("(xend-relocation-server maybe)"),
             "t.sxp:1: xend-relocation-server: expected bool (yes/no, y/n, "
             "1/0, on/off, true/false, t/f): 'maybe'");
    T_EQ_STR(error("(xend-relocation-server '')"),
             "t.sxp:1: xend-relocation-server: expected bool (yes/no, y/n, "
             "1/0, on/off, true/false, t/f): ''");
    /* no blanks stripped, unlike int() */
    T_EQ_STR(error("(xend-relocation-ssl ' yes')"),
             "t.sxp:1: xend-relocation-ssl: expected bool (yes/no, y/n, "
             "1/0, on/off, true/false, t/f): ' yes'");
    T_EQ_STR(error("(xend-relocation-ssl 2)"),
             "t.sxp:1: xend-relocation-ssl: expected bool (yes/no, y/n, "
             "1/0, on/off, true/false, t/f): '2'");
    T_EQ_STR(error("(xend-relocation-ssl-server\n\n 'ye\\ts')"),
             "t.sxp:3: xend-relocation-ssl-server: expected bool (yes/no, "
             "y/n, 1/0, on/off, true/false, t/f): 'ye\\x09s'");
}

/* get_config_int() is Python 2's int(): blanks, sign, decimal only */
static void test_ints(void)
{
    static const struct {
        const char *text;
        int port;
    } good[] = {
        {"9000", 9000},       {"'9000'", 9000}, {"' 9000 '", 9000},
        {"'\t9000\n'", 9000}, {"+9000", 9000},  {"'+ 9000'", 9000},
        {"09000", 9000},      {"00001", 1},     {"65535", 65535},
    };
    size_t i;

    for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char text[128];
        struct relocd_conf *c;

        snprintf(text, sizeof(text), "(xend-relocation-port %s)", good[i].text);
        c = parse(text);
        T_OK(c && c->port == good[i].port, "%s: %s", good[i].text, lasterr);
        conf_free(c);
    }
    T_EQ_STR(error("(xend-relocation-port 0x1f42)"),
             "t.sxp:1: xend-relocation-port: expected int: '0x1f42'");
    T_EQ_STR(error("(xend-relocation-port 80.5)"),
             "t.sxp:1: xend-relocation-port: expected int: '80.5'");
    T_EQ_STR(error("(xend-relocation-port '')"),
             "t.sxp:1: xend-relocation-port: expected int: ''");
    T_EQ_STR(error("(xend-relocation-port '8 002')"),
             "t.sxp:1: xend-relocation-port: expected int: '8 002'");
    T_EQ_STR(error("(xend-relocation-port -)"),
             "t.sxp:1: xend-relocation-port: expected int: '-'");
    T_EQ_STR(error("(xend-relocation-port 8e3)"),
             "t.sxp:1: xend-relocation-port: expected int: '8e3'");
    T_EQ_STR(error("(xend-relocation-port 70000)"),
             "t.sxp:1: xend-relocation-port: 70000 is out of range 1..65535");
    T_EQ_STR(error("(xend-relocation-port 0)"),
             "t.sxp:1: xend-relocation-port: 0 is out of range 1..65535");
    T_EQ_STR(error("(xend-relocation-ssl-port '- 1')"),
             "t.sxp:1: xend-relocation-ssl-port: - 1 is out of range "
             "1..65535");
    T_EQ_STR(error("(relocd-max-migrations 99999999999999999999999)"),
             "t.sxp:1: relocd-max-migrations: 99999999999999999999999 is out "
             "of range 1..64");
}

static void test_ranges(void)
{
    static const struct {
        const char *key;
        int lo, hi;
    } r[] = {
        {"xend-relocation-port", 1, 65535},
        {"xend-relocation-ssl-port", 1, 65535},
        {"relocd-max-migrations", 1, 64},
        {"relocd-max-pending", 1, 1024},
        {"relocd-max-pending-per-host", 1, 1024},
        {"relocd-pending-drop-start", 1, 1024},
        {"relocd-pending-drop-rate", 0, 100},
        {"relocd-stream-idle-timeout", 1, 86400},
        {"relocd-handshake-timeout", 1, 3600},
        {"relocd-max-downtime", 1, 600000},
        {"relocd-bandwidth", 0, 1048576},
    };
    char text[128], want[256];
    size_t i;

    for (i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        snprintf(text, sizeof(text), "(%s %d)", r[i].key, r[i].lo);
        T_EQ_STR(error(text), "");
        snprintf(text, sizeof(text), "(%s %d)", r[i].key, r[i].hi);
        T_EQ_STR(error(text), "");
        snprintf(text, sizeof(text), "(%s %d)", r[i].key, r[i].lo - 1);
        snprintf(want, sizeof(want), "t.sxp:1: %s: %d is out of range %d..%d",
                 r[i].key, r[i].lo - 1, r[i].lo, r[i].hi);
        T_EQ_STR(error(text), want);
        snprintf(text, sizeof(text), "(%s %d)", r[i].key, r[i].hi + 1);
        snprintf(want, sizeof(want), "t.sxp:1: %s: %d is out of range %d..%d",
                 r[i].key, r[i].hi + 1, r[i].lo, r[i].hi);
        T_EQ_STR(error(text), want);
    }
}

static void test_enum_and_strings(void)
{
    struct relocd_conf *c = parse("(relocd-on-no-converge FORCE)");

    T_OK(c && c->on_no_converge == CONVERGE_FORCE, "%s", lasterr);
    conf_free(c);
    T_EQ_STR(error("(relocd-on-no-converge stop)"),
             "t.sxp:1: relocd-on-no-converge: expected one of throttle, "
             "force, abort: 'stop'");
    T_EQ_STR(converge_name(CONVERGE_THROTTLE), "throttle");
    T_EQ_STR(converge_name(CONVERGE_ABORT), "abort");
    T_OK(converge_name(3) == NULL && converge_name(-1) == NULL, "out of range");
    /* '' = all addresses; an interface name is kept as it is */
    c = parse("(xend-relocation-address '') (relocd-ssl-ca-file '')");
    T_OK(c && c->address && !*c->address && !c->ca_file, "%s", lasterr);
    conf_free(c);
    c = parse("(xend-relocation-address 192.0.2.5)");
    T_OK(c && !strcmp(c->address, "192.0.2.5"), "%s", lasterr);
    conf_free(c);
    T_EQ_STR(error("(relocd-control-socket '')"),
             "t.sxp:1: relocd-control-socket: must not be empty");
    T_EQ_STR(error("(xend-relocation-address (a b))"),
             "t.sxp:1: xend-relocation-address: expected a value, not a "
             "list");
    T_EQ_STR(error("(xend-relocation-port\n (8002))"),
             "t.sxp:2: xend-relocation-port: expected a value, not a list");
}

/*
 * get_xend_relocation_server_ssl_key_file(): a name without a directory
 * is under /etc/xen; relocate.py needs both files for the SSL server.
 */
static void test_ssl(void)
{
    struct relocd_conf *c;

    c = parse("(xend-relocation-ssl-server yes)\n"
              "(xend-relocation-server-ssl-key-file xmlrpc.key)\n"
              "(xend-relocation-server-ssl-cert-file 'certs/xmlrpc.crt')");
    T_OK(c != NULL, "%s", lasterr);
    if (c) {
        T_EQ_STR(c->ssl_key_file, "/etc/xen/xmlrpc.key");
        T_EQ_STR(c->ssl_cert_file, "certs/xmlrpc.crt");
        conf_free(c);
    }
    T_EQ_STR(error("\n(xend-relocation-ssl-server on)\n"
                   "(xend-relocation-server-ssl-key-file /k)"),
             "t.sxp:2: xend-relocation-ssl-server is on but "
             "xend-relocation-server-ssl-cert-file is not set");
    T_EQ_STR(error("(xend-relocation-ssl-server 1)\n"
                   "(xend-relocation-server-ssl-key-file '')\n"
                   "(xend-relocation-server-ssl-cert-file /c)"),
             "t.sxp:1: xend-relocation-ssl-server is on but "
             "xend-relocation-server-ssl-key-file is not set");
    /* revocations need the CA they revoke from */
    T_EQ_STR(error("(relocd-psk-file /p)\n(relocd-crl-file /crl.pem)"),
             "t.sxp:2: relocd-crl-file is set but relocd-ssl-ca-file is not: "
             "revocations need the CA whose certificates they revoke");
    c = parse("(relocd-crl-file /crl.pem) (relocd-ssl-ca-file /ca.pem)");
    T_OK(c && !strcmp(c->crl_file, "/crl.pem"), "%s", lasterr);
    conf_free(c);
    /* files without the SSL server are fine */
    c = parse("(xend-relocation-server-ssl-key-file k)");
    T_OK(c && !c->ssl_server, "%s", lasterr);
    conf_free(c);
}

/* The plain port without authentication needs an allow-list. */
static void test_insecure(void)
{
    struct relocd_conf *c;

    T_EQ_STR(error("(xend-relocation-server yes)\n"
                   "(relocd-allow-insecure yes)\n"),
             "t.sxp:2: relocd-allow-insecure is yes and "
             "xend-relocation-hosts-allow is empty: any host could send a "
             "guest to the unauthenticated port 8002; list the peers in "
             "xend-relocation-hosts-allow");
    T_OK(strstr(error("(xend-relocation-server yes)\n"
                      "(xend-relocation-hosts-allow '')\n"
                      "(relocd-allow-insecure yes)\n"),
                "t.sxp:3: ") == lasterr,
         "%s", lasterr);
    c = parse("(xend-relocation-server yes)\n(relocd-allow-insecure yes)\n"
              "(xend-relocation-hosts-allow '^10\\\\.1\\\\.0\\\\.2$')");
    T_OK(c != NULL, "%s", lasterr);
    conf_free(c);
    /* the port closed, or shut for want of relocd-allow-insecure: fine */
    c = parse("(relocd-allow-insecure yes)");
    T_OK(c != NULL, "%s", lasterr);
    conf_free(c);
    c = parse("(xend-relocation-server yes)");
    T_OK(c != NULL, "%s", lasterr);
    conf_free(c);
}

static void test_keys(void)
{
    struct relocd_conf *c;
    const char *prev = NULL, *name;
    size_t i;

    T_EQ_STR(error("(xend-relocation-port 8002)\n(relocd-foo 1)"),
             "t.sxp:2: unknown key 'relocd-foo'");
    T_EQ_STR(error("('relocd-max-pendng' 1)"),
             "t.sxp:1: unknown key 'relocd-max-pendng'");
    T_EQ_STR(error("(relocd- 1)"), "t.sxp:1: unknown key 'relocd-'");
    /* the table is sorted (bsearch) and every key is found */
    for (i = 0; (name = conf_key_name(i)); i++) {
        char text[128];

        T_OK(!prev || strcmp(prev, name) < 0, "%s before %s", prev, name);
        prev = name;
        snprintf(text, sizeof(text), "(%s)", name);
        c = parse(text);
        T_OK(c && nwarn == 1 && strstr(lastwarn, "no value"), "%s: %s %s", name,
             lasterr, lastwarn);
        conf_free(c);
    }
    T_EQ_INT(i, 31);
    /* a quoted key name is a key name (xend compared Python strings) */
    c = parse("('xend-relocation-port' 9100) (\"relocd-bandwidth\" 7)");
    T_OK(c && c->port == 9100 && c->bandwidth_mbps == 7, "%s", lasterr);
    conf_free(c);
}

/* sxp.child_value(): first occurrence, first value, "(key)" = default */
static void test_child_value(void)
{
    struct relocd_conf *c;

    c = parse("(xend-relocation-port 9000)\n(xend-relocation-port 9001)\n");
    T_OK(c && c->port == 9000, "%s", lasterr);
    T_EQ_INT(nwarn, 1);
    T_EQ_STR(lastwarn, "t.sxp:2: warning: xend-relocation-port: ignored, "
                       "already set at line 1 (the first one counts, as in "
                       "xend)");
    conf_free(c);
    /* the first, even when it is bad... */
    T_EQ_STR(error("(xend-relocation-port x)\n(xend-relocation-port 9)"),
             "t.sxp:1: xend-relocation-port: expected int: 'x'");
    /* ...and not the second, even when that one is bad */
    c = parse("(xend-relocation-port 9)\n(xend-relocation-port x)");
    T_OK(c && c->port == 9, "%s", lasterr);
    conf_free(c);
    /* a key without a value is the default, and still counts as set */
    c = parse("(xend-relocation-port)\n(xend-relocation-port 9000)\n");
    T_OK(c && c->port == 8002, "%s", lasterr);
    T_EQ_INT(nwarn, 2);
    conf_free(c);
    c = parse("(xend-relocation-port 9000 9001)");
    T_OK(c && c->port == 9000, "%s", lasterr);
    T_EQ_STR(lastwarn, "t.sxp:1: warning: xend-relocation-port: values "
                       "after the first ignored");
    conf_free(c);
    /* children() skips an attribute list (@ ...) after the name */
    c = parse("(xend-relocation-port (@ x) 9005)");
    T_OK(c && c->port == 9005, "%s", lasterr);
    conf_free(c);
    /* repeated keys xend did not read do not warn */
    c = parse("(vif-script a) (vif-script b)");
    T_OK(c && nwarn == 0, "%s", lastwarn);
    conf_free(c);
}

static void test_strays(void)
{
    struct relocd_conf *c;

    /* a form without its parens: xend never looked at it */
    c = parse("xend-relocation-port 9000\n");
    T_OK(c && c->port == 8002, "%s", lasterr);
    T_EQ_INT(nwarn, 2);
    T_EQ_STR(lastwarn, "t.sxp:1: warning: '9000' outside parentheses "
                       "ignored");
    conf_free(c);
    c = parse("'str' () ((a) b)");
    T_OK(c != NULL, "%s", lasterr);
    T_EQ_INT(nwarn, 3);
    T_EQ_STR(lastwarn, "t.sxp:1: warning: list without a key name ignored");
    conf_free(c);
}

static void test_malformed(void)
{
    T_EQ_STR(error("(xend-relocation-server yes"),
             "t.sxp:1: unexpected end of file: list opened here is not "
             "closed");
    T_EQ_STR(error("(xend-relocation-server yes))"),
             "t.sxp:1: syntax error: unexpected ')'");
    T_EQ_STR(error("(xend-relocation-hosts-allow '^a$)\n"),
             "t.sxp:1: unterminated string (end of file inside it)");
    T_EQ_STR(error("(a\n(b\n(c\n"), "t.sxp:3: unexpected end of file: list "
                                    "opened here is not closed");
    T_EQ_STR(error("(xend-relocation-hosts-allow 'x(')"),
             "t.sxp:1: xend-relocation-hosts-allow: bad pattern 'x(': "
             "missing closing parenthesis at offset 2");
    T_EQ_STR(error("\n(xend-relocation-hosts-allow '^a$ [z-a]')"),
             "t.sxp:2: xend-relocation-hosts-allow: bad pattern '[z-a]': "
             "range out of order in character class at offset 3");
    T_EQ_STR(error("(xend-relocation-port 80\x01)"),
             "t.sxp:1: xend-relocation-port: expected int: '80\\x01'");
}

static void test_nul_bytes(void)
{
    static const char text[] = "(xend-relocation-port 80\0 02)";
    struct relocd_conf *c = NULL;
    char err[256];

    T_EQ_INT(conf_parse_opts(text, sizeof(text) - 1, "n.sxp", &quiet, &c, err,
                             sizeof(err)),
             -1);
    T_EQ_STR(err, "n.sxp:1: NUL byte in atom");
    T_EQ_INT(conf_parse_opts("\0", 1, "n.sxp", &quiet, &c, err, sizeof(err)),
             -1);
    T_EQ_STR(err, "n.sxp:1: invalid character: code 0");
}

static void test_deep(void)
{
    char text[300];
    int i, n = 0;

    for (i = 0; i < 70; i++)
        text[n++] = '(';
    for (i = 0; i < 70; i++)
        text[n++] = ')';
    text[n] = '\0';
    T_EQ_STR(error(text), "t.sxp:1: lists nested deeper than 64 levels");
}

static void test_hosts_allow_warnings(void)
{
    struct relocd_conf *c;

    c = parse("\n\n(xend-relocation-hosts-allow '^a$  ^b$')");
    T_OK(c != NULL, "%s", lasterr);
    T_EQ_INT(nwarn, 1);
    T_OK(strstr(lastwarn, "t.sxp:3: warning: xend-relocation-hosts-allow: "
                          "empty pattern") == lastwarn,
         "%s", lastwarn);
    T_EQ_INT(c ? acl_count(c->acl) : 0, 2);
    conf_free(c);
    /* an unknown escape (xend dropped the '.') is warned about */
    c = parse("(xend-relocation-hosts-allow '^a\\.b')");
    T_OK(c != NULL, "%s", lasterr);
    T_EQ_STR(c ? c->hosts_allow : NULL, "^a\\b");
    T_EQ_INT(nwarn, 1);
    T_OK(strstr(lastwarn, "unknown escape") != NULL, "%s", lastwarn);
    conf_free(c);
    /* a pattern that admits more than it seems, at its line */
    c = parse("\n(xend-relocation-hosts-allow '^10\\\\.0\\\\.0\\\\.1')");
    T_OK(c != NULL, "%s", lasterr);
    T_EQ_INT(nwarn, 1);
    T_OK(strstr(lastwarn,
                "t.sxp:2: warning: xend-relocation-hosts-allow: "
                "'^10\\.0\\.0\\.1' also admits 10.0.0.10") == lastwarn,
         "%s", lastwarn);
    conf_free(c);
}

static void test_api_edges(void)
{
    struct relocd_conf *c = NULL;

    conf_free(NULL);
    T_EQ_INT(conf_parse_opts("(", 1, NULL, &quiet, &c, NULL, 0), -1);
    T_EQ_INT(errno, EINVAL);
    T_EQ_INT(conf_parse_opts(NULL, 0, NULL, &quiet, &c, NULL, 0), 0);
    T_OK(c != NULL, "empty input");
    conf_free(c);
    T_OK(conf_key_name(1000) == NULL, "past the end");
}

/* relocd-tunnel: an entry per form, its pairs kept as written. */
static void test_tunnels(void)
{
    struct relocd_conf *c;

    c = parse("(relocd-tunnel (peer 10.2.0.2) (kind vxlan) (vni 42))\n"
              "(relocd-max-migrations 3)\n"
              "(relocd-tunnel (peer 10.3.0.0/16) (kind 'gretap'))\n");
    T_OK(c != NULL, "%s", lasterr);
    if (!c) return;
    T_EQ_INT(c->ntunnels, 2);
    T_EQ_INT(c->warnings, 0);
    T_EQ_INT(c->tunnels[0].line, 1);
    T_EQ_INT(c->tunnels[0].n, 3);
    T_EQ_STR(c->tunnels[0].keys[2], "vni");
    T_EQ_STR(c->tunnels[0].vals[2], "42");
    T_EQ_INT(c->tunnels[1].line, 3);
    T_EQ_STR(c->tunnels[1].vals[1], "gretap");
    T_EQ_STR(c->file, "t.sxp");
    T_EQ_STR(printed(c, "relocd-tunnel"),
             "(peer 10.2.0.2) (kind vxlan) (vni 42)");
    conf_free(c);
    T_EQ_STR(error("(relocd-tunnel)"), "t.sxp:1: relocd-tunnel: empty entry");
    T_EQ_STR(error("\n(relocd-tunnel (peer 1.2.3.4) kind)"),
             "t.sxp:2: relocd-tunnel: expected (key value) pairs, e.g. "
             "(peer 10.2.0.2)");
    T_EQ_STR(error("(relocd-tunnel (peer 1.2.3.4 5.6.7.8))"),
             "t.sxp:1: relocd-tunnel: expected (key value) pairs, e.g. "
             "(peer 10.2.0.2)");
    T_EQ_STR(error("(relocd-tunnel (peer (1.2.3.4)))"),
             "t.sxp:1: relocd-tunnel: expected (key value) pairs, e.g. "
             "(peer 10.2.0.2)");
    T_EQ_STR(error("(relocd-tunnel (peer a)\n (peer b))"),
             "t.sxp:2: relocd-tunnel: 'peer' given twice");
}

/* relocd-disk-allow and relocd-allow-scripts: lists of dom0 paths. */
static void test_guest_access(void)
{
    struct relocd_conf *c;

    T_EQ_STR(error("(relocd-disk-allow '/dev/vg0/* vg1/*')"),
             "t.sxp:1: relocd-disk-allow: 'vg1/*' is not an absolute path");
    T_EQ_STR(error("\n(relocd-disk-allow guest.img)"),
             "t.sxp:2: relocd-disk-allow: 'guest.img' is not an absolute "
             "path");
    T_EQ_STR(error("(relocd-allow-scripts 'vif-bridge ../x')"),
             "t.sxp:1: relocd-allow-scripts: '../x' is not a bare name or "
             "an absolute path");
    T_EQ_STR(error("(relocd-allow-device-model-args maybe)"),
             "t.sxp:1: relocd-allow-device-model-args: expected bool "
             "(yes/no, y/n, 1/0, on/off, true/false, t/f): 'maybe'");
    /* '' for the disks is the default; for the scripts it allows none */
    c = parse("(relocd-disk-allow '') (relocd-allow-scripts '')");
    T_OK(c != NULL, "%s", lasterr);
    if (!c) return;
    T_OK(c->disk_allow == NULL, "'' disk-allow");
    T_EQ_STR(c->allow_scripts, "");
    T_EQ_STR(printed(c, "relocd-allow-scripts"), "''");
    conf_free(c);
    c = parse("(relocd-disk-allow '  /dev/vg0/*\t/srv/*.img ')");
    T_OK(c != NULL, "%s", lasterr);
    if (!c) return;
    T_EQ_STR(printed(c, "relocd-disk-allow"), "  /dev/vg0/*\t/srv/*.img ");
    conf_free(c);
}

/* relocd-evacuate-hosts: xl-relocate evacuate's default candidates. */
static void test_evacuate_hosts(void)
{
    struct relocd_conf *c;

    T_EQ_STR(error("\n(relocd-evacuate-hosts 'host-b, host-c h/d')"),
             "t.sxp:2: relocd-evacuate-hosts: 'h/d' is not a host name or "
             "address (HOST or HOST:PORT)");
    c = parse("(relocd-evacuate-hosts 'host-b:8003,10.0.0.3 [fd00::1]:8002')");
    T_OK(c != NULL, "%s", lasterr);
    if (!c) return;
    T_EQ_STR(c->evacuate_hosts, "host-b:8003,10.0.0.3 [fd00::1]:8002");
    conf_free(c);
    c = parse("(relocd-evacuate-hosts '')");
    T_OK(c && c->evacuate_hosts == NULL, "'' evacuate-hosts: %s", lasterr);
    conf_free(c);
}

/*
 * relocd-evacuate-on-shutdown: seconds for xl-relocate evacuate
 * --on-shutdown, 0 (off) by default; on without a host to go to is an
 * error at the key's line, found by relocd -n rather than at shutdown.
 */
static void test_evacuate_on_shutdown(void)
{
    struct relocd_conf *c = parse("");

    T_OK(c && c->evacuate_on_shutdown == 0, "default: %s", lasterr);
    conf_free(c);
    c = parse("(relocd-evacuate-hosts 'host-b host-c')\n"
              "(relocd-evacuate-on-shutdown 600)");
    T_OK(c != NULL, "%s", lasterr);
    if (!c) return;
    T_EQ_INT(c->evacuate_on_shutdown, 600);
    T_EQ_STR(printed(c, "relocd-evacuate-on-shutdown"), "600");
    conf_free(c);
    T_EQ_STR(error("(relocd-evacuate-hosts h)\n\n"
                   "(relocd-evacuate-on-shutdown 3601)"),
             "t.sxp:3: relocd-evacuate-on-shutdown: 3601 is out of range "
             "0..3600");
    T_EQ_STR(error("\n(relocd-evacuate-on-shutdown 300)\n"
                   "(relocd-evacuate-hosts '')"),
             "t.sxp:2: relocd-evacuate-on-shutdown is 300 but "
             "relocd-evacuate-hosts is empty: there is nowhere to send the "
             "guests");
    /* 0 needs no host */
    c = parse("(relocd-evacuate-on-shutdown 0)");
    T_OK(c != NULL, "0 without hosts: %s", lasterr);
    conf_free(c);
}

int main(void)
{
    test_evacuate_hosts();
    test_evacuate_on_shutdown();
    test_guest_access();
    test_defaults();
    test_tunnels();
    test_print();
    test_xen44_sample();
    test_all_keys();
    test_files();
    test_too_big();
    test_bools();
    test_ints();
    test_ranges();
    test_enum_and_strings();
    test_ssl();
    test_insecure();
    test_keys();
    test_child_value();
    test_strays();
    test_malformed();
    test_nul_bytes();
    test_deep();
    test_hosts_allow_warnings();
    test_api_edges();
    return t_done("test_conf");
}
