/*
 * Unit tests for engine/time.c: ISO-8601 parsing and formatting, the
 * seconds <-> nanoseconds conversions and the wall clock.
 *
 * Every parse goes through parse_exact, which copies the text into a heap
 * block of exactly len bytes with no NUL, so AddressSanitizer or valgrind
 * catch any read past s + len.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_util.h"

#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "time.h"

#define NS ASP_NS_PER_SEC

/* 2025-01-01T00:00:00Z in seconds, a convenient anchor. */
#define Y2025 INT64_C(1735689600)

/* A sentinel that no test expects as a parse result. */
#define UNTOUCHED INT64_C(0x5a5a5a5a5a5a5a5a)


/* Parses text[0..len) from an exactly sized, unterminated heap copy. */
static int parse_exact(const char *text, size_t len, int64_t *out)
{
    char *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, text, len);
    int rc = asp_time_parse(copy, len, out);
    free(copy);
    return rc;
}

/* Parses a NUL-terminated string that must be accepted, and returns the instant. */
static int64_t parse_ok(const char *text)
{
    int64_t out = UNTOUCHED;
    if (parse_exact(text, strlen(text), &out) != 0) {
        print_error("rejected: \"%s\"\n", text);
        fail();
    }
    return out;
}

/* Asserts that text[0..len) is rejected and leaves the output alone. */
static void expect_reject(const char *text, size_t len)
{
    int64_t out = UNTOUCHED;
    if (parse_exact(text, len, &out) != -1) {
        print_error("accepted: \"%.*s\" (len %zu) as %" PRId64 "\n", (int)len, text, len, out);
        fail();
    }
    assert_ns_equal(out, UNTOUCHED);
}

static void expect_reject_str(const char *text)
{
    expect_reject(text, strlen(text));
}

/* Formats into a heap buffer of exactly ASP_TIME_FORMAT_MAX bytes, checking the length. */
static void format_into(int64_t ns, char out[ASP_TIME_FORMAT_MAX])
{
    char *buf = malloc(ASP_TIME_FORMAT_MAX);
    assert_non_null(buf);
    size_t n = asp_time_format(ns, buf);
    assert_true(n < ASP_TIME_FORMAT_MAX);
    assert_int_equal(strlen(buf), n);
    memcpy(out, buf, n + 1);
    free(buf);
}

static void expect_format(int64_t ns, const char *want)
{
    char got[ASP_TIME_FORMAT_MAX];
    format_into(ns, got);
    assert_string_equal(got, want);
}

/* Largest multiple of 1000 not above x: what formatting keeps of an instant. */
static int64_t floor_to_micros(int64_t x)
{
    int64_t r = x % 1000;
    return r < 0 ? x - r - 1000 : x - r;
}

/* ---- accepted forms ---- */

static void test_parse_bare_date_is_midnight_utc(void **state)
{
    (void)state;
    assert_ns_equal(parse_ok("2025-01-01"), Y2025 * NS);
    assert_ns_equal(parse_ok("2025-03-15"), (Y2025 + 73 * 86400) * NS);
}

static void test_parse_hours_minutes(void **state)
{
    (void)state;
    assert_ns_equal(parse_ok("2025-01-01T00:00"), Y2025 * NS);
    assert_ns_equal(parse_ok("2025-01-01T13:07"), (Y2025 + 13 * 3600 + 7 * 60) * NS);
    assert_ns_equal(parse_ok("2025-01-01T23:59"), (Y2025 + 86340) * NS);
}

static void test_parse_seconds(void **state)
{
    (void)state;
    assert_ns_equal(parse_ok("2025-01-01T00:00:01"), (Y2025 + 1) * NS);
    assert_ns_equal(parse_ok("2025-03-15T12:34:56"), INT64_C(1742042096) * NS);
    assert_ns_equal(parse_ok("2024-12-31T23:59:59"), (Y2025 - 1) * NS);
}

static void test_parse_fraction_1_to_9_digits(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        int64_t frac;
    } cases[] = {
        {"2025-01-01T00:00:00.1", 100000000},
        {"2025-01-01T00:00:00.12", 120000000},
        {"2025-01-01T00:00:00.123", 123000000},
        {"2025-01-01T00:00:00.1234", 123400000},
        {"2025-01-01T00:00:00.12345", 123450000},
        {"2025-01-01T00:00:00.123456", 123456000},
        {"2025-01-01T00:00:00.1234567", 123456700},
        {"2025-01-01T00:00:00.12345678", 123456780},
        {"2025-01-01T00:00:00.123456789", 123456789},
        {"2025-01-01T00:00:00.000000001", 1},
        {"2025-01-01T00:00:00.999999999", 999999999},
        {"2025-01-01T00:00:00.0", 0},
        {"2025-01-01T00:00:00.000000000", 0},
        {"2025-01-01T00:00:00.5Z", 500000000},
        {"2025-01-01T00:00:00.050+00:00", 50000000},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_ns_equal(parse_ok(cases[i].text), Y2025 * NS + cases[i].frac);
}

