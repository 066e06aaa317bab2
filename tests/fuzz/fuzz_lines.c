/*
 * libFuzzer target for the line splitter of live sources (lines.c).
 *
 * The first byte sets max_line (1..256) and a seed; the rest is split into
 * lines whole, one byte at a time, and in chunks of pseudo-random sizes. All
 * three must give the same lines and the same outcome (a line too long at
 * the same place); no line holds a newline or exceeds max_line; the bytes of
 * the lines plus their newlines plus what is left in the buffer are the
 * input (until a line is too long).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sources/lines.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct {
    uint8_t *buf;
    size_t len, cap, max_line, lines;
} out_t;

static int on_line(void *ctx, const char *line, size_t len)
{
    out_t *o = ctx;
    if (len > o->max_line || memchr(line, '\n', len))
        abort();
    if (o->len + len + 1 > o->cap) {
        size_t cap = o->cap ? o->cap : 1024;
        while (cap < o->len + len + 1)
            cap *= 2;
        o->buf = realloc(o->buf, cap);
        if (!o->buf)
            abort();
        o->cap = cap;
    }
    memcpy(o->buf + o->len, line, len);
    o->buf[o->len + len] = '\n';
    o->len += len + 1;
    o->lines++;
    return 0;
}

static out_t split(const uint8_t *data, size_t size, size_t max_line, int mode, uint32_t seed,
                   int *result)
{
    out_t o = { 0 };
    asp_linebuf b = { 0 };
    size_t off = 0;
    o.max_line = max_line;
    *result = ASP_LINES_OK;
    while (off < size) {
        size_t n = size - off;
        char *chunk;
        if (mode == 1) {
            n = 1;
        } else if (mode == 2) {
            seed = seed * 1103515245u + 12345u;
            n = 1 + (seed >> 16) % 40;
            if (n > size - off)
                n = size - off;
        }
        chunk = malloc(n);
        if (!chunk)
            abort();
        memcpy(chunk, data + off, n);
        *result = asp_lines_take(&b, chunk, n, max_line, on_line, &o);
        free(chunk);
        off += n;
        if (*result != ASP_LINES_OK)
            break;
    }
    if (*result == ASP_LINES_OK) {
        /* The rest waits in the buffer: with it, the lines are the input. */
        if (o.len + b.plen != size)
            abort();
        if (memcmp(o.buf ? (const void *)o.buf : "", data, o.len) != 0 ||
            memcmp(b.plen ? (const void *)b.part : "", data + o.len, b.plen) != 0)
            abort();
    } else if (*result != ASP_LINES_TOO_LONG) {
        abort();
    }
    asp_linebuf_free(&b);
    return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t max_line;
    int ra, rb, rc;
    out_t a, b, c;
    if (size < 1)
        return 0;
    max_line = 1 + data[0];
    a = split(data + 1, size - 1, max_line, 0, data[0], &ra);
    b = split(data + 1, size - 1, max_line, 1, data[0], &rb);
    c = split(data + 1, size - 1, max_line, 2, data[0], &rc);
    if (ra != rb || ra != rc || a.len != b.len || a.len != c.len || a.lines != b.lines ||
        (a.len && (memcmp(a.buf, b.buf, a.len) != 0 || memcmp(a.buf, c.buf, a.len) != 0)))
        abort();
    free(a.buf);
    free(b.buf);
    free(c.buf);
    return 0;
}
