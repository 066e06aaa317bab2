/*
 * The CSV push parser (see csv.h) and the conversions of its fields to
 * numbers and times, which the Lua side calls straight on the field buffer.
 */
#include "sources/csv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "time.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

enum { ST_FIELD, ST_UNQUOTED, ST_QUOTED, ST_QUOTE_SEEN };
/* complete: the record is the fast path's, whose caller then moved pos to
 * the next line; so no field is begun, the BOM is settled and the next
 * byte starts a line (only a pending CR is left to test). */
enum { FAST_RECORD = 2 };

struct asp_csv {
    asp_csv_row row;    /* what Lua reads: points into the buffers below */
    char delim;
    int fast_delim;     /* delim is no line end nor quote: the fast path may run */
    int state;
    int complete;       /* row holds a finished record (1, FAST_RECORD); the next feed starts anew */
    int quoted;         /* the current field was quoted */
    char *buf;          /* field bytes, each field followed by a NUL */
    size_t len, cap;
    uint32_t *start, *end, *col;
    int32_t nf, fcap;
    int64_t line;       /* line of the next byte */
    int64_t pos;        /* offset of the next byte in the whole input */
    int64_t line_pos;   /* offset at which the current line starts */
    int64_t quote_line, quote_col; /* where the open quote of the current field is */
    int64_t field_col;
    int after_cr;       /* a CR ended the last line: an LF next is part of it */
    int quoted_cr;      /* inside a quote, the last byte was a CR (line counting) */
    int cr_mode;        /* the last line ended with a lone CR: look for CR first */
    int bom;            /* bytes of a UTF-8 BOM matched at the start; 3: done */
    char err[320];
};

asp_csv *asp_csv_new(char delim)
{
    asp_csv *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->delim = delim;
    p->fast_delim = delim != '\n' && delim != '\r' && delim != '"';
    p->cap = 4096;
    p->fcap = 16;
    p->buf = calloc(1, p->cap); /* zeroed: the padding after a record is always initialised */
    p->start = malloc(sizeof *p->start * (size_t)p->fcap);
    p->end = malloc(sizeof *p->end * (size_t)p->fcap);
    p->col = malloc(sizeof *p->col * (size_t)p->fcap);
    if (!p->buf || !p->start || !p->end || !p->col) {
        asp_csv_free(p);
        return NULL;
    }
    p->start[0] = 0;
    p->line = 1;
    p->row.line = 1;
    p->field_col = 1;
    return p;
}

void asp_csv_free(asp_csv *p)
{
    if (!p)
        return;
    free(p->buf);
    free(p->start);
    free(p->end);
    free(p->col);
    free(p);
}

const asp_csv_row *asp_csv_record(const asp_csv *p)
{
    return &p->row;
}

const char *asp_csv_error(const asp_csv *p)
{
    return p->err;
}

int asp_csv_partial(const asp_csv *p)
{
    return !p->complete && (p->len > 0 || p->nf > 0 || p->state != ST_FIELD || (p->bom > 0 && p->bom < 3));
}

void asp_csv_reset(asp_csv *p)
{
    p->state = ST_FIELD;
    p->complete = p->quoted = 0;
    p->len = 0;
    p->nf = 0;
    p->start[0] = 0;
    p->line = p->row.line = 1;
    p->pos = p->line_pos = 0;
    p->field_col = 1;
    p->err[0] = '\0';
}

/* -- Buffers -- */

static int grow(asp_csv *p, size_t need)
{
    size_t cap = p->cap;
    char *b;
    if (need <= cap)
        return 0;
    if (need > ASP_CSV_MAX_RECORD + 4096) {
        if (p->state == ST_QUOTED || p->state == ST_QUOTE_SEEN)
            snprintf(p->err, sizeof p->err,
                     "line %lld: record longer than %u bytes, the limit of a CSV record: field %d is "
                     "inside the quote opened at line %lld, column %lld (an unterminated quote?)",
                     (long long)p->row.line, ASP_CSV_MAX_RECORD, (int)p->nf + 1,
                     (long long)p->quote_line, (long long)p->quote_col);
        else
            snprintf(p->err, sizeof p->err,
                     "line %lld: record longer than %u bytes, the limit of a CSV record (no quote in it; "
                     "%d fields so far, the last from column %lld; lines end with LF, CRLF or CR)",
                     (long long)p->row.line, ASP_CSV_MAX_RECORD, (int)p->nf + 1,
                     (long long)p->field_col);
        return -1;
    }
    while (cap < need)
        cap *= 2;
    b = realloc(p->buf, cap);
    if (!b) {
        snprintf(p->err, sizeof p->err, "out of memory");
        return -1;
    }
    memset(b + p->cap, 0, cap - p->cap);
    p->buf = b;
    p->cap = cap;
    return 0;
}

