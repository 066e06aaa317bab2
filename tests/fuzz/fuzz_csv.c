/*
 * libFuzzer target for the CSV push parser (make fuzz).
 *
 * The first byte picks the delimiter and a seed; the rest is the input. It
 * is parsed three times: in one chunk, one byte at a time, and in chunks of
 * pseudo-random sizes. The three must give the same records (fields, their
 * columns, the line where each record starts) and end the same way (the
 * same error message, or the same last record at asp_csv_finish). Nothing
 * may read past the input (it is not NUL-terminated) or crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sources/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    char *buf;
    size_t len, cap;
} out_t;

static void put(out_t *o, const void *p, size_t n)
{
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 1024;
        while (cap < o->len + n)
            cap *= 2;
        o->buf = realloc(o->buf, cap);
        if (!o->buf)
            abort();
        o->cap = cap;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static void put_record(out_t *o, const asp_csv *p)
{
    const asp_csv_row *r = asp_csv_record(p);
    put(o, "R", 1);
    put(o, &r->line, sizeof r->line);
    put(o, &r->nfields, sizeof r->nfields);
    for (int32_t i = 0; i < r->nfields; i++) {
        uint32_t n = r->stop[i] - r->start[i];
        if (r->stop[i] < r->start[i] || r->data[r->stop[i]] != '\0')
            abort(); /* fields are NUL-terminated where they stop */
        put(o, &n, sizeof n);
        put(o, &r->col[i], sizeof r->col[i]);
        put(o, r->data + r->start[i], n);
    }
}

static void put_error(out_t *o, const asp_csv *p)
{
    const char *m = asp_csv_error(p);
    put(o, "E", 1);
    put(o, m, strlen(m));
}

/* Parses data in chunks whose sizes come from next_size; returns the trace. */
static out_t parse(char delim, const uint8_t *data, size_t size, int mode, uint32_t seed)
{
    out_t o = { 0 };
    asp_csv *p = asp_csv_new(delim);
    size_t off = 0;
    int failed = 0;
    if (!p)
        abort();
    while (off < size && !failed) {
        size_t n = size - off, used = 0;
        if (mode == 1) {
            n = 1;
        } else if (mode == 2) {
            seed = seed * 1103515245u + 12345u;
            n = 1 + (seed >> 16) % 64;
            if (n > size - off)
                n = size - off;
        }
        /* An exact-size copy of the chunk, so ASan sees a read past it. */
        char *chunk = malloc(n);
        size_t at = 0;
        if (!chunk)
            abort();
        memcpy(chunk, data + off, n);
        while (at < n) {
            int rc = asp_csv_feed(p, chunk + at, n - at, &used);
            if (used > n - at)
                abort();
            at += used;
            if (rc == ASP_CSV_RECORD) {
                put_record(&o, p);
            } else if (rc == ASP_CSV_ERROR) {
                put_error(&o, p);
                failed = 1;
                break;
            } else if (used != n - at + used) {
                abort(); /* MORE must take every byte */
            }
        }
        free(chunk);
        off += n;
    }
    if (!failed) {
        int rc = asp_csv_finish(p);
        if (rc == ASP_CSV_RECORD)
            put_record(&o, p);
        else if (rc == ASP_CSV_ERROR)
            put_error(&o, p);
    }
    asp_csv_free(p);
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char delims[] = { ',', ';', '\t', '|' };
    char delim;
    uint32_t seed;
    out_t a, b, c;
    if (size < 1)
        return 0;
    delim = delims[data[0] & 3];
    seed = data[0];
    data++;
    size--;
    a = parse(delim, data, size, 0, seed);
    b = parse(delim, data, size, 1, seed);
    c = parse(delim, data, size, 2, seed);
    /* (memcmp must not see the NULL buffer of an empty trace.) */
    if (a.len != b.len || (a.len && memcmp(a.buf, b.buf, a.len) != 0))
        abort(); /* whole and byte-at-a-time disagree */
    if (a.len != c.len || (a.len && memcmp(a.buf, c.buf, a.len) != 0))
        abort(); /* whole and random chunks disagree */
    free(a.buf);
    free(b.buf);
    free(c.buf);
    return 0;
}
