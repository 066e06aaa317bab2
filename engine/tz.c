/*
 * Time zones through the C library; see tz.h.
 *
 * A zone's offset at an instant comes from localtime_r with TZ set to the
 * zone's file. Reading a local time back is the inverse, which mktime only
 * guesses at in a DST gap or overlap; here every UTC offset the zone used
 * around that local time is tried both ways, so a gap (no instant) and an
 * overlap (two instants) are found, never guessed.
 */
#include "tz.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "asp_ffi.h"
#include "time.h"

#define ZONE_MAX 256

/* The zone TZ is set to now ("" when it is the process's own). */
static char current_zone[ZONE_MAX];
/* The process's own TZ, saved at the first switch. */
static char *own_tz;
static int own_tz_saved;

/* -- Zone names -- */

static int name_char_ok(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '/' || c == '_' || c == '+' || c == '-';
}

int asp_tz_check(const char *name, char *err, size_t errlen)
{
    size_t len = strlen(name);
    if (len == 0 || len >= ZONE_MAX - sizeof ASP_TZ_DIR - 1) {
        snprintf(err, errlen, "a zone name is 1 to %d characters", (int)(ZONE_MAX - sizeof ASP_TZ_DIR - 2));
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        if (!name_char_ok(name[i])) {
            snprintf(err, errlen, "a zone name has only letters, digits and / _ + -");
            return -1;
        }
    }
    if (name[0] == '/' || strstr(name, "..") != NULL || strstr(name, "//") != NULL) {
        snprintf(err, errlen, "a zone name is a relative path under %s without '..'", ASP_TZ_DIR);
        return -1;
    }
    if (strncmp(name, "right/", 6) == 0) {
        snprintf(err, errlen, "the right/ zones count leap seconds, which a Time does not");
        return -1;
    }
    char path[ZONE_MAX + sizeof ASP_TZ_DIR];
    snprintf(path, sizeof path, "%s/%s", ASP_TZ_DIR, name);
    struct stat st;
    if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "no zone file %s; is the tzdata package installed?", path);
        return -1;
    }
    char magic[4] = { 0 };
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, magic, sizeof magic) : -1;
    if (fd >= 0)
        close(fd);
    if (got != (ssize_t)sizeof magic || memcmp(magic, "TZif", 4) != 0) {
        snprintf(err, errlen, "%s is no zone file (no TZif data)", path);
        return -1;
    }
    return 0;
}

/* -- Switching TZ -- */

/* Sets TZ to zone (already checked) unless it is set to it already. */
static void use_zone(const char *zone)
{
    if (strcmp(current_zone, zone) == 0)
        return;
    if (!own_tz_saved) {
        const char *tz = getenv("TZ");
        own_tz = tz ? strdup(tz) : NULL;
        own_tz_saved = 1;
    }
    /* An absolute path: the file checked is the file used, whatever TZDIR says. */
    char value[ZONE_MAX + sizeof ASP_TZ_DIR + 1];
    snprintf(value, sizeof value, ":%s/%s", ASP_TZ_DIR, zone);
    setenv("TZ", value, 1);
    tzset();
    snprintf(current_zone, sizeof current_zone, "%s", zone);
}

void asp_tz_restore(void)
{
    if (current_zone[0] == '\0')
        return;
    if (own_tz)
        setenv("TZ", own_tz, 1);
    else
        unsetenv("TZ");
    tzset();
    current_zone[0] = '\0';
}

/* -- Conversions -- */

/* Splits ns into whole seconds (floored) and the nanoseconds in [0, 1e9). */
static void split_ns(int64_t ns, int64_t *secs, int64_t *frac)
{
    *secs = ns / ASP_NS_PER_SEC;
    *frac = ns % ASP_NS_PER_SEC;
    if (*frac < 0) {
        *frac += ASP_NS_PER_SEC;
        (*secs)--;
    }
}

