/*
 * Time: an instant is an int64 count of nanoseconds since the Unix epoch, UTC.
 *
 * Parsing and formatting live here so that asp.time, the CSV reader and the
 * tests share one implementation.
 */
#ifndef ASP_TIME_H
#define ASP_TIME_H

#include <stddef.h>
#include <stdint.h>

#define ASP_NS_PER_SEC INT64_C(1000000000)

/* Longest text asp_time_format writes, with its terminating NUL. */
#define ASP_TIME_FORMAT_MAX 40

/*
 * Parses an ISO-8601 instant: YYYY-MM-DD, YYYY-MM-DDTHH:MM, ...:SS,
 * ...:SS.f (1 to 9 fraction digits), 'T' or one space between date and time,
 * an optional 'Z' or +HH:MM / -HH:MM / +HHMM / -HHMM offset (none means UTC).
 * The whole of s[0..len) must match. Returns 0 and stores the instant in *out,
 * or -1 for malformed text (*out untouched).
 */
int asp_time_parse(const char *s, size_t len, int64_t *out);

/*
 * Writes ns as 2025-01-01T00:00:01.000000Z (UTC, exactly 6 fraction digits,
 * truncated towards the past) into buf, which has room for
 * ASP_TIME_FORMAT_MAX bytes. Returns the length written, without the NUL.
 */
size_t asp_time_format(int64_t ns, char *buf);

/*
 * Converts seconds (possibly fractional, possibly negative) to nanoseconds,
 * rounded to the nearest nanosecond without losing the precision a double
 * has at epoch magnitudes. Values beyond the int64 range saturate.
 */
int64_t asp_time_from_seconds(double seconds);

/* Converts nanoseconds to seconds as a double, as precisely as a double allows. */
double asp_time_to_seconds(int64_t ns);

/* The wall clock (CLOCK_REALTIME) in nanoseconds since the epoch. */
int64_t asp_time_wall(void);

#endif
