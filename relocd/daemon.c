/*
 * daemon.c - the parent process: listeners, a poll(2) loop, one forked
 * session per connection, SIGHUP reload and SIGTERM drain (OpenBSD
 * ntpd/relayd structure).  The parent never blocks on a peer: everything a
 * peer says is read by its session process.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "listen.h"
#include "log.h"
#include "msg.h"
#include "relocd.h"
#include "session.h"
#include "tls.h"

#define DAEMON_MAX_CHILDREN 1024

struct child {
    pid_t pid;
    int slot_fd;  /* our end of the session's slot pipe */
    int has_slot; /* holds one of relocd-max-migrations */
};

struct daemon {
    struct relocd_conf *conf;
    const char *path;
    struct listen_set ls;
    struct tls_ctx *tls;
    struct child child[DAEMON_MAX_CHILDREN];
    unsigned nchild, running;
    int draining;
    char hostname[256];
};

static volatile sig_atomic_t got_hup, got_term, got_chld;

static void on_signal(int sig)
{
    if (sig == SIGHUP)
        got_hup = 1;
    else if (sig == SIGCHLD)
        got_chld = 1;
    else
        got_term = 1;
}

static void daemon_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Opens the ports and the TLS context a configuration asks for. */
static int daemon_listen(const struct relocd_conf *conf,
                         struct listen_set *ls, struct tls_ctx **tls_r)
{
    struct tls_opts o = {conf->ssl_key_file, conf->ssl_cert_file,
                         conf->ca_file, conf->psk_file};
    char err[512];

    memset(ls, 0, sizeof(*ls));
    *tls_r = NULL;
    if (conf->relocation_server && !conf->allow_insecure)
        log_warnx("not opening the plain relocation port %d: it has no "
                  "authentication; use xend-relocation-ssl-server, or set "
                  "(relocd-allow-insecure yes)",
                  conf->port);
    if (conf->relocation_server && conf->allow_insecure) {
        log_warnx("WARNING: port %d accepts guests without authentication "
                  "(relocd-allow-insecure yes)",
                  conf->port);
        if (listen_open(ls, conf->address, conf->port, 0, err, sizeof(err)))
            goto fail;
    }
    if (conf->ssl_server) {
        *tls_r = tls_ctx_new(1, &o, err, sizeof(err));
        if (!*tls_r ||
            listen_open(ls, conf->address, conf->ssl_port, 1, err,
                        sizeof(err)))
            goto fail;
    }
    if (!ls->n)
        log_warnx("no relocation port open: this host sends only");
    return 0;
fail:
    log_warnx("%s", err);
    listen_close(ls);
    tls_ctx_free(*tls_r);
    *tls_r = NULL;
    return -1;
}

static unsigned daemon_pending(const struct daemon *d)
{
    return d->nchild - d->running;
}

/* Refuses a connection from the parent itself, without reading from it. */
static void daemon_refuse(int fd, int tls, const char *why)
{
    struct buf *out = buf_new(1024);

    if (out && !tls && msg_put_error(out, PERR_BUSY, "%s", why) == 0)
        (void)!write(fd, buf_ptr(out), buf_len(out));
    buf_free(out);
    close(fd);
}

static void daemon_spawn(struct daemon *d, int fd, int tls,
                         struct sockaddr_storage *ss, socklen_t sslen)
{
    struct session_env env = {d->conf, tls ? d->tls : NULL, -1, d->hostname};
    int sp[2];
    pid_t pid;
    unsigned i;

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
        log_warn("socketpair");
        close(fd);
        return;
    }
    pid = fork();
    if (pid == 0) {
        listen_close(&d->ls);
        for (i = 0; i < d->nchild; i++)
            close(d->child[i].slot_fd);
        close(sp[0]);
        env.slot_fd = sp[1];
        log_procname("relocd session");
        _exit(session_serve(&env, fd, (struct sockaddr *)ss, sslen));
    }
    close(fd);
    close(sp[1]);
    if (pid < 0) {
        log_warn("fork");
        close(sp[0]);
        return;
    }
    d->child[d->nchild++] = (struct child){pid, sp[0], 0};
}

static void daemon_accept(struct daemon *d, unsigned li)
{
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    int fd;

    fd = accept4(d->ls.fd[li], (struct sockaddr *)&ss, &sslen, SOCK_CLOEXEC);
    if (fd < 0) {
        if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
            log_warn("accept");
        return;
    }
    if (daemon_pending(d) >= (unsigned)d->conf->max_pending ||
        d->nchild >= DAEMON_MAX_CHILDREN) {
        log_warnx("refusing a connection: %u unauthenticated connections "
                  "pending (relocd-max-pending)",
                  daemon_pending(d));
        daemon_refuse(fd, d->ls.tls[li], "too many pending connections");
        return;
    }
    daemon_spawn(d, fd, d->ls.tls[li], &ss, sslen);
}

