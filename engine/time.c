/*
 * Instants as int64 nanoseconds since the epoch; see time.h.
 *
 * Calendar arithmetic is done by hand on the proleptic Gregorian calendar
 * because timegm, mktime and strptime depend on the locale and time zone.
 */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "time.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "asp_ffi.h"

/*
 * With "-I engine" the system <time.h> is shadowed by engine/time.h, so
 * clock_gettime would be missing; say so instead of failing obscurely.
 */
#ifndef CLOCK_REALTIME
#error "<time.h> found engine/time.h: pass the engine directory with -iquote, not -I"
#endif

#define SECS_PER_DAY INT64_C(86400)

/* Days in a 400-year Gregorian cycle, after which the calendar repeats. */
#define DAYS_PER_ERA INT64_C(146097)

/* Days from 0000-03-01 (the start of the shifted calendar) to 1970-01-01. */
#define EPOCH_SHIFT INT64_C(719468)

/* Division that rounds towards negative infinity, for b > 0. */
static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if (a % b < 0)
        q--;
    return q;
}

static int is_leap(int64_t year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int64_t year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month == 2 && is_leap(year))
        return 29;
    return days[month - 1];
}

/*
 * Day number of a date relative to 1970-01-01. The year is taken to start
 * in March so that the leap day falls at its very end; then the day of the
 * year follows from a linear formula and leap days are counted per era.
 */
static int64_t days_from_civil(int64_t year, int month, int day)
{
    int64_t y = month <= 2 ? year - 1 : year;
    int64_t era = floor_div(y, 400);
    int64_t year_of_era = y - era * 400;                       /* 0..399 */
    int64_t shifted_month = month <= 2 ? month + 9 : month - 3; /* Mar = 0 */
    int64_t day_of_year = (153 * shifted_month + 2) / 5 + day - 1;
    int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    return era * DAYS_PER_ERA + day_of_era - EPOCH_SHIFT;
}

/* The inverse of days_from_civil, valid for every day count int64 ns can reach. */
static void civil_from_days(int64_t days, int64_t *year, int *month, int *day)
{
    int64_t z = days + EPOCH_SHIFT;
    int64_t era = floor_div(z, DAYS_PER_ERA);
    int64_t day_of_era = z - era * DAYS_PER_ERA; /* 0..146096 */
    /* Subtracting the leap days seen so far makes every year 365 days long. */
    int64_t year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
    int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    int64_t shifted_month = (5 * day_of_year + 2) / 153; /* Mar = 0 */
    *day = (int)(day_of_year - (153 * shifted_month + 2) / 5 + 1);
    *month = (int)(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
    *year = year_of_era + era * 400 + (*month <= 2);
}

/*
 * Combines whole seconds and a nanosecond part in [0, 1e9] into ns, or
 * returns -1 when the result does not fit in int64. Negative seconds are
 * handled as (secs + 1) * 1e9 - (1e9 - frac) so no product overflows.
 */
static int combine_ns(int64_t secs, int64_t frac, int64_t *out)
{
    if (secs >= 0) {
        if (secs > (INT64_MAX - frac) / ASP_NS_PER_SEC)
            return -1;
        *out = secs * ASP_NS_PER_SEC + frac;
    } else {
        int64_t back = ASP_NS_PER_SEC - frac;
        /* C division truncates towards zero, which is the ceiling here. */
        if (secs + 1 < (INT64_MIN + back) / ASP_NS_PER_SEC)
            return -1;
        *out = (secs + 1) * ASP_NS_PER_SEC - back;
    }
    return 0;
}

/* A read position in text that need not be NUL-terminated. */
typedef struct {
    const char *s;
    size_t len;
    size_t pos;
} cursor;

static int at_end(const cursor *c)
{
    return c->pos >= c->len;
}

/* Consumes ch if it is next; never looks past the end. */
static int take(cursor *c, char ch)
{
    if (at_end(c) || c->s[c->pos] != ch)
        return 0;
    c->pos++;
    return 1;
}

static int next_is_digit(const cursor *c)
{
    return !at_end(c) && c->s[c->pos] >= '0' && c->s[c->pos] <= '9';
}

/* Reads exactly n decimal digits (no sign, no space) into *value. */
static int take_digits(cursor *c, int n, int *value)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!next_is_digit(c))
            return -1;
        v = v * 10 + (c->s[c->pos++] - '0');
    }
    *value = v;
    return 0;
}

