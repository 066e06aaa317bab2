/*
 * asp.exec: a subprocess's standard output is the input; its exit status is
 * recorded. It runs in its own process group, ended when the source closes.
 */
#ifndef ASP_SOURCES_EXEC_H
#define ASP_SOURCES_EXEC_H

#include "sources/source.h"

/* ffi: begin */
int asp_live_exec(asp_live *l, const char *const *argv, char *err, size_t errlen);
/* The exit code, or -signal; asp_live_exited is 1 once it is known. */
int64_t asp_live_exit_status(const asp_live *l);
int asp_live_exited(const asp_live *l);
/* ffi: end */

#endif
