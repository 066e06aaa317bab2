/*
 * Unit tests for engine/sources/csv.c (the push parser and the field
 * conversions) and engine/sources/json.c (JSON lines into tokens).
 *
 * Every input is fed whole, and again one byte at a time, so that records,
 * quotes and CRLF split across chunk edges are covered; the two must agree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sources/csv.h"
#include "sources/json.h"
#include "time.h"

/* Parses text in chunks of `chunk` bytes; writes records as "f1|f2;..." into out.
 * Returns the last status (ASP_CSV_ERROR on an error). */
static int parse_all(const char *text, size_t chunk, char *out, size_t outlen, asp_csv **keep)
{
    asp_csv *p = asp_csv_new(',');
    size_t n = strlen(text), off = 0, w = 0;
    int rc = ASP_CSV_MORE;
    assert_non_null(p);
    out[0] = '\0';
    for (;;) {
        size_t len = n - off < chunk ? n - off : chunk, used = 0;
        if (len == 0) {
            rc = asp_csv_finish(p);
        } else {
            char *piece = malloc(len); /* exactly sized: ASan sees overreads */
            memcpy(piece, text + off, len);
            rc = asp_csv_feed(p, piece, len, &used);
            free(piece);
            off += used;
        }
        if (rc == ASP_CSV_ERROR)
            break;
        if (rc == ASP_CSV_RECORD) {
            const asp_csv_row *r = asp_csv_record(p);
            for (int i = 0; i < r->nfields; i++) {
                assert_int_equal(r->data[r->stop[i]], '\0');
                w += (size_t)snprintf(out + w, outlen - w, "%s%.*s", i ? "|" : "",
                                      (int)(r->stop[i] - r->start[i]), r->data + r->start[i]);
            }
            w += (size_t)snprintf(out + w, outlen - w, ";");
            continue;
        }
        if (len == 0)
            break;
    }
    if (keep)
        *keep = p;
    else
        asp_csv_free(p);
    return rc;
}

static void parse_detail(const char *text, size_t chunk, char *out, size_t outlen);

static void check(const char *text, const char *want)
{
    char whole[4096], bytes[4096];
    assert_int_not_equal(parse_all(text, 1 << 20, whole, sizeof whole, NULL), ASP_CSV_ERROR);
    assert_int_not_equal(parse_all(text, 1, bytes, sizeof bytes, NULL), ASP_CSV_ERROR);
    assert_string_equal(whole, want);
    assert_string_equal(bytes, want);
}

static void test_plain_records(void **state)
{
    (void)state;
    check("a,b,c\n1,2,3\n", "a|b|c;1|2|3;");
    check("a,b\n1,2", "a|b;1|2;");                 /* no final newline */
    check("a,,c\n,\n", "a||c;|;");                 /* empty fields */
    check("\n\na\n\n", "a;");                      /* empty lines are no records */
}

static void test_quotes(void **state)
{
    (void)state;
    check("\"a,b\",c\n", "a,b|c;");
    check("\"x\"\"y\"\n", "x\"y;");
    check("\"multi\nline\",2\n", "multi\nline|2;");
    check("\"\"\n", ";");                          /* a quoted empty field is a record */
    check("ab\"c,d\n", "ab\"c|d;");                /* a quote inside an unquoted field is a character */
}

static void test_crlf(void **state)
{
    (void)state;
    check("a,b\r\n1,2\r\n", "a|b;1|2;");
    check("\"q\"\r\n", "q;");
    check("a\rb,c\n", "a;b|c;");                  /* a lone CR ends a line too (issue #11) */
}

/* Issue #11: CR-only line ends gave 0 rows. LF, CRLF and a lone CR each end
 * a line, mixed in one file too, also split across chunks (check() feeds
 * one byte at a time as well); a CR inside quotes is data. */
