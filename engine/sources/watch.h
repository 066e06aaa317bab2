/*
 * The watch behind asp.csv's follow mode: it wakes the armed stream when
 * the file's size or time changed; the CSV reader (reader.c) reads it.
 */
#ifndef ASP_SOURCES_WATCH_H
#define ASP_SOURCES_WATCH_H

#include "sources/source.h"

/* ffi: begin */
int asp_live_watch(asp_live *l, const char *path, char *err, size_t errlen);
/* ffi: end */

#endif