static void test_parse_space_separator_equals_T(void **state)
{
    (void)state;
    assert_ns_equal(parse_ok("2025-01-01 12:00"), parse_ok("2025-01-01T12:00"));
    assert_ns_equal(parse_ok("2025-01-01 12:00:30"), parse_ok("2025-01-01T12:00:30"));
    assert_ns_equal(parse_ok("2025-01-01 12:00:30.25Z"), (Y2025 + 43230) * NS + 250000000);
    assert_ns_equal(parse_ok("2025-01-01 12:00+01:00"), (Y2025 + 39600) * NS);
}

static void test_parse_z_suffix_upper_and_lower(void **state)
{
    (void)state;
    assert_ns_equal(parse_ok("2025-01-01T00:00Z"), Y2025 * NS);
    assert_ns_equal(parse_ok("2025-01-01T00:00z"), Y2025 * NS);
    assert_ns_equal(parse_ok("2025-01-01T00:00:00Z"), Y2025 * NS);
    assert_ns_equal(parse_ok("2025-01-01T00:00:00.000001z"), Y2025 * NS + 1000);
}

static void test_parse_positive_offsets_subtract(void **state)
{
    (void)state;
    int64_t want = (Y2025 + 12 * 3600 - 5 * 3600 - 30 * 60) * NS;
    assert_ns_equal(parse_ok("2025-01-01T12:00+05:30"), want);
    assert_ns_equal(parse_ok("2025-01-01T12:00+0530"), want);
    assert_ns_equal(parse_ok("2025-01-01T12:00:00+05:30"), want);
    assert_ns_equal(parse_ok("2025-01-01T12:00:00.5+0530"), want + 500000000);
    assert_ns_equal(parse_ok("2025-01-01 12:00+23:59"), (Y2025 + 12 * 3600 - 86340) * NS);
}

static void test_parse_negative_offsets_add(void **state)
{
    (void)state;
    int64_t want = (Y2025 + 12 * 3600 + 8 * 3600 + 45 * 60) * NS;
    assert_ns_equal(parse_ok("2025-01-01T12:00-08:45"), want);
    assert_ns_equal(parse_ok("2025-01-01T12:00-0845"), want);
    assert_ns_equal(parse_ok("2025-01-01T12:00:00-08:45"), want);
    assert_ns_equal(parse_ok("2025-01-01T12:00:00.000000007-0845"), want + 7);
    assert_ns_equal(parse_ok("2025-01-01T12:00-23:59"), (Y2025 + 12 * 3600 + 86340) * NS);
}

static void test_parse_zero_offsets_equal_utc(void **state)
{
    (void)state;
    const char *zero[] = {"2025-01-01T00:00+00:00", "2025-01-01T00:00-00:00",
                          "2025-01-01T00:00+0000", "2025-01-01T00:00-0000",
                          "2025-01-01T00:00Z", "2025-01-01T00:00"};
    for (size_t i = 0; i < sizeof zero / sizeof zero[0]; i++)
        assert_ns_equal(parse_ok(zero[i]), Y2025 * NS);
}

static void test_parse_offset_crosses_day_and_year(void **state)
{
    (void)state;
    /* Local midnight east of UTC is still the previous year in UTC. */
    assert_ns_equal(parse_ok("2025-01-01T00:30+01:00"), (Y2025 - 1800) * NS);
    assert_ns_equal(parse_ok("2024-12-31T23:30-01:00"), (Y2025 + 1800) * NS);
    /* An offset can also take the epoch itself negative. */
    assert_ns_equal(parse_ok("1970-01-01T00:00+00:01"), -60 * NS);
}

/* ---- calendar ---- */

static void test_parse_leap_years(void **state)
{
    (void)state;
    assert_ns_equal(parse_ok("2024-02-29"), INT64_C(1709164800) * NS);
    assert_ns_equal(parse_ok("2024-03-01") - parse_ok("2024-02-28"), 2 * 86400 * NS);
    /* Divisible by 400: leap. */
    assert_ns_equal(parse_ok("2000-02-29"), INT64_C(951782400) * NS);
    assert_ns_equal(parse_ok("2000-03-01") - parse_ok("2000-02-28"), 2 * 86400 * NS);
    /* Divisible by 100 but not 400: common. */
    expect_reject_str("1900-02-29");
    expect_reject_str("2100-02-29");
    expect_reject_str("1700-02-29");
    assert_ns_equal(parse_ok("1900-03-01") - parse_ok("1900-02-28"), 86400 * NS);
    assert_ns_equal(parse_ok("2100-03-01"), INT64_C(4107542400) * NS);
    /* Not divisible by 4: common. */
    expect_reject_str("2023-02-29");
    expect_reject_str("2025-02-29T00:00Z");
    assert_ns_equal(parse_ok("2023-03-01") - parse_ok("2023-02-28"), 86400 * NS);
}