static void test_cr_line_ends(void **state)
{
    (void)state;
    check("a,b\r1,2\r3,4\r", "a|b;1|2;3|4;");
    check("a,b\r1,2", "a|b;1|2;");
    check("a\r\r\rb\r", "a;b;");                     /* empty lines are no records */
    check("a\rb\nc\r\nd\n\re", "a;b;c;d;e;");
    check("\"q\"\rx\r", "q;x;");
    check("\"a\rb\",c\r\"d\r\n\",e\r", "a\rb|c;d\r\n|e;");
    {
        /* Lines are counted the same whatever the line ends. */
        static char a[512], b[512], c[512];
        parse_detail("h,x\n\"m\nl\",2\nlast,3\n", 1 << 20, a, sizeof a);
        parse_detail("h,x\r\"m\rl\",2\rlast,3\r", 1, b, sizeof b);
        parse_detail("h,x\r\n\"m\r\nl\",2\r\nlast,3\r\n", 1, c, sizeof c);
        assert_string_equal(a, "L1 c1=h c3=x;L2 c1=m\nl c4=2;L4 c1=last c6=3;");
        assert_string_equal(b, "L1 c1=h c3=x;L2 c1=m\rl c4=2;L4 c1=last c6=3;");
        assert_string_equal(c, "L1 c1=h c3=x;L2 c1=m\r\nl c4=2;L4 c1=last c6=3;");
        parse_detail("h,x\r1,2\r", 1 << 20, a, sizeof a);
        assert_string_equal(a, "L1 c1=h c3=x;L2 c1=1 c3=2;");
    }
}

/* Issue #11: a UTF-8 BOM stayed in the first column's name. It is dropped
 * at the very start only, also when split across feeds; a partial BOM is
 * data. */
static void test_bom(void **state)
{
    static char a[512];
    (void)state;
    check("\xEF\xBB\xBFtime,v\n1,2\n", "time|v;1|2;");
    check("\xEF\xBB\xBF\"time\",v\r1,2\r", "time|v;1|2;");
    check("\xEF\xBBx,v\n", "\xEF\xBBx|v;");
    check("\xEF\xBB", "\xEF\xBB;");
    check("\xEF\xBB\xBF", "");
    check("a\n\xEF\xBB\xBF\n", "a;\xEF\xBB\xBF;");
    parse_detail("\xEF\xBB\xBFtime,v\n", 1, a, sizeof a);
    assert_string_equal(a, "L1 c1=time c6=v;");
}

static void test_line_and_column(void **state)
{
    asp_csv *p;
    char out[256];
    const asp_csv_row *r;
    (void)state;
    assert_int_equal(parse_all("h1,h2\n\"a\nb\",x\nlast,yy\n", 1 << 20, out, sizeof out, &p), ASP_CSV_MORE);
    asp_csv_free(p);
    /* Stop at the third record and look at its positions. */
    p = asp_csv_new(',');
    {
        const char *t = "h1,h2\n\"a\nb\",x\nlast,yy\n";
        size_t off = 0, used;
        for (int k = 0; k < 3; k++) {
            assert_int_equal(asp_csv_feed(p, t + off, strlen(t) - off, &used), ASP_CSV_RECORD);
            off += used;
        }
    }
    r = asp_csv_record(p);
    assert_int_equal(r->line, 4);
    assert_int_equal(r->col[0], 1);
    assert_int_equal(r->col[1], 6);
    asp_csv_free(p);
}

static void test_errors(void **state)
{
    asp_csv *p;
    char out[256];
    (void)state;
    assert_int_equal(parse_all("a\n\"open,\nx\n", 1, out, sizeof out, &p), ASP_CSV_ERROR);
    assert_non_null(strstr(asp_csv_error(p), "line 2, column 1: unterminated quoted field \"open,\\nx\\n"));
    asp_csv_free(p);
    assert_int_equal(parse_all("a\n\"q\"x\n", 3, out, sizeof out, &p), ASP_CSV_ERROR);
    assert_non_null(strstr(asp_csv_error(p), "line 2, column 4: unexpected 'x' after the closing quote"));
    asp_csv_free(p);
}

/* Issue #11: the limit's message said "an unterminated quote at line 0,
 * column 0?" with no quote at all. */
