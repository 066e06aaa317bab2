/*
 * Unit tests for the fast paths of a file's rows: the whole-line parser
 * pass (16 bytes at a time), the conversions of a record's fields that read
 * 8 bytes at a time (asp_csv_number, asp_csv_time), and the plan that
 * converts a record in C (engine/sources/csv_plan.c). Each fast path must
 * give exactly what the general path gives: they are compared on many
 * generated inputs, bit for bit.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sources/csv.h"
#include "sources/csv_plan.h"

static uint64_t rng = 88172645463325252ull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* s (len bytes) in a buffer as a record has it: a NUL after it, then
 * padding, here filled with digits (which must not be read as the field's). */
static char *padded(const char *s, size_t len)
{
    static char buf[128];
    memset(buf, '7', sizeof buf);
    memcpy(buf, s, len);
    buf[len] = '\0';
    return buf;
}

static void same_number(const char *s, size_t len)
{
    double a = 0, b = 0;
    int ra, rb;
    char copy[64];
    memcpy(copy, s, len);
    copy[len] = '\0';
    rb = asp_parse_number(copy, len, &b);
    ra = asp_csv_number(padded(s, len), len, &a);
    if (ra != rb || (ra && memcmp(&a, &b, sizeof a) != 0))
        fail_msg("'%s': asp_csv_number %d %.17g, asp_parse_number %d %.17g", copy, ra, a, rb, b);
}

/* asp_csv_number gives asp_parse_number's result on plain decimals of every
 * length (the 8-digit reads cover up to 7 + 7 digits, the rest falls back),
 * on spellings that are no plain decimals, and on random bytes. */
static void test_number_agrees(void **state)
{
    static const char *cases[] = {
        "", "-", "+", ".", "-.", "+.", "5.", ".5", "+.5", "-.5", "-0", "+0", "0.0", "-0.000",
        "1e5", "1E-3", " 5", "5 ", "inf", "-inf", "nan", "0x10", "1234567.1234567",
        "12345678.5", "1.12345678", "00000001.5", "9999999.9999999", "1..2", "1.2.3", "--1",
        "+-1", "12345678", "1234567", "0.1234567", "0.12345678", "9007199254740993", "1,5",
        "4.9e-324", "1.7976931348623157e308", "123456789012345678901234567890",
    };
    char s[32];
    (void)state;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
        same_number(cases[k], strlen(cases[k]));
    /* Plain decimals: 1..18 digits, the point anywhere (or none), a sign. */
    for (int k = 0; k < 300000; k++) {
        uint64_t x = next_rand();
        int ndig = 1 + (int)(x % 18), point = (int)((x >> 8) % (unsigned)(ndig + 2)) - 1;
        size_t n = 0;
        if ((x >> 40) & 1)
            s[n++] = (x >> 41) & 1 ? '-' : '+';
        for (int j = 0; j < ndig; j++) {
            if (j == point)
                s[n++] = '.';
            s[n++] = (char)('0' + next_rand() % 10);
        }
        if (point == ndig)
            s[n++] = '.';
        same_number(s, n);
    }
    /* Random short strings of the characters a number is made of, and others. */
    for (int k = 0; k < 300000; k++) {
        static const char alphabet[] = "0123456789012345678901234567.-+e ax";
        size_t n = next_rand() % 12;
        for (size_t j = 0; j < n; j++)
            s[j] = alphabet[next_rand() % (sizeof alphabet - 1)];
        same_number(s, n);
    }
}

static void same_time(const char *s, int64_t unit)
{
    int64_t a = -1, b = -1;
    size_t len = strlen(s);
    int ra = asp_csv_time(padded(s, len), len, unit, &a);
    int rb = asp_parse_time(s, len, unit, &b);
    if (ra != rb || (ra && a != b))
        fail_msg("'%s' (unit %lld): asp_csv_time %d %lld, asp_parse_time %d %lld", s, (long long)unit, ra,
                 (long long)a, rb, (long long)b);
}

/* asp_csv_time gives asp_parse_time's result, with the second's prefix
 * cached or not: fractions of 0 to 10 digits, with and without Z, and times
 * that differ from the cached one in any byte of the prefix. */
