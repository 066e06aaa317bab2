/*
 * Time: an instant is an int64 count of nanoseconds since the Unix epoch, UTC.
 * That spans 1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z.
 *
 * Parsing and formatting live here so that asp.time, the CSV reader and the
 * tests share one implementation. The calendar is the proleptic Gregorian
 * one, computed by hand: nothing depends on the locale or the time zone.
 *
 * This header shares its name with the system <time.h>, so the engine
 * directory must be added with -iquote, not -I, or <time.h> would find it.
 */
#ifndef ASP_TIME_H
#define ASP_TIME_H

#include <stddef.h>
#include <stdint.h>

#define ASP_NS_PER_SEC INT64_C(1000000000)

/* Longest text asp_time_format writes, with its terminating NUL. */
#define ASP_TIME_FORMAT_MAX 40

/* ffi: begin */
/* -- Time (engine/time.h) -- */
/* A Time as Lua sees it (lua/asp/time.lua): ns since the epoch. */
typedef struct asp_time { int64_t ns_; } asp_time;

/*
 * Parses an ISO-8601 instant: YYYY-MM-DD, YYYY-MM-DDTHH:MM, ...:SS,
 * ...:SS.f (1 to 9 fraction digits), 'T' or one space between date and time,
 * an optional 'Z'/'z' or +HH:MM / -HH:MM / +HHMM / -HHMM offset (none means
 * UTC). A bare date is midnight UTC and takes no zone. The result is the
 * local time minus the offset.
 *
 * The whole of s[0..len) must match and nothing beyond it is read, so s need
 * not be NUL-terminated. Rejected: surrounding or doubled spaces, lowercase
 * 't', signs or missing digits in any field, a '.' without digits, 10 or more
 * fraction digits, impossible dates (2023-02-29, 1900-02-29, 2025-04-31),
 * hour 24, second 60, offset hours above 23 or minutes above 59, and
 * well-formed instants outside the int64 range above (so years before 1677
 * and after 2262). Returns 0 and stores the instant in *out, or -1 (*out
 * untouched).
 */
int asp_time_parse(const char *s, size_t len, int64_t *out);

/*
 * Writes ns as 2025-01-01T00:00:01.000000Z (UTC, exactly 6 fraction digits,
 * truncated towards the past, so -1 is 1969-12-31T23:59:59.999999Z) into
 * buf, which has room for ASP_TIME_FORMAT_MAX bytes, and NUL-terminates it.
 * Returns the length written, without the NUL (27 for every int64).
 * asp_time_parse reads the text back as ns floored to the microsecond, except
 * for the 808 ns nearest INT64_MIN, whose floor lies outside the range.
 */
size_t asp_time_format(int64_t ns, char *buf);

/*
 * Converts seconds (possibly fractional, possibly negative) to nanoseconds,
 * rounded to the nearest nanosecond (halves away from zero, symmetric about
 * zero) without losing the precision a double has at epoch magnitudes:
 * 1735689601.5 gives exactly 1735689601500000000. Values beyond the int64
 * range saturate, +inf to INT64_MAX and -inf to INT64_MIN; NaN gives 0.
 */
int64_t asp_time_from_seconds(double seconds);

/*
 * The checked forms, for Time values (docs/api.md "Range"): they never
 * saturate. Each returns 0 and stores the result, or -1 for NaN seconds, -2
 * for infinite seconds, -3 when the result is outside the int64 ns range
 * (*out untouched). asp_time_seconds_ns: seconds to ns, rounded as
 * asp_time_from_seconds (INT64_MAX and INT64_MIN count as out of range, as
 * they are what saturation gives). asp_time_add_checked: ns + seconds.
 * asp_time_diff: (a - b) in seconds, -3 when a - b overflows int64 ns (two
 * instants more than ~292 years apart).
 */
int asp_time_seconds_ns(double seconds, int64_t *out);
int asp_time_add_checked(int64_t ns, double seconds, int64_t *out);
int asp_time_diff(int64_t a, int64_t b, double *out);

/*
 * ns + seconds, saturating at the int64 range instead of wrapping, so that a
 * huge delay (asp.sleep(1e300)) means "never" rather than the past.
 */
int64_t asp_time_add_seconds(int64_t ns, double seconds);

/*
 * Converts nanoseconds to seconds as a double, as precisely as a double
 * allows (within one unit in the last place; exact where representable).
 */
double asp_time_to_seconds(int64_t ns);

/*
 * The wall clock (CLOCK_REALTIME) in nanoseconds since the epoch. It can step
 * backwards, so two readings are not ordered. Returns 0 if the clock fails.
 */
int64_t asp_time_wall(void);
/* ffi: end */

#endif