static int append(asp_csv *p, const char *s, size_t n)
{
    if (p->len + n + 1 + ASP_CSV_PAD > p->cap && grow(p, p->len + n + 1 + ASP_CSV_PAD) != 0)
        return -1;
    memcpy(p->buf + p->len, s, n);
    p->len += n;
    return 0;
}

/* Doubles the room for field bounds. */
static int grow_fields(asp_csv *p)
{
    int32_t fcap = p->fcap * 2;
    {
        uint32_t *s = realloc(p->start, sizeof *s * (size_t)fcap);
        if (s)
            p->start = s;
        uint32_t *e = realloc(p->end, sizeof *e * (size_t)fcap);
        if (e)
            p->end = e;
        uint32_t *c = realloc(p->col, sizeof *c * (size_t)fcap);
        if (c)
            p->col = c;
        if (!s || !e || !c) {
            snprintf(p->err, sizeof p->err, "out of memory");
            return -1;
        }
        p->fcap = fcap;
    }
    return 0;
}

/* Ends the current field: a NUL after it, its bounds recorded. */
static int end_field(asp_csv *p)
{
    if (p->nf + 1 >= p->fcap && grow_fields(p) != 0)
        return -1;
    if (p->len + 1 + ASP_CSV_PAD > p->cap && grow(p, p->len + 1 + ASP_CSV_PAD) != 0)
        return -1;
    p->end[p->nf] = (uint32_t)p->len;
    p->col[p->nf] = (uint32_t)p->field_col;
    p->buf[p->len++] = '\0';
    p->nf++;
    p->start[p->nf] = (uint32_t)p->len; /* start of the next one (fcap keeps room) */
    return 0;
}

static void begin_record(asp_csv *p)
{
    p->len = 0;
    p->nf = 0;
    p->start[0] = 0;
    p->complete = 0;
    p->quoted = 0;
    p->row.line = p->line;
}

/* Publishes the record; returns 0 for an empty line (no record). */
static int finish_record(asp_csv *p)
{
    if (p->nf == 1 && p->end[0] == 0 && !p->quoted) {
        begin_record(p);
        return 0;
    }
    p->row.data = p->buf;
    p->row.start = p->start;
    p->row.stop = p->end;
    p->row.col = p->col;
    p->row.nfields = p->nf;
    p->complete = 1;
    return 1;
}

static void show_text(char *out, size_t outlen, const char *s, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n && k + 5 < outlen; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') {
            out[k++] = '\\';
            out[k++] = 'n';
        } else if (c < 32) {
            out[k++] = '?';
        } else {
            out[k++] = (char)c;
        }
    }
    if (n > 0 && k + 5 >= outlen) {
        out[k++] = '.';
        out[k++] = '.';
        out[k++] = '.';
    }
    out[k] = '\0';
}

/* -- Parsing -- */

/* Where the next line starts, for a line ended at nl (LF, CRLF or a lone
 * CR) in data ending at end; notes a CR at the end of the data (an LF that
 * starts the next chunk is this line's) and which terminator the file uses. */
static inline const char *past_line_end(asp_csv *p, const char *nl, const char *end)
{
    const char *after = nl + 1;
    if (*nl == '\r') {
        if (after == end)
            p->after_cr = 1;
        else if (*after == '\n')
            after++;
    }
    p->cr_mode = *nl == '\r' && after == nl + 1;
    return after;
}

#if defined(__SSE2__)
/*
 * The fast path: a whole record in data[i..) starting at a line's start,
 * with no quote in its line. One pass, 16 bytes at a time: each block is
 * copied into the field buffer and its delimiters, line ends and quotes
 * found by one comparison each (a bit mask of their positions); each
 * delimiter becomes its field's NUL. Returns 1 when it took a record
 * (stored in *next: the offset after its newline), 0 when the slow path
 * must do it (a quote, no newline in data, an empty line), -1 on an error.
 */
