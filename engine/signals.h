/*
 * The command's signals (the REPL installs its own SIGINT handling).
 *
 * SIGINT, SIGTERM and SIGHUP during a run stop it gracefully: the current item
 * finishes, asp.run raises "interrupted by SIGINT", sources close, and the
 * process exits with 128 + the signal (130, 143, 129). A second one, or one
 * outside a run, ends the process at once. SIGPIPE on standard output (a
 * reader such as `head` went away) ends the run the same way, quietly, with
 * status 141; SIGPIPE from a socket is ignored (its write fails with EPIPE).
 */
#ifndef ASP_SIGNALS_H
#define ASP_SIGNALS_H

void asp_signals_install(void);

/* ffi: begin */
/* The signal that stopped the run, or 0. */
int asp_signals_received(void);
/* ffi: end */

/* asp.exec children run in their own process group (session): these keep
 * the groups to end (SIGTERM) when the process dies of a signal at once or
 * exits without closing its sources. */
void asp_signals_track_group(int pgid);
void asp_signals_untrack_group(int pgid);

#endif
