/*
 * test_tls.c - TLS 1.3 with certificates, a PSK or both, over a socketpair:
 * one end runs in a forked child and reports back through a pipe.
 *
 * Keys and certificates are made with the openssl command in a temporary
 * directory at start-up and removed at the end.
 */
#include <errno.h>
#include <openssl/evp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "config/diag.h"
#include "wire/chan.h"
#include "wire/relay.h"
#include "wire/tls.h"
#include "wire/tls_ktls.h"
#include "wire/tls_psk.h"
#include "t.h"

#define TMO 10000  /* ms; only a broken test waits this long */
#define SLACK 3000 /* ms; a loaded machine may end a wait this late */
#define BULK (1 << 20)
#define CHUNK 65536

static char dir[64];

/* A path in the temporary directory; a few may be live at once. */
static const char *tpath(const char *name)
{
    static char ring[64][128];
    static unsigned n;
    char *p = ring[n++ % 64];

    snprintf(p, sizeof(ring[0]), "%s/%s", dir, name);
    return p;
}

static const char gen_sh[] =
    "set -e; cd \"$1\"\n"
    "cat > x.cnf <<'EOF'\n"
    "[req]\ndistinguished_name = dn\n[dn]\n"
    "[ca]\nbasicConstraints = critical,CA:true\n"
    "keyUsage = critical,keyCertSign,cRLSign\n"
    "[leaf]\nbasicConstraints = critical,CA:false\n"
    "keyUsage = critical,digitalSignature\n"
    "extendedKeyUsage = serverAuth,clientAuth\n"
    "subjectAltName = DNS:$ENV::SAN,IP:127.0.0.1\n"
    "[srvonly]\nbasicConstraints = critical,CA:false\n"
    "extendedKeyUsage = serverAuth\n"
    "[old]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n"
    "default_md = sha256\npolicy = pol\ndefault_crl_days = 2\n"
    "[pol]\ncommonName = supplied\n"
    "EOF\n"
    "key='-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'\n"
    "export SAN=x\n"
    "mkca() { openssl req -x509 -config x.cnf -extensions ca $key "
    "-keyout $1.key -out $1.pem -subj /CN=$1 -days 2; }\n"
    "mk() { SAN=$1 openssl req -x509 -config x.cnf -extensions ${3:-leaf} "
    "-CA $2.pem -CAkey $2.key $key -keyout $1.key -out $1.pem "
    "-subj /CN=$1 -days 2; }\n"
    "mkca ca; mkca ca2; cat ca.pem ca2.pem > cas.pem\n"
    "mk host-a ca; mk host-b ca; mk intruder ca2; mk srvonly ca srvonly\n"
    "openssl pkey -in host-a.key -aes256 -passout pass:x -out enc.key\n"
    ": > index.txt; echo 01 > serial\n"
    "openssl req -new -config x.cnf $key -keyout old.key -out old.csr "
    "-subj /CN=old\n"
    "openssl ca -config x.cnf -name old -batch -notext -cert ca.pem "
    "-keyfile ca.key -in old.csr -out old.pem -extensions leaf "
    "-startdate 20200101000000Z -enddate 20200102000000Z\n"
    "mk revoked ca\n"
    "ca() { openssl ca -config x.cnf -name old -batch -cert ca.pem "
    "-keyfile ca.key \"$@\"; }\n"
    "ca -revoke revoked.pem; ca -gencrl -out crl.pem\n"
    "k=$(openssl rand -hex 32)\n"
    "printf '%s\\n' \"$k\" | fold -w 20 > psk\n"
    "printf '  %s\\n\\n' \"$(openssl rand -hex 40)\" > psk2\n"
    "openssl rand -hex 31 > short; openssl rand -hex 513 > long\n"
    "printf '%sg\\n' \"$(openssl rand -hex 32)\" > nothex\n"
    "echo \"$k\" > open\n"
    "ka=$(openssl rand -hex 32); kb=$(openssl rand -hex 32)\n"
    "kc=$(openssl rand -hex 32)\n"
    "printf '# the sources this target accepts\\n\\nhost-a:%s\\n"
    "  host-b : %s\\nrelocd:%s\\n' \"$ka\" \"$kb\" \"$k\" > ptarget\n"
    "printf 'host-a:%s\\n' \"$ka\" > pa; printf 'host-b:%s\\n' \"$kb\" > pb\n"
    "printf 'host-c:%s\\n' \"$kc\" > pc; printf 'host-a:%s\\n' \"$kb\" > pab\n"
    "printf 'host-a:%s\\nhost-a:%s\\n' \"$ka\" \"$kb\" > pdup\n"
    "kat=$(openssl rand -hex 32); kbt=$(openssl rand -hex 32)\n"
    "kab=$(openssl rand -hex 32)\n"
    "printf 'host-a:%s\\nhost-b:%s\\n' \"$kat\" \"$kbt\" > pt\n"
    "printf 'host-t:%s\\nhost-b:%s\\n' \"$kat\" \"$kab\" > pa2\n"
    "chmod 600 psk psk2 short long nothex ptarget pa pb pc pab pdup pt pa2 "
    "./*.key\n"
    "chmod 644 open\n"
    "cp -p host-a.key open.key; chmod 640 open.key\n"
    "cp -p host-a.key other.key; cp -p psk other.psk\n"
    "chown 65534 other.key other.psk 2>/dev/null || :\n";

static int gen_files(void)
{
    char cmd[256];

    snprintf(dir, sizeof(dir), "/tmp/test_tls.XXXXXX");
    if (!mkdtemp(dir)) return -1;
    snprintf(cmd, sizeof(cmd), "sh -c \"$RELOCD_GEN\" sh %s >%s/gen.log 2>&1",
             dir, dir);
    setenv("RELOCD_GEN", gen_sh, 1);
    return system(cmd) == 0 ? 0 : -1;
}