static void test_record_limit_without_quote(void **state)
{
    asp_csv *p = asp_csv_new(',');
    char *big = malloc(1 << 20);
    size_t used;
    int rc = ASP_CSV_MORE;
    (void)state;
    memset(big, 'x', 1 << 20);
    memcpy(big, "a,b\n1,", 6);
    for (int i = 0; i < 40 && rc != ASP_CSV_ERROR; i++) {
        size_t off = 0;
        rc = ASP_CSV_MORE;
        while (rc != ASP_CSV_ERROR && off < (1u << 20)) {
            rc = asp_csv_feed(p, big + off, (1u << 20) - off, &used);
            off += used;
        }
        memset(big, 'x', 6);
    }
    assert_int_equal(rc, ASP_CSV_ERROR);
    assert_string_equal(asp_csv_error(p), "line 2: record longer than 16777216 bytes, the limit of a CSV record "
                                          "(no quote in it; 2 fields so far, the last from column 3; "
                                          "lines end with LF, CRLF or CR)");
    free(big);
    asp_csv_free(p);
}

static void test_record_limit(void **state)
{
    asp_csv *p = asp_csv_new(',');
    char *big = malloc(1 << 20);
    size_t used;
    int rc = ASP_CSV_MORE;
    (void)state;
    memset(big, 'x', 1 << 20);
    big[0] = '"';
    for (int i = 0; i < 40 && rc == ASP_CSV_MORE; i++)
        rc = asp_csv_feed(p, big + (i ? 1 : 0), (1 << 20) - (i ? 1 : 0), &used);
    assert_int_equal(rc, ASP_CSV_ERROR);
    assert_non_null(strstr(asp_csv_error(p), "record longer than"));
    assert_non_null(strstr(asp_csv_error(p), "field 1 is inside the quote opened at line 1, column 1"));
    free(big);
    asp_csv_free(p);
}

/* The fast path for plain decimals gives exactly strtod's double: checked
 * on many decimals of every length, including those past its limits (more
 * than 2^53, more than 19 digits), which go to strtod. */
static void test_numbers_match_strtod(void **state)
{
    char buf[64];
    uint64_t x = 88172645463325252ull;
    (void)state;
    for (int k = 0; k < 200000; k++) {
        double a, b;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int ndig = 1 + (int)(x % 21);
        int point = (int)((x >> 8) % (unsigned)(ndig + 2)) - 1; /* -1: none */
        size_t n = 0;
        uint64_t y = x >> 16;
        if ((x >> 40) & 1)
            buf[n++] = '-';
        for (int j = 0; j < ndig; j++) {
            if (j == point)
                buf[n++] = '.';
            buf[n++] = (char)('0' + (y % 10));
            y = y / 10 ? y / 10 : x + (uint64_t)j * 2654435761u;
        }
        if (point == ndig)
            buf[n++] = '.';
        buf[n] = '\0';
        assert_true(asp_parse_number(buf, n, &a));
        b = strtod(buf, NULL);
        if (memcmp(&a, &b, sizeof a) != 0)
            fail_msg("%s: %.17g, strtod %.17g", buf, a, b);
    }
}