static void test_time_agrees(void **state)
{
    static const char *suffixes[] = { "", "Z", "z", "ZZ", " ", "+01:00", "x" };
    static const int64_t units[] = { 0, -1, 1000000000 };
    char s[64];
    (void)state;
    for (int k = 0; k < 100000; k++) {
        uint64_t x = next_rand();
        int nfrac = (int)(x % 11), n;
        /* Mostly the same second (the cache's case), sometimes another. */
        n = snprintf(s, sizeof s, "2024-01-02%c09:3%d:0%d", (x >> 12) % 16 == 0 ? ' ' : 'T',
                     (int)((x >> 8) % 4 == 0), (int)((x >> 10) % 2));
        if (nfrac > 0 || (x >> 14) % 8 == 0) {
            s[n++] = '.';
            for (int j = 0; j < nfrac; j++)
                s[n++] = (char)('0' + next_rand() % 10);
        }
        s[n] = '\0';
        strcat(s, suffixes[(x >> 16) % (sizeof suffixes / sizeof suffixes[0])]);
        same_time(s, units[(x >> 20) % 3]);
    }
    same_time("1969-12-31T23:59:59.5Z", 0);
    same_time("1969-12-31T23:59:59.5Z", 0);
    same_time("2024-01-02T09:30:00.1234567Z", 0);
    same_time("2024-01-02T09:30:00.1234567Z", 0);
    same_time("2024-01-02T09:30:00.12345678Z", 0);
    same_time("1700000000.5", -1);
}

/* A parser of ',' records. */
static asp_csv *parser_of(void)
{
    asp_csv *p = asp_csv_new(',');
    assert_non_null(p);
    return p;
}

static const asp_csv_row *record(asp_csv *p, const char *line)
{
    size_t used = 0;
    assert_int_equal(asp_csv_feed(p, line, strlen(line), &used), ASP_CSV_RECORD);
    return asp_csv_record(p);
}

/* The plan's values: auto columns as numbers or strings (a letter first is
 * a string without a try), number columns (a bad one: not converted), string
 * columns ("" when empty), the time, and the wrong field count. */
static void test_plan_values(void **state)
{
    asp_csv *p = parser_of();
    asp_csv_plan *plan = asp_csv_plan_new(5, 0, 0, 4);
    asp_csv_value *v;
    (void)state;
    assert_non_null(plan);
    asp_csv_plan_column(plan, 0, 1, ASP_PLAN_AUTO);
    asp_csv_plan_column(plan, 1, 2, ASP_PLAN_NUMBER);
    asp_csv_plan_column(plan, 2, 3, ASP_PLAN_STRING);
    asp_csv_plan_column(plan, 3, 4, ASP_PLAN_LUA);
    v = asp_csv_plan_values(plan);

    assert_true(asp_csv_plan_convert(plan, record(p, "2024-01-02T09:30:00.25Z,1.5,-2,abc,x\n")));
    assert_int_equal(*asp_csv_plan_time(plan), INT64_C(1704187800250000000));
    assert_int_equal(v[0].kind, ASP_VALUE_NUMBER);
    assert_true(v[0].num == 1.5);
    assert_int_equal(v[1].kind, ASP_VALUE_NUMBER);
    assert_true(v[1].num == -2);
    assert_int_equal(v[2].kind, ASP_VALUE_STRING);
    assert_int_equal(v[2].sid, 1);

    assert_true(asp_csv_plan_convert(plan, record(p, "2024-01-02T09:30:00Z,inf,,,x\n")));
    assert_int_equal(v[0].kind, ASP_VALUE_STRING);
    assert_int_equal(v[0].sid, 1);
    assert_int_equal(v[1].kind, ASP_VALUE_NIL);
    assert_int_equal(v[2].kind, ASP_VALUE_STRING);
    assert_int_equal(v[2].sid, 2); /* "" */

    assert_true(asp_csv_plan_convert(plan, record(p, "2024-01-02T09:30:00Z,,1e3,abc,x\n")));
    assert_int_equal(v[0].kind, ASP_VALUE_NIL);
    assert_true(v[1].num == 1000);
    assert_int_equal(v[2].sid, 1);

    /* Starts with a digit but is no number: a string. */
    assert_true(asp_csv_plan_convert(plan, record(p, "2024-01-02T09:30:00Z,1x,1,abc,x\n")));
    assert_int_equal(v[0].kind, ASP_VALUE_STRING);
    assert_int_equal(v[0].sid, 2);

    assert_false(asp_csv_plan_convert(plan, record(p, "2024-01-02T09:30:00Z,1,abc,abc,x\n")));
    assert_false(asp_csv_plan_convert(plan, record(p, "noon,1,1,abc,x\n")));
    assert_false(asp_csv_plan_convert(plan, record(p, "2024-01-02T09:30:00Z,1,1,abc\n")));
    assert_false(asp_csv_plan_convert(plan, record(p, "2024-01-02T09:30:00Z,1,1,abc,x,y\n")));
    asp_csv_plan_free(plan);
    asp_csv_free(p);
}

