/*
 * The live journal: what arrived live in a REPL session, so that going back
 * into a live period replays it exactly and then returns to live input.
 *
 * One file per session, shared by every process of it (docs/repl.md): the
 * foreground appends each live line as it arrives (which source, its arrival
 * wall time, its bytes) and each wall-clock reading the run depends on. A
 * checkpoint is a forked copy of the foreground, so it carries the journal
 * offset of its moment in its own memory. When it is resumed, the records
 * after that offset are what happened next: it takes them back, in order,
 * instead of reading its sources, until the journal is exhausted; then it
 * reads live again and appends.
 *
 * Outside a session the journal is off and every call costs one branch.
 */
#ifndef ASP_JOURNAL_H
#define ASP_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

enum { ASP_JOURNAL_LINE = 1, ASP_JOURNAL_WALL = 2, ASP_JOURNAL_END = 3 };

/* A record's header, as stored. */
typedef struct asp_journal_head {
    int32_t kind;    /* ASP_JOURNAL_LINE, _WALL or _END */
    int32_t source;  /* the live source's number (lines, ends) */
    int64_t time;    /* arrival wall time (lines, ends), or the reading (wall) */
    uint32_t len;    /* bytes that follow (lines) */
    int32_t status;  /* how the source ended (ends): an exit status, or -signal */
} asp_journal_head;

/*
 * Starts journaling into a new private file in dir (NULL: $TMPDIR, else
 * /tmp): mode 0600 and without a name in any directory while it is open
 * (O_TMPFILE, or mkstemp and unlink), so another local user can neither read
 * the live input nor make the REPL write through a planted file or symlink.
 * Returns 0, or -1 with errno set.
 */
int asp_journal_open_private(const char *dir);
/* The journal's descriptor, or -1 (for tests). */
int asp_journal_fd(void);
/*
 * A write failed (the disk is full, ...): the file keeps the whole records
 * before the failure and nothing is journaled after it, by any process of
 * the session; fn(errno) is called once, in the process that failed. What
 * was journaled before still replays.
 */
typedef void (*asp_journal_fail_fn)(int err);
void asp_journal_set_fail(asp_journal_fail_fn fn);
/* True once a write of the journal failed in any process of the session. */
int asp_journal_failed(void);
/* Ends journaling in this process. */
void asp_journal_close(void);
extern int asp_journal_fd_cur; /* journal.c's: written only there */
/* Inline, one load: the scheduler asks before every item. */
static inline int asp_journal_on(void)
{
    return asp_journal_fd_cur >= 0;
}

/* Appends a line that arrived (foreground). No-op when off or replaying. */
void asp_journal_line(int32_t source, int64_t arrival, const char *data, size_t len);

/* A live source ended (end of input, peer gone, process exited) at `when`:
 * a replay ends it there too, whatever its descriptor says by then. */
void asp_journal_end(int32_t source, int64_t when, int32_t status);

/*
 * A wall-clock reading that the run depends on: while replaying, returns the
 * journaled one (and consumes it); otherwise journals `wall` and returns it.
 */
/* ffi: begin */
int64_t asp_journal_wall(int64_t wall);
/* ffi: end */

/* True while records remain after this process's offset. */
int asp_journal_replaying(void);
/* The next line or end record's header without consuming it; 0, or -1
 * when none. */
int asp_journal_peek(asp_journal_head *h);
/*
 * Consumes the next record, copying at most cap bytes of its body into buf
 * (the rest is skipped); returns the body's full length, or -1 when none.
 */
int64_t asp_journal_take(asp_journal_head *h, char *buf, size_t cap);

/*
 * The live sources' side (engine/sources/source.c registers it): inject puts a
 * journaled line back into source number `source` as if it had just arrived
 * at `arrival`; hold(1) stops reading every live source (their input was
 * read already, by the process that journaled it), hold(0) reads again.
 */
typedef void (*asp_journal_inject_fn)(int32_t source, int64_t arrival, const char *data, size_t len);
typedef void (*asp_journal_hold_fn)(int on);
typedef void (*asp_journal_end_fn)(int32_t source, int32_t status);
void asp_journal_set_sources(asp_journal_inject_fn inject, asp_journal_end_fn end, asp_journal_hold_fn hold);

/*
 * Takes back every journaled line that arrived at or before `until` (the
 * due time of the next item: in the original run, such a line came in while
 * the engine waited for that item); when the journal runs out, live sources
 * read again. Called by the scheduler before each item, while replaying.
 */
void asp_journal_feed(int64_t until);

/* A checkpoint was resumed: hold live input while the journal replays. */
void asp_journal_resumed(void);
/* The REPL's .reload: this fresh process takes the session's journal
 * (an inherited descriptor) in place of its own, from its start; then
 * asp_journal_resumed. 0, or -1 with errno set. */
int asp_journal_adopt(int fd);

/*
 * --reload (engine/reload.c, docs/reload.md). The writing instance publishes
 * the end of its whole records in *end (shared memory) and calls appended()
 * after each. A follower reads the journal fd without ever writing it, up to
 * the published end: asp_journal_replaying() is true while records are
 * there, and records at or after the limit are not taken (INT64_MAX: none).
 */
void asp_journal_share(volatile int64_t *end, void (*appended)(void));
void asp_journal_follow(int fd, volatile int64_t *end);
void asp_journal_set_limit(int64_t off);
/* The coordinator resumed after a failed handover: it goes on appending what
 * its sources read, and takes its records back from `from` on as its run's
 * live input (up to the limit). */
void asp_journal_self_follow(int64_t from);
/* The published end (or this process's view of the file's end). */
int64_t asp_journal_end_offset(void);

/* This process's offset, for tests. */
int64_t asp_journal_offset(void);

#endif
