/*
 * floor.h - the downtime floor: what a move's downtime costs besides its
 * final copy - suspending the guest, the target's restore and device
 * set-up, the commit handshake, the unpause (the anatomy, anatomy.h).
 * The pre-copy policy adds it to the final copy's estimate, so that
 * --max-downtime bounds what the guest sees, not only the copy (issue 16).
 *
 * It is learned per target from the anatomy of past moves and kept in
 * floor/ beside the control socket, one file a target: the run directory
 * is checked at start-up (rundir.h) and is emptied at reboot, after which
 * the first move to a target learns its floor again.
 */
#ifndef RELOCD_FLOOR_H
#define RELOCD_FLOOR_H

#include <stddef.h>

#include "wire/anatomy.h"

/* A new move's weight against what earlier moves taught. */
#define FLOOR_WEIGHT 0.5
/* Anything longer is not a floor but a fault (a stuck xl, a lost link). */
#define FLOOR_MAX_MS 600000.0

struct floor {
    double ms;      /* the smoothed floor */
    unsigned moves; /* how many moves it was learned from */
};

/* floor.c */

/*
 * The floor one move showed: the total of its anatomy less the final copy
 * and the END record.  -1 unless every phase is known (a failed move, a
 * peer that sent no anatomy) and the result is sane.
 */
double floor_of_move(const struct anatomy *a);
/*
 * target's file name in dir into path: the target as given, with every
 * byte outside [A-Za-z0-9.:_-] replaced by '_' (a target is a host name,
 * an address, or either with :port).  0, or -1 when it is empty or does
 * not fit.
 */
int floor_path(const char *dir, const char *target, char *path, size_t len);
/* A floor's text, "FLOOR-MS MOVES\n", and back; parse: 0, or -1. */
int floor_format(const struct floor *f, char *buf, size_t len);
int floor_parse(const char *text, struct floor *f);
/* What dir holds for target: 0, or -1 when nothing (valid) is known. */
int floor_load(const char *dir, const char *target, struct floor *f);
/*
 * Learns one move's sample_ms: smoothed into what dir holds for target
 * and written back atomically (made by this worker, renamed: two moves
 * finishing at once each leave a whole file).  The new floor into out
 * (may be NULL).  0, or -1 with errno set.
 */
int floor_learn(const char *dir, const char *target, double sample_ms,
                struct floor *out);

#endif