static void test_parse_month_lengths(void **state)
{
    (void)state;
    static const int common[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const int years[2] = {2023, 2024};
    for (int y = 0; y < 2; y++) {
        for (int m = 1; m <= 12; m++) {
            int last = common[m - 1] + (m == 2 && years[y] == 2024);
            char text[48]; /* room for any int, so snprintf cannot truncate */
            snprintf(text, sizeof text, "%04d-%02d-%02d", years[y], m, last);
            int64_t end = parse_ok(text);
            snprintf(text, sizeof text, "%04d-%02d-%02d", years[y], m, last + 1);
            expect_reject_str(text);
            /* The day after the last of the month is the first of the next. */
            if (m < 12) {
                snprintf(text, sizeof text, "%04d-%02d-01", years[y], m + 1);
                assert_ns_equal(parse_ok(text) - end, 86400 * NS);
            }
        }
    }
}

/*
 * Walks every day that int64 ns can hold whole, counting the calendar by
 * hand, and checks that parse and format agree with the count.
 */
static void test_parse_and_format_every_day_1678_to_2261(void **state)
{
    (void)state;
    static const int common[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int year = 1678, month = 1, day = 1;
    int64_t ns = INT64_C(-9214560000) * NS;
    while (year < 2262) {
        char date[48], formatted[ASP_TIME_FORMAT_MAX];
        snprintf(date, sizeof date, "%04d-%02d-%02d", year, month, day);
        int64_t parsed = UNTOUCHED;
        assert_int_equal(parse_exact(date, 10, &parsed), 0);
        if (parsed != ns) {
            print_error("%s parsed as %" PRId64 ", expected %" PRId64 "\n", date, parsed, ns);
            fail();
        }
        format_into(ns + 86399 * NS + 999999999, formatted);
        assert_memory_equal(formatted, date, 10);
        assert_string_equal(formatted + 10, "T23:59:59.999999Z");

        int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
        int length = common[month - 1] + (month == 2 && leap);
        if (++day > length) {
            day = 1;
            if (++month > 12) {
                month = 1;
                year++;
            }
        }
        ns += 86400 * NS;
    }
    assert_ns_equal(ns, parse_ok("2262-01-01"));
}

static void test_parse_epoch_is_zero(void **state)
{
    (void)state;
    assert_ns_equal(parse_ok("1970-01-01"), 0);
    assert_ns_equal(parse_ok("1970-01-01T00:00"), 0);
    assert_ns_equal(parse_ok("1970-01-01T00:00:00Z"), 0);
    assert_ns_equal(parse_ok("1970-01-01 00:00:00.000000000+00:00"), 0);
    assert_ns_equal(parse_ok("1970-01-01T00:00:00.000000001Z"), 1);
}

static void test_parse_negative_times_before_1970(void **state)
{
    (void)state;
    assert_ns_equal(parse_ok("1969-12-31T23:59:59.999999999Z"), -1);
    assert_ns_equal(parse_ok("1969-12-31T23:59:59Z"), -NS);
    assert_ns_equal(parse_ok("1969-12-31T23:59:59.5"), -NS / 2);
    assert_ns_equal(parse_ok("1969-12-31"), -86400 * NS);
    assert_ns_equal(parse_ok("1900-01-01"), INT64_C(-2208988800) * NS);
    assert_ns_equal(parse_ok("1700-03-01"), INT64_C(-8515238400) * NS);
    assert_ns_equal(parse_ok("1677-09-22"), INT64_C(-9223286400) * NS);
}

/* int64 ns spans 1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z. */
static void test_parse_int64_range_limits(void **state)
{
    (void)state;
    assert_ns_equal(parse_ok("2262-04-11T23:47:16.854775807Z"), INT64_MAX);
    assert_ns_equal(parse_ok("2262-04-12T00:47:16.854775807+01:00"), INT64_MAX);
    assert_ns_equal(parse_ok("1677-09-21T00:12:43.145224192Z"), INT64_MIN);
    assert_ns_equal(parse_ok("1677-09-20T23:12:43.145224192-01:00"), INT64_MIN);
    assert_ns_equal(parse_ok("1677-09-21T00:12:43.145224193"), INT64_MIN + 1);
}

static void test_parse_rejects_instants_outside_int64(void **state)
{
    (void)state;
    /* Well-formed, but the instant has no int64 ns representation. */
    expect_reject_str("2262-04-11T23:47:16.854775808Z");
    expect_reject_str("2262-04-11T23:47:17Z");
    expect_reject_str("2262-04-12");
    expect_reject_str("2262-04-11T23:47:16.854775807-00:01");
    expect_reject_str("1677-09-21T00:12:43.145224191Z");
    expect_reject_str("1677-09-21T00:12:43.145224192+00:01");
    expect_reject_str("1677-09-21");
    expect_reject_str("9999-12-31T23:59:59.999999999Z");
    expect_reject_str("0001-01-01");
    expect_reject_str("0000-01-01");
    expect_reject_str("0000-02-29T00:00Z");
}

/* ---- malformed text ---- */

static void test_parse_rejects_malformed_text(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        " ",
        " 2025-01-01",
        "\t2025-01-01",
        "2025-01-01 ",
        "2025-01-01\n",
        "+2025-01-01",
        "-2025-01-01",
        "2025-+1-01",
        "2025-01-+1",
        "2025-1-01",
        "2025-01-1",
        "25-01-01",
        "20250-01-01",
        "2025/01/01",
        "20250101",
        "2025-0101",
        "abcd-01-01",
        "2025-ab-01",
        "2025-01-0x",
        "2025-13-01",
        "2025-00-10",
        "2025-01-00",
        "2025-01-32",
        "2025-02-30",
        "2025-04-31",
        "2025-01",
        "2025",
        "2025-01-01T",
        "2025-01-01t00:00",
        "2025-01-01_00:00",
        "2025-01-01T1:00",
        "2025-01-01T01:0",
        "2025-01-01T0100",
        "2025-01-01T01",
        "2025-01-01T01:",
        "2025-01-01T-1:00",
        "2025-01-01T+1:00",
        "2025-01-01T00:-1",
        "2025-01-01T00:00:",
        "2025-01-01T00:00:0",
        "2025-01-01T00:00:+1",
        "2025-01-01T00:00:00 ",
        "2025-01-01 00:00:00 ",
        "2025-01-01  00:00",
        "2025-01-01T 00:00",
        "2025-01-01T24:00",
        "2025-01-01T24:00:00Z",
        "2025-01-01T23:60",
        "2025-01-01T23:59:60",
        "2025-01-01T99:99",
        "2025-01-01T00:00:00.",
        "2025-01-01T00:00:00.Z",
        "2025-01-01T00:00:00.+01:00",
        "2025-01-01T00:00:00.1234567890",
        "2025-01-01T00:00:00.000000000000",
        "2025-01-01T00:00:00.-1",
        "2025-01-01T00:00:00.1.",
        "2025-01-01T00:00:00,5",
        "2025-01-01T00:00.5",
        "2025-01-01T00:00+2",
        "2025-01-01T00:00+02",
        "2025-01-01T00:00+02:0",
        "2025-01-01T00:00+020",
        "2025-01-01T00:00+02:",
        "2025-01-01T00:00+",
        "2025-01-01T00:00-",
        "2025-01-01T00:00+24:00",
        "2025-01-01T00:00-99:00",
        "2025-01-01T00:00+05:60",
        "2025-01-01T00:00+0560",
        "2025-01-01T00:00+01::00",
        "2025-01-01T00:00+:0100",
        "2025-01-01T00:00+01:00:00",
        "2025-01-01T00:00 +01:00",
        "2025-01-01T00:00+01:00Z",
        "2025-01-01T00:00Z+01:00",
        "2025-01-01T00:00UTC",
        "2025-01-01T00:00GMT",
        "2025-01-01T00:00 Z",
        "2025-01-01Z",
        "2025-01-01z",
        "2025-01-01+01:00",
        "2025-01-01-0100",
        "2025-01-01T00:00:00ZZ",
        "2025-01-01T00:00:00Zz",
        "2025-01-01T00:00:00+0100x",
        "2025-01-01T00:00:00z ",
        "2025-01-01T00:00:00\xc2\xa0",
        "\357\274\222025-01-01", /* fullwidth digit two */
        "T00:00",
        "00:00:00",
    };
    assert_true(sizeof bad / sizeof bad[0] >= 40);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect_reject_str(bad[i]);
}

static void test_parse_rejects_embedded_nul(void **state)
{
    (void)state;
    /* Lengths include the NUL, so the parser must see it as a bad character. */
    expect_reject("2025-01-01\0", 11);
    expect_reject("2025\0-01-01", 11);
    expect_reject("2025-01-01\0T00:00", 17);
    expect_reject("2025-01-01T00:00\0Z", 18);
    expect_reject("2025-01-01T00:00:00Z\0", 21);
    expect_reject("2025-01-01T00:00:00.5\0", 22);
    expect_reject("2025-01-01T00:00+01:00\0", 23);
}

static void test_parse_failure_leaves_out_untouched(void **state)
{
    (void)state;
    /* Failures late in the text, after every field was read, must not store. */
    const char *late[] = {"2025-01-01T00:00:00+0100x", "2025-01-01T00:00:00.1234567890",
                          "2262-04-12", "2025-02-29", "2025-01-01T00:00+05:60"};
    for (size_t i = 0; i < sizeof late / sizeof late[0]; i++) {
        int64_t out = 42;
        assert_int_equal(asp_time_parse(late[i], strlen(late[i]), &out), -1);
        assert_ns_equal(out, 42);
    }
    int64_t out = 42;
    assert_int_equal(asp_time_parse("", 0, &out), -1);
    assert_ns_equal(out, 42);
}

static void test_parse_never_reads_past_len(void **state)
{
    (void)state;
    const char *full = "2025-01-01T12:34:56.789+01:00";
    /* Each prefix is either a complete shorter form or rejected, never a read of the rest. */
    static const struct {
        size_t len;
        int ok;
        int64_t want;
    } prefixes[] = {
        {0, 0, 0},
        {4, 0, 0},
        {9, 0, 0},
        {10, 1, Y2025 * NS},
        {11, 0, 0},
        {15, 0, 0},
        {16, 1, (Y2025 + 45240) * NS},
        {17, 0, 0},
        {19, 1, (Y2025 + 45296) * NS},
        {20, 0, 0},
        {21, 1, (Y2025 + 45296) * NS + 700000000},
        {23, 1, (Y2025 + 45296) * NS + 789000000},
        {24, 0, 0},
        {26, 0, 0},
        {27, 0, 0},
        {28, 0, 0},
        {29, 1, (Y2025 + 45296 - 3600) * NS + 789000000},
    };
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        int64_t out = UNTOUCHED;
        int rc = parse_exact(full, prefixes[i].len, &out);
        if (prefixes[i].ok) {
            assert_int_equal(rc, 0);
            assert_ns_equal(out, prefixes[i].want);
        } else {
            assert_int_equal(rc, -1);
            assert_ns_equal(out, UNTOUCHED);
        }
    }
    /* The same holds with the caller's longer, terminated buffer. */
    int64_t out = UNTOUCHED;
    assert_int_equal(asp_time_parse("2025-01-01T00:00:00Zjunk", 20, &out), 0);
    assert_ns_equal(out, Y2025 * NS);
    assert_int_equal(asp_time_parse("2025-01-01T00:00:00.1234567890", 29, &out), 0);
    assert_ns_equal(out, Y2025 * NS + 123456789);
}