/* The broken-down time of secs in zone (NULL: UTC); 0, or -1 if it fails. */
static int broken_down(int64_t secs, const char *zone, struct tm *tm)
{
    time_t t = (time_t)secs;
    if (zone == NULL) {
        if (!gmtime_r(&t, tm))
            return -1;
        tm->tm_gmtoff = 0;
        tm->tm_zone = "UTC";
        return 0;
    }
    use_zone(zone);
    return localtime_r(&t, tm) ? 0 : -1;
}

/* -- Formatting -- */

static int conversion_ok(char c)
{
    return c != '\0' && strchr("aAbBcCdDeFgGhHIjklmMnpPrRsStTuUVwWxXyYzZ%", c) != NULL;
}

/* Appends n bytes to out (capacity cap) at *len; -1 when they do not fit. */
static int append(char *out, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len + n >= cap)
        return -1;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
    return 0;
}

/*
 * Rewrites fmt into out for strftime: %f, %N and %s become their digits
 * (which hold no '%'), the other conversions stay. Returns 0, -1 when out
 * is too small, -2 for a bad conversion (its offset in *bad_at).
 */
static int expand(const char *fmt, int64_t secs, int64_t frac, char *out, size_t cap,
                  int32_t *bad_at)
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; fmt[i] != '\0'; i++) {
        if (fmt[i] != '%') {
            if (append(out, cap, &len, fmt + i, 1))
                return -1;
            continue;
        }
        size_t start = i++;
        if (fmt[i] != '\0' && strchr("-_0^#", fmt[i]) != NULL)
            i++;
        int modifier = fmt[i] == 'E' || fmt[i] == 'O';
        if (modifier)
            i++;
        char c = fmt[i];
        char digits[24];
        int n = -1;
        if (c == 'f' && !modifier && i == start + 1)
            n = snprintf(digits, sizeof digits, "%06lld", (long long)(frac / 1000));
        else if (c == 'N' && !modifier && i == start + 1)
            n = snprintf(digits, sizeof digits, "%09lld", (long long)frac);
        else if (c == 's' && !modifier && i == start + 1)
            n = snprintf(digits, sizeof digits, "%lld", (long long)secs);
        else if (!conversion_ok(c)) {
            *bad_at = (int32_t)start;
            return -2;
        }
        if (n >= 0) {
            if (append(out, cap, &len, digits, (size_t)n))
                return -1;
        } else if (append(out, cap, &len, fmt + start, i - start + 1)) {
            return -1;
        }
    }
    return 0;
}

int64_t asp_tz_format(int64_t ns, const char *fmt, const char *zone, char *buf, size_t buflen,
                      int32_t *bad_at)
{
    int64_t secs, frac;
    struct tm tm;
    split_ns(ns, &secs, &frac);
    if (buflen < 2)
        return -1;
    /*
     * The expanded format goes into the second half of buf, strftime writes
     * into the first. A trailing space tells an empty result from a full
     * buffer (strftime returns 0 for both); it is cut off after.
     */
    size_t half = buflen / 2;
    char *expanded = buf + half;
    int rc = expand(fmt, secs, frac, expanded, buflen - half - 1, bad_at);
    if (rc != 0)
        return rc;
    strcat(expanded, " ");
    if (broken_down(secs, zone, &tm) != 0)
        return -1;
    size_t n = strftime(buf, half, expanded, &tm);
    if (n == 0)
        return -1;
    buf[n - 1] = '\0';
    return (int64_t)(n - 1);
}

/* -- Local times -- */

/* Whether the ISO text carries an offset or Z (after the date's own '-'s). */
static int has_offset(const char *s, size_t len)
{
    for (size_t i = 10; i < len; i++) {
        if (s[i] == '+' || s[i] == '-' || s[i] == 'Z' || s[i] == 'z')
            return 1;
    }
    return 0;
}

/* The zone's UTC offset (seconds) at secs, and its abbreviation. */
static long offset_at(int64_t secs, const char *zone, const char **abbr)
{
    struct tm tm;
    if (broken_down(secs, zone, &tm) != 0) {
        *abbr = "?";
        return 0;
    }
    *abbr = tm.tm_zone ? tm.tm_zone : "?";
    return tm.tm_gmtoff;
}

