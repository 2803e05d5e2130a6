/*
 * converge.h - what to do with a guest that dirties memory faster than the
 * link carries it: the one vocabulary of relocd-on-no-converge (config),
 * --on-no-converge (xl-relocate), the control message and the policy.
 */
#ifndef RELOCD_CONVERGE_H
#define RELOCD_CONVERGE_H

enum converge {
    CONVERGE_THROTTLE, /* slow the guest down (credit2 cap) */
    CONVERGE_FORCE,    /* stop and copy anyway */
    CONVERGE_ABORT,    /* give up, guest keeps running here */
};

/* The names, indexed by enum converge, NULL-terminated (for conf's table). */
extern const char *const converge_names[];

/* The name of c, or NULL when c is not an enum converge value. */
const char *converge_name(int c);

/* Sets *c_r from a name; returns 0, or -1 when name is none of them. */
int converge_parse(const char *name, enum converge *c_r);

#endif
