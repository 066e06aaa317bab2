/*
 * Time zones: formatting an instant in a zone of the system's zoneinfo
 * (Debian's tzdata), and reading a local time of a zone back as an instant.
 *
 * The C library does the zone arithmetic (localtime_r under a TZ set to the
 * zone's file), so no table of rules is kept here. The process's TZ is
 * switched to the zone of the last call and left there, because switching
 * costs a tzset that reads the zone's file; asp_tz_restore puts the
 * process's own TZ back (asp wraps os.date and os.time to call it first).
 * Not thread-safe: the engine runs Lua on one thread.
 */
#ifndef ASP_TZ_H
#define ASP_TZ_H

#include <stddef.h>
#include <stdint.h>

/* Where zone names are looked up. */
#define ASP_TZ_DIR "/usr/share/zoneinfo"

/* ffi: begin */
/*
 * Checks that name is a zone of ASP_TZ_DIR: a relative path without "..",
 * of letters, digits and "/_+-", naming a regular file that starts with the
 * TZif magic. Returns 0, or -1 with the reason written into err (errlen
 * bytes, NUL-terminated).
 */
int asp_tz_check(const char *name, char *err, size_t errlen);

/*
 * Formats ns as strftime(fmt) would, in zone (NULL: UTC, named "UTC" by %Z),
 * with %f (the microseconds, 6 digits) and %N (the nanoseconds, 9 digits)
 * added and %s computed here (the seconds since the epoch; strftime's would
 * go through mktime and the process's zone). Every conversion is checked:
 * an optional flag of "-_0^#" and an optional E or O modifier, then one of
 * aAbBcCdDeFgGhHIjklmMnNpPrRsStTuUVwWxXyYzZf%.
 * Returns the length written into buf (NUL-terminated), -1 when buflen is
 * too small (call again with a larger buf), or -2 for a bad conversion,
 * whose byte offset in fmt is stored in *bad_at.
 */
int64_t asp_tz_format(int64_t ns, const char *fmt, const char *zone, char *buf, size_t buflen,
                      int32_t *bad_at);

/*
 * Reads s[0..len), an ISO-8601 time as asp_time_parse reads it, as a local
 * time of zone (a name asp_tz_check accepted). With an offset or Z the
 * string names its instant and the zone is not consulted. Without one the
 * local time must name exactly one instant of the zone. Returns 0 and the
 * instant in *out, or:
 *   -1 s is no valid time (asp_time_parse rejects it, or the instant is
 *      outside int64 ns);
 *   -2 a gap: the zone skipped that local time (clocks went forward);
 *   -3 an overlap: the zone had that local time twice (clocks went back);
 * for -2 and -3 err receives the transition, as "+00:00 (GMT) to +01:00
 * (BST)", and *out is untouched.
 */
int asp_tz_parse(const char *s, size_t len, const char *zone, int64_t *out, char *err,
                 size_t errlen);

/* Puts the process's own TZ back if a zone call switched it. */
void asp_tz_restore(void);
/* ffi: end */

#endif