static int fast_record(asp_csv *p, const char *data, size_t i, size_t n, size_t *next)
{
    const char *line = data + i, *end = data + n, *nl, *after;
    const size_t avail = n - i;
    /* Locals: the stores into b (char) could alias anything in *p. */
    const char delim = p->delim;
    /* The delimiter broadcast from a register: _mm_set1_epi8 of a char
     * could go through the stack, a byte store then a 4-byte load (which
     * the store cannot forward: a stall a row). */
    const __m128i vd = _mm_set1_epi32((int)(0x01010101u * (unsigned char)delim)), vn = _mm_set1_epi8('\n'), vr = _mm_set1_epi8('\r'),
                  vq = _mm_set1_epi8('"');
    uint32_t *fstart = p->start, *fend = p->end, *fcol = p->col;
    int32_t nf = 0, fcap = p->fcap;
    char *b = p->buf;
    size_t cap = p->cap, pos = 0, f0 = 0, len;
    for (;;) {
        size_t k;
        unsigned m;
        char c;
        if (pos + 16 <= avail) {
            __m128i v;
            if (pos + 16 + ASP_CSV_PAD > cap) {
                if (grow(p, pos + 16 + ASP_CSV_PAD) != 0)
                    return -1;
                b = p->buf, cap = p->cap;
            }
            v = _mm_loadu_si128((const __m128i *)(const void *)(line + pos));
            _mm_storeu_si128((__m128i *)(void *)(b + pos), v);
            m = (unsigned)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, vd), _mm_cmpeq_epi8(v, vn)),
                                                         _mm_or_si128(_mm_cmpeq_epi8(v, vr), _mm_cmpeq_epi8(v, vq))));
            pos += 16;
            if (!m)
                continue;
            k = pos - 16 + (size_t)__builtin_ctz(m);
        } else {
            /* The last bytes of data, one at a time (never read past it). */
            if (pos == avail)
                return 0; /* no line end in data yet */
            if (pos + 1 + ASP_CSV_PAD > cap) {
                if (grow(p, pos + 1 + ASP_CSV_PAD) != 0)
                    return -1;
                b = p->buf, cap = p->cap;
            }
            c = line[pos];
            b[pos] = c;
            k = pos++;
            if (c != delim && c != '\n' && c != '\r' && c != '"')
                continue;
            m = 1;
        }
        /* Room for the block's fields at once: at most 16 marks, each a
         * field's end, plus the next field's start (fstart[nf + 1]). */
        if (nf + 17 > fcap) {
            if (grow_fields(p) != 0)
                return -1;
            fstart = p->start, fend = p->end, fcol = p->col, fcap = p->fcap;
        }
        /* The marked bytes of this block, in order (m: their bits, the
         * lowest at k). The delimiter first: it is the common mark, and
         * never a line end or a quote (at_line_start). */
        for (;;) {
            c = line[k];
            if (c != delim) {
                if (c == '"')
                    return 0;
                nl = line + k;
                goto line_end;
            }
            b[k] = '\0';
            fstart[nf] = (uint32_t)f0;
            fend[nf] = (uint32_t)k;
            fcol[nf] = (uint32_t)(f0 + 1);
            nf++;
            f0 = k + 1;
            m &= m - 1;
            if (!m)
                break;
            k = (k & ~(size_t)15) + (size_t)__builtin_ctz(m);
        }
    }
line_end:
    len = (size_t)(nl - line);
    if (len == 0)
        return 0; /* an empty line: no record (the slow path counts it) */
    b[len] = '\0'; /* the block's check left room for this field and the next start */
    fstart[nf] = (uint32_t)f0;
    fend[nf] = (uint32_t)len;
    fcol[nf] = (uint32_t)(f0 + 1);
    nf++;
    fstart[nf] = (uint32_t)(len + 1);
    /* A line ends at LF, CRLF or a lone CR (whichever comes first). */
    after = past_line_end(p, nl, end);
    p->len = len + 1;
    p->nf = nf;
    p->quoted = 0;
    p->line++;
    *next = (size_t)(after - data);
    p->line_pos = p->pos + (int64_t)*next;
    /* finish_record's publishing from the locals: read back from *p, the
     * compiler loaded len (just stored) within a 16-byte load, which
     * cannot be forwarded from the store (a stall of ~6 % of a replay). */
    p->row.data = b;
    p->row.start = fstart;
    p->row.stop = fend;
    p->row.col = fcol;
    p->row.nfields = nf;
    p->complete = FAST_RECORD;
    return 1;
}
#else
/*
 * The fast path: a whole record in data[i..) starting at a line's start,
 * with no quote in its line. Copies the line into the field buffer at once
 * and cuts it at the delimiters (each becomes the field's NUL). Returns 1
 * when it took a record (stored in *next: the offset after its newline),
 * 0 when the slow path must do it (a quote, no newline yet, an empty line),
 * -1 on an error.
 */