/* Columns of every type in no order of type (the plan runs them grouped
 * by type): each value lands at its own column's index, and a column set
 * again takes its new type. */
static void test_plan_mixed_order(void **state)
{
    asp_csv *p = parser_of();
    asp_csv_plan *plan = asp_csv_plan_new(6, 2, 0, 5);
    asp_csv_value *v;
    (void)state;
    assert_non_null(plan);
    asp_csv_plan_column(plan, 0, 5, ASP_PLAN_STRING);
    asp_csv_plan_column(plan, 1, 4, ASP_PLAN_NUMBER);
    asp_csv_plan_column(plan, 2, 0, ASP_PLAN_AUTO);
    asp_csv_plan_column(plan, 3, 1, ASP_PLAN_LUA);
    asp_csv_plan_column(plan, 4, 3, ASP_PLAN_STRING); /* set again below */
    asp_csv_plan_column(plan, 4, 3, ASP_PLAN_AUTO);
    v = asp_csv_plan_values(plan);
    v[3].kind = 99; /* a Lua column: left alone */

    assert_true(asp_csv_plan_convert(plan, record(p, "7.25,x,2024-01-02T09:30:00Z,-3,12,sym\n")));
    assert_int_equal(v[0].kind, ASP_VALUE_STRING);
    assert_int_equal(v[0].sid, 1);
    assert_int_equal(v[1].kind, ASP_VALUE_NUMBER);
    assert_true(v[1].num == 12);
    assert_int_equal(v[2].kind, ASP_VALUE_NUMBER);
    assert_true(v[2].num == 7.25);
    assert_int_equal(v[3].kind, 99);
    assert_int_equal(v[4].kind, ASP_VALUE_NUMBER);
    assert_true(v[4].num == -3);

    assert_true(asp_csv_plan_convert(plan, record(p, "abc,x,2024-01-02T09:30:00Z,,,other\n")));
    assert_int_equal(v[0].sid, 2);
    assert_int_equal(v[1].kind, ASP_VALUE_NIL);
    assert_int_equal(v[2].kind, ASP_VALUE_STRING);
    assert_int_equal(v[2].sid, 1);
    assert_int_equal(v[4].kind, ASP_VALUE_NIL);
    /* The number column's bad field: not converted. */
    assert_false(asp_csv_plan_convert(plan, record(p, "1,x,2024-01-02T09:30:00Z,1,abc,sym\n")));
    asp_csv_plan_free(plan);
    asp_csv_free(p);
}

/* Ids: one per distinct string of a column, in the order first seen, up to
 * 255; the strings after that and those longer than 16 bytes have none (0). */
