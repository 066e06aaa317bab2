/*
 * Checkpoints for time travel in the REPL: each one is a forked child
 * process, paused between two items, that holds the whole state of the run
 * (every Lua value, the clock, the queue, the sources' positions) at that
 * point. Going back resumes the nearest earlier checkpoint as the new
 * foreground process, which then replays deterministically to the target.
 *
 * Processes of a session (see docs/repl.md):
 *   - the supervisor: the process the shell started. It forks the first
 *     foreground and then only reaps; it exits with the exit status of the
 *     last foreground once every process of the session is gone. It keeps the
 *     shell's job (and so the terminal) alive while foregrounds hand over.
 *   - the foreground: runs the REPL; takes checkpoints.
 *   - checkpoints: block reading a pipe of their own for one command,
 *     "resume" (become the foreground) or end of file (exit). Each later
 *     process holds the write end of every earlier checkpoint's pipe, so when
 *     the foreground dies without cleaning up, the newest checkpoint sees end
 *     of file, exits, and the earlier ones follow in turn: no orphans.
 *
 * The bookkeeping (asp_cps_*) is pure and tested on its own
 * (tests/c/test_checkpoint.c); the process side is asp_checkpoint_*.
 */
#ifndef ASP_CHECKPOINT_H
#define ASP_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ASP_CHECKPOINTS_MAX 64

/* What a checkpoint resumes towards: an item count or a virtual time. */
/* ffi: begin */
enum { ASP_TARGET_ITEMS = 0, ASP_TARGET_TIME = 1 };
/* ffi: end */

typedef struct asp_cp {
    int32_t id;      /* increasing: a later checkpoint has a larger id */
    pid_t pid;
    int fd;          /* write end of its command pipe, or -1 */
    int ack;         /* read end of the pipe it acknowledges a resume on, or -1 */
    int64_t items;   /* items dispatched when it was taken */
    int64_t ns;      /* the virtual clock then */
} asp_cp;

typedef struct asp_cps {
    asp_cp cp[ASP_CHECKPOINTS_MAX]; /* oldest first */
    int n;
    int max;         /* the bound; the oldest and the newest are never thinned */
    int32_t next_id;
} asp_cps;

/* -- Bookkeeping ----------------------------------------------------------- */

void asp_cps_init(asp_cps *c, int max);
/* Appends a checkpoint (items and ns not earlier than the newest); returns its index. */
int asp_cps_add(asp_cps *c, pid_t pid, int fd, int64_t items, int64_t ns);
/*
 * The index of the checkpoint to drop when there are more than max, or -1.
 * It is the one, neither the oldest nor the newest, whose removal leaves the
 * smallest gap (in items) between its neighbours: checkpoints stay spread
 * over the whole run, denser where they were taken densely.
 */
int asp_cps_victim(const asp_cps *c);
/* Removes the entry at index i (does not touch the process). */
void asp_cps_remove(asp_cps *c, int i);
/*
 * The index of the latest checkpoint at or before the target, or -1: for
 * ASP_TARGET_ITEMS the one with items <= target; for ASP_TARGET_TIME the one
 * with ns <= target (its items all ran at or before the target time).
 */
int asp_cps_find(const asp_cps *c, int kind, int64_t target);
/* The index of the checkpoint with this id, or -1. */
int asp_cps_index(const asp_cps *c, int32_t id);

/* -- Processes --------------------------------------------------------------- */

/*
 * Starts a session: forks the supervisor (the calling process becomes it and
 * never returns from here) and returns 0 in the foreground child, or -1 when
 * fork fails (then time travel is off). max bounds the checkpoints kept.
 */
int asp_checkpoint_session(int max);
/* How long asp_checkpoint_restore waits for a checkpoint's answer. */
#define ASP_CHECKPOINT_ACK_MS 2000

/* ffi: begin */
/* -- Checkpoints (engine/checkpoint.h) -- */
/* True inside a session. */
int asp_checkpoint_enabled(void);

/*
 * Takes a checkpoint of the current state. Returns 0 in the foreground (the
 * checkpoint taken, older ones thinned out), -1 when fork failed, and 1 when
 * this is the checkpoint process being resumed as the new foreground: then
 * asp_checkpoint_target tells where to go. Flush output before calling.
 */
int asp_checkpoint_take(int64_t items, int64_t ns);
/* After asp_checkpoint_take returned 1: the target of the resumption. */
void asp_checkpoint_target(int32_t *kind, int64_t *value);
/*
 * Hands the foreground over to checkpoint id, which resumes and goes on to
 * the target; checkpoints after it are ended. The checkpoint acknowledges
 * over a pipe of its own; only then does the calling process exit, so the
 * session always has a foreground. A checkpoint that is gone (killed: its
 * pipe is broken) or does not answer within ASP_CHECKPOINT_ACK_MS (stopped)
 * is ended and the next earlier one is tried, down to the first; each such
 * fall back prints one line on stderr. Does not return on success; returns
 * -1 when there is no such checkpoint or none at or before it answered (the
 * session goes on where it is).
 */
int asp_checkpoint_restore(int32_t id, int32_t kind, int64_t target);
/* Number of live checkpoints and their fields (for .checkpoints). */
int asp_checkpoint_count(void);
int asp_checkpoint_get(int i, int32_t *id, int64_t *items, int64_t *ns);
/* The process id of checkpoint i, or -1. */
int asp_checkpoint_pid(int i);
/* Index of the latest checkpoint at or before the target, or -1. */
int asp_checkpoint_find(int32_t kind, int64_t target);
/* 1 when the live journal failed to be written, with the items and the
 * clock of the run at that moment: later targets cannot be travelled to. */
int asp_checkpoint_journal_lost(int64_t *items, int64_t *ns);
/* asp.debug.keep's serialised values, in memory every process of the
 * session shares (outside a session, this process's): keep replaces them
 * (0, or -1 when larger than 1 MB); kept returns them and their length. */
int asp_checkpoint_keep(const char *data, size_t len);
const char *asp_checkpoint_kept(size_t *len);
/* Ends every checkpoint (at the end of the REPL). */
void asp_checkpoint_end(void);
/* ffi: end */

/* Counts resumptions: it changes when this process became the foreground. */
int asp_checkpoint_generation(void);

#endif
