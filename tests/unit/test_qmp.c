/*
 * test_qmp.c - the QMP client against a scripted fake QEMU (a child
 * process on a socketpair or a UNIX socket): the handshake, answers,
 * errors, events, and QEMUs that are broken, silent or slow.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "t.h"
#include "wire/clock.h"
#include "wire/qmp.h"

#define GREETING                                                               \
    ">{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 5, \"minor\": 2, "        \
    "\"major\": 7}, \"package\": \"Debian 1:7.2+dfsg-7\"}, "                   \
    "\"capabilities\": [\"oob\"]}}\r\n"
#define CAPS "<{\"execute\":\"qmp_capabilities\",\"id\":1}"
#define CAPS_OK ">{\"return\": {}, \"id\": 1}\r\n"
#define LOGDIRTY_ON                                                            \
    "<{\"execute\":\"xen-set-global-dirty-log\",\"id\":2,"                     \
    "\"arguments\":{\"enable\":true}}"

static char err[512];

/* One line from fd, without its newline: 0, or -1 at EOF. */
static int read_line(int fd, char *line, size_t len)
{
    size_t n = 0;
    char c;

    while (n + 1 < len && read(fd, &c, 1) == 1) {
        if (c == '\n') {
            line[n] = '\0';
            return 0;
        }
        line[n++] = c;
    }
    return -1;
}

/*
 * The fake QEMU: each step ">TEXT" writes TEXT, "<TEXT" reads a line that
 * must be TEXT (then \r), "~MS" sleeps, "*N" writes N bytes of 'x'
 * without a newline, "1" writes the next step a byte at a time.  Exits 0
 * when every step went as scripted.
 */
static void fake_qemu(int fd, const char *const *steps)
{
    char line[4096];
    int slow = 0;

    signal(SIGPIPE, SIG_IGN);
    for (; *steps; steps++) {
        const char *s = *steps + 1;
        size_t i;

        switch (**steps) {
        case '>':
            for (i = 0; slow && s[i]; i++)
                if (write(fd, s + i, 1) != 1) _exit(2);
            if (!slow && write(fd, s, strlen(s)) != (ssize_t)strlen(s))
                _exit(2);
            slow = 0;
            break;
        case '<':
            if (read_line(fd, line, sizeof(line)) < 0) _exit(3);
            if (strcmp(line, s) && !(strlen(line) == strlen(s) + 1 &&
                                     !strncmp(line, s, strlen(s)))) {
                fprintf(stderr, "fake QEMU got %s\nexpected %s\n", line, s);
                _exit(4);
            }
            break;
        case '~':
            clock_sleep_ms(atol(s));
            break;
        case '*':
            for (i = 0; i < (size_t)atol(s); i++)
                if (write(fd, "x", 1) != 1) _exit(0); /* client gave up */
            break;
        case '1':
            slow = 1;
            break;
        }
    }
    _exit(0);
}

static pid_t start_fake(const char *const *steps, int *fd_r)
{
    int sv[2];
    pid_t pid;

    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return -1;
    if ((pid = fork()) == 0) {
        close(sv[0]);
        fake_qemu(sv[1], steps);
    }
    close(sv[1]);
    *fd_r = sv[0];
    return pid;
}