/* Reads ":MM" or "MM" after an offset's hours, as +HH:MM or +HHMM allow. */
static int take_offset_minutes(cursor *c, int *minutes)
{
    take(c, ':');
    return take_digits(c, 2, minutes);
}

int asp_time_parse(const char *s, size_t len, int64_t *out)
{
    cursor c = {s, len, 0};
    int year, month, day, hour = 0, minute = 0, second = 0;
    int64_t frac = 0, offset_secs = 0;

    if (take_digits(&c, 4, &year) || !take(&c, '-') || take_digits(&c, 2, &month) ||
        !take(&c, '-') || take_digits(&c, 2, &day))
        return -1;
    if (month < 1 || month > 12 || day < 1 || day > days_in_month(year, month))
        return -1;

    /* A bare date is midnight UTC; zones only make sense with a time of day. */
    if (!at_end(&c)) {
        if (!take(&c, 'T') && !take(&c, ' '))
            return -1;
        if (take_digits(&c, 2, &hour) || !take(&c, ':') || take_digits(&c, 2, &minute))
            return -1;
        if (take(&c, ':')) {
            if (take_digits(&c, 2, &second))
                return -1;
            if (take(&c, '.')) {
                int digits = 0;
                while (next_is_digit(&c) && digits < 9) {
                    frac = frac * 10 + (c.s[c.pos++] - '0');
                    digits++;
                }
                if (digits == 0 || next_is_digit(&c))
                    return -1;
                for (; digits < 9; digits++)
                    frac *= 10;
            }
        }
        /*
         * Epoch time has no leap seconds, so :60 is rejected; 24:00 is
         * rejected too, as the next day's 00:00 says the same thing.
         */
        if (hour > 23 || minute > 59 || second > 59)
            return -1;

        if (!take(&c, 'Z') && !take(&c, 'z') && !at_end(&c)) {
            int sign = c.s[c.pos] == '+' ? 1 : c.s[c.pos] == '-' ? -1 : 0;
            int off_hours, off_minutes;
            if (sign == 0)
                return -1;
            c.pos++;
            if (take_digits(&c, 2, &off_hours) || take_offset_minutes(&c, &off_minutes))
                return -1;
            if (off_hours > 23 || off_minutes > 59)
                return -1;
            offset_secs = sign * (off_hours * INT64_C(3600) + off_minutes * INT64_C(60));
        }
        if (!at_end(&c))
            return -1;
    }

    /* Local time minus its offset is UTC; the seconds sum fits easily in int64. */
    int64_t secs = days_from_civil(year, month, day) * SECS_PER_DAY + hour * INT64_C(3600) +
                   minute * INT64_C(60) + second - offset_secs;
    int64_t ns;
    if (combine_ns(secs, frac, &ns))
        return -1;
    *out = ns;
    return 0;
}

/* Writes value (>= 0) with at least width digits, zero-padded; returns the end. */
static char *put_number(char *p, int64_t value, int width)
{
    char digits[20];
    int n = 0;
    do {
        digits[n++] = (char)('0' + value % 10);
        value /= 10;
    } while (value > 0);
    for (int i = n; i < width; i++)
        *p++ = '0';
    while (n > 0)
        *p++ = digits[--n];
    return p;
}