/* ---- formatting ---- */

static void test_format_known_instants(void **state)
{
    (void)state;
    expect_format(0, "1970-01-01T00:00:00.000000Z");
    expect_format(Y2025 * NS, "2025-01-01T00:00:00.000000Z");
    expect_format(INT64_C(1735689601500000000), "2025-01-01T00:00:01.500000Z");
    expect_format(INT64_C(1709164800) * NS + 45296 * NS + 789012000,
                  "2024-02-29T12:34:56.789012Z");
    expect_format(INT64_C(951782400) * NS, "2000-02-29T00:00:00.000000Z");
    expect_format(INT64_C(-2208988800) * NS, "1900-01-01T00:00:00.000000Z");
    expect_format((Y2025 - 1) * NS, "2024-12-31T23:59:59.000000Z");
}

static void test_format_truncates_sub_microseconds(void **state)
{
    (void)state;
    expect_format(1, "1970-01-01T00:00:00.000000Z");
    expect_format(999, "1970-01-01T00:00:00.000000Z");
    expect_format(1000, "1970-01-01T00:00:00.000001Z");
    expect_format(1999, "1970-01-01T00:00:00.000001Z");
    expect_format(NS - 1, "1970-01-01T00:00:00.999999Z");
}

static void test_format_negative_truncates_towards_past(void **state)
{
    (void)state;
    expect_format(-1, "1969-12-31T23:59:59.999999Z");
    expect_format(-999, "1969-12-31T23:59:59.999999Z");
    expect_format(-1000, "1969-12-31T23:59:59.999999Z");
    expect_format(-1001, "1969-12-31T23:59:59.999998Z");
    expect_format(-NS, "1969-12-31T23:59:59.000000Z");
    expect_format(-NS - 1, "1969-12-31T23:59:58.999999Z");
    expect_format(-86400 * NS, "1969-12-31T00:00:00.000000Z");
    expect_format(-86400 * NS - 1, "1969-12-30T23:59:59.999999Z");
    expect_format(INT64_C(-2208988800) * NS - 1, "1899-12-31T23:59:59.999999Z");
}