static void rm_files(void)
{
    char cmd[128];

    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- one end of a connection --------------------------------------------- */

/* What one end saw; the child's copy comes back through a pipe. */
struct res {
    int made;     /* context made */
    int shook;    /* handshake done */
    int body;     /* the body's verdict, 1 = as expected */
    int err_no;   /* errno after a failed handshake */
    int nonblock; /* O_NONBLOCK left on the fd after the body */
    int fd;       /* the socket, for the body */
    char err[400];
    char peer[160];
    char cipher[64];
};

struct end {
    int server;
    struct tls_opts o;
    int (*body)(struct tls_conn *c, struct res *r, int server);
    const char *host; /* a client's: the name or address it dialled */
};

static void pattern(unsigned char *p, size_t len, size_t off)
{
    size_t i;

    for (i = 0; i < len; i++)
        p[i] = (unsigned char)((off + i) * 7 + ((off + i) >> 12));
}

/* Reads exactly len bytes of the pattern. */
static int read_check(struct tls_conn *c, size_t len)
{
    static unsigned char buf[CHUNK], want[CHUNK];
    size_t off = 0;
    ssize_t n;

    while (off < len) {
        n = tls_read(c, buf, sizeof(buf) < len - off ? sizeof(buf) : len - off,
                     TMO);
        if (n <= 0) return 0;
        pattern(want, (size_t)n, off);
        if (memcmp(buf, want, (size_t)n)) return 0;
        off += (size_t)n;
    }
    return 1;
}

/* len bytes of the pattern in pieces of chunk bytes. */
static int write_pattern(struct tls_conn *c, size_t len, size_t chunk)
{
    static unsigned char buf[BULK];
    size_t off;

    for (off = 0; off < len; off += chunk) {
        pattern(buf, chunk, off);
        if (tls_write(c, buf, chunk, TMO) != (ssize_t)chunk) return 0;
    }
    return 1;
}

/*
 * Two records sent in one write: once the first is read, the second waits
 * in user space, where poll() cannot see it; then a record read in two
 * parts waits decrypted.  The server acknowledges, so nothing else follows
 * the records.
 */
static int pending(struct tls_conn *c, int server)
{
    static char b[16384 + 100];

    if (!server)
        return tls_write(c, b, sizeof(b), TMO) == sizeof(b) &&
               tls_read(c, b, 1, TMO) == 1;
    return !tls_conn_pending(c) && tls_read(c, b, 16384, TMO) == 16384 &&
           tls_conn_pending(c) && tls_read(c, b, 10, TMO) == 10 &&
           tls_conn_pending(c) && tls_read(c, b, 100, TMO) == 90 &&
           !tls_conn_pending(c);
}

/*
 * The relay's way: the socket held non-blocking between calls, a read
 * that does not wait; the caller's flags come back afterwards.
 */
static int hold(struct tls_conn *c, struct res *r)
{
    char b;
    long long t0 = now_ms();

    if (tls_conn_hold_nonblock(c, 1) < 0 ||
        !(fcntl(r->fd, F_GETFL) & O_NONBLOCK) || tls_read(c, &b, 1, 0) != -1 ||
        errno != ETIMEDOUT || now_ms() - t0 > SLACK ||
        tls_write(c, "k", 1, TMO) != 1 || !read_check(c, BULK) ||
        !(fcntl(r->fd, F_GETFL) & O_NONBLOCK))
        return 0;
    return tls_conn_hold_nonblock(c, 0) == 0 &&
           !(fcntl(r->fd, F_GETFL) & O_NONBLOCK);
}

/*
 * 1 MiB each way, in 64 KiB writes and in one write larger than the
 * send buffer, then close_notify from the server.
 */
static int body_bulk(struct tls_conn *c, struct res *r, int server)
{
    unsigned char b;
    int tx, rx;

    tls_conn_ktls(c, &tx, &rx);
    if (tls_conn_ktls_full(c)) /* never on an AF_UNIX socket */
        return 0;
    if (!pending(c, server)) return 0;
    if (server) {
        if (!hold(c, r) || !write_pattern(c, BULK, BULK)) return 0;
        return tls_shutdown(c) == 0;
    }
    if (!write_pattern(c, BULK, CHUNK) || !read_check(c, BULK)) return 0;
    if (tls_read(c, &b, 1, TMO) != 0 || !tls_conn_eof_clean(c)) return 0;
    snprintf(r->err, sizeof(r->err), "%s", tls_conn_error(c));
    return 1;
}

/* The client's name checks against host-a's certificate. */
static int body_host(struct tls_conn *c, struct res *r, int server)
{
    if (server) return body_bulk(c, r, server);
    return tls_conn_check_host(c, "host-a") == 1 &&
           tls_conn_check_host(c, "127.0.0.1") == 1 &&
           tls_conn_check_host(c, "host-b") == 0 &&
           tls_conn_check_host(c, "10.0.0.1") == 0 && body_bulk(c, r, server);
}

/*
 * TLS 1.3 clients finish before the server has judged their certificate:
 * the refusal arrives at the first read.
 */
static int body_refused(struct tls_conn *c, struct res *r, int server)
{
    char b;

    if (server) return 0;
    /* The write fails instead when the server has closed already. */
    if (tls_write(c, "hello", 5, TMO) == 5 && tls_read(c, &b, 1, TMO) != -1)
        return 0;
    snprintf(r->err, sizeof(r->err), "%s", tls_conn_error(c));
    return 1;
}

/* The same, writing only once the server has gone: EPIPE hides the alert. */
static int body_refused_late(struct tls_conn *c, struct res *r, int server)
{
    if (server) return 0;
    usleep(100 * 1000);
    if (tls_write(c, "hello", 5, TMO) != -1 || errno != EPIPE) return 0;
    snprintf(r->err, sizeof(r->err), "%s", tls_conn_error(c));
    return 1;
}

/* Says nothing for a while, then closes without close_notify. */
static int body_silent(struct tls_conn *c, struct res *r, int server)
{
    (void)c;
    (void)r;
    (void)server;
    usleep(600 * 1000);
    return 1;
}

/* A silent peer: a read times out, later the TCP close is seen as EOF. */
static int body_timeout(struct tls_conn *c, struct res *r, int server)
{
    long long t0 = now_ms(), ms;
    ssize_t n;
    char b;

    (void)server;
    n = tls_read(c, &b, 1, 200);
    ms = now_ms() - t0;
    if (n != -1 || errno != ETIMEDOUT || ms < 190 || ms > SLACK) {
        snprintf(r->err, sizeof(r->err), "read %zd errno %d after %lld ms", n,
                 errno, ms);
        return 0;
    }
    n = tls_read(c, &b, 1, TMO);
    snprintf(r->err, sizeof(r->err), "then read %zd, clean %d: %s", n,
             tls_conn_eof_clean(c), tls_conn_error(c));
    return n == 0 && !tls_conn_eof_clean(c);
}

/* A peer that does not read: a write times out; the connection is spent. */
static int body_wtimeout(struct tls_conn *c, struct res *r, int server)
{
    static unsigned char big[4 << 20];
    long long t0 = now_ms(), ms;
    ssize_t n;

    (void)server;
    n = tls_write(c, big, sizeof(big), 200);
    ms = now_ms() - t0;
    snprintf(r->err, sizeof(r->err), "write %zd errno %d after %lld ms", n,
             errno, ms);
    return n == -1 && errno == ETIMEDOUT && ms >= 190 && ms < SLACK &&
           tls_shutdown(c) == -1;
}

static void run_end(const struct end *e, int fd, struct res *r)
{
    struct tls_ctx *t;
    struct tls_conn *c;

    memset(r, 0, sizeof(*r));
    r->fd = fd;
    t = tls_ctx_new(e->server, &e->o, r->err, sizeof(r->err));
    r->made = t != NULL;
    c = !t          ? NULL
        : e->server ? tls_accept(t, fd, TMO, r->err, sizeof(r->err))
                    : tls_connect(t, fd, e->host, TMO, r->err, sizeof(r->err));
    r->err_no = errno;
    if (c) {
        r->shook = 1;
        snprintf(r->peer, sizeof(r->peer), "%s", tls_conn_peer(c));
        snprintf(r->cipher, sizeof(r->cipher), "%s", tls_conn_cipher(c));
        r->body = e->body ? e->body(c, r, e->server) : 1;
        r->nonblock = (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0;
    }
    tls_conn_free(c);
    tls_ctx_free(t);
    close(fd);
}

/* Runs child_end in a child and parent_end here, over a socketpair. */
static void run_pair(const struct end *parent_end, const struct end *child_end,
                     struct res *pr, struct res *cr)
{
    int sv[2], pp[2], status;
    size_t got = 0;
    ssize_t n = 1;
    pid_t pid;

    memset(cr, 0, sizeof(*cr));
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(pp) < 0) abort();
    pid = fork();
    if (pid < 0) abort();
    if (pid == 0) {
        close(sv[0]);
        close(pp[0]);
        run_end(child_end, sv[1], cr);
        _exit(write(pp[1], cr, sizeof(*cr)) == sizeof(*cr) ? 0 : 1);
    }
    close(sv[1]);
    close(pp[1]);
    run_end(parent_end, sv[0], pr);
    while (got < sizeof(*cr) && n > 0) {
        n = read(pp[0], (char *)cr + got, sizeof(*cr) - got);
        got += n > 0 ? (size_t)n : 0;
    }
    close(pp[0]);
    waitpid(pid, &status, 0);
    T_OK(got == sizeof(*cr) && WIFEXITED(status) && !WEXITSTATUS(status),
         "child end did not report");
}

#define HAS(s, sub)                                                            \
    T_OK(strstr((s), (sub)) != NULL, "\"%s\" lacks \"%s\"", s, sub)

/* --- tests --------------------------------------------------------------- */

static struct tls_opts host(const char *name, const char *ca, const char *psk)
{
    char k[64], c[64];

    snprintf(k, sizeof(k), "%s.key", name);
    snprintf(c, sizeof(c), "%s.pem", name);
    struct tls_opts o = {tpath(k), tpath(c), NULL, NULL, NULL, NULL};

    o.ca_file = ca ? tpath(ca) : NULL;
    o.psk_file = psk ? tpath(psk) : NULL;
    return o;
}

static void test_certs(void)
{
    struct end srv = {1, host("host-a", "ca.pem", NULL), body_host, NULL};
    struct end cli = {0, host("host-b", "ca.pem", NULL), body_host, "host-a"};
    struct res s, c;

    run_pair(&cli, &srv, &c, &s);
    T_OK(s.shook && c.shook, "server: %s / client: %s", s.err, c.err);
    T_OK(s.body && c.body, "bulk transfer or host check failed: %s", c.err);
    T_EQ_STR(s.peer, "CN=host-b");
    T_EQ_STR(c.peer, "CN=host-a");
    /* AES-128-GCM with AES instructions, else ChaCha20: SHA-256 either way. */
    T_OK(strstr(c.cipher, "_SHA256") != NULL, "cipher %s", c.cipher);
    T_OK(!s.nonblock && !c.nonblock, "O_NONBLOCK left on the socket");
    /* The other way round: the server end in this process. */
    srv = (struct end){1, host("host-b", "ca.pem", NULL), body_bulk, NULL};
    cli =
        (struct end){0, host("host-a", "ca.pem", NULL), body_bulk, "127.0.0.1"};
    run_pair(&srv, &cli, &s, &c);
    T_OK(s.shook && c.shook && s.body && c.body,
         "server: %d %s / client: %d %s", s.body, s.err, c.body, c.err);
    T_EQ_STR(s.peer, "CN=host-a");
}

static void test_cert_refused(void)
{
    struct end srv = {1, host("host-a", "ca.pem", NULL), NULL, NULL};
    struct end cli = {0, host("intruder", "cas.pem", NULL), body_refused, NULL};
    struct res s, c;

    /* A client certificate from another CA. */
    run_pair(&srv, &cli, &s, &c);
    T_OK(!s.shook && s.made, "server accepted another CA's client");
    HAS(s.err, "certificate verify failed");
    T_OK(c.body, "client: %s", c.err);
    HAS(c.err, "unknown ca");
    cli.body = body_refused_late;
    run_pair(&srv, &cli, &s, &c);
    T_OK(c.body, "client: %s", c.err);
    HAS(c.err, "unknown ca");
    /* No client certificate at all. */
    cli.o = (struct tls_opts){NULL, NULL, tpath("ca.pem"), NULL, NULL, NULL};
    run_pair(&srv, &cli, &s, &c);
    T_OK(!s.shook, "server accepted a client without a certificate");
    HAS(s.err, "peer did not return a certificate");
    T_OK(c.body, "client: %s", c.err);
    HAS(c.err, "certificate required");
    /* The client refuses a server from another CA. */
    srv.o = host("intruder", "ca2.pem", NULL);
    cli = (struct end){0, host("host-b", "ca.pem", NULL), NULL, NULL};
    run_pair(&srv, &cli, &s, &c);
    T_OK(!c.shook && c.made, "client accepted another CA's server");
    HAS(c.err, "certificate verify failed");
    T_EQ_INT(c.err_no, EPROTO);
    HAS(s.err, "unknown ca");
}

/* The client checks the server's certificate against what it dialled. */
static void test_cert_host(void)
{
    struct end srv = {1, host("host-a", "ca.pem", NULL), NULL, NULL};
    struct end cli = {0, host("host-b", "ca.pem", NULL), NULL, "host-b"};
    struct res s, c;

    run_pair(&srv, &cli, &s, &c);
    T_OK(!c.shook && c.made, "client took host-a's certificate for host-b");
    HAS(c.err, "certificate verify failed (hostname mismatch)");
    HAS(c.err, "the server's certificate CN=host-a is not valid for host-b, "
               "the name or address dialled");
    T_EQ_INT(c.err_no, EPROTO);
    cli.host = "10.0.0.1";
    run_pair(&srv, &cli, &s, &c);
    T_OK(!c.shook, "client took host-a's certificate for 10.0.0.1");
    HAS(c.err, "(IP address mismatch)");
    HAS(c.err, "not valid for 10.0.0.1");
    /* no partial wildcards, no suffix matches */
    cli.host = "host-a.example";
    run_pair(&srv, &cli, &s, &c);
    T_OK(!c.shook, "client took host-a for host-a.example");
    cli.host = "HOST-A"; /* DNS names compare without case */
    run_pair(&srv, &cli, &s, &c);
    T_OK(c.shook, "client: %s", c.err);
    /* "both": the name is checked too; the PSK alone has no certificate */
    srv.o = host("host-a", "ca.pem", "psk");
    cli.o = host("host-b", "ca.pem", "psk");
    cli.host = "host-b";
    run_pair(&srv, &cli, &s, &c);
    T_OK(!c.shook, "both: client took host-a's certificate for host-b");
    HAS(c.err, "hostname mismatch");
    srv.o = cli.o =
        (struct tls_opts){NULL, NULL, NULL, tpath("psk"), NULL, NULL};
    run_pair(&srv, &cli, &s, &c);
    T_OK(c.shook && s.shook, "PSK: %s / %s", c.err, s.err);
}

/* Revoked certificates, both ways, and our own at start-up. */
static void test_crl(void)
{
    struct tls_opts a = host("host-a", "ca.pem", NULL);
    struct end srv = {1, a, body_bulk, NULL};
    struct end cli = {0, host("host-b", "ca.pem", NULL), body_bulk, "host-a"};
    struct res s, c;

    srv.o.crl_file = cli.o.crl_file = tpath("crl.pem");
    run_pair(&srv, &cli, &s, &c);
    T_OK(s.shook && c.shook && s.body && c.body, "server: %s / client: %s",
         s.err, c.err);
    /* a revoked client */
    cli.o = host("revoked", "ca.pem", NULL);
    cli.body = body_refused;
    run_pair(&srv, &cli, &s, &c);
    T_OK(!s.shook && s.made, "server accepted a revoked client");
    HAS(s.err, "certificate verify failed (certificate revoked)");
    T_OK(c.body, "client: %s", c.err);
    HAS(c.err, "certificate revoked");
    /* a revoked server */
    srv.o = host("revoked", "ca.pem", NULL);
    cli = (struct end){0, host("host-b", "ca.pem", NULL), NULL, "revoked"};
    cli.o.crl_file = tpath("crl.pem");
    run_pair(&srv, &cli, &s, &c);
    T_OK(!c.shook && c.made, "client accepted a revoked server");
    HAS(c.err, "certificate verify failed (certificate revoked)");
    /* without the CRL the same certificate passes: the CRL did it */
    cli.o.crl_file = NULL;
    run_pair(&srv, &cli, &s, &c);
    T_OK(c.shook, "client: %s", c.err);
}

static void test_psk(void)
{
    struct end srv = {
        1, {NULL, NULL, NULL, tpath("psk"), NULL, NULL}, body_bulk, NULL};
    struct end cli = {
        0, {NULL, NULL, NULL, tpath("psk"), NULL, NULL}, body_bulk, NULL};
    struct res s, c;

    run_pair(&srv, &cli, &s, &c);
    T_OK(s.shook && c.shook && s.body && c.body, "server: %s / client: %s",
         s.err, c.err);
    T_EQ_STR(s.peer, "psk:relocd");
    T_EQ_STR(c.peer, "psk:relocd");
    T_OK(strstr(s.cipher, "_SHA256") != NULL, "cipher %s", s.cipher);
    /* Another key: both ends fail and say why. */
    cli.o.psk_file = tpath("psk2");
    run_pair(&srv, &cli, &s, &c);
    T_OK(!s.shook && !c.shook, "different keys agreed");
    HAS(s.err, "different pre-shared keys");
    HAS(c.err, "different pre-shared keys");
    /* A PSK client meets a certificate server. */
    srv.o = host("host-a", "ca.pem", NULL);
    run_pair(&srv, &cli, &s, &c);
    T_OK(!c.shook, "PSK client accepted a certificate");
    HAS(c.err, "does not take the pre-shared key");
}

static void ctx_fails(int server, struct tls_opts o, const char *want);

/* A client with a per-host file, offering identity id. */
static struct tls_opts psk_host(const char *file, const char *id)
{
    return (struct tls_opts){NULL, NULL, NULL, tpath(file), NULL, id};
}

/*
 * Per-host keys: a target that lists two sources takes each with its own
 * key and says which it was; A's name with B's key, or a name it does not
 * list, is refused; a one-key client is the identity "relocd".
 */
static void test_psk_hosts(void)
{
    struct end srv = {1, psk_host("ptarget", NULL), body_bulk, NULL};
    struct end cli = {0, psk_host("pa", "host-a"), body_bulk, NULL};
    struct res s, c;

    run_pair(&srv, &cli, &s, &c);
    T_OK(s.shook && c.shook && s.body && c.body, "server: %s / client: %s",
         s.err, c.err);
    T_EQ_STR(s.peer, "psk:host-a");
    T_EQ_STR(c.peer, "psk:host-a");
    cli.o = psk_host("pb", "host-b");
    run_pair(&srv, &cli, &s, &c);
    T_OK(s.shook && c.shook && s.body && c.body, "server: %s / client: %s",
         s.err, c.err);
    T_EQ_STR(s.peer, "psk:host-b");
    /* A's identity, B's key: a thief of B's key cannot be A. */
    cli.o = psk_host("pab", "host-a");
    run_pair(&srv, &cli, &s, &c);
    T_OK(!s.shook && !c.shook, "host-a with host-b's key was taken");
    HAS(s.err, "different pre-shared keys");
    HAS(c.err, "different pre-shared keys");
    /* A name the target does not list. */
    cli.o = psk_host("pc", "host-c");
    run_pair(&srv, &cli, &s, &c);
    T_OK(!s.shook && !c.shook, "host-c was taken");
    HAS(s.err, "the peer offered the pre-shared key of an identity not in "
               "this host's key file: 'host-c'");
    HAS(c.err, "most likely the server has no key for this host's identity "
               "'host-c'");
    /* The one-key file of before: its line "relocd:KEY" on the target. */
    cli.o = psk_host("psk", NULL);
    run_pair(&srv, &cli, &s, &c);
    T_OK(s.shook && c.shook, "server: %s / client: %s", s.err, c.err);
    T_EQ_STR(s.peer, "psk:relocd");
    srv.o = psk_host("pa", NULL);
    run_pair(&srv, &cli, &s, &c);
    T_OK(!s.shook, "a one-key client was taken as host-a");
    HAS(s.err, "not in this host's key file: 'relocd'");
    /* A client needs the line of the host it dials, or its own. */
    cli.o = psk_host("pa", "host-b");
    run_pair(&srv, &cli, &s, &c);
    T_OK(c.made && !c.shook, "a client without a key connected");
    HAS(c.err, "the pre-shared key file has no line for the host dialled "
               "nor for this host's identity 'host-b'");
    /* "both": the certificate, and the key says which line it is */
    srv.o = host("host-a", "ca.pem", "ptarget");
    cli.o = host("host-b", "ca.pem", "pb");
    cli.o.psk_identity = "host-b";
    run_pair(&srv, &cli, &s, &c);
    T_OK(s.shook && c.shook && s.body && c.body, "server: %s / client: %s",
         s.err, c.err);
    T_EQ_STR(s.peer, "CN=host-b+psk:host-b");
    T_EQ_STR(c.peer, "CN=host-a+psk:host-b");
    cli.o.psk_file = tpath("pc");
    cli.o.psk_identity = "host-c";
    run_pair(&srv, &cli, &s, &c);
    T_OK(!s.shook && !c.shook, "both: host-c was taken");
    HAS(s.err, "different pre-shared keys");
    HAS(c.err, "different pre-shared keys");
    /* A file that lists a name twice is refused at start-up. */
    ctx_fails(1, psk_host("pdup", NULL), "/pdup:2: identity 'host-a'");
}

/*
 * A key per pair of hosts: the line named after the host dialled.  The
 * file of host-a (pa2) holds its keys with host-t and host-b; stolen, it
 * lets the thief be host-b only towards host-a, not towards host-t.
 */
static void test_psk_pairs(void)
{
    struct end srv = {1, psk_host("pt", NULL), body_bulk, NULL};
    struct end cli = {0, psk_host("pa2", "host-a"), body_bulk, "host-t"};
    struct res s, c;

    run_pair(&srv, &cli, &s, &c);
    T_OK(s.shook && c.shook && s.body && c.body, "server: %s / client: %s",
         s.err, c.err);
    T_EQ_STR(s.peer, "psk:host-a");
    T_EQ_STR(c.peer, "psk:host-t");
    cli.host = "host-t.example.org";
    run_pair(&srv, &cli, &s, &c);
    T_OK(s.shook && c.shook, "server: %s / client: %s", s.err, c.err);
    /* host-a's file, used as host-b */
    cli.o = psk_host("pa2", "host-b");
    run_pair(&srv, &cli, &s, &c);
    T_OK(!s.shook && !c.shook, "host-a's file passed for host-b");
    HAS(s.err, "different pre-shared keys");
    /* dialled by a name it has no line for, and no line of its own */
    cli.o = psk_host("pa2", "host-a");
    cli.host = "10.0.0.9";
    run_pair(&srv, &cli, &s, &c);
    T_OK(c.made && !c.shook, "connected without a key");
    HAS(c.err, "no line for '10.0.0.9' nor for this host's identity 'host-a'");
}

static void test_both(void)
{
    struct end srv = {1, host("host-a", "ca.pem", "psk"), body_bulk, NULL};
    struct end cli = {0, host("host-b", "ca.pem", "psk"), body_bulk, NULL};
    struct res s, c;

    run_pair(&srv, &cli, &s, &c);
    T_OK(s.shook && c.shook && s.body && c.body, "server: %s / client: %s",
         s.err, c.err);
    T_EQ_STR(s.peer, "CN=host-b+psk:relocd");
    T_EQ_STR(c.peer, "CN=host-a+psk:relocd");
    /* Right certificates, wrong key. */
    cli.o.psk_file = tpath("psk2");
    run_pair(&srv, &cli, &s, &c);
    T_OK(!s.shook && !c.shook, "different keys agreed");
    HAS(s.err, "different pre-shared keys");
    HAS(c.err, "different pre-shared keys");
    /* A client with certificates only. */
    cli.o.psk_file = NULL;
    run_pair(&srv, &cli, &s, &c);
    T_OK(!s.shook, "server took certificates alone");
    HAS(s.err, "does not check the pre-shared key");
    /* A client with the key only. */
    cli.o = (struct tls_opts){NULL, NULL, NULL, tpath("psk"), NULL, NULL};
    run_pair(&srv, &cli, &s, &c);
    T_OK(!s.shook && !c.shook, "server took the key alone");
    HAS(s.err, "offered only the pre-shared key");
    /* A server with the key alone refuses a "both" client. */
    srv.o = (struct tls_opts){NULL, NULL, NULL, tpath("psk"), NULL, NULL};
    cli.o = host("host-b", "ca.pem", "psk");
    run_pair(&srv, &cli, &s, &c);
    T_OK(!s.shook && !c.shook, "mixed modes agreed");
    HAS(s.err, "offered no pre-shared key");
}

static void ctx_fails(int server, struct tls_opts o, const char *want)
{
    char err[512] = "";
    struct tls_ctx *t = tls_ctx_new(server, &o, err, sizeof(err));

    T_OK(t == NULL, "context made, wanted \"%s\"", want);
    HAS(err, want);
    tls_ctx_free(t);
}

static void test_ctx(void)
{
    struct tls_opts a = host("host-a", "ca.pem", NULL);

    ctx_fails(1,
              (struct tls_opts){NULL, NULL, NULL, tpath("short"), NULL, NULL},
              "at least 64");
    ctx_fails(1, (struct tls_opts){NULL, NULL, NULL, tpath("long"), NULL, NULL},
              "longer than 512 bytes");
    ctx_fails(1,
              (struct tls_opts){NULL, NULL, NULL, tpath("nothex"), NULL, NULL},
              "'g' is not a hex digit");
    ctx_fails(0, (struct tls_opts){NULL, NULL, NULL, tpath("open"), NULL, NULL},
              "permissions 0644 are too open");
    /* As OpenSSH: a secret others may read, or someone else's, is refused */
    ctx_fails(1,
              (struct tls_opts){tpath("open.key"), a.cert_file, a.ca_file, NULL,
                                NULL, NULL},
              "open.key: UNPROTECTED PRIVATE KEY FILE! permissions 0640 are "
              "too open: a private key file must not be accessible by group "
              "or others (chmod 600)");
    if (geteuid() == 0) {
        ctx_fails(1,
                  (struct tls_opts){tpath("other.key"), a.cert_file, a.ca_file,
                                    NULL, NULL, NULL},
                  "other.key: bad owner: the private key file belongs to uid "
                  "65534; it must belong to root or to uid 0");
        ctx_fails(
            0,
            (struct tls_opts){NULL, NULL, NULL, tpath("other.psk"), NULL, NULL},
            "other.psk: bad owner: the pre-shared key file belongs to "
            "uid 65534");
    }
    ctx_fails(0,
              (struct tls_opts){NULL, NULL, NULL, tpath("missing"), NULL, NULL},
              "No such file");
    ctx_fails(1,
              (struct tls_opts){NULL, NULL, tpath("ca.pem"), NULL, NULL, NULL},
              "needs its key and certificate");
    ctx_fails(1, (struct tls_opts){NULL, NULL, NULL, NULL, NULL, NULL},
              "needs its key and certificate");
    ctx_fails(1,
              (struct tls_opts){a.key_file, NULL, a.ca_file, NULL, NULL, NULL},
              "key file needs a certificate");
    ctx_fails(
        1, (struct tls_opts){a.key_file, a.cert_file, NULL, NULL, NULL, NULL},
        "clients would not be authenticated");
    ctx_fails(
        0, (struct tls_opts){a.key_file, a.cert_file, NULL, NULL, NULL, NULL},
        "server would not be authenticated");
    ctx_fails(1,
              (struct tls_opts){tpath("host-b.key"), a.cert_file, a.ca_file,
                                NULL, NULL, NULL},
              "host-b.key does not match");
    ctx_fails(1,
              (struct tls_opts){a.key_file, a.cert_file, tpath("psk"), NULL,
                                NULL, NULL},
              "/psk");
    /* CRLs: only with a CA file, a file that holds one, our own checked */
    ctx_fails(0,
              (struct tls_opts){NULL, NULL, NULL, tpath("psk"),
                                tpath("crl.pem"), NULL},
              "a CRL file needs the CA file");
    ctx_fails(0,
              (struct tls_opts){NULL, NULL, a.ca_file, NULL, a.ca_file, NULL},
              "ca.pem: no certificate revocation list");
    ctx_fails(1,
              (struct tls_opts){tpath("revoked.key"), tpath("revoked.pem"),
                                a.ca_file, NULL, tpath("crl.pem"), NULL},
              "revoked.pem: the certificate is not valid for a TLS server "
              "under the CA file: certificate revoked");
    ctx_fails(
        1,
        (struct tls_opts){a.cert_file, a.key_file, a.ca_file, NULL, NULL, NULL},
        "host-a.key: no start line");
    ctx_fails(1,
              (struct tls_opts){tpath("enc.key"), a.cert_file, a.ca_file, NULL,
                                NULL, NULL},
              "enc.key: the key is encrypted");
    ctx_fails(1, host("srvonly", "ca.pem", NULL), "not valid for a TLS client");
    ctx_fails(1, host("intruder", "ca.pem", NULL),
              "not valid for a TLS server");
    ctx_fails(1, host("old", NULL, "psk"), "has expired");
    ctx_fails(1, host("old", "ca.pem", NULL), "expired");
}

static void test_handshake_timeout(void)
{
    struct tls_opts o = {NULL, NULL, NULL, tpath("psk"), NULL, NULL};
    char err[256];
    struct tls_ctx *tc = tls_ctx_new(0, &o, err, sizeof(err));
    struct tls_ctx *ts = tls_ctx_new(1, &o, err, sizeof(err));
    struct tls_conn *c;
    long long t0, ms;
    int sv[2];

    T_OK(tc && ts, "PSK contexts");
    if (!tc || !ts || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return;
    t0 = now_ms();
    c = tls_connect(tc, sv[0], NULL, 300, err, sizeof(err));
    ms = now_ms() - t0;
    T_OK(!c && errno == ETIMEDOUT, "connect to a silent server: %s", err);
    T_OK(ms >= 290 && ms < SLACK, "connect gave up after %lld ms", ms);
    HAS(err, "timed out");
    T_EQ_INT(fcntl(sv[0], F_GETFL) & O_NONBLOCK, 0);
    t0 = now_ms();
    c = tls_accept(ts, sv[1], 300, err, sizeof(err));
    ms = now_ms() - t0;
    T_OK(!c, "accepted half a handshake");
    T_OK(ms < SLACK, "accept gave up after %lld ms", ms);
    /* The wrong role for the context. */
    T_OK(!tls_accept(tc, sv[1], 300, err, sizeof(err)), "client accepted");
    close(sv[0]);
    close(sv[1]);
    tls_ctx_free(tc);
    tls_ctx_free(ts);
}

static void test_read_timeout(void)
{
    struct end srv = {
        1, {NULL, NULL, NULL, tpath("psk"), NULL, NULL}, body_silent, NULL};
    struct end cli = {
        0, {NULL, NULL, NULL, tpath("psk"), NULL, NULL}, body_timeout, NULL};
    struct res s, c;

    run_pair(&cli, &srv, &c, &s);
    T_OK(c.shook && c.body, "client: %s", c.err);
    cli.body = body_wtimeout;
    run_pair(&cli, &srv, &c, &s);
    T_OK(c.shook && c.body, "client: %s", c.err);
}

/* --- the relay over TLS ----------------------------------------------------
 */

#define RELAY_BULK (3 << 20)

/*
 * The peer of the relay: RELAY_BULK bytes of the pattern and close_notify
 * at once, so that the end arrives in the same buffer as the last records;
 * then it expects "reply" and a clean end.  Its exit status is the verdict.
 */
static int relay_peer(int fd)
{
    struct tls_opts o = {NULL, NULL, NULL, tpath("psk"), NULL, NULL};
    char err[256], b[8];
    struct tls_ctx *t = tls_ctx_new(0, &o, err, sizeof(err));
    struct tls_conn *c =
        t ? tls_connect(t, fd, NULL, TMO, err, sizeof(err)) : NULL;
    size_t got = 0;
    ssize_t n = 1;
    int ok;

    ok = c && write_pattern(c, RELAY_BULK, BULK) && tls_shutdown(c) == 0;
    while (ok && n > 0 && got < sizeof(b)) {
        n = tls_read(c, b + got, sizeof(b) - got, TMO);
        got += n > 0 ? (size_t)n : 0;
    }
    ok = ok && n == 0 && got == 5 && !memcmp(b, "reply", 5) &&
         tls_conn_eof_clean(c);
    tls_conn_free(c);
    tls_ctx_free(t);
    return ok ? 0 : 1;
}

/* xl's side of the relay: the whole pattern to the end, then "reply". */
static int relay_xl(int fd)
{
    static unsigned char buf[CHUNK], want[CHUNK];
    size_t off = 0;
    ssize_t n;

    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        pattern(want, (size_t)n, off);
        if (memcmp(buf, want, (size_t)n)) return 1;
        off += (size_t)n;
    }
    return n == 0 && off == RELAY_BULK && write(fd, "reply", 5) == 5 ? 0 : 1;
}

static int child_ok(pid_t pid)
{
    int status;

    return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
           WEXITSTATUS(status) == 0;
}

/* relay_run between a TLS peer and a local socket, as a session runs it. */
static void test_relay(void)
{
    struct tls_opts o = {NULL, NULL, NULL, tpath("psk"), NULL, NULL};
    struct relay_stats st = {0, 0};
    char err[256];
    struct tls_ctx *t = tls_ctx_new(1, &o, err, sizeof(err));
    struct tls_conn *tls = NULL;
    struct chan *c = NULL;
    int sv[2], lp[2], rc = -1;
    pid_t peer, xl = -1;

    if (!t || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 ||
        socketpair(AF_UNIX, SOCK_STREAM, 0, lp) < 0)
        abort();
    peer = fork();
    if (peer == 0) {
        close(sv[0]);
        close(lp[0]);
        close(lp[1]);
        _exit(relay_peer(sv[1]));
    }
    close(sv[1]);
    c = chan_new(sv[0]);
    if (c) tls = tls_accept(t, sv[0], TMO, err, sizeof(err));
    T_OK(c && tls, "accept: %s", err);
    if (tls) {
        chan_set_tls(c, tls);
        xl = fork();
        if (xl == 0) {
            close(lp[0]);
            _exit(relay_xl(lp[1]));
        }
        close(lp[1]);
        rc = relay_run(c, lp[0], lp[0], TMO, &st);
        snprintf(err, sizeof(err), "%s", tls_conn_error(tls));
    }
    close(lp[0]);
    chan_free(c);
    T_OK(child_ok(xl), "xl's side did not get the stream and its end");
    T_OK(child_ok(peer), "the peer did not get the reply and a clean end");
    T_OK(rc == 0, "relay_run failed: %s", err);
    T_EQ_INT(st.to_fd, RELAY_BULK);
    T_EQ_INT(st.to_chan, 5);
    tls_ctx_free(t);
}

/* The peer of test_drop: the chan's end must come without close_notify. */
static int drop_peer(int fd)
{
    struct tls_opts o = {NULL, NULL, NULL, tpath("psk"), NULL, NULL};
    char err[256], b;
    struct tls_ctx *t = tls_ctx_new(0, &o, err, sizeof(err));
    struct tls_conn *c =
        t ? tls_connect(t, fd, NULL, TMO, err, sizeof(err)) : NULL;
    int ok = c && tls_read(c, &b, 1, TMO) == 0 && !tls_conn_eof_clean(c);

    tls_conn_free(c);
    tls_ctx_free(t);
    return ok ? 0 : 1;
}

/* A process that handed its connection on sends nothing more on it. */
static void test_drop(void)
{
    struct tls_opts o = {NULL, NULL, NULL, tpath("psk"), NULL, NULL};
    char err[256];
    struct tls_ctx *t = tls_ctx_new(1, &o, err, sizeof(err));
    struct tls_conn *tls = NULL;
    struct chan *c;
    int sv[2];
    pid_t peer;

    if (!t || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) abort();
    peer = fork();
    if (peer == 0) {
        close(sv[0]);
        _exit(drop_peer(sv[1]));
    }
    close(sv[1]);
    c = chan_new(sv[0]);
    if (c) tls = tls_accept(t, sv[0], TMO, err, sizeof(err));
    T_OK(c && tls, "accept: %s", err);
    if (tls) chan_set_tls(c, tls);
    if (c) chan_drop_tls(c);
    T_OK(c && !chan_has_tls(c), "the chan still has TLS");
    chan_free(c);
    T_OK(child_ok(peer), "the peer saw close_notify or no end");
    tls_ctx_free(t);
}

/* The key file's text at its bounds (tls_psk.h), without files. */
static void psk_text(const char *text, int rc, const char *msg)
{
    struct tls_psk *k = tls_psk_new();
    char err[256] = "";

    T_EQ_INT(tls_psk_parse(k, "f", text, strlen(text), err, sizeof(err)), rc);
    if (msg) T_OK(strstr(err, msg) != NULL, "'%s' lacks '%s'", err, msg);
    tls_psk_free(k);
}

static void test_psk_parse(void)
{
    char hex[2 * TLS_PSK_MAX + 8];
    struct tls_psk *k = tls_psk_new();
    char err[256];

    memset(hex, 'a', 2 * TLS_PSK_MIN);
    hex[2 * TLS_PSK_MIN] = '\0';
    psk_text(hex, 0, NULL);
    hex[2 * TLS_PSK_MIN - 1] = '\0';
    psk_text(hex, -1, "f: odd number of hex digits (63)");
    hex[2 * TLS_PSK_MIN - 2] = '\0';
    psk_text(hex, -1, "f: the key is 62 hex digits; at least 64");
    memset(hex, 'F', 2 * TLS_PSK_MAX);
    hex[2 * TLS_PSK_MAX] = '\0';
    T_EQ_INT(tls_psk_parse(k, "f", hex, strlen(hex), err, sizeof(err)), 0);
    T_EQ_INT(k->n, 1);
    T_EQ_INT(k->per_host, 0);
    T_EQ_STR(k->key[0].id, TLS_PSK_LEGACY_ID);
    T_EQ_INT(k->key[0].len, TLS_PSK_MAX);
    T_EQ_INT(k->key[0].bytes[TLS_PSK_MAX - 1], 0xff);
    memcpy(hex + 2 * TLS_PSK_MAX, "00", 3);
    psk_text(hex, -1, "f: the key is longer than 512 bytes");
    psk_text("00 11\n22\t33\n\n  zz", -1, "f:4: 'z' is not a hex digit");
    psk_text("\x01", -1, "f:1: '?' is not a hex digit");
    psk_text("", -1, "the key is 0 hex digits");
    tls_psk_free(k);
    k = tls_psk_new();
    T_EQ_INT(tls_psk_parse(k, "f", "0a1B", 4, err, sizeof(err)), -1);
    T_EQ_INT(k->key[0].bytes[0], 0x0a);
    T_EQ_INT(k->key[0].bytes[1], 0x1b);
    tls_psk_free(k);
}

/* A per-host file of the lines given, each with the key in hex. */
static void psk_lines(char *buf, size_t len, const char *const *lines,
                      const char *hex)
{
    size_t i;

    buf[0] = '\0';
    for (i = 0; lines[i]; i++)
        diag_appendf(buf, len, "%s%s\n", lines[i],
                     strchr(lines[i], ':') ? hex : "");
}

/* The per-host form: lines "IDENTITY:HEXKEY", its bounds and messages. */
static void test_psk_parse_hosts(void)
{
    static char text[TLS_PSK_FILE_MAX + 2], id[TLS_PSK_ID_MAX + 2];
    static const char *const ok[] = {
        "# the cluster", "", "host-a:", "  dom0.b_2 :", "\t", NULL};
    char hex[2 * TLS_PSK_MIN + 1], err[256];
    struct tls_psk *k = tls_psk_new();
    size_t i;

    memset(hex, 'c', 2 * TLS_PSK_MIN);
    hex[2 * TLS_PSK_MIN] = '\0';
    psk_lines(text, sizeof(text), ok, hex);
    T_EQ_INT(tls_psk_parse(k, "f", text, strlen(text), err, sizeof(err)), 0);
    T_EQ_INT(k->per_host, 1);
    T_EQ_INT(k->n, 2);
    T_EQ_STR(k->key[1].id, "dom0.b_2");
    T_EQ_INT(k->key[1].len, TLS_PSK_MIN);
    T_EQ_INT(k->key[1].bytes[TLS_PSK_MIN - 1], 0xcc);
    T_OK(tls_psk_find(k, "host-a", 6) == &k->key[0], "host-a not found");
    T_OK(!tls_psk_find(k, "host-a\0", 7) && !tls_psk_find(k, "host-", 5) &&
             !tls_psk_find(k, TLS_PSK_LEGACY_ID, 6),
         "a name that is not listed was found");
    /* The line of the host dialled, of its first label, else our own. */
    T_OK(tls_psk_dial(k, "dom0.b_2", "host-a") == &k->key[1], "dom0.b_2");
    T_OK(tls_psk_dial(k, "host-a.example", "x") == &k->key[0], "first label");
    T_OK(tls_psk_dial(k, "10.0.0.2", "host-a") == &k->key[0], "own line");
    T_OK(tls_psk_dial(k, NULL, "dom0.b_2") == &k->key[1], "own line");
    T_OK(!tls_psk_dial(k, "host-c", "host-d"), "a line for host-c or -d");
    tls_psk_free(k);
    snprintf(text, sizeof(text), "host-a:%s\r\nhost-b:%s\r\n", hex, hex);
    psk_text(text, 0, NULL);
    snprintf(text, sizeof(text), "host-a:%s\nhost-a:%s\n", hex, hex);
    psk_text(text, -1, "f:2: identity 'host-a' is listed twice");
    snprintf(text, sizeof(text), "h st:%s", hex);
    psk_text(text, -1, "f:1: ' ' in the identity: a host name has only");
    snprintf(text, sizeof(text), "\n :%s", hex);
    psk_text(text, -1, "f:2: the identity before ':' must be 1 to 64");
    memset(id, 'i', TLS_PSK_ID_MAX);
    snprintf(text, sizeof(text), "%s:%s", id, hex);
    psk_text(text, 0, NULL);
    id[TLS_PSK_ID_MAX] = 'i';
    snprintf(text, sizeof(text), "%s:%s", id, hex);
    psk_text(text, -1, "f:1: the identity before ':' must be 1 to 64");
    snprintf(text, sizeof(text), "a:%.62s\n", hex);
    psk_text(text, -1, "f:1: the key is 62 hex digits");
    snprintf(text, sizeof(text), "a:%.63s\n", hex);
    psk_text(text, -1, "f:1: odd number of hex digits (63)");
    snprintf(text, sizeof(text), "a:%s\n# b\n%s\n", hex, hex);
    psk_text(text, -1, "f:3: expected IDENTITY:HEXKEY");
    snprintf(text, sizeof(text), "a:%s\nb:%s zz\n", hex, hex);
    psk_text(text, -1, "f:2: 'z' is not a hex digit");
    snprintf(text, sizeof(text), "a:%s # b\n", hex);
    psk_text(text, -1, "f:1: '#' is not a hex digit");
    psk_text("# only a: comment\n", -1, "f: no IDENTITY:HEXKEY line");
    /* 1025 hex digits, then the line cap */
    snprintf(text, sizeof(text), "a:%01025d", 0);
    psk_text(text, -1, "f:1: the key is longer than 512 bytes");
    snprintf(text, sizeof(text), "a:%01300d", 0);
    psk_text(text, -1, "f:1: longer than 1200 bytes");
    /* TLS_PSK_KEYS_MAX lines, then one more */
    text[0] = '\0';
    for (i = 0; i <= TLS_PSK_KEYS_MAX; i++)
        diag_appendf(text, sizeof(text), "h%zu:%s\n", i, hex);
    psk_text(text, -1, "f:129: more than 128 identities");
    *strstr(text, "h128:") = '\0';
    psk_text(text, 0, NULL);
}

/* The identity a client sends: relocd-psk-identity, or its host name. */
static void test_psk_self(void)
{
    char host[256] = "", self[TLS_PSK_ID_MAX + 1], err[256] = "";
    char hex[2 * TLS_PSK_MIN + 1];
    struct tls_psk *k = tls_psk_new();

    memset(hex, '1', 2 * TLS_PSK_MIN);
    hex[2 * TLS_PSK_MIN] = '\0';
    T_EQ_INT(tls_psk_parse(k, "f", hex, strlen(hex), err, sizeof(err)), 0);
    /* A one-key file is everyone's: "relocd", whatever is asked for. */
    T_EQ_INT(tls_psk_self(k, "x", self, sizeof(self), err, sizeof(err)), 0);
    T_EQ_STR(self, TLS_PSK_LEGACY_ID);
    k->per_host = 1;
    T_EQ_INT(tls_psk_self(k, "dom0-b", self, sizeof(self), err, sizeof(err)),
             0);
    T_EQ_STR(self, "dom0-b");
    T_OK(gethostname(host, sizeof(host) - 1) == 0, "gethostname");
    host[strcspn(host, ".")] = '\0';
    T_EQ_INT(tls_psk_self(k, NULL, self, sizeof(self), err, sizeof(err)), 0);
    T_EQ_STR(self, host);
    T_EQ_INT(tls_psk_self(k, "a b", self, sizeof(self), err, sizeof(err)), -1);
    HAS(err, "this host's identity 'a b' is not a host name of 1 to 64 "
             "characters: set relocd-psk-identity");
    T_EQ_INT(tls_psk_self(k, "", self, sizeof(self), err, sizeof(err)), -1);
    tls_psk_free(k);
}

/* The VmFlags of the mapping at p in /proc/self/smaps, "" if none. */
static void vm_flags(const void *p, char *flags, size_t len)
{
    FILE *f = fopen("/proc/self/smaps", "r");
    unsigned long lo, hi, at = (unsigned long)p;
    char line[512];
    int in = 0;

    flags[0] = '\0';
    while (f && fgets(line, sizeof(line), f)) {
        /* a mapping's first line "lo-hi perms ..."; then "Key: value" */
        if (sscanf(line, "%lx-%lx ", &lo, &hi) == 2)
            in = at >= lo && at < hi;
        else if (in && !strncmp(line, "VmFlags:", 8))
            snprintf(flags, len, "%.200s", line + 8);
    }
    if (f) fclose(f);
}

/* The key's own pages: aligned, zeroed, not dumped, gone when freed. */
static void test_psk_memory(void)
{
    long page = sysconf(_SC_PAGESIZE);
    struct tls_psk *k = tls_psk_new();
    unsigned char vec;
    char flags[256];
    size_t i, nz = 0;

    T_OK(k != NULL, "tls_psk_new: %s", strerror(errno));
    if (!k) return;
    T_EQ_INT((long)((unsigned long)k % (unsigned long)page), 0);
    for (i = 0; i < sizeof(*k); i++)
        nz += ((unsigned char *)k)[i] != 0;
    T_EQ_INT((long)nz, 0);
    vm_flags(k, flags, sizeof(flags));
    T_OK(strstr(flags, " dd") != NULL, "no dd (MADV_DONTDUMP) in '%s'", flags);
    memset(k->key[0].bytes, 0xa5, sizeof(k->key[0].bytes));
    tls_psk_free(k);
    /* unmapped: the bytes are no longer in the process */
    T_OK(mincore(k, (size_t)page, &vec) < 0 && errno == ENOMEM,
         "the key's page is still mapped");
    tls_psk_free(NULL);
}

/* --- receive offload (tls_ktls.h) --------------------------------------- */

static void unhex(const char *h, uint8_t *out, size_t len)
{
    size_t i;
    unsigned v;

    for (i = 0; i < len && sscanf(h + 2 * i, "%2x", &v) == 1; i++)
        out[i] = (uint8_t)v;
}

/* RFC 8448 section 3, the application traffic keys of both ends. */
static void test_ktls_derive(void)
{
    static const struct {
        const char *secret, *key, *iv;
    } v[] = {
        {"9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5",
         "17422dda596ed5d9acd890e3c63f5051", "5b78923dee08579033e523d9"},
        {"a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643",
         "9f02283b6c9c07efc26bb9f2ac92e356", "cf782b88dd83549aadf1e984"},
    };
    uint8_t secret[48], key[16], iv[12];
    struct tls_ktls_keys k;
    unsigned i;

    for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        unhex(v[i].secret, secret, 32);
        unhex(v[i].key, key, 16);
        unhex(v[i].iv, iv, 12);
        T_EQ_INT(tls_ktls_keys(0x1301, secret, 32, &k), 0);
        T_EQ_INT(k.keylen, 16);
        T_OK(!memcmp(k.key, key, 16), "key %u", i);
        T_OK(!memcmp(k.iv, iv, 12), "iv %u", i);
    }
    /* The other suites: their key lengths and hashes. */
    T_EQ_INT(tls_ktls_keys(0x1303, secret, 32, &k), 0);
    T_EQ_INT(k.keylen, 32);
    T_EQ_INT(tls_ktls_keys(0x1302, secret, 48, &k), 0);
    T_EQ_INT(k.keylen, 32);
    errno = 0;
    T_OK(tls_ktls_keys(0x1302, secret, 32, &k) < 0 && errno == EINVAL,
         "a SHA-256 secret for a SHA-384 suite");
    errno = 0;
    T_OK(tls_ktls_keys(0x1304, secret, 32, &k) < 0 && errno == EINVAL,
         "AES-CCM, which relocd does not offer");
}

