/*
 * The progress display of long replays (progress.c).
 */
#ifndef ASP_PROGRESS_H
#define ASP_PROGRESS_H

/* 1 on, 0 off, -1 when stderr is a terminal. */
void asp_progress_set(int mode);

/* ffi: begin */
/* Erases the progress line (the run ended or paused). */
void asp_progress_done(void);
/* ffi: end */

#endif
