/*
 * Buffered row writers; see writer.h and docs/results.md.
 *
 * Atomic mode writes to "<dir>/.<name>.tmp-XXXXXX" (mkstemp) and commit
 * renames it over the final name after an fsync, so the final name only
 * ever holds a complete file. Append mode writes to the final file and
 * flushes (with fdatasync) at least every flush interval, checked at each
 * row end, and at commit.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "time.h"
#include "writer.h"

#include "asp_ffi.h"
#include "sched.h"

enum { FMT_CSV = 0, FMT_JSON = 1 };
enum { BUF_SIZE = 256 * 1024, MAX_COLS = 4096 };

struct asp_writer {
    int fd;
    int32_t format, append, failed;
    char *buf;
    size_t used, cap;
    size_t row_start; /* where the row being written starts in buf */
    int64_t rows;
    int64_t flush_ns, last_flush;
    char **prefix; /* per column: CSV "," / JSON "{\"key\":" or ",\"key\":" */
    size_t *prefix_len;
    char **name; /* per column, for the CSV header */
    size_t *name_len;
    int32_t ncol;
    char *path, *temp, *key;
    int unsynced;  /* rows written since the last fdatasync */
    asp_writer *prev, *next; /* the open append-mode writers, for the timed flush */
    char err[512];
};

/* Append-mode writers: rows reach the disk at least every flush interval
 * even when no row comes to trigger it, through a timer of the engine's
 * loop (it runs while a live run waits, and every 1024 items). */
static asp_writer *appending;
#define CHORE_MS 100

static void flush_due(void)
{
    int64_t now;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    for (asp_writer *w = appending; w; w = w->next)
        if ((w->row_start > 0 || w->unsynced) && !w->failed && now - w->last_flush >= w->flush_ns)
            (void)asp_writer_flush(w, 1); /* a failure is kept: the next write or close raises it */
}

static void watch_appends(asp_writer *w, int on)
{
    if (on) {
        w->next = appending;
        if (appending)
            appending->prev = w;
        appending = w;
    } else {
        if (w->prev)
            w->prev->next = w->next;
        else if (appending == w)
            appending = w->next;
        if (w->next)
            w->next->prev = w->prev;
        w->prev = w->next = NULL;
    }
    asp_sched_chores(asp_engine_sched(), CHORE_MS, appending ? flush_due : NULL);
}

/* -- Numbers and times --------------------------------------------------- */

static const double pow10_tab[] = { 1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9 };
#define TWO53 9007199254740992.0

