/*
 * asp.stdin: standard input, a pipe, a terminal or a file (read by
 * position, and its end ends the source).
 */
#ifndef ASP_SOURCES_STDIN_H
#define ASP_SOURCES_STDIN_H

#include "sources/source.h"

/* ffi: begin */
int asp_live_stdin(asp_live *l, char *err, size_t errlen);
/* ffi: end */

#endif
