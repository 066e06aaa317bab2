/*
 * asp-lua --reload: hot reload of a live run (docs/reload.md).
 *
 * The process the shell started (the coordinator) runs the script, journals
 * its live input, and watches the script and the Lua files it loaded from
 * the script's folder. On a save it spawns a fresh asp-lua (a follower) that
 * runs the new code from the start over the same past and the journal, muted
 * (asp.replaying() true). When the follower has caught up, the running
 * instance stops at a journal position P and the follower takes the records
 * from P on as its live input: the coordinator keeps reading the sockets and
 * journals them ("the journal is the live input"); no descriptor moves.
 */
#ifndef ASP_RELOAD_H
#define ASP_RELOAD_H

#include "sched.h"
#include "sources/source.h"

/* The coordinator: journal, shared end, watches. 0, or -1 (printed). */
int asp_reload_start(char **argv, int argc, int script);
/* A follower (ASP_RELOAD_CHILD in the environment): 1, 0 when not one,
 * -1 on an error (printed). */
int asp_reload_child_init(void);
/* At exit: stops a rebuild in progress and closes the handles. */
void asp_reload_close(void);

/* ffi: begin */
/* -- Hot reload (engine/reload.h) -- */
/* 0 without --reload, 1 in the coordinator, 2 in a follower. */
int asp_reload_role(void);
/* True while a follower catches up (asp.replaying()). */
int asp_reload_replaying(void);
/* Reloads done in this session, by the time this instance started. */
int asp_reload_count(void);
/* Watch this file too (a module the script loaded from its folder). */
void asp_reload_watch(const char *path);
/* The descriptor holding asp.keep's values (a memfd shared by the
 * session's instances), or -1 without --reload. */
int asp_reload_kept_fd(void);
/* An asp.writer of this instance (on 1) or one closed (on 0): the
 * instance commits them when it stops at the handover. */
void asp_reload_writer(void *w, int on);
/* A follower, once its script and modules are read (at its run's start):
 * exits quietly (status 75) when the saved file it was started for changed
 * meanwhile (a half-written read); 0 otherwise. */
int asp_reload_torn(void);
/* A live source of a follower: fed by the journal, never opened. */
int asp_reload_phantom(asp_live *l);
/* ffi: end */

#endif