/* A session asks for a migration slot ('M'); answer Y or N. */
static void daemon_slot(struct daemon *d, struct child *c)
{
    char req;
    char yes = 'Y', no = 'N';

    if (read(c->slot_fd, &req, 1) != 1)
        return; /* the session is ending; SIGCHLD reaps it */
    if (req == 'M' && !c->has_slot &&
        d->running < (unsigned)d->conf->max_migrations) {
        c->has_slot = 1;
        d->running++;
        (void)!write(c->slot_fd, &yes, 1);
    } else {
        (void)!write(c->slot_fd, &no, 1);
    }
}

static void daemon_reap(struct daemon *d)
{
    int status;
    pid_t pid;
    unsigned i;

    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (i = 0; i < d->nchild && d->child[i].pid != pid; i++)
            ;
        if (i == d->nchild)
            continue;
        if (WIFSIGNALED(status))
            log_warnx("session %d died of signal %d", (int)pid,
                      WTERMSIG(status));
        close(d->child[i].slot_fd);
        if (d->child[i].has_slot)
            d->running--;
        d->child[i] = d->child[--d->nchild];
    }
}

/*
 * SIGHUP: parse into a fresh config and swap it in only when it loaded and
 * its ports opened; a broken file keeps the old one (OpenBSD ntpd).
 */
static void daemon_reload(struct daemon *d)
{
    struct relocd_conf *nconf = NULL;
    struct listen_set nls;
    struct tls_ctx *ntls;
    char err[512];

    if (conf_load(d->path, &nconf, err, sizeof(err)) < 0) {
        log_warnx("reload failed, keeping the running configuration: %s",
                  err);
        return;
    }
    /* Ports in use by the old listeners would not bind twice. */
    listen_close(&d->ls);
    if (daemon_listen(nconf, &nls, &ntls) < 0) {
        log_warnx("reload failed, keeping the running configuration");
        conf_free(nconf);
        if (daemon_listen(d->conf, &d->ls, &d->tls) < 0)
            log_warnx("could not reopen the old ports either");
        return;
    }
    tls_ctx_free(d->tls);
    conf_free(d->conf);
    d->conf = nconf;
    d->ls = nls;
    d->tls = ntls;
    log_info("configuration reloaded from %s", d->path);
}

static void daemon_poll(struct daemon *d)
{
    struct pollfd pfd[LISTEN_MAX + DAEMON_MAX_CHILDREN];
    unsigned i, nl = d->draining ? 0 : d->ls.n, nc = d->nchild;
    int r;

    for (i = 0; i < nl; i++)
        pfd[i] = (struct pollfd){d->ls.fd[i], POLLIN, 0};
    for (i = 0; i < d->nchild; i++)
        pfd[nl + i] = (struct pollfd){d->child[i].slot_fd, POLLIN, 0};
    r = poll(pfd, nl + nc, 1000);
    if (r <= 0)
        return;
    for (i = 0; i < nl; i++)
        if (pfd[i].revents & POLLIN)
            daemon_accept(d, i);
    /* daemon_accept() only appends children: the first nc are unchanged. */
    for (i = 0; i < nc; i++)
        if (pfd[nl + i].revents & POLLIN)
            daemon_slot(d, &d->child[i]);
}

static void daemon_loop(struct daemon *d)
{
    for (;;) {
        if (got_chld) {
            got_chld = 0;
            daemon_reap(d);
        }
        if (got_hup) {
            got_hup = 0;
            daemon_reload(d);
        }
        if (got_term && !d->draining) {
            d->draining = 1;
            listen_close(&d->ls);
            log_info("draining: %u migration(s) in flight", d->nchild);
        }
        if (d->draining && !d->nchild)
            return;
        daemon_poll(d);
    }
}

int relocd_main(struct relocd_conf *conf, const char *path, int debug)
{
    static struct daemon d;

    d.conf = conf;
    d.path = path;
    if (gethostname(d.hostname, sizeof(d.hostname)) < 0)
        snprintf(d.hostname, sizeof(d.hostname), "unknown");
    log_init("relocd", debug ? LOG_TO_STDERR : LOG_TO_SYSLOG | LOG_TO_STDERR,
             debug);
    daemon_signals();
    if (daemon_listen(conf, &d.ls, &d.tls) < 0)
        return 1;
    log_info("relocd %s started (%u listening socket(s))", RELOCD_VERSION,
             d.ls.n);
    daemon_loop(&d);
    tls_ctx_free(d.tls);
    conf_free(d.conf);
    log_info("relocd stopped");
    return 0;
}