static void test_ktls_keylog(void)
{
    uint8_t sec[48];
    const char *l = "CLIENT_TRAFFIC_SECRET_0 00ff 0a0B";

    T_EQ_INT(tls_ktls_keylog(l, "CLIENT_TRAFFIC_SECRET_0", sec, sizeof(sec)),
             2);
    T_OK(sec[0] == 0x0a && sec[1] == 0x0b, "%02x%02x", sec[0], sec[1]);
    T_EQ_INT(tls_ktls_keylog(l, "SERVER_TRAFFIC_SECRET_0", sec, sizeof(sec)),
             0);
    T_EQ_INT(tls_ktls_keylog(l, "CLIENT_TRAFFIC_SECRET", sec, sizeof(sec)), 0);
    T_EQ_INT(tls_ktls_keylog("CLIENT_TRAFFIC_SECRET_0 00ff 0a0",
                             "CLIENT_"
                             "TRAFFIC_"
                             "SECRET_0",
                             sec, sizeof(sec)),
             -1);
    T_EQ_INT(tls_ktls_keylog(l, "CLIENT_TRAFFIC_SECRET_0", sec, 1), -1);
    T_EQ_INT(tls_ktls_keylog("CLIENT_TRAFFIC_SECRET_0 00ff",
                             "CLIENT_TRAFFIC_"
                             "SECRET_0",
                             sec, sizeof(sec)),
             -1);
}

