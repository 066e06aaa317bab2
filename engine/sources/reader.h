/*
 * Files of CSV records: a file (plain or gzip-compressed, told apart by zlib)
 * read in chunks through the push parser, in constant memory whatever its size.
 */
#ifndef ASP_READER_H
#define ASP_READER_H

#include <stddef.h>
#include <stdint.h>

#include "sources/csv.h"
#include "sources/csv_plan.h"

/* ffi: begin */
/* -- CSV files (engine/sources/reader.c) -- */
typedef struct asp_csvfile asp_csvfile;

asp_csvfile *asp_csvfile_open(const char *path, char delim, char *err, size_t errlen);
void asp_csvfile_close(asp_csvfile *f);
/* ASP_CSV_RECORD, or ASP_CSV_CONVERTED when a plan is set and converted
 * the record; ASP_CSV_MORE at the end (follow: nothing new yet);
 * ASP_CSV_ERROR. */
int asp_csvfile_next(asp_csvfile *f, int follow);
/* The plan that converts the records from now on (NULL: none); the caller
 * keeps it alive while set. */
void asp_csvfile_set_plan(asp_csvfile *f, asp_csv_plan *plan);
const asp_csv_row *asp_csvfile_record(const asp_csvfile *f);
const char *asp_csvfile_error(const asp_csvfile *f);
int64_t asp_csvfile_size(const asp_csvfile *f);
int64_t asp_csvfile_offset(asp_csvfile *f);
/* The fraction read of the open (non-follow) files together, or -1 when none. */
double asp_csvfile_progress(void);
void asp_csvfile_set_follow(asp_csvfile *f, int follow);
void asp_csvfile_set_header(asp_csvfile *f, int header);
/* Bytes of files that many-file readers (lua/asp/csv_files.lua) have not
 * opened yet or have finished, added to the progress of the open files. */
void asp_csvfile_progress_add(int64_t size, int64_t done);
/* ffi: end */

#endif