/* The fake's verdict: 0 when it ran its whole script. */
static int fake_status(pid_t pid)
{
    int st;

    kill(pid, SIGTERM); /* a fake still sleeping has said all it will */
    if (waitpid(pid, &st, 0) < 0) return -1;
    if (WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM) return 0;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs the log-dirty switch against steps: qmp_execute's result. */
static int run(const char *const *steps, int timeout_ms, int *fake_rc)
{
    struct qmp *q;
    int fd = -1, rc = -1;
    pid_t pid = start_fake(steps, &fd);

    err[0] = '\0';
    q = qmp_open(fd, timeout_ms, err, sizeof(err));
    if (q)
        rc = qmp_execute(q, "xen-set-global-dirty-log", "{\"enable\":true}",
                         timeout_ms, err, sizeof(err));
    qmp_close(q);
    *fake_rc = fake_status(pid);
    return rc;
}

static void test_decode(void)
{
    struct qmp_msg m;
    const char *g = GREETING + 1;
    char deep[64];

    T_EQ_INT(
        qmp_decode((const uint8_t *)g, strlen(g) - 1, &m, err, sizeof(err)), 0);
    T_EQ_INT(m.kind, QMP_GREETING);
    T_EQ_INT(m.version[0] * 10000 + m.version[1] * 100 + m.version[2], 70205);
#define DEC(s) qmp_decode((const uint8_t *)(s), strlen(s), &m, err, sizeof(err))
    T_EQ_INT(DEC("{\"return\": {}, \"id\": 7}"), 0);
    T_EQ_INT(m.kind, QMP_RETURN);
    T_EQ_INT(m.has_id, 1);
    T_EQ_INT(m.id, 7);
    T_EQ_INT(DEC("{\"return\": {\"status\": \"running\"}}"), 0);
    T_EQ_INT(m.has_id, 0);
    T_EQ_INT(DEC("{\"id\": 3, \"error\": {\"class\": \"GenericError\", "
                 "\"desc\": \"nope\"}}"),
             0);
    T_EQ_INT(m.kind, QMP_ERROR);
    T_EQ_STR(m.text, "GenericError: nope");
    T_EQ_INT(DEC("{\"timestamp\": {\"seconds\": 1}, \"event\": \"STOP\"}"), 0);
    T_EQ_INT(m.kind, QMP_EVENT);
    T_EQ_STR(m.text, "STOP");
    /* A greeting without a version is still one (an odd QEMU). */
    T_EQ_INT(DEC("{\"QMP\": {}}"), 0);
    T_EQ_INT(m.version[0], -1);

    T_EQ_INT(DEC("{\"return\": {}"), -1);
    T_OK(strstr(err, "not JSON") != NULL, "%s", err);
    T_EQ_INT(DEC("[1]"), -1);
    T_EQ_STR(err, "QMP message is not a JSON object");
    T_EQ_INT(DEC("{\"id\": 1}"), -1);
    T_OK(strstr(err, "not a QMP message") != NULL, "%s", err);
    T_EQ_INT(DEC("{\"error\": {\"class\": \"X\"}}"), -1);
    T_EQ_STR(err, "QMP error without a description");
    T_EQ_INT(DEC("{\"error\": \"x\", \"id\": 1}"), -1);
    T_EQ_INT(qmp_decode((const uint8_t *)"{\"return\":\0{}}", 14, &m, err,
                        sizeof(err)),
             -1);
    T_EQ_STR(err, "NUL byte in a QMP message");
    memset(deep, '[', sizeof(deep));
    T_EQ_INT(
        qmp_decode((const uint8_t *)deep, sizeof(deep), &m, err, sizeof(err)),
        -1);
    T_EQ_STR(err, "QMP message nested too deeply");
    T_EQ_INT(DEC(""), -1);
#undef DEC
}

static void test_session(void)
{
    const char *const good[] = {
        GREETING,
        CAPS,
        CAPS_OK,
        LOGDIRTY_ON,
        ">{\"timestamp\": {\"seconds\": 1, \"microseconds\": 2}, "
        "\"event\": \"RESUME\"}\r\n",
        "1",
        ">{\"return\": {}, \"id\": 2}\r\n",
        NULL};
    const char *const refused[] = {
        GREETING,
        CAPS,
        CAPS_OK,
        LOGDIRTY_ON,
        ">{\"id\": 2, \"error\": {\"class\": \"CommandNotFound\", \"desc\": "
        "\"The command xen-set-global-dirty-log has not been found\"}}\r\n",
        NULL};
    const char *const out_of_turn[] = {GREETING,
                                       CAPS,
                                       CAPS_OK,
                                       LOGDIRTY_ON,
                                       ">{\"return\": {}, \"id\": 9}\r\n",
                                       NULL};
    int frc;

    T_EQ_INT(run(good, 2000, &frc), 0);
    T_EQ_INT(frc, 0);
    T_EQ_INT(run(refused, 2000, &frc), -1);
    T_EQ_STR(err, "QEMU refused xen-set-global-dirty-log: CommandNotFound: "
                  "The command xen-set-global-dirty-log has not been found");
    T_EQ_INT(frc, 0);
    T_EQ_INT(run(out_of_turn, 2000, &frc), -1);
    T_EQ_STR(err, "QEMU answered xen-set-global-dirty-log out of turn");
}

/* Broken QEMUs: each fails cleanly, with its reason, and in time. */
static void test_broken(void)
{
    const char *const closes[] = {GREETING, CAPS, CAPS_OK, NULL};
    const char *const no_greeting[] = {CAPS_OK, NULL};
    const char *const garbage[] = {GREETING, CAPS, ">}{ not json\r\n", NULL};
    const char *const endless[] = {GREETING, "*70000", NULL};
    const char *const silent[] = {"~5000", NULL};
    const char *const slow[] = {GREETING,    CAPS,    CAPS_OK,
                                LOGDIRTY_ON, "~5000", NULL};
    long long t0;
    int frc;

    T_EQ_INT(run(closes, 2000, &frc), -1);
    T_EQ_STR(err, "QEMU's QMP socket closed");
    T_EQ_INT(run(no_greeting, 2000, &frc), -1);
    T_EQ_STR(err, "QEMU did not greet (QMP)");
    T_EQ_INT(run(garbage, 2000, &frc), -1);
    T_OK(strstr(err, "not JSON") != NULL, "%s", err);
    T_EQ_INT(run(endless, 2000, &frc), -1);
    T_EQ_STR(err, "QEMU sent a line longer than 65536 bytes");
    t0 = clock_ms();
    T_EQ_INT(run(silent, 300, &frc), -1);
    T_EQ_STR(err, "QEMU did not answer in time");
    T_OK(clock_ms() - t0 < 2000, "%lld ms", clock_ms() - t0);
    t0 = clock_ms();
    T_EQ_INT(run(slow, 300, &frc), -1);
    T_EQ_STR(err, "QEMU did not answer in time");
    T_OK(clock_ms() - t0 < 2000, "%lld ms", clock_ms() - t0);
}

/* qmp_connect: a UNIX socket in a temporary directory, and none. */
static void test_connect(void)
{
    const char *const steps[] = {GREETING, CAPS, CAPS_OK, NULL};
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    char dir[] = "/tmp/test_qmp.XXXXXX";
    struct qmp *q;
    int lfd, cfd, frc = -1;
    pid_t pid;

    T_OK(mkdtemp(dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/qmp-libxl-7", dir);
    lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    T_EQ_INT(bind(lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    T_EQ_INT(listen(lfd, 1), 0);
    if ((pid = fork()) == 0) {
        cfd = accept(lfd, NULL, NULL);
        fake_qemu(cfd, steps);
    }
    close(lfd);
    q = qmp_connect(sun.sun_path, 2000, err, sizeof(err));
    T_OK(q != NULL, "%s", err);
    if (q) T_EQ_INT(qmp_version(q), 70205);
    qmp_close(q);
    frc = fake_status(pid);
    T_EQ_INT(frc, 0);
    unlink(sun.sun_path);
    T_OK(qmp_connect(sun.sun_path, 200, err, sizeof(err)) == NULL, "connected");
    T_OK(strstr(err, "No such file") != NULL, "%s", err);
    rmdir(dir);
}

int main(void)
{
    test_decode();
    test_session();
    test_broken();
    test_connect();
    return t_done("test_qmp");
}