static size_t put_int(char *buf, int64_t x)
{
    char tmp[24];
    size_t n = 0, len = 0;
    uint64_t u = x < 0 ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (x < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    return len;
}

size_t asp_format_number(double v, char *buf)
{
    if (isnan(v))
        return (size_t)sprintf(buf, "NaN");
    if (isinf(v))
        return (size_t)sprintf(buf, v < 0 ? "-Inf" : "Inf");
    if (v == 0)
        return (size_t)sprintf(buf, signbit(v) ? "-0" : "0");
    if (fabs(v) < TWO53 && v == (double)(int64_t)v)
        return put_int(buf, (int64_t)v);
    /* m / 10^k is correctly rounded, as is strtod of "m e-k": when the
     * division gives v back, so does reading the decimal. */
    for (int k = 1; k <= 9; k++) {
        double m = nearbyint(v * pow10_tab[k]);
        if (fabs(m) < TWO53 && m / pow10_tab[k] == v) {
            int64_t im = (int64_t)m;
            uint64_t a = im < 0 ? (uint64_t)0 - (uint64_t)im : (uint64_t)im;
            char digits[24];
            size_t nd = put_int(digits, (int64_t)a), len = 0;
            if (im < 0)
                buf[len++] = '-';
            if (nd <= (size_t)k) {
                buf[len++] = '0';
                buf[len++] = '.';
                for (size_t z = nd; z < (size_t)k; z++)
                    buf[len++] = '0';
                memcpy(buf + len, digits, nd);
                return len + nd;
            }
            memcpy(buf + len, digits, nd - (size_t)k);
            len += nd - (size_t)k;
            buf[len++] = '.';
            memcpy(buf + len, digits + nd - (size_t)k, (size_t)k);
            return len + (size_t)k;
        }
    }
    return (size_t)snprintf(buf, 32, "%.17g", v);
}

/* ISO-8601 UTC with 0, 3, 6 or 9 fractional digits: as many as needed to
 * give the instant back exactly. */
static size_t format_time(int64_t ns, char *buf)
{
    int64_t frac = ns % 1000000000;
    size_t len;
    if (frac < 0)
        frac += 1000000000;
    asp_time_format(ns, buf);
    len = 19;
    if (frac) {
        int digits = frac % 1000000 == 0 ? 3 : frac % 1000 == 0 ? 6 : 9;
        int64_t f = frac / (digits == 3 ? 1000000 : digits == 6 ? 1000 : 1);
        buf[len++] = '.';
        for (int i = digits - 1; i >= 0; i--) {
            buf[len + (size_t)i] = (char)('0' + f % 10);
            f /= 10;
        }
        len += (size_t)digits;
    }
    buf[len++] = 'Z';
    return len;
}

/* -- Buffer and file ----------------------------------------------------- */

static int fail(asp_writer *w, const char *what, int err)
{
    snprintf(w->err, sizeof w->err, "cannot %s '%s': %s", what, w->path, strerror(err));
    w->failed = 1;
    return -1;
}

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int write_all(asp_writer *w, const char *p, size_t n)
{
    while (n) {
        ssize_t k = write(w->fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return fail(w, "write", errno);
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* fsync, where the file supports it (not /dev/full, pipes). */
static int sync_fd(asp_writer *w, int fd)
{
    if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS && errno != ENOTSUP)
        return fail(w, "sync", errno);
    return 0;
}

/* Writes the complete rows of the buffer; a row being written stays, moved
 * to the front, so that the file never holds part of a row. */
static int flush_rows(asp_writer *w)
{
    size_t done = w->row_start;
    if (w->failed)
        return -1;
    if (done && write_all(w, w->buf, done) != 0)
        return -1;
    if (done)
        w->unsynced = 1;
    memmove(w->buf, w->buf + done, w->used - done);
    w->used -= done;
    w->row_start = 0;
    return 0;
}

int asp_writer_flush(asp_writer *w, int32_t sync)
{
    if (flush_rows(w) != 0)
        return -1;
    w->last_flush = monotonic_ns();
    if (!sync)
        return 0;
    w->unsynced = 0;
    return sync_fd(w, w->fd);
}

/* Drops the fields written of the current row (a bad value in the row). */
void asp_writer_cancel_row(asp_writer *w)
{
    w->used = w->row_start;
}

/* Room for n more bytes: flushes, and grows the buffer for a long field. */
static int reserve(asp_writer *w, size_t n)
{
    if (w->failed)
        return -1;
    if (w->used + n <= w->cap)
        return 0;
    if (flush_rows(w) != 0)
        return -1;
    if (w->used + n > w->cap) {
        char *b = realloc(w->buf, w->used + n);
        if (!b)
            return fail(w, "buffer a row for", ENOMEM);
        w->buf = b;
        w->cap = w->used + n;
    }
    return 0;
}

static char *dup_str(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    return d ? memcpy(d, s, n) : NULL;
}

/* The final path with its directory resolved: two writers on one file have
 * the same key however the path was spelled. */
static char *resolve_key(const char *path, const char *dir, const char *base)
{
    char real[PATH_MAX];
    char *key;
    if (!realpath(dir, real))
        return dup_str(path);
    key = malloc(strlen(real) + strlen(base) + 2);
    if (key)
        sprintf(key, "%s/%s", real, base);
    return key;
}

static int open_file(asp_writer *w, char *err, size_t errlen)
{
    const char *slash = strrchr(w->path, '/');
    size_t dlen = slash ? (size_t)(slash - w->path) : 0;
    const char *base = slash ? slash + 1 : w->path;
    char dir[PATH_MAX];
    struct stat st;
    if (!*base || dlen >= sizeof dir - 32 - strlen(base)) {
        snprintf(err, errlen, "cannot write '%s': not a file name", w->path);
        return -1;
    }
    if (slash) {
        memcpy(dir, w->path, dlen ? dlen : 1);
        dir[dlen ? dlen : 1] = 0;
    } else {
        strcpy(dir, ".");
    }
    if (stat(w->path, &st) == 0 && S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "cannot write '%s': it is a directory", w->path);
        return -1;
    }
    w->key = resolve_key(w->path, dir, base);
    if (w->append) {
        w->fd = open(w->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
        if (w->fd < 0) {
            snprintf(err, errlen, "cannot open '%s' for appending: %s", w->path, strerror(errno));
            return -1;
        }
        return 0;
    }
    w->temp = malloc(strlen(dir) + strlen(base) + 16);
    if (!w->temp) {
        snprintf(err, errlen, "cannot write '%s': out of memory", w->path);
        return -1;
    }
    sprintf(w->temp, "%s/.%s.tmp-XXXXXX", dir, base);
    w->fd = mkstemp(w->temp);
    if (w->fd < 0) {
        snprintf(err, errlen, "cannot create a file in the folder of '%s': %s", w->path, strerror(errno));
        free(w->temp);
        w->temp = NULL;
        return -1;
    }
    /* mkstemp makes the file 0600; the final file gets the usual mode. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(w->fd, 0666 & ~mask);
    return 0;
}

asp_writer *asp_writer_open(const char *path, int32_t format, int32_t append, char *err, size_t errlen)
{
    asp_writer *w = calloc(1, sizeof *w);
    if (!w || !(w->path = dup_str(path)) || !(w->buf = malloc(BUF_SIZE))) {
        snprintf(err, errlen, "cannot write '%s': out of memory", path);
        asp_writer_free(w);
        return NULL;
    }
    w->fd = -1;
    w->cap = BUF_SIZE;
    w->format = format;
    w->append = append;
    w->flush_ns = 1000000000;
    w->last_flush = monotonic_ns();
    if (open_file(w, err, errlen) != 0) {
        asp_writer_free(w);
        return NULL;
    }
    if (append)
        watch_appends(w, 1);
    return w;
}

/* -- Columns and fields -------------------------------------------------- */

/* Appends s as a CSV field: quoted when it holds a comma, quote, CR or LF. */
static void put_csv(asp_writer *w, const char *s, size_t n)
{
    char *p = w->buf + w->used;
    if (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\n', n) && !memchr(s, '\r', n)) {
        memcpy(p, s, n);
        w->used += n;
        return;
    }
    *p++ = '"';
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            *p++ = '"';
        *p++ = s[i];
    }
    *p++ = '"';
    w->used = (size_t)(p - w->buf);
}

/* Appends s as a JSON string through jansson; -1 when it is not UTF-8. */
static int put_json(asp_writer *w, const char *s, size_t n)
{
    json_t *j = json_stringn(s, n);
    size_t k;
    if (!j) {
        asp_writer_cancel_row(w);
        return -2; /* not UTF-8: the row is dropped, the writer goes on */
    }
    k = json_dumpb(j, w->buf + w->used, w->cap - w->used, JSON_ENCODE_ANY);
    json_decref(j);
    w->used += k;
    return 0;
}

int asp_writer_column(asp_writer *w, int32_t i, const char *name, size_t len)
{
    if (i != w->ncol || i >= MAX_COLS)
        return -1;
    char **pf = realloc(w->prefix, sizeof *pf * (size_t)(i + 1));
    if (pf)
        w->prefix = pf;
    size_t *pl = realloc(w->prefix_len, sizeof *pl * (size_t)(i + 1));
    if (pl)
        w->prefix_len = pl;
    char **nm = realloc(w->name, sizeof *nm * (size_t)(i + 1));
    if (nm)
        w->name = nm;
    size_t *nl = realloc(w->name_len, sizeof *nl * (size_t)(i + 1));
    if (nl)
        w->name_len = nl;
    if (!pf || !pl || !nm || !nl)
        return -1;
    char *prefix = malloc(6 * len + 8), *copy = malloc(len + 1);
    if (!prefix || !copy) {
        free(prefix);
        free(copy);
        return -1;
    }
    memcpy(copy, name, len);
    w->name[i] = copy;
    w->name_len[i] = len;
    w->prefix[i] = prefix;
    w->ncol = i + 1;
    if (w->format == FMT_CSV) {
        w->prefix_len[i] = i ? 1 : 0;
        prefix[0] = ',';
        return 0;
    }
    /* JSON: the key, escaped by jansson, between '{' or ',' and ':'. */
    json_t *j = json_stringn(name, len);
    if (!j) {
        w->prefix_len[i] = 0;
        return -1;
    }
    prefix[0] = i ? ',' : '{';
    size_t k = json_dumpb(j, prefix + 1, 6 * len + 2, JSON_ENCODE_ANY);
    json_decref(j);
    prefix[k + 1] = ':';
    w->prefix_len[i] = k + 2;
    return 0;
}

int asp_writer_header(asp_writer *w)
{
    struct stat st;
    if (w->format != FMT_CSV)
        return 0;
    /* Appending to a file that has rows already: they have their header. */
    if (w->append && fstat(w->fd, &st) == 0 && st.st_size > 0)
        return 0;
    for (int32_t i = 0; i < w->ncol; i++) {
        if (reserve(w, 2 * w->name_len[i] + 4) != 0)
            return -1;
        if (i)
            w->buf[w->used++] = ',';
        put_csv(w, w->name[i], w->name_len[i]);
    }
    w->buf[w->used++] = '\n';
    w->row_start = w->used;
    return 0;
}

/* Reserves room for the column's prefix and n bytes, then writes the prefix. */
static int begin(asp_writer *w, int32_t col, size_t n)
{
    size_t pl = w->prefix_len[col];
    if (col == 0)
        w->row_start = w->used;
    if (w->used + pl + n > w->cap && reserve(w, pl + n) != 0)
        return -1;
    if (w->failed)
        return -1;
    memcpy(w->buf + w->used, w->prefix[col], pl);
    w->used += pl;
    return 0;
}

int asp_writer_num(asp_writer *w, int32_t col, double v)
{
    if (begin(w, col, 40) != 0)
        return -1;
    if (w->format == FMT_JSON && !isfinite(v)) {
        memcpy(w->buf + w->used, "null", 4); /* JSON has no NaN nor Inf */
        w->used += 4;
        return 0;
    }
    w->used += asp_format_number(v, w->buf + w->used);
    return 0;
}

int asp_writer_str(asp_writer *w, int32_t col, const char *s, size_t len)
{
    if (begin(w, col, 6 * len + 4) != 0)
        return -1;
    if (w->format == FMT_JSON)
        return put_json(w, s, len);
    put_csv(w, s, len);
    return 0;
}

int asp_writer_bool(asp_writer *w, int32_t col, int32_t b)
{
    if (begin(w, col, 8) != 0)
        return -1;
    memcpy(w->buf + w->used, b ? "true" : "false", b ? 4 : 5);
    w->used += b ? 4 : 5;
    return 0;
}

int asp_writer_time(asp_writer *w, int32_t col, int64_t ns, int32_t as_ns)
{
    int q = w->format == FMT_JSON && !as_ns;
    if (begin(w, col, 48) != 0)
        return -1;
    if (q)
        w->buf[w->used++] = '"';
    w->used += as_ns ? put_int(w->buf + w->used, ns) : format_time(ns, w->buf + w->used);
    if (q)
        w->buf[w->used++] = '"';
    return 0;
}

int asp_writer_end_row(asp_writer *w)
{
    if (w->failed || (w->used + 2 > w->cap && reserve(w, 2) != 0))
        return -1;
    if (w->format == FMT_JSON)
        w->buf[w->used++] = '}';
    w->buf[w->used++] = '\n';
    w->row_start = w->used;
    w->rows++;
    if (w->append && monotonic_ns() - w->last_flush >= w->flush_ns)
        return asp_writer_flush(w, 1);
    return 0;
}

void asp_writer_set_flush(asp_writer *w, int64_t interval_ns)
{
    w->flush_ns = interval_ns;
}

/* -- Ending -------------------------------------------------------------- */

/* fsyncs the folder of the final file, so that the rename is durable too. */
static void sync_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    int fd;
    if (slash && (size_t)(slash - path) < sizeof dir) {
        size_t n = slash == path ? 1 : (size_t)(slash - path);
        memcpy(dir, path, n);
        dir[n] = 0;
    } else {
        strcpy(dir, ".");
    }
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int asp_writer_reopen(asp_writer *w)
{
    int fd;
    if (!w->append || w->failed)
        return w->failed ? -1 : 0;
    if (w->fd >= 0 && asp_writer_flush(w, 1) != 0)
        return -1;
    fd = open(w->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0)
        return fail(w, "reopen for appending", errno);
    if (w->fd >= 0)
        close(w->fd);
    w->fd = fd;
    return 0;
}

int asp_writer_go_live(asp_writer *w)
{
    int fd;
    if (w->append || w->fd < 0)
        return w->failed ? -1 : 0;
    if (asp_writer_commit(w) != 0)
        return -1;
    fd = open(w->path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (fd < 0)
        return fail(w, "reopen for appending", errno);
    w->fd = fd;
    w->append = 1;
    w->last_flush = monotonic_ns();
    watch_appends(w, 1);
    return 0;
}

int asp_writer_commit(asp_writer *w)
{
    int fd = w->fd;
    if (fd < 0)
        return w->failed ? -1 : 0;
    if (asp_writer_flush(w, 1) != 0) {
        asp_writer_abort(w, 0);
        return -1;
    }
    w->fd = -1;
    if (close(fd) != 0) {
        fail(w, "close", errno);
        if (w->temp)
            unlink(w->temp);
        return -1;
    }
    if (w->temp) {
        if (rename(w->temp, w->path) != 0) {
            int e = errno;
            unlink(w->temp);
            return fail(w, "rename the temporary file to", e);
        }
        sync_dir(w->path);
        free(w->temp);
        w->temp = NULL;
    }
    return 0;
}

void asp_writer_abort(asp_writer *w, int32_t keep)
{
    if (w->fd >= 0) {
        if (keep && !w->failed) {
            /* What was written so far, for inspection. */
            flush_rows(w);
        }
        close(w->fd);
        w->fd = -1;
    }
    if (w->temp && !keep) {
        unlink(w->temp);
        free(w->temp);
        w->temp = NULL;
    }
    w->failed = 1;
}

const char *asp_writer_error(const asp_writer *w)
{
    return w->err;
}

const char *asp_writer_temp(const asp_writer *w)
{
    return w->temp;
}

const char *asp_writer_key(const asp_writer *w)
{
    return w->key ? w->key : w->path;
}

int64_t asp_writer_rows(const asp_writer *w)
{
    return w->rows;
}

void asp_writer_free(asp_writer *w)
{
    if (!w)
        return;
    if (w->append && w->buf)
        watch_appends(w, 0);
    if (w->fd >= 0)
        close(w->fd);
    for (int32_t i = 0; i < w->ncol; i++) {
        free(w->prefix[i]);
        free(w->name[i]);
    }
    free(w->prefix);
    free(w->prefix_len);
    free(w->name);
    free(w->name_len);
    free(w->buf);
    free(w->path);
    free(w->temp);
    free(w->key);
    free(w);
}