static void test_format_int64_extremes(void **state)
{
    (void)state;
    expect_format(INT64_MAX, "2262-04-11T23:47:16.854775Z");
    expect_format(INT64_MIN, "1677-09-21T00:12:43.145224Z");
    expect_format(INT64_MAX - 1, "2262-04-11T23:47:16.854775Z");
    expect_format(INT64_MIN + 1, "1677-09-21T00:12:43.145224Z");
    /* Flooring INT64_MIN to microseconds leaves the range, so its text does not parse back. */
    expect_reject_str("1677-09-21T00:12:43.145224Z");
    assert_ns_equal(parse_ok("1677-09-21T00:12:43.145225Z"), INT64_MIN + 808);
}

/* parse(format(x)) is x floored to the microsecond for every x whose floor fits. */
static void test_format_parse_round_trip(void **state)
{
    (void)state;
    int64_t fixed[] = {
        0, 1, -1, 999, 1000, 1001, -999, -1000, -1001, NS - 1, -NS + 1, -NS, NS,
        Y2025 * NS, Y2025 * NS + 123456789, -Y2025 * NS - 123456789,
        INT64_C(951782400) * NS - 1, INT64_C(-2208988800) * NS + 1,
        INT64_MAX, INT64_MAX - 999, INT64_MIN + 808, INT64_MIN + 1000,
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        char text[ASP_TIME_FORMAT_MAX];
        format_into(fixed[i], text);
        assert_ns_equal(parse_ok(text), floor_to_micros(fixed[i]));
    }
    /* A fixed xorshift sequence spreads values over the whole range and both signs. */
    uint64_t x = UINT64_C(0x9e3779b97f4a7c15);
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t v = (int64_t)(x >> 1) - (int64_t)(x & 1) * INT64_MAX;
        if (i % 2)
            v /= 1000 + (int64_t)(x % 1000000); /* also cover instants near the epoch */
        if (v < INT64_MIN + 808)
            continue;
        char text[ASP_TIME_FORMAT_MAX];
        format_into(v, text);
        assert_ns_equal(parse_ok(text), floor_to_micros(v));
    }
}

