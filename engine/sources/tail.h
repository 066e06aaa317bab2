/*
 * asp.tail: follows a regular file by its path, through truncation and
 * rotation (docs/sources.md, "What asp.tail cannot see").
 */
#ifndef ASP_SOURCES_TAIL_H
#define ASP_SOURCES_TAIL_H

#include "sources/source.h"

/* ffi: begin */
/* offset: where to start reading (-1: at the file's end). */
int asp_live_tail(asp_live *l, const char *path, int64_t offset, char *err, size_t errlen);
/* ffi: end */

#endif
