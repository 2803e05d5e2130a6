/*
 * t.h - the tiny unit-test harness shared by the unit test programs.
 *
 * Each test program includes this once, calls T_OK/T_EQ_* from its tests and
 * returns t_done() from main().  t_done() prints "NAME: N passed, N failed",
 * which tests/unit/run sums into the single closing line of the run.
 */
#ifndef RELOCD_T_H
#define RELOCD_T_H

#include <stdio.h>
#include <string.h>

static int t_passed, t_failed;

#define T_OK(cond, ...)                                                        \
    do {                                                                       \
        if (cond) {                                                            \
            t_passed++;                                                        \
        } else {                                                               \
            t_failed++;                                                        \
            fprintf(stderr, "%s:%d: FAIL: %s: ", __FILE__, __LINE__, #cond);   \
            fprintf(stderr, __VA_ARGS__);                                      \
            fputc('\n', stderr);                                               \
        }                                                                      \
    } while (0)

#define T_EQ_INT(a, b)                                                         \
    do {                                                                       \
        long long t_a_ = (a), t_b_ = (b);                                      \
        T_OK(t_a_ == t_b_, "%lld != %lld", t_a_, t_b_);                        \
    } while (0)

#define T_EQ_STR(a, b)                                                         \
    do {                                                                       \
        const char *t_a_ = (a), *t_b_ = (b);                                   \
        T_OK(t_a_ &&t_b_ && !strcmp(t_a_, t_b_), "\"%s\" != \"%s\"",           \
             t_a_ ? t_a_ : "(null)", t_b_ ? t_b_ : "(null)");                  \
    } while (0)

static inline int t_done(const char *name)
{
    printf("%s: %d passed, %d failed\n", name, t_passed, t_failed);
    return t_failed ? 1 : 0;
}

#endif
