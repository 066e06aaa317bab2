/*
 * Buffered row writers for results files (asp.writer, --record): CSV (RFC
 * 4180) or JSON lines, written to a temporary file beside the final one and
 * renamed at commit (atomic mode), or appended to the final file (append
 * mode). lua/asp/writer.lua calls the functions of the ffi block
 * through the FFI.
 */
#ifndef ASP_WRITER_H
#define ASP_WRITER_H

#include <stddef.h>
#include <stdint.h>

/* ffi: begin */
/* -- Results files (engine/writer.h) -- */
/* format: 0 CSV, 1 JSON lines; append: 0 temp file + rename at commit, 1
 * append to the file itself. Field calls return 0, or -1 with the message
 * in asp_writer_error (the writer is then failed for good); a string field,
 * -2 when JSON cannot hold it (not UTF-8): the row is then dropped. */
typedef struct asp_writer asp_writer;
asp_writer *asp_writer_open(const char *path, int32_t format, int32_t append, char *err, size_t errlen);
int asp_writer_column(asp_writer *w, int32_t i, const char *name, size_t len);
int asp_writer_header(asp_writer *w);
int asp_writer_num(asp_writer *w, int32_t col, double v);
int asp_writer_str(asp_writer *w, int32_t col, const char *s, size_t len);
int asp_writer_bool(asp_writer *w, int32_t col, int32_t b);
int asp_writer_time(asp_writer *w, int32_t col, int64_t ns, int32_t as_ns);
int asp_writer_end_row(asp_writer *w);
void asp_writer_cancel_row(asp_writer *w);
void asp_writer_set_flush(asp_writer *w, int64_t interval_ns);
int asp_writer_flush(asp_writer *w, int32_t sync);
int asp_writer_commit(asp_writer *w);
/* The run went live: the rows so far are committed under the final name
 * (as at close), and the file is appended to from now on (append mode). */
int asp_writer_go_live(asp_writer *w);
/* An append writer opens its path again (a --reload rebuild, at its first
 * row after the handover: the old code may have renamed a file there since). */
int asp_writer_reopen(asp_writer *w);
void asp_writer_abort(asp_writer *w, int32_t keep);
const char *asp_writer_error(const asp_writer *w);
const char *asp_writer_temp(const asp_writer *w);
const char *asp_writer_key(const asp_writer *w);
int64_t asp_writer_rows(const asp_writer *w);
void asp_writer_free(asp_writer *w);
/* Formats a number so that strtod reads it back exactly: an integer as an
 * integer, else the fewest decimals (up to 9) that do, else %.17g. NaN and
 * infinities as NaN, Inf, -Inf. Returns the length; buf holds >= 32 bytes.
 * (Writers and sweep rows share it.) */
size_t asp_format_number(double v, char *buf);
/* ffi: end */


#endif