/* ---- seconds conversions ---- */

static void test_from_seconds_exact_values(void **state)
{
    (void)state;
    assert_ns_equal(asp_time_from_seconds(1735689601.5), INT64_C(1735689601500000000));
    assert_ns_equal(asp_time_from_seconds(-1735689601.5), INT64_C(-1735689601500000000));
    assert_ns_equal(asp_time_from_seconds(0.0), 0);
    assert_ns_equal(asp_time_from_seconds(-0.0), 0);
    assert_ns_equal(asp_time_from_seconds(1.0), NS);
    assert_ns_equal(asp_time_from_seconds(-1.0), -NS);
    assert_ns_equal(asp_time_from_seconds(1735689600.0), Y2025 * NS);
    assert_ns_equal(asp_time_from_seconds(0.25), 250000000);
    assert_ns_equal(asp_time_from_seconds(9223372036.0), INT64_C(9223372036000000000));
    assert_ns_equal(asp_time_from_seconds(-9223372036.0), INT64_C(-9223372036000000000));
}

static void test_from_seconds_rounds_to_nearest_ns(void **state)
{
    (void)state;
    assert_ns_equal(asp_time_from_seconds(0.1), 100000000);
    assert_ns_equal(asp_time_from_seconds(-0.1), -100000000);
    assert_ns_equal(asp_time_from_seconds(-0.5), -500000000);
    assert_ns_equal(asp_time_from_seconds(1e-9), 1);
    assert_ns_equal(asp_time_from_seconds(-1e-9), -1);
    assert_ns_equal(asp_time_from_seconds(0.4e-9), 0);
    assert_ns_equal(asp_time_from_seconds(-0.4e-9), 0);
    assert_ns_equal(asp_time_from_seconds(0.6e-9), 1);
    assert_ns_equal(asp_time_from_seconds(-0.6e-9), -1);
    assert_ns_equal(asp_time_from_seconds(2.6e-9), 3);
    assert_ns_equal(asp_time_from_seconds(1e-300), 0);
    assert_ns_equal(asp_time_from_seconds(-1e-300), 0);
    assert_ns_equal(asp_time_from_seconds(DBL_TRUE_MIN), 0);
    assert_ns_equal(asp_time_from_seconds(0.9999999999), NS);
    assert_ns_equal(asp_time_from_seconds(-0.9999999999), -NS);
    assert_ns_equal(asp_time_from_seconds(1.9999999996), 2 * NS);
    /* The double nearest 1735689601.123456 is 1735689601.123456001281738..., 238 ns granular. */
    assert_ns_equal(asp_time_from_seconds(1735689601.123456), INT64_C(1735689601123456001));
    assert_ns_equal(asp_time_from_seconds(-1735689601.123456), INT64_C(-1735689601123456001));
    /* The nearest double to 9223372036.854774 is 9223372036.854774475... */
    assert_ns_equal(asp_time_from_seconds(9223372036.854774), INT64_C(9223372036854774475));
}