/* Reads exactly len raw bytes of the socket. */
static int raw_read(int fd, uint8_t *p, size_t len)
{
    ssize_t n;

    while (len > 0) {
        n = recv(fd, p, len, 0);
        if (n <= 0) return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/*
 * Decrypts the record rec (header included) as the kernel would with k and
 * seq (RFC 8446 5.3: the IV xor the sequence number); the plaintext
 * length, or -1 when the tag does not verify.
 */
static int open_record(const struct tls_ktls_keys *k, uint64_t seq,
                       const uint8_t *rec, size_t len, uint8_t *out)
{
    const EVP_CIPHER *ci = k->suite == 0x1303   ? EVP_chacha20_poly1305()
                           : k->suite == 0x1302 ? EVP_aes_256_gcm()
                                                : EVP_aes_128_gcm();
    EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
    uint8_t nonce[12];
    int n = 0, m = 0, ok, i;

    memcpy(nonce, k->iv, sizeof(nonce));
    for (i = 0; i < 8; i++)
        nonce[4 + i] ^= (uint8_t)(seq >> (56 - 8 * i));
    ok = x && len > 5 + 16 &&
         EVP_DecryptInit_ex(x, ci, NULL, k->key, nonce) == 1 &&
         EVP_DecryptUpdate(x, NULL, &n, rec, 5) == 1 &&
         EVP_DecryptUpdate(x, out, &n, rec + 5, (int)(len - 5 - 16)) == 1 &&
         EVP_CIPHER_CTX_ctrl(x, EVP_CTRL_AEAD_SET_TAG, 16,
                             (void *)(rec + len - 16)) == 1 &&
         EVP_DecryptFinal_ex(x, out + n, &m) == 1;
    EVP_CIPHER_CTX_free(x);
    return ok ? n + m : -1;
}

/* The records the server has read at the check: 2, and "both"'s MAC. */
static uint64_t ktls_seq;

/*
 * The client sends 20000 bytes (two records), waits for a byte, sends
 * "last" (one record) and waits again.  The server reads the 20000 bytes;
 * then the offload fails here (no kernel TLS on an AF_UNIX socket) and
 * says why, but the keys and sequence number it would give the kernel
 * decrypt the raw "last" record.
 */
static int body_ktls(struct tls_conn *c, struct res *r, int server)
{
    static uint8_t b[20000];
    uint8_t rec[5 + 4 + 1 + 16], pt[sizeof(rec)];
    struct tls_ktls_keys k;
    uint64_t seq = 99;
    size_t got = 0;
    ssize_t n = 1;
    int ok;

    if (!server)
        return tls_write(c, b, sizeof(b), TMO) == sizeof(b) &&
               tls_read(c, b, 1, TMO) == 1 &&
               tls_write(c, "last", 4, TMO) == 4 && tls_read(c, b, 1, TMO) == 1;
    while (got < sizeof(b) && n > 0) {
        n = tls_read(c, b + got, sizeof(b) - got, TMO);
        got += n > 0 ? (size_t)n : 0;
    }
    if (got != sizeof(b) || tls_conn_ktls_rx(c) != 0) return 0;
    snprintf(r->err, sizeof(r->err), "%s", tls_conn_error(c));
    if (tls_conn_rx_keys(c, &k, &seq) < 0 || seq != ktls_seq) return 0;
    ok = tls_write(c, "k", 1, TMO) == 1 &&
         raw_read(r->fd, rec, sizeof(rec)) == 0 && rec[0] == 23 &&
         open_record(&k, seq, rec, sizeof(rec), pt) == 5 &&
         !memcmp(pt, "last\x17", 5) &&
         open_record(&k, seq + 1, rec, sizeof(rec), pt) < 0;
    explicit_bzero(&k, sizeof(k));
    return ok && tls_write(c, "k", 1, TMO) == 1;
}

/*
 * Two records sent at once: once the first is read the second waits in
 * the buffer under OpenSSL, so the offload is refused, and the connection
 * still reads it.
 */
static int body_ktls_early(struct tls_conn *c, struct res *r, int server)
{
    struct tls_ktls_keys k;
    uint64_t seq;
    char b[2];

    if (!server)
        return tls_write(c, "a", 1, TMO) == 1 &&
               tls_write(c, "b", 1, TMO) == 1 && tls_read(c, b, 1, TMO) == 1;
    usleep(200 * 1000);
    if (tls_read(c, b, 1, TMO) != 1 || tls_conn_ktls_rx(c) != 0 ||
        tls_conn_rx_keys(c, &k, &seq) == 0)
        return 0;
    snprintf(r->err, sizeof(r->err), "%s", tls_conn_error(c));
    return tls_read(c, b, 1, TMO) == 1 && b[0] == 'b' &&
           tls_write(c, "k", 1, TMO) == 1;
}

static void test_ktls_rx(void)
{
    struct end srv = {1, host("host-a", "ca.pem", NULL), body_ktls, NULL};
    struct end cli = {0, host("host-b", "ca.pem", NULL), body_ktls, "host-a"};
    struct res s, c;

    ktls_seq = 2;
    run_pair(&srv, &cli, &s, &c);
    T_OK(s.shook && c.shook && s.body && c.body, "server: %d %s / client: %s",
         s.body, s.err, c.err);
    HAS(s.err, "no kernel TLS for sending");
    /* "Both": the client's MAC is one more record read. */
    srv.o = host("host-a", "ca.pem", "psk");
    cli.o = host("host-b", "ca.pem", "psk");
    ktls_seq = 3;
    run_pair(&srv, &cli, &s, &c);
    T_OK(s.shook && c.shook && s.body && c.body, "both: server: %d %s", s.body,
         s.err);
    /* PSK alone. */
    srv.o = cli.o =
        (struct tls_opts){NULL, NULL, NULL, tpath("psk"), NULL, NULL};
    ktls_seq = 2;
    run_pair(&srv, &cli, &s, &c);
    T_OK(s.shook && c.shook && s.body && c.body, "psk: server: %d %s", s.body,
         s.err);
    srv.body = cli.body = body_ktls_early;
    run_pair(&srv, &cli, &s, &c);
    T_OK(s.shook && c.shook && s.body && c.body, "server: %d %s / client: %s",
         s.body, s.err, c.err);
    HAS(s.err, "received bytes wait in user space");
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    if (gen_files() < 0) {
        fprintf(stderr, "test_tls: cannot make keys, see %s/gen.log\n", dir);
        T_OK(0, "openssl command");
        return t_done("test_tls");
    }
    test_psk_parse();
    test_psk_parse_hosts();
    test_psk_self();
    test_psk_memory();
    test_ctx();
    test_certs();
    test_cert_refused();
    test_cert_host();
    test_crl();
    test_psk();
    test_both();
    test_psk_hosts();
    test_psk_pairs();
    test_handshake_timeout();
    test_read_timeout();
    test_relay();
    test_drop();
    test_ktls_derive();
    test_ktls_keylog();
    test_ktls_rx();
    rm_files();
    return t_done("test_tls");
}