/* Writes an offset as +HH:MM (or +HH:MM:SS for the odd historical one). */
static void put_offset(char *out, size_t cap, long off)
{
    char sign = off < 0 ? '-' : '+';
    int a = (int)((off < 0 ? -off : off) % 86400); /* offsets are within a day */
    if (a % 60)
        snprintf(out, cap, "%c%02d:%02d:%02d", sign, a / 3600, a / 60 % 60, a % 60);
    else
        snprintf(out, cap, "%c%02d:%02d", sign, a / 3600, a / 60 % 60);
}

/*
 * Describes the transition around local time local (seconds) whose
 * candidate offsets span [lo, hi]: the offset and abbreviation before it,
 * then after it. Before a transition u < T, so L - hi (the earliest
 * instant any candidate gives) lies before it in a gap; L - lo after it.
 * In an overlap the two instants themselves are before and after.
 */
static void describe(const char *zone, int64_t before, int64_t after, char *err, size_t errlen)
{
    const char *abbr1, *abbr2;
    char o1[32], o2[32];
    put_offset(o1, sizeof o1, offset_at(before, zone, &abbr1));
    char a1[16];
    snprintf(a1, sizeof a1, "%s", abbr1); /* the next call may reuse tm_zone's storage */
    put_offset(o2, sizeof o2, offset_at(after, zone, &abbr2));
    snprintf(err, errlen, "%s (%s) to %s (%s)", o1, a1, o2, abbr2);
}

/* Offsets are sampled every 3 hours over +-27 hours around the local time:
 * every zone offset lies within +-26 hours, and every zone keeps an offset
 * for longer than 3 hours. */
#define SAMPLE_STEP 10800
#define SAMPLES 19

int asp_tz_parse(const char *s, size_t len, const char *zone, int64_t *out, char *err,
                 size_t errlen)
{
    int64_t local_ns;
    if (asp_time_parse(s, len, &local_ns) != 0)
        return -1;
    if (has_offset(s, len)) {
        *out = local_ns;
        return 0;
    }
    int64_t local, frac;
    split_ns(local_ns, &local, &frac);

    long offsets[SAMPLES];
    int noff = 0;
    for (int k = 0; k < SAMPLES; k++) {
        const char *abbr;
        long o = offset_at(local + (k - SAMPLES / 2) * SAMPLE_STEP, zone, &abbr);
        int seen = 0;
        for (int j = 0; j < noff; j++)
            seen |= offsets[j] == o;
        if (!seen)
            offsets[noff++] = o;
    }

    /* An instant u is a reading of local when u + offset_at(u) == local. */
    int64_t found[SAMPLES];
    int nfound = 0;
    long lo = offsets[0], hi = offsets[0];
    for (int j = 0; j < noff; j++) {
        const char *abbr;
        int64_t u = local - offsets[j];
        lo = offsets[j] < lo ? offsets[j] : lo;
        hi = offsets[j] > hi ? offsets[j] : hi;
        if (offset_at(u, zone, &abbr) != offsets[j])
            continue;
        int seen = 0;
        for (int i = 0; i < nfound; i++)
            seen |= found[i] == u;
        if (!seen)
            found[nfound++] = u;
    }
    if (nfound == 0) {
        describe(zone, local - hi, local - lo, err, errlen);
        return -2;
    }
    if (nfound > 1) {
        int64_t first = found[0], last = found[0];
        for (int i = 1; i < nfound; i++) {
            first = found[i] < first ? found[i] : first;
            last = found[i] > last ? found[i] : last;
        }
        describe(zone, first, last, err, errlen);
        return -3;
    }
    int64_t ns;
    if (__builtin_mul_overflow(found[0], ASP_NS_PER_SEC, &ns) || __builtin_add_overflow(ns, frac, &ns))
        return -1;
    *out = ns;
    return 0;
}