static void test_from_seconds_saturates_and_handles_nan(void **state)
{
    (void)state;
    assert_ns_equal(asp_time_from_seconds(INFINITY), INT64_MAX);
    assert_ns_equal(asp_time_from_seconds(-INFINITY), INT64_MIN);
    assert_ns_equal(asp_time_from_seconds(NAN), 0);
    assert_ns_equal(asp_time_from_seconds(-NAN), 0);
    assert_ns_equal(asp_time_from_seconds(DBL_MAX), INT64_MAX);
    assert_ns_equal(asp_time_from_seconds(-DBL_MAX), INT64_MIN);
    assert_ns_equal(asp_time_from_seconds(1e19), INT64_MAX);
    assert_ns_equal(asp_time_from_seconds(-1e19), INT64_MIN);
    assert_ns_equal(asp_time_from_seconds(9.3e9), INT64_MAX);
    assert_ns_equal(asp_time_from_seconds(-9.3e9), INT64_MIN);
    assert_ns_equal(asp_time_from_seconds(9223372037.0), INT64_MAX);
    assert_ns_equal(asp_time_from_seconds(-9223372037.0), INT64_MIN);
    /* These doubles lie just beyond +-2^63 ns (their exact value is ...854776382 s). */
    assert_ns_equal(asp_time_from_seconds(9223372036.854775807), INT64_MAX);
    assert_ns_equal(asp_time_from_seconds(-9223372036.854775808), INT64_MIN);
    assert_ns_equal(asp_time_from_seconds(nextafter(9223372037.0, 0.0)), INT64_MAX);
    assert_ns_equal(asp_time_from_seconds(nextafter(-9223372037.0, 0.0)), INT64_MIN);
}

static void test_to_seconds_exact_values(void **state)
{
    (void)state;
    assert_true(asp_time_to_seconds(0) == 0.0);
    assert_true(asp_time_to_seconds(INT64_C(1735689601500000000)) == 1735689601.5);
    assert_true(asp_time_to_seconds(INT64_C(-1735689601500000000)) == -1735689601.5);
    assert_true(asp_time_to_seconds(1) == 1e-9);
    assert_true(asp_time_to_seconds(-1) == -1e-9);
    assert_true(asp_time_to_seconds(-NS / 2) == -0.5);
    assert_true(asp_time_to_seconds(100000000) == 0.1);
    assert_true(asp_time_to_seconds(Y2025 * NS) == 1735689600.0);
    assert_true(asp_time_to_seconds(INT64_MAX) == 9223372036.854775807);
    assert_true(asp_time_to_seconds(INT64_MIN) == -9223372036.854775808);
}

/* The result is within one unit in the last place of the exact quotient. */
static void test_to_seconds_precision(void **state)
{
    (void)state;
    uint64_t x = UINT64_C(0x2545f4914f6cdd1d);
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int64_t ns = (int64_t)(x >> (1 + i % 40));
        if (i & 1)
            ns = -ns;
        double got = asp_time_to_seconds(ns);
        /* Whole and fraction are summed exactly in long double (64-bit mantissa or more). */
        long double exact = (long double)(ns / NS) + (long double)(ns % NS) / 1e9L;
        long double ulp = (long double)nextafter(fabs(got), INFINITY) - fabsl((long double)got);
        if (fabsl((long double)got - exact) > ulp) {
            print_error("to_seconds(%" PRId64 ") = %.17g, off by more than an ulp\n", ns, got);
            fail();
        }
    }
}

static void test_seconds_round_trip(void **state)
{
    (void)state;
    /* Below 2^20 s a double resolves far under 1 ns, so the round trip is exact. */
    int64_t small[] = {0, 1, -1, 123456789, -987654321, INT64_C(1048575999999999),
                       INT64_C(-1048575999999999), 86400 * NS + 7};
    for (size_t i = 0; i < sizeof small / sizeof small[0]; i++)
        assert_ns_equal(asp_time_from_seconds(asp_time_to_seconds(small[i])), small[i]);
    /* At today's epoch magnitude a double is 238 ns granular. */
    int64_t now_ish = Y2025 * NS + 123456789;
    int64_t back = asp_time_from_seconds(asp_time_to_seconds(now_ish));
    assert_true(llabs(back - now_ish) <= 240);
    back = asp_time_from_seconds(asp_time_to_seconds(-now_ish));
    assert_true(llabs(back + now_ish) <= 240);
}

