/*
 * File name patterns for asp.csv's many-file form (lua/asp/csv_files.lua).
 */
#ifndef ASP_GLOB_H
#define ASP_GLOB_H

#include <stdint.h>

/* ffi: begin */
/* The matches of a glob(3) pattern sorted by strcmp, as count NUL-terminated
 * paths one after the other; NULL with count 0 for no match, -1 out of
 * memory, -2 a read error. Free with asp_glob_free. */
char *asp_glob(const char *pattern, int32_t *count);
void asp_glob_free(char *block);
/* ffi: end */

#endif
