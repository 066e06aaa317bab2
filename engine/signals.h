/*
 * The command's signals (the REPL installs its own SIGINT handling).
 *
 * SIGINT and SIGTERM during a run stop it gracefully: the current item
 * finishes, asp.run raises "interrupted by SIGINT", sources close, and the
 * process exits with 128 + the signal (130, 143). A second one, or one
 * outside a run, ends the process at once. SIGPIPE on standard output (a
 * reader such as `head` went away) ends the run the same way, quietly, with
 * status 141; SIGPIPE from a socket is ignored (its write fails with EPIPE).
 */
#ifndef ASP_SIGNALS_H
#define ASP_SIGNALS_H

void asp_signals_install(void);

/* The signal that stopped the run, or 0. */
int asp_signals_received(void);

#endif
