/*
 * outgoing.h - markers of guests being sent, so that the death of a sender
 * worker (or of relocd) never leaves a guest suspended on no host.
 *
 * The worker records each phase of its move in DIR/PID (DIR: outgoing/
 * beside the control socket).  The parent settles the marker of a worker
 * that died, a starting relocd every marker it finds (as session_recover()
 * does for receives), by xl's rules (tools/xl/xl_migrate.c
 * migrate_domain()): before "go" the source holds the only copy that may
 * ever run, since xl migrate-receive never unpauses its copy without "go",
 * so it is resumed here (failed_resume); after "go" the target may run it
 * and only the admin can look (failed_badly): the guest stays suspended
 * and the log names the commands that settle it.
 */
#ifndef RELOCD_OUTGOING_H
#define RELOCD_OUTGOING_H

#include <stddef.h>
#include <sys/types.h>

enum outgoing_phase {
    OUTGOING_SENDING,   /* pre-copy: the guest runs, or was just suspended */
    OUTGOING_SUSPENDED, /* suspended; the target has not said "ready" */
    OUTGOING_RENAMED,   /* renamed NAME--migratedaway; no "go" written */
    OUTGOING_GO,        /* "go" may be written: the target may run it */
};

struct outgoing {
    char path[512]; /* the marker; "" when there is none */
    pid_t pid;      /* the worker */
    unsigned domid;
    enum outgoing_phase phase;
    char name[128], away[160], target[300];
};

/* outgoing.c */

/*
 * In the worker: writes the marker of this process's move of domid (named
 * name) to target into dir, phase OUTGOING_SENDING.  0, or -1 with errno
 * set (o->path is then "" and the other calls do nothing).
 */
int outgoing_begin(struct outgoing *o, const char *dir, unsigned domid,
                   const char *name, const char *target);
/* Records a new phase, atomically (rename(2)); 0 or -1. */
int outgoing_set(struct outgoing *o, enum outgoing_phase phase);
/* The move is settled by the worker itself: drops the marker. */
void outgoing_end(struct outgoing *o);

/*
 * What the admin runs after a failed_badly, one sentence into buf: look
 * at the target, then destroy the copy here or `relocd --resume` it.
 */
void outgoing_commands(const struct outgoing *o, char *buf, size_t len);

/* The marker's text, and back; 0, or -1 when it is not one. */
int outgoing_format(const struct outgoing *o, char *buf, size_t len);
int outgoing_parse(const char *text, struct outgoing *o);

/*
 * Settles what the dead worker of marker o left, as xl would, and logs
 * it.  what says who died ("the sender worker died of signal 9").  The
 * outcome, one sentence for the client, goes into msg.  Returns 1 when
 * the guest runs here, 0 when it is gone from here (handed over), -1 when
 * the admin must decide (the commands are in msg and the log).
 */
int outgoing_settle(const struct outgoing *o, const char *what, char *msg,
                    size_t len);
/*
 * In the parent, when worker pid died: settles and drops its marker in
 * dir.  Returns what outgoing_settle() does, or -2 when it left no marker
 * (it ended before the guest was touched, or after it settled the move).
 */
int outgoing_reap(const char *dir, pid_t pid, const char *what, char *msg,
                  size_t len);
/*
 * relocd --resume DOMID NAME, the admin's command after a failed_badly:
 * resumes domain domid under name (renamed back from NAME--migratedaway)
 * when Xen shows it suspended, and nothing else.  Returns 0 when it was
 * resumed, -1 when not; what happened is in msg.
 */
int outgoing_resume(unsigned domid, const char *name, char *msg, size_t len);
/*
 * At start-up: settles and drops the markers a previous relocd's workers
 * left, except those of a worker that still runs (it settles its move
 * itself).  Returns how many it settled.
 */
int outgoing_recover(const char *dir);

#endif
