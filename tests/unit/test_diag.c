/* test_diag.c - the shared error and warning formatter (config/diag). */
#include <errno.h>

#include "config/diag.h"
#include "t.h"

static char last[1100];
static int nwarn;

static void sink(void *arg, const char *msg)
{
    (void)arg;
    nwarn++;
    snprintf(last, sizeof(last), "%s", msg);
}

static void test_errors(void)
{
    char err[32];

    errno = 0;
    T_EQ_INT(diag_errf(err, sizeof(err), "bad %s", "value"), -1);
    T_EQ_INT(errno, EINVAL);
    T_EQ_STR(err, "bad value");
    T_EQ_INT(diag_errnof(err, sizeof(err), ENOMEM, "out of %s", "memory"), -1);
    T_EQ_INT(errno, ENOMEM);
    T_EQ_STR(err, "out of memory");
    T_EQ_INT(diag_errf_at(err, sizeof(err), "f.sxp", 12, "no %d", 7), -1);
    T_EQ_INT(errno, EINVAL);
    T_EQ_STR(err, "f.sxp:12: no 7");
    /* Cut to fit, always terminated. */
    diag_errf_at(err, sizeof(err), "a-long-file-name.sxp", 123456, "%s",
                 "and a long message");
    T_EQ_STR(err, "a-long-file-name.sxp:123456: an");
    /* No buffer: only the return and errno. */
    T_EQ_INT(diag_errnof(NULL, 0, EFBIG, "x"), -1);
    T_EQ_INT(errno, EFBIG);
    T_EQ_INT(diag_errf_at(NULL, 0, "f", 1, "x"), -1);
}

static void test_append(void)
{
    char buf[12] = "abc";

    diag_appendf(buf, sizeof(buf), ": %d", 42);
    T_EQ_STR(buf, "abc: 42");
    diag_appendf(buf, sizeof(buf), "%s", "-and-more");
    T_EQ_STR(buf, "abc: 42-and");
    diag_appendf(buf, sizeof(buf), "%s", "x");
    T_EQ_STR(buf, "abc: 42-and");
    diag_appendf(NULL, 0, "%s", "x");
}

static void test_warnings(void)
{
    struct conf_opts o = {sink, NULL};

    diag_warnf(&o, "plain %d", 1);
    T_EQ_STR(last, "plain 1");
    diag_warnf_at(&o, "f.sxp", 3, "odd %s", "key");
    T_EQ_STR(last, "f.sxp:3: warning: odd key");
    T_EQ_INT(nwarn, 2);
}

int main(void)
{
    test_errors();
    test_append();
    test_warnings();
    return t_done("test_diag");
}
