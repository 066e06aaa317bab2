/*
 * The CSV push parser: bytes go in, in chunks of any size; complete records
 * come out, one at a time, in a field buffer that is reused for every record
 * (no allocation per row once the buffers have grown to the widest record).
 *
 * RFC 4180: fields separated by a delimiter, records by LF, CRLF or a lone
 * CR (a UTF-8 BOM at the very start is dropped); a field
 * may be quoted with '"', and then holds delimiters, newlines and '""' for one
 * quote. An empty line is no record. A quote inside an unquoted field is an
 * ordinary character. Lines and columns are counted from 1, columns in bytes.
 */
#ifndef ASP_CSV_H
#define ASP_CSV_H

#include <stddef.h>
#include <stdint.h>


/* A record longer than this (bytes of field data) is an error, so that an
 * unterminated quote in a huge file fails instead of eating all memory. */
#define ASP_CSV_MAX_RECORD (16u << 20)

/* A record's buffer holds this many initialised bytes after its last
 * field's NUL, so that a field's conversion may read 8 bytes at a time
 * (asp_csv_number). */
#define ASP_CSV_PAD 8

/* ffi: begin */
/* -- CSV parsing (engine/sources/csv.h) -- */
enum {
    ASP_CSV_MORE = 0,   /* all input used, no complete record yet */
    ASP_CSV_RECORD = 1, /* a record is ready in asp_csv_record() */
    ASP_CSV_ERROR = -1  /* malformed input: see asp_csv_error() */
};

/* A CSV record: field i is data[start[i] .. stop[i]), NUL-terminated at stop[i];
 * col[i] is the byte column where it starts; line the line where it starts. */
typedef struct asp_csv_row {
    const char *data;
    const uint32_t *start;
    const uint32_t *stop;
    const uint32_t *col;
    int32_t nfields;
    int64_t line;
} asp_csv_row;
typedef struct asp_csv asp_csv;

asp_csv *asp_csv_new(char delim);
void asp_csv_free(asp_csv *p);

/*
 * Parses data[0..n) until a record completes. Stores in *used how many bytes
 * were consumed (all of them unless a record completed or an error occurred).
 * The record stays valid until the next call.
 */
int asp_csv_feed(asp_csv *p, const char *data, size_t n, size_t *used);

/* Ends the input: returns ASP_CSV_RECORD for a last record without a final
 * newline, ASP_CSV_MORE when there is none, ASP_CSV_ERROR inside a quote. */
int asp_csv_finish(asp_csv *p);


/* The record ready after ASP_CSV_RECORD (valid until the next call), and
 * the message after ASP_CSV_ERROR. */
const asp_csv_row *asp_csv_record(const asp_csv *p);
const char *asp_csv_error(const asp_csv *p);

/* Field conversions (the whole of s[0..len) must match): 1, or 0 when it
 * is no such value. asp_parse_epoch reads epoch numbers in units of unit_ns;
 * asp_parse_time reads ISO-8601 (unit_ns 0), epoch numbers, or either
 * (unit_ns -1: epoch seconds). */
int asp_parse_number(const char *s, size_t len, double *out);
int asp_parse_integer(const char *s, size_t len, int64_t *out);
int asp_parse_epoch(const char *s, size_t len, int64_t unit_ns, int64_t *out);
int asp_parse_time(const char *s, size_t len, int64_t unit_ns, int64_t *out);
/* ffi: end */

/* asp_parse_number for a field of a record of this parser (or any s with
 * ASP_CSV_PAD readable bytes after s[len]): the same results, plain
 * decimals of up to 7 + 7 digits read 8 digits at a time. */
int asp_csv_number(const char *s, size_t len, double *out);

/* asp_parse_time for such a field (the same results). */
int asp_csv_time(const char *s, size_t len, int64_t unit_ns, int64_t *out);

/* True when the parser holds part of a record (bytes since the last record). */
int asp_csv_partial(const asp_csv *p);

/* Forgets everything fed so far, as if new (the record's pointers stay). */
void asp_csv_reset(asp_csv *p);

#endif