static void test_plan_string_ids(void **state)
{
    asp_csv *p = parser_of();
    asp_csv_plan *plan = asp_csv_plan_new(2, 0, 1, 1);
    asp_csv_value *v;
    char line[128];
    (void)state;
    asp_csv_plan_column(plan, 0, 1, ASP_PLAN_STRING);
    v = asp_csv_plan_values(plan);
    for (int round = 0; round < 2; round++) {
        for (int k = 0; k < 300; k++) {
            snprintf(line, sizeof line, "%d,s%d\n", k, k * 7919);
            assert_true(asp_csv_plan_convert(plan, record(p, line)));
            assert_int_equal(v[0].sid, k < 255 ? k + 1 : 0);
        }
    }
    /* Words that differ only past the 8th byte, or in length. */
    plan = (asp_csv_plan_free(plan), asp_csv_plan_new(2, 0, 1, 1));
    asp_csv_plan_column(plan, 0, 1, ASP_PLAN_STRING);
    v = asp_csv_plan_values(plan);
    static const char *words[] = { "abcdefgh", "abcdefghi", "abcdefghj", "abcdefgh0123456", "abcdefgh01234567",
                                   "abcdefgh012345678", "abcdefg", "" };
    static const int ids[] = { 1, 2, 3, 4, 5, 0, 6, 7 };
    for (int round = 0; round < 2; round++) {
        for (size_t k = 0; k < sizeof words / sizeof words[0]; k++) {
            snprintf(line, sizeof line, "1,%s\n", words[k]);
            assert_true(asp_csv_plan_convert(plan, record(p, line)));
            assert_int_equal(v[0].kind, ASP_VALUE_STRING);
            if (v[0].sid != ids[k])
                fail_msg("'%s': id %d, expected %d", words[k], v[0].sid, ids[k]);
        }
    }
    asp_csv_plan_free(plan);
    asp_csv_free(p);
}

/* Records with their lines and columns, fed in chunks of `chunk` bytes. */
static void records_of(const char *text, size_t n, size_t chunk, char *out, size_t outlen)
{
    asp_csv *p = asp_csv_new(',');
    size_t off = 0, w = 0;
    out[0] = '\0';
    for (;;) {
        size_t len = n - off < chunk ? n - off : chunk, used = 0;
        int rc;
        if (len == 0) {
            rc = asp_csv_finish(p);
        } else {
            char *piece = malloc(len); /* exactly sized: ASan sees overreads */
            memcpy(piece, text + off, len);
            rc = asp_csv_feed(p, piece, len, &used);
            free(piece);
            off += used;
        }
        if (rc == ASP_CSV_ERROR) {
            snprintf(out + w, outlen - w, "ERROR %s", asp_csv_error(p));
            break;
        }
        if (rc == ASP_CSV_RECORD) {
            const asp_csv_row *r = asp_csv_record(p);
            w += (size_t)snprintf(out + w, outlen - w, "L%lld", (long long)r->line);
            for (int i = 0; i < r->nfields; i++) {
                assert_int_equal(r->data[r->stop[i]], '\0');
                w += (size_t)snprintf(out + w, outlen - w, " c%u=%.*s", (unsigned)r->col[i],
                                      (int)(r->stop[i] - r->start[i]), r->data + r->start[i]);
            }
            w += (size_t)snprintf(out + w, outlen - w, ";");
            continue;
        }
        if (len == 0)
            break;
    }
    asp_csv_free(p);
}

/* The whole-line pass (16 bytes at a time, the tail of a chunk byte by
 * byte) agrees with the byte-at-a-time parser on random text of fields,
 * delimiters, quotes and every kind of line end, whatever the chunk size. */
static void test_fast_path_random(void **state)
{
    static const char alphabet[] = "ab1,,,,\"\r\n\n";
    static char text[400], whole[8192], bytes[8192], pieces[8192];
    (void)state;
    for (int k = 0; k < 20000; k++) {
        size_t n = next_rand() % sizeof text;
        int quotes = next_rand() % 4 == 0;
        for (size_t j = 0; j < n; j++) {
            char c = alphabet[next_rand() % (sizeof alphabet - 1)];
            if (c == '"' && !quotes)
                c = 'q';
            text[j] = c;
        }
        records_of(text, n, 1 << 20, whole, sizeof whole);
        records_of(text, n, 1, bytes, sizeof bytes);
        records_of(text, n, 1 + next_rand() % 40, pieces, sizeof pieces);
        if (strcmp(whole, bytes) != 0 || strcmp(whole, pieces) != 0)
            fail_msg("input %.*s\n whole: %s\n bytes: %s\n pieces: %s", (int)n, text, whole, bytes, pieces);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number_agrees),
        cmocka_unit_test(test_time_agrees),
        cmocka_unit_test(test_plan_values),
        cmocka_unit_test(test_plan_mixed_order),
        cmocka_unit_test(test_plan_string_ids),
        cmocka_unit_test(test_fast_path_random),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