static int fast_record(asp_csv *p, const char *data, size_t i, size_t n, size_t *next)
{
    const char *line = data + i, *end = data + n, *nl, *other, *after;
    size_t len, f0 = 0;
    char *b;
    int32_t nf = 0;
    /* A line ends at LF, CRLF or a lone CR. The terminator the last line
     * had is searched for first (over the rest of the chunk), the other
     * one only within the line found, so that neither kind of file scans
     * the chunk again for every line. */
    nl = memchr(line, p->cr_mode ? '\r' : '\n', n - i);
    if (!nl)
        return 0;
    other = memchr(line, p->cr_mode ? '\n' : '\r', (size_t)(nl - line));
    if (other)
        nl = other;
    if (nl == line || memchr(line, '"', (size_t)(nl - line)))
        return 0;
    len = (size_t)(nl - line);
    after = past_line_end(p, nl, end);
    /* + 1 + ASP_CSV_PAD: the sentinel, then the padding (the word-at-a-time
     * scan below reads up to 7 bytes past the sentinel, never used). */
    if (len + 1 + ASP_CSV_PAD > p->cap && grow(p, len + 1 + ASP_CSV_PAD) != 0)
        return -1;
    {
        /* Locals: the stores into b (char) could alias anything in *p. */
        const char delim = p->delim;
        const uint64_t ones = UINT64_C(0x0101010101010101), pat = ones * (unsigned char)delim;
        uint32_t *fstart = p->start, *fend = p->end, *fcol = p->col;
        int32_t fcap = p->fcap;
        b = p->buf;
        memcpy(b, line, len);
        b[len] = delim; /* a sentinel: every scan stops at a delimiter */
        memset(b + len + 1, 0, 7);
        for (size_t k = 0; k <= len; k++) {
            /* Finds the next delimiter 8 bytes at a time: in w ^ pat a zero
             * byte is a delimiter; the lowest one is the first. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            for (;;) {
                uint64_t w, x, z;
                memcpy(&w, b + k, 8);
                x = w ^ pat;
                z = (x - ones) & ~x & (ones << 7);
                if (z) {
                    k += (size_t)__builtin_ctzll(z) >> 3;
                    break;
                }
                k += 8;
            }
#else
            (void)pat;
            while (b[k] != delim)
                k++;
#endif
            if (nf + 1 >= fcap) {
                if (grow_fields(p) != 0)
                    return -1;
                fstart = p->start, fend = p->end, fcol = p->col, fcap = p->fcap;
            }
            b[k] = '\0';
            fstart[nf] = (uint32_t)f0;
            fend[nf] = (uint32_t)k;
            fcol[nf] = (uint32_t)(f0 + 1);
            nf++;
            f0 = k + 1;
        }
        fstart[nf] = (uint32_t)f0;
    }
    p->len = len + 1;
    p->nf = nf;
    p->quoted = 0;
    p->line++;
    *next = (size_t)(after - data);
    p->line_pos = p->pos + (int64_t)*next;
    return finish_record(p);
}

#endif

static const unsigned char BOM[3] = {0xEF, 0xBB, 0xBF};

/* Bytes of a BOM prefix held back at the start turned out to be data: they
 * begin the first field. */
static int release_bom(asp_csv *p)
{
    int held = p->bom;
    p->bom = 3;
    if (held == 0 || held == 3)
        return 0;
    p->field_col = 1;
    p->quoted = 0;
    p->state = ST_UNQUOTED;
    return append(p, (const char *)BOM, (size_t)held);
}

static int feed(asp_csv *p, const char *data, size_t n, size_t *used, int try_fast);
static int feed_bom(asp_csv *p, const char *data, size_t n, size_t *used);

/* The fast path applies: a line starts at data[0] and no state is held
 * (no field begun, no CR whose LF may follow, the BOM settled), and the
 * delimiter is none of the other bytes the fast path marks. */
static int at_line_start(const asp_csv *p)
{
    return p->state == ST_FIELD && p->nf == 0 && p->len == 0 && p->line_pos == p->pos && p->fast_delim &&
           !p->after_cr;
}

int asp_csv_feed(asp_csv *p, const char *data, size_t n, size_t *used)
{
    /* A whole line at data[0], the common case, straight to the fast path:
     * feed's state machine (and its frame) only for the rest. */
    int fast;
    if (p->complete == FAST_RECORD) {
        /* The last record was the fast path's: at_line_start holds but
         * for a CR it may have left pending. */
        begin_record(p);
        fast = !p->after_cr;
    } else {
        if (p->complete)
            begin_record(p);
        fast = p->bom == 3 && at_line_start(p);
    }
    if (fast) {
        size_t next;
        int rc = fast_record(p, data, 0, n, &next);
        if (rc > 0) {
            p->pos += (int64_t)next;
            *used = next;
            return ASP_CSV_RECORD;
        }
        if (rc < 0)
            return (*used = 0), ASP_CSV_ERROR;
        return feed(p, data, n, used, 0);
    }
    return feed_bom(p, data, n, used);
}

/* What asp_csv_feed's fast path does not take: a UTF-8 byte order mark
 * at the very start is dropped (no data, else it would stay in the first
 * column's name; it may come split across feeds), then feed. Out of line,
 * so that the fast path keeps a small frame. */
__attribute__((noinline)) static int feed_bom(asp_csv *p, const char *data, size_t n, size_t *used)
{
    if (p->bom < 3) {
        size_t k = 0;
        while (p->bom < 3 && k < n && (unsigned char)data[k] == BOM[p->bom]) {
            p->bom++;
            k++;
        }
        if (p->bom == 3) {
            int rc;
            p->pos += (int64_t)k;
            p->line_pos = p->pos; /* columns count from after the BOM */
            rc = feed(p, data + k, n - k, used, 1);
            *used += k;
            return rc;
        }
        if (k == n) {
            p->pos += (int64_t)n;
            *used = n;
            return ASP_CSV_MORE;
        }
        /* A mismatch: what was held from earlier feeds is data; what matched
         * in this one is parsed again from data[0]. */
        p->bom -= (int)k;
        if (release_bom(p) != 0)
            return (*used = 0), ASP_CSV_ERROR;
    }
    return feed(p, data, n, used, 1);
}

/* try_fast: the fast path was not tried on data yet. */
static int feed(asp_csv *p, const char *data, size_t n, size_t *used, int try_fast)
{
    const char delim = p->delim;
    size_t i = 0;
    if (p->complete)
        begin_record(p);
    if (try_fast && at_line_start(p)) {
        size_t next;
        int rc = fast_record(p, data, 0, n, &next);
        if (rc < 0)
            return (*used = 0), ASP_CSV_ERROR;
        if (rc > 0) {
            p->pos += (int64_t)next;
            *used = next;
            return ASP_CSV_RECORD;
        }
    }
    while (i < n) {
        char c = data[i];
        if (p->after_cr) {
            /* The LF of a CRLF whose CR ended the last record. */
            p->after_cr = 0;
            if (c == '\n') {
                i++;
                p->line_pos = p->pos + (int64_t)i;
                p->cr_mode = 0;
                continue;
            }
        }
        switch (p->state) {
        case ST_FIELD:
            p->field_col = p->pos + (int64_t)i - p->line_pos + 1;
            p->quoted = 0;
            if (c == '"') {
                p->state = ST_QUOTED;
                p->quoted = 1;
                p->quote_line = p->line;
                p->quote_col = p->field_col;
                i++;
            } else {
                p->state = ST_UNQUOTED;
            }
            break;
        case ST_UNQUOTED: {
            size_t j = i;
            while (j < n && data[j] != delim && data[j] != '\n' && data[j] != '\r')
                j++;
            if (j > i && append(p, data + i, j - i) != 0)
                goto fail;
            i = j;
            if (i == n)
                break;
            i++;
            p->state = ST_FIELD;
            if (data[j] == delim) {
                if (end_field(p) != 0)
                    goto fail;
                break;
            }
            /* The record's end: LF, or CR (and an LF right after it). */
            p->after_cr = data[j] == '\r';
            p->cr_mode = p->after_cr;
            p->line++;
            p->line_pos = p->pos + (int64_t)i;
            if (end_field(p) != 0)
                goto fail;
            if (finish_record(p)) {
                p->pos += (int64_t)i;
                *used = i;
                return ASP_CSV_RECORD;
            }
            break;
        }
        case ST_QUOTED: {
            size_t j = i;
            /* Lines are counted as outside: LF, CRLF or CR each end one. */
            while (j < n && data[j] != '"') {
                if (data[j] == '\n' || data[j] == '\r') {
                    if (data[j] == '\r' || !p->quoted_cr)
                        p->line++;
                    p->line_pos = p->pos + (int64_t)j + 1;
                }
                p->quoted_cr = data[j] == '\r';
                j++;
            }
            if (j > i && append(p, data + i, j - i) != 0)
                goto fail;
            i = j;
            if (i < n) {
                p->state = ST_QUOTE_SEEN;
                p->quoted_cr = 0;
                i++;
            }
            break;
        }
        case ST_QUOTE_SEEN:
            if (c == '"') {
                if (append(p, "\"", 1) != 0)
                    goto fail;
                p->state = ST_QUOTED;
                i++;
            } else if (c == delim) {
                if (end_field(p) != 0)
                    goto fail;
                p->state = ST_FIELD;
                i++;
            } else if (c == '\n' || c == '\r') {
                i++;
                p->after_cr = c == '\r';
                p->cr_mode = p->after_cr;
                p->line++;
                p->line_pos = p->pos + (int64_t)i;
                p->state = ST_FIELD;
                if (end_field(p) != 0)
                    goto fail;
                if (finish_record(p)) {
                    p->pos += (int64_t)i;
                    *used = i;
                    return ASP_CSV_RECORD;
                }
            } else {
                char shown[64];
                size_t fs = p->start[p->nf];
                show_text(shown, sizeof shown, p->buf + fs, p->len - fs);
                snprintf(p->err, sizeof p->err,
                         "line %lld, column %lld: unexpected '%c' after the closing quote of the field \"%s\" "
                         "(a quote inside a quoted field is written \"\")",
                         (long long)p->line, (long long)(p->pos + (int64_t)i - p->line_pos + 1),
                         (c >= 32 && c < 127) ? c : '?', shown);
                goto fail;
            }
            break;
        }
    }
    p->pos += (int64_t)n;
    *used = n;
    return ASP_CSV_MORE;
fail:
    p->pos += (int64_t)i;
    *used = i;
    return ASP_CSV_ERROR;
}

int asp_csv_finish(asp_csv *p)
{
    if (p->complete)
        begin_record(p);
    if (p->bom < 3 && release_bom(p) != 0)
        return ASP_CSV_ERROR;
    switch (p->state) {
    case ST_QUOTED: {
        char shown[64];
        size_t fs = p->start[p->nf];
        show_text(shown, sizeof shown, p->buf + fs, p->len - fs);
        snprintf(p->err, sizeof p->err,
                 "line %lld, column %lld: unterminated quoted field \"%s (the input ends inside it)",
                 (long long)p->quote_line, (long long)p->quote_col, shown);
        return ASP_CSV_ERROR;
    }
    case ST_FIELD:
        if (p->nf == 0 && p->len == 0)
            return ASP_CSV_MORE;
        break;
    default:
        break;
    }
    p->state = ST_FIELD;
    if (end_field(p) != 0)
        return ASP_CSV_ERROR;
    if (p->len > 0 || p->nf > 0)
        p->line++;
    return finish_record(p) ? ASP_CSV_RECORD : ASP_CSV_MORE;
}

/* -- Conversions of a field's text (NUL-terminated at s[len]) -- */

static int only_spaces(const char *s, const char *e)
{
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    return s == e;
}

/* Exact powers of ten as doubles (10^22 is the largest exactly representable). */
static const double pow10_exact[23] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

/*
 * The fast path of asp_parse_number for plain decimals ([+-]digits[.digits],
 * at most 19 digits): the digits as an integer m and the count f of digits
 * after the point. When m < 2^53 and f <= 22, m and 10^f are exact doubles,
 * so m / 10^f is one correctly rounded operation: the same double strtod
 * gives. Returns 1 (stored), 0 (not a number: no digit where one must be)
 * or -1 (anything else: strtod decides).
 */
static int parse_plain_decimal(const char *s, size_t len, double *out)
{
    /* s[len] is a NUL (the caller checked): the digit runs stop there, so
     * the loops need no bound; digits are counted from the pointers. */
    const char *p = s, *run, *e = s + len;
    uint64_t m = 0;
    unsigned d;
    int digits, frac = 0, neg = 0;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    for (run = p; (d = (unsigned)(*p - '0')) < 10; p++)
        m = m * 10 + d; /* wraps past 19 digits: rejected below */
    digits = (int)(p - run);
    if (*p == '.') {
        for (run = ++p; (d = (unsigned)(*p - '0')) < 10; p++)
            m = m * 10 + d;
        frac = (int)(p - run);
        digits += frac;
    }
    if (p != e || digits == 0 || digits > 19 || m > (UINT64_C(1) << 53))
        /* A letter where the first digit should be: strtod would only take
         * "inf" or "nan" there, which are no CSV numbers either. */
        return (digits == 0 && p < e && (unsigned)((*p | 0x20) - 'a') < 26) ? 0 : -1;
    {
        double v = (double)m / pow10_exact[frac];
        *out = neg ? -v : v;
    }
    return 1;
}

int asp_parse_number(const char *s, size_t len, double *out)
{
    char *endp;
    double v;
    if (len == 0 || s[len] != '\0')
        return 0;
    {
        int rc = parse_plain_decimal(s, len, out);
        if (rc >= 0)
            return rc;
    }
    errno = 0;
    v = strtod(s, &endp);
    if (endp == s || !only_spaces(endp, s + len))
        return 0;
    /* Hexadecimal and "inf"/"nan" spellings are not CSV numbers. */
    for (const char *q = s; q < endp; q++) {
        char c = *q;
        if (c == 'x' || c == 'X' || c == 'n' || c == 'N' || c == 'i' || c == 'I')
            return 0;
    }
    *out = v;
    return 1;
}

/* -- Eight digits at a time (little-endian machines) -- */

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define SWAR_DIGITS 1

static uint64_t load8(const char *p)
{
    uint64_t w;
    memcpy(&w, p, 8);
    return w;
}

/* The high bit of every byte of w that is no ASCII digit (a byte's carry
 * or borrow only reaches the bytes after it: the lowest flag is exact). */
static uint64_t non_digits(uint64_t w)
{
    return ((w + UINT64_C(0x4646464646464646)) | (w - UINT64_C(0x3030303030303030))) & UINT64_C(0x8080808080808080);
}

/* How many digits w starts with (8: all of them). */
static unsigned digit_run(uint64_t w)
{
    uint64_t nd = non_digits(w);
    return nd ? (unsigned)__builtin_ctzll(nd) >> 3 : 8;
}

/* The value of the first n (1..8) digits of w: they are moved to the top
 * bytes (zeros below them are leading zeros), then combined pairwise. */
static uint64_t digits_value(uint64_t w, unsigned n)
{
    w = (w << (8 * (8 - n))) & UINT64_C(0x0F0F0F0F0F0F0F0F);
    w = (w * 2561) >> 8;
    w = ((w & UINT64_C(0x00FF00FF00FF00FF)) * 6553601) >> 16;
    return ((w & UINT64_C(0x0000FFFF0000FFFF)) * UINT64_C(42949672960001)) >> 32;
}
#endif

#ifdef SWAR_DIGITS
/* The value of a plain decimal: neg and m / 10^f, m below 2^53 and f at
 * most 7, so the division is parse_plain_decimal's with its operands: the
 * same double. */
static double decimal(int neg, uint64_t m, unsigned f)
{
    double v = (double)m / pow10_exact[f];
    return neg ? -v : v;
}

/*
 * [+-]digits[.digits] with at most 7 digits on each side, p after the sign:
 * both runs read 8 bytes at a time (the padding after the field makes that
 * safe), m below 10^14. Anything else is asp_parse_number's. Out of line:
 * asp_csv_number's one-word case stays a leaf that saves no registers.
 */
__attribute__((noinline)) static int number_runs(const char *s, size_t len, const char *p, int neg, double *out)
{
    static const uint64_t pow10_int[8] = { 1, 10, 100, 1000, 10000, 100000, 1000000, 10000000 };
    const char *e = s + len;
    unsigned n1, n2 = 0;
    uint64_t w = load8(p), m = 0;
    n1 = digit_run(w);
    if (n1 == 8)
        goto other;
    if (n1)
        m = digits_value(w, n1);
    p += n1;
    if (*p == '.') {
        w = load8(p + 1);
        n2 = digit_run(w);
        if (n2 == 8)
            goto other;
        if (n2)
            m = m * pow10_int[n2] + digits_value(w, n2);
        p += 1 + n2;
    }
    if (p != e || n1 + n2 == 0 || len == 0)
        goto other;
    *out = decimal(neg, m, n2);
    return 1;
other:
    return asp_parse_number(s, len, out);
}
#endif

/*
 * asp_parse_number for a field of a record (ASP_CSV_PAD bytes readable
 * after it). Up to 7 bytes of digits and one point (a quote's 423.48): the
 * bytes after the point are moved down over it and the digit run of that
 * word valued at once (its lowest non-digit flag is exact), one digit word;
 * other plain decimals take number_runs, anything else asp_parse_number.
 */
int asp_csv_number(const char *s, size_t len, double *out)
{
#ifdef SWAR_DIGITS
    const char *p = s;
    int neg = 0;
    uint64_t w, nd;
    unsigned n1;
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    w = load8(p);
    nd = non_digits(w);
    if (!nd)
        return asp_parse_number(s, len, out);
    n1 = (unsigned)__builtin_ctzll(nd) >> 3;
    if (p[n1] == '.') {
        uint64_t low = (UINT64_C(1) << (8 * n1)) - 1;
        uint64_t joined = (w & low) | ((w >> 8) & ~low); /* its top byte is 0: a non-digit */
        unsigned n = (unsigned)__builtin_ctzll(non_digits(joined)) >> 3;
        if (n > 0 && p + n + 1 == s + len) {
            *out = decimal(neg, digits_value(joined, n), n - n1);
            return 1;
        }
    } else if (n1 > 0 && p + n1 == s + len) {
        *out = decimal(neg, digits_value(w, n1), 0);
        return 1;
    }
    return number_runs(s, len, p, neg, out);
#else
    return asp_parse_number(s, len, out);
#endif
}

int asp_parse_integer(const char *s, size_t len, int64_t *out)
{
    char *endp;
    long long v;
    if (len == 0 || s[len] != '\0')
        return 0;
    errno = 0;
    v = strtoll(s, &endp, 10);
    if (endp == s || errno == ERANGE || !only_spaces(endp, s + len))
        return 0;
    *out = (int64_t)v;
    return 1;
}

/*
 * Parses an epoch count of units (unit_ns nanoseconds each), integer or with
 * a fraction, exactly: 1700000000.123456789 s is that many ns, with no
 * rounding through a double.
 */
int asp_parse_epoch(const char *s, size_t len, int64_t unit_ns, int64_t *out)
{
    const char *p = s, *e = s + len;
    int neg = 0;
    int64_t whole = 0, frac = 0, scale = unit_ns;
    int digits = 0;
    while (p < e && *p == ' ')
        p++;
    while (e > p && e[-1] == ' ')
        e--;
    if (p < e && (*p == '-' || *p == '+'))
        neg = *p++ == '-';
    for (; p < e && *p >= '0' && *p <= '9'; p++, digits++) {
        if (whole > (INT64_MAX - (*p - '0')) / 10)
            return 0;
        whole = whole * 10 + (*p - '0');
    }
    if (p < e && *p == '.') {
        p++;
        for (; p < e && *p >= '0' && *p <= '9'; p++, digits++) {
            /* Digits below a nanosecond are dropped (truncated). */
            if (scale >= 10) {
                scale /= 10;
                frac += (*p - '0') * scale;
            }
        }
    }
    if (p != e || digits == 0)
        return 0;
    /* The range of a Time, as asp.time's (INT64_MIN itself excepted, as
     * there). */
    if (whole > (INT64_MAX - frac) / unit_ns)
        return 0;
    whole = whole * unit_ns + frac;
    *out = neg ? -whole : whole;
    return 1;
}

/*
 * ISO-8601 times of a file share their first 19 bytes (YYYY-MM-DDTHH:MM:SS)
 * with the previous row's most of the time. The ns of that second are kept
 * from the last asp_time_parse of such a prefix; a time with the same prefix
 * followed by nothing, or by .f (1-9 digits), then an optional Z, is that
 * plus the fraction: what asp_time_parse gives, without parsing the date
 * again. Anything else (offsets, other shapes, times before 1970) is parsed
 * in full. Returns 1 (stored), 0 (invalid) or -1 (not this shape).
 */
static struct {
    char key[19];
    int64_t base;
    int valid;
} iso_cache;

static int parse_iso_cached(const char *s, size_t len, int64_t *out)
{
    const char *t = s + 19, *e = s + len;
    int64_t frac = 0;
    if (len < 19 || s[13] != ':' || s[16] != ':')
        return -1;
    if (t < e && *t == '.') {
        /* 1 to 9 digits of a second, scaled to ns by one multiplication. */
        static const int32_t scale[10] = { 0, 100000000, 10000000, 1000000, 100000, 10000, 1000, 100, 10, 1 };
        const char *run = ++t;
        unsigned d;
        while (t < e && t - run < 10 && (d = (unsigned)(*t - '0')) < 10) {
            frac = frac * 10 + d;
            t++;
        }
        if (t == run || t - run > 9)
            return -1;
        frac *= scale[t - run];
    }
    if (t < e && (*t == 'Z' || *t == 'z'))
        t++;
    if (t != e)
        return -1;
    if (!iso_cache.valid || memcmp(iso_cache.key, s, 19) != 0) {
        int64_t base;
        if (asp_time_parse(s, 19, &base) != 0)
            return 0; /* the prefix is no time, so neither is the whole */
        iso_cache.valid = 0;
        if (base < 0 || base > INT64_MAX - ASP_NS_PER_SEC)
            return -1;
        memcpy(iso_cache.key, s, 19);
        iso_cache.base = base;
        iso_cache.valid = 1;
    }
    *out = iso_cache.base + frac;
    return 1;
}

static int parse_iso(const char *s, size_t len, int64_t *out)
{
    int rc = parse_iso_cached(s, len, out);
    if (rc >= 0)
        return rc;
    return asp_time_parse(s, len, out) == 0;
}

/*
 * asp_parse_time for a field of a record (ASP_CSV_PAD bytes readable after
 * it): an ISO-8601 time of the cached second with 1 to 7 digits of a
 * second compares its prefix and reads its fraction 8 bytes at a time —
 * parse_iso_cached's result when it would take the cache; anything else is
 * asp_parse_time's.
 */
int asp_csv_time(const char *s, size_t len, int64_t unit_ns, int64_t *out)
{
#ifdef SWAR_DIGITS
    static const int32_t scale[8] = { 0, 100000000, 10000000, 1000000, 100000, 10000, 1000, 100 };
    if (unit_ns <= 0 && len >= 21 && s[19] == '.' && iso_cache.valid &&
        ((load8(s) ^ load8(iso_cache.key)) | (load8(s + 8) ^ load8(iso_cache.key + 8)) |
         (load8(s + 11) ^ load8(iso_cache.key + 11))) == 0) {
        uint64_t w = load8(s + 20);
        unsigned n = digit_run(w);
        const char *t = s + 20 + n;
        if (*t == 'Z' || *t == 'z')
            t++;
        if (n >= 1 && n <= 7 && t == s + len) {
            *out = iso_cache.base + (int64_t)digits_value(w, n) * scale[n];
            return 1;
        }
    }
#endif
    return asp_parse_time(s, len, unit_ns, out);
}

/*
 * A time field: unit_ns 0 is ISO-8601 (asp_time_parse), otherwise an epoch
 * count of that many ns per unit; unit_ns -1 takes ISO-8601 or epoch seconds.
 */
int asp_parse_time(const char *s, size_t len, int64_t unit_ns, int64_t *out)
{
    if (unit_ns == 0)
        return parse_iso(s, len, out);
    if (unit_ns > 0)
        return asp_parse_epoch(s, len, unit_ns, out);
    if (parse_iso(s, len, out))
        return 1;
    return asp_parse_epoch(s, len, ASP_NS_PER_SEC, out);
}