/* Records with their line and each field's column, fed in chunks of `chunk`. */
static void parse_detail(const char *text, size_t chunk, char *out, size_t outlen)
{
    asp_csv *p = asp_csv_new(',');
    size_t n = strlen(text), off = 0, w = 0;
    assert_non_null(p);
    out[0] = '\0';
    for (;;) {
        size_t len = n - off < chunk ? n - off : chunk, used = 0;
        int rc;
        if (len == 0) {
            rc = asp_csv_finish(p);
        } else {
            char *piece = malloc(len);
            memcpy(piece, text + off, len);
            rc = asp_csv_feed(p, piece, len, &used);
            free(piece);
            off += used;
        }
        if (rc == ASP_CSV_ERROR) {
            w += (size_t)snprintf(out + w, outlen - w, "ERROR %s", asp_csv_error(p));
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

/* The whole-line fast path (a record and its newline in one chunk, no quote)
 * and the byte-at-a-time path agree on fields, lines and columns. */
static void test_fast_path_agrees(void **state)
{
    static const char *inputs[] = {
        "a,b,c\n1,2,3\n",
        "a,b\r\n1,\r\n,\r\n\r\n\n4,5\n",
        "x,ab\"c,d\n\"q,1\",2,3\n4,5,6\n",
        "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33,34\n"
        "a,b\n",
        "h\n\"multi\nline\"\nlast\nno newline",
        "\n\n,\n,,\n",
    };
    static char whole[4096], bytes[4096];
    (void)state;
    for (size_t k = 0; k < sizeof inputs / sizeof inputs[0]; k++) {
        parse_detail(inputs[k], 1 << 20, whole, sizeof whole);
        parse_detail(inputs[k], 1, bytes, sizeof bytes);
        if (strcmp(whole, bytes) != 0)
            fail_msg("input %zu:\n whole: %s\n bytes: %s", k, whole, bytes);
    }
    parse_detail("a,b\r\n1,\r\n", 1 << 20, whole, sizeof whole);
    assert_string_equal(whole, "L1 c1=a c3=b;L2 c1=1 c3=;");
}

/* ISO-8601 times through asp_parse_time (which keeps the last second's
 * prefix) give what asp_time_parse gives, whatever the previous time was. */
static void test_iso_times_match(void **state)
{
    static const char *times[] = {
        "2024-01-02T09:30:00.000137Z", "2024-01-02T09:30:00.5", "2024-01-02T09:30:00",
        "2024-01-02T09:30:00Z", "2024-01-02T09:30:00.123456789z", "2024-01-02T09:30:01.000001Z",
        "2024-01-02 09:30:01.25", "2024-01-02T09:30:01.1234567891", "2024-01-02T09:30:01.",
        "2024-01-02T09:30:01+01:00", "2024-01-02T09:30:01.5-0130", "2024-13-02T09:30:01.5",
        "2024-01-02T09:30:60.5Z", "1969-12-31T23:59:59.5Z", "1969-12-31T23:59:59.5Z",
        "2024-01-02T09:30:01.5ZZ", "2024-01-02T09:30:01.5 ", "2024-01-02", "2024-01-02T09:30",
    };
    (void)state;
    for (int round = 0; round < 2; round++) {
        for (size_t k = 0; k < sizeof times / sizeof times[0]; k++) {
            int64_t a = 0, b = 0;
            size_t n = strlen(times[k]);
            int ra = asp_parse_time(times[k], n, 0, &a);
            int rb = asp_time_parse(times[k], n, &b) == 0;
            if (ra != rb || (ra && a != b))
                fail_msg("%s: %d %lld, asp_time_parse %d %lld", times[k], ra, (long long)a, rb, (long long)b);
        }
    }
}

static void test_numbers(void **state)
{
    double d;
    int64_t i;
    (void)state;
    assert_true(asp_parse_number("1.5", 3, &d) && d == 1.5);
    assert_true(asp_parse_number("-2e3", 4, &d) && d == -2000);
    assert_true(asp_parse_number(" 7 ", 3, &d) && d == 7);
    assert_false(asp_parse_number("abc", 3, &d));
    assert_false(asp_parse_number("1x", 2, &d));
    assert_false(asp_parse_number("nan", 3, &d));
    assert_false(asp_parse_number("0x10", 4, &d));
    assert_false(asp_parse_number("", 0, &d));
    assert_true(asp_parse_number("-0", 2, &d) && d == 0 && signbit(d));
    assert_true(asp_parse_number(".5", 2, &d) && d == 0.5);
    assert_true(asp_parse_number("5.", 2, &d) && d == 5);
    assert_true(asp_parse_number("+3.25", 5, &d) && d == 3.25);
    assert_false(asp_parse_number("-", 1, &d));
    assert_false(asp_parse_number(".", 1, &d));
    assert_false(asp_parse_number("1.2.3", 5, &d));
    assert_false(asp_parse_number("inf", 3, &d));
    assert_false(asp_parse_number("-Infinity", 9, &d));
    assert_true(asp_parse_integer("-42", 3, &i) && i == -42);
    assert_false(asp_parse_integer("4.2", 3, &i));
    assert_false(asp_parse_integer("99999999999999999999", 20, &i));
}

static void test_epoch_times(void **state)
{
    int64_t t;
    (void)state;
    assert_true(asp_parse_epoch("1700000000.123456789", 20, 1000000000, &t));
    assert_true(t == INT64_C(1700000000123456789));
    assert_true(asp_parse_epoch("1700000000123", 13, 1000000, &t));
    assert_true(t == INT64_C(1700000000123000000));
    assert_true(asp_parse_epoch("-1.5", 4, 1000000000, &t));
    assert_true(t == INT64_C(-1500000000));
    assert_true(asp_parse_epoch("1.0000000019", 12, 1000000000, &t)); /* below a ns: truncated */
    assert_true(t == INT64_C(1000000001));
    assert_false(asp_parse_epoch("12a", 3, 1, &t));
    assert_false(asp_parse_epoch(".", 1, 1, &t));
    assert_false(asp_parse_epoch("99999999999999999999", 20, 1, &t));
    assert_true(asp_parse_time("2024-01-01T00:00:00Z", 20, -1, &t));
    assert_true(t == INT64_C(1704067200000000000));
    assert_true(asp_parse_time("1704067200", 10, -1, &t)); /* auto: epoch seconds */
    assert_true(t == INT64_C(1704067200000000000));
    assert_false(asp_parse_time("1704067200", 10, 0, &t)); /* iso only */
}

static void test_json_tokens(void **state)
{
    asp_json *j = asp_json_new();
    const asp_json_tok *t;
    const char *line = "{\"a\":[1,true,null],\"s\":\"x\\u00e9\"}";
    (void)state;
    assert_int_equal(asp_json_decode(j, line, strlen(line)), 8);
    t = asp_json_tokens(j);
    assert_int_equal(t[0].type, 6);
    assert_int_equal(t[0].n, 2);
    assert_int_equal(t[1].type, 4);
    assert_memory_equal(t[1].str, "a", 1);
    assert_int_equal(t[2].type, 5);
    assert_int_equal(t[2].n, 3);
    assert_true(t[3].type == 3 && t[3].num == 1);
    assert_int_equal(t[4].type, 2);
    assert_int_equal(t[5].type, 0);
    assert_int_equal(t[7].type, 4);
    assert_int_equal(t[7].len, 3);
    assert_int_equal(asp_json_decode(j, "{\"a\":", 5), -1);
    assert_non_null(strstr(asp_json_error(j), "column"));
    /* Issue #11: say which limit, and what an empty line is. */
    {
        char deep[1024];
        memset(deep, '[', 300);
        memset(deep + 300, ']', 300);
        assert_int_equal(asp_json_decode(j, deep, 600), -1);
        assert_string_equal(asp_json_error(j), "arrays and objects nested deeper than 200 levels (the limit)");
        assert_int_equal(asp_json_decode(j, deep + 100, 400), 200);
        assert_int_equal(asp_json_decode(j, deep + 99, 402), -1);
        assert_int_equal(asp_json_decode(j, "", 0), -1);
        assert_non_null(strstr(asp_json_error(j), "an empty line"));
        assert_int_equal(asp_json_decode(j, " \r", 2), -1);
        assert_non_null(strstr(asp_json_error(j), "an empty line"));
    }
    asp_json_free(j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_records),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_crlf),
        cmocka_unit_test(test_cr_line_ends),
        cmocka_unit_test(test_bom),
        cmocka_unit_test(test_record_limit_without_quote),
        cmocka_unit_test(test_line_and_column),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_record_limit),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_numbers_match_strtod),
        cmocka_unit_test(test_fast_path_agrees),
        cmocka_unit_test(test_iso_times_match),
        cmocka_unit_test(test_epoch_times),
        cmocka_unit_test(test_json_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