size_t asp_time_format(int64_t ns, char *buf)
{
    /*
     * Flooring both divisions makes negative instants truncate towards the
     * past. The remainder is taken from % because secs * 1e9 can overflow.
     */
    int64_t secs = ns / ASP_NS_PER_SEC;
    int64_t rem = ns % ASP_NS_PER_SEC;
    if (rem < 0) {
        rem += ASP_NS_PER_SEC;
        secs--;
    }
    int64_t micros = rem / 1000;
    int64_t days = floor_div(secs, SECS_PER_DAY);
    int64_t sod = secs - days * SECS_PER_DAY;
    int64_t year;
    int month, day;
    civil_from_days(days, &year, &month, &day);

    /* int64 ns spans 1677..2262 only, so the year always has four digits. */
    char *p = put_number(buf, year, 4);
    *p++ = '-';
    p = put_number(p, month, 2);
    *p++ = '-';
    p = put_number(p, day, 2);
    *p++ = 'T';
    p = put_number(p, sod / 3600, 2);
    *p++ = ':';
    p = put_number(p, sod / 60 % 60, 2);
    *p++ = ':';
    p = put_number(p, sod % 60, 2);
    *p++ = '.';
    p = put_number(p, micros, 6);
    *p++ = 'Z';
    *p = '\0';
    return (size_t)(p - buf);
}

int64_t asp_time_from_seconds(double seconds)
{
    if (isnan(seconds))
        return 0;
    /*
     * Work on the magnitude so rounding is symmetric about zero and
     * mag - floor(mag) is exact (it only clears leading bits of mag).
     * From 9223372037 s on nothing fits in int64 ns; testing that before
     * any conversion to int64 also catches the infinities. The last
     * fraction of a second below it is left to combine_ns.
     */
    double mag = fabs(seconds);
    if (mag >= 9223372037.0)
        return seconds < 0 ? INT64_MIN : INT64_MAX;
    double whole = (double)(int64_t)mag; /* floor: mag is non-negative and < 2^63 */
    /* Adding one half and truncating rounds like round() for this
     * non-negative value, without the libm call (hot when replaying
     * epoch-second times). */
    int64_t frac = (int64_t)((mag - whole) * 1e9 + 0.5); /* 0..1e9 */
    int64_t ns;
    if (combine_ns((int64_t)whole, frac, &ns))
        return seconds < 0 ? INT64_MIN : INT64_MAX;
    return seconds < 0 ? -ns : ns;
}

int asp_time_seconds_ns(double seconds, int64_t *out)
{
    if (isnan(seconds))
        return -1;
    if (isinf(seconds))
        return -2;
    /* asp_time_from_seconds saturates exactly when the value is out of
     * range, except for INT64_MIN (-2^63 ns), whose magnitude has no
     * positive int64: that one instant is left out. */
    int64_t ns = asp_time_from_seconds(seconds);
    if (ns == INT64_MAX || ns == INT64_MIN)
        return -3;
    *out = ns;
    return 0;
}

int asp_time_add_checked(int64_t ns, double seconds, int64_t *out)
{
    int64_t d, r;
    int rc = asp_time_seconds_ns(seconds, &d);
    if (rc != 0)
        return rc;
    if (__builtin_add_overflow(ns, d, &r))
        return -3;
    *out = r;
    return 0;
}

int asp_time_diff(int64_t a, int64_t b, double *out)
{
    int64_t d;
    if (__builtin_sub_overflow(a, b, &d))
        return -3;
    *out = asp_time_to_seconds(d);
    return 0;
}

int64_t asp_time_add_seconds(int64_t ns, double seconds)
{
    int64_t d = asp_time_from_seconds(seconds);
    if (d > 0 && ns > INT64_MAX - d)
        return INT64_MAX;
    if (d < 0 && ns < INT64_MIN - d)
        return INT64_MIN;
    return ns + d;
}

double asp_time_to_seconds(int64_t ns)
{
    /*
     * Whole seconds convert exactly; splitting by truncation keeps both
     * parts the same sign, so adding them cannot cancel digits.
     */
    int64_t secs = ns / ASP_NS_PER_SEC;
    int64_t rem = ns % ASP_NS_PER_SEC;
    return (double)secs + (double)rem / 1e9;
}

int64_t asp_time_wall(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * ASP_NS_PER_SEC + ts.tv_nsec;
}