/* ---- wall clock ---- */

static void test_wall_clock_is_after_2020(void **state)
{
    (void)state;
    int64_t y2020 = parse_ok("2020-01-01");
    assert_true(asp_time_wall() > y2020);
    /* Two readings are not ordered (the clock can step), but both must be sane. */
    assert_true(asp_time_wall() > y2020);
}

/* The checked forms (issue #11): NaN, infinities and results outside int64
 * ns are errors, never saturated or wrapped. */
static void test_checked_arithmetic(void **state)
{
    (void)state;
    int64_t out = 42;
    double d = 0;
    assert_int_equal(asp_time_seconds_ns(NAN, &out), -1);
    assert_int_equal(asp_time_seconds_ns(INFINITY, &out), -2);
    assert_int_equal(asp_time_seconds_ns(-INFINITY, &out), -2);
    assert_int_equal(asp_time_seconds_ns(1e300, &out), -3);
    assert_int_equal(asp_time_seconds_ns(9223372037.0, &out), -3);
    assert_ns_equal(out, 42);
    assert_int_equal(asp_time_seconds_ns(9223372036.0, &out), 0);
    assert_ns_equal(out, INT64_C(9223372036000000000));
    assert_int_equal(asp_time_add_checked(0, NAN, &out), -1);
    assert_int_equal(asp_time_add_checked(0, -INFINITY, &out), -2);
    assert_int_equal(asp_time_add_checked(INT64_MAX - 5, 1e-8, &out), -3);
    assert_int_equal(asp_time_add_checked(INT64_MIN + 5, -1e-8, &out), -3);
    assert_int_equal(asp_time_add_checked(INT64_MAX - 5, 5e-9, &out), 0);
    assert_ns_equal(out, INT64_MAX);
    assert_int_equal(asp_time_diff(INT64_MAX, INT64_MIN, &d), -3);
    assert_int_equal(asp_time_diff(INT64_MIN, 1, &d), -3);
    assert_int_equal(asp_time_diff(INT64_MAX, 0, &d), 0);
    assert_true(d > 9223372036.0 && d < 9223372037.0);
    assert_int_equal(asp_time_diff(0, 1500000000, &d), 0);
    assert_true(d == -1.5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_bare_date_is_midnight_utc),
        cmocka_unit_test(test_parse_hours_minutes),
        cmocka_unit_test(test_parse_seconds),
        cmocka_unit_test(test_parse_fraction_1_to_9_digits),
        cmocka_unit_test(test_parse_space_separator_equals_T),
        cmocka_unit_test(test_parse_z_suffix_upper_and_lower),
        cmocka_unit_test(test_parse_positive_offsets_subtract),
        cmocka_unit_test(test_parse_negative_offsets_add),
        cmocka_unit_test(test_parse_zero_offsets_equal_utc),
        cmocka_unit_test(test_parse_offset_crosses_day_and_year),
        cmocka_unit_test(test_parse_leap_years),
        cmocka_unit_test(test_parse_month_lengths),
        cmocka_unit_test(test_parse_and_format_every_day_1678_to_2261),
        cmocka_unit_test(test_parse_epoch_is_zero),
        cmocka_unit_test(test_parse_negative_times_before_1970),
        cmocka_unit_test(test_parse_int64_range_limits),
        cmocka_unit_test(test_parse_rejects_instants_outside_int64),
        cmocka_unit_test(test_parse_rejects_malformed_text),
        cmocka_unit_test(test_parse_rejects_embedded_nul),
        cmocka_unit_test(test_parse_failure_leaves_out_untouched),
        cmocka_unit_test(test_parse_never_reads_past_len),
        cmocka_unit_test(test_format_known_instants),
        cmocka_unit_test(test_format_truncates_sub_microseconds),
        cmocka_unit_test(test_format_negative_truncates_towards_past),
        cmocka_unit_test(test_format_int64_extremes),
        cmocka_unit_test(test_format_parse_round_trip),
        cmocka_unit_test(test_from_seconds_exact_values),
        cmocka_unit_test(test_from_seconds_rounds_to_nearest_ns),
        cmocka_unit_test(test_from_seconds_saturates_and_handles_nan),
        cmocka_unit_test(test_to_seconds_exact_values),
        cmocka_unit_test(test_to_seconds_precision),
        cmocka_unit_test(test_seconds_round_trip),
        cmocka_unit_test(test_wall_clock_is_after_2020),
        cmocka_unit_test(test_checked_arithmetic),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
