/*
 * Reading CSV files in chunks, plain or gzip-compressed (told apart by the
 * gzip magic bytes), through the push parser, in constant memory whatever
 * the file's size.
 *
 * Every byte is read with pread at an offset this process keeps in its own
 * memory, and zlib's inflate state lives in its memory too. So a forked copy
 * of the process (a REPL checkpoint, docs/repl.md) owns an exact position of
 * its own: the process that goes on reading never moves it, which a shared
 * file offset (read, gzread) would.
 *
 * A .gz file may hold several gzip members one after the other (cat a.gz
 * b.gz): they are read as one stream. Bytes after the last member that are
 * not gzip data are an error naming their offset.
 *
 * In follow mode the end of the file is not the end of the input: the part
 * of a record after the last newline stays in the parser, and the reading
 * goes on when the file has grown. A plain file that shrinks below what was
 * read (truncated, as copytruncate rotation does) is read again from its
 * start, with a warning; a first row equal to the header is then skipped.
 */
#include "sources/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include "sources/csv.h"

#define CHUNK (256u << 10)
#define GZ_IN (64u << 10)

enum { FMT_UNKNOWN = 0, FMT_PLAIN, FMT_GZIP };

struct asp_csvfile {
    int fd;
    int fmt;
    int64_t off;        /* the next byte of the file to read */
    asp_csv *parser;
    asp_csv_plan *plan; /* converts each record when set */
    char *chunk;
    size_t have, used;  /* chunk[used..have) is not parsed yet */
    int64_t size;       /* the file's size when opened (compressed size for .gz) */
    int eof;
    int follow;
    /* gzip: the inflate state, its input buffer and where a member ends */
    z_stream zs;
    int zs_live;        /* inflateInit2 was called */
    int member_done;    /* the last member ended: only another one may follow */
    unsigned char *in;
    /* follow mode: the header's fields, to skip it when a truncated file
     * is written again from the start */
    int keep_header;
    char *header;       /* the fields joined by '\0', or NULL */
    size_t header_len;
    int32_t header_fields;
    int skip_header;    /* the next record is the header again if it equals it */
    char *path;
    asp_csvfile *prev, *next; /* the open files, for the progress display */
    char err[400];
};

static asp_csvfile *open_files;

/* The files of many-file readers that are not open (yet, or any more). */
static int64_t chain_size, chain_done;

void asp_csvfile_progress_add(int64_t size, int64_t done)
{
    chain_size += size;
    chain_done += done;
}

double asp_csvfile_progress(void)
{
    int64_t size = chain_size, done = chain_done;
    for (asp_csvfile *f = open_files; f; f = f->next) {
        if (f->follow || f->size <= 0)
            continue;
        size += f->size;
        done += asp_csvfile_offset(f);
    }
    if (size <= 0)
        return -1;
    return done >= size ? 1.0 : (double)done / (double)size;
}

void asp_csvfile_set_follow(asp_csvfile *f, int follow)
{
    f->follow = follow;
}

void asp_csvfile_set_plan(asp_csvfile *f, asp_csv_plan *plan)
{
    f->plan = plan;
}

void asp_csvfile_set_header(asp_csvfile *f, int header)
{
    f->keep_header = header;
}

static const char *kind_of(mode_t m)
{
    if (S_ISDIR(m))
        return "is a directory";
    if (S_ISFIFO(m))
        return "is a FIFO (asp.csv reads regular files; a pipe is live input: asp.stdin or asp.exec with format = 'csv')";
    if (S_ISSOCK(m))
        return "is a socket, not a regular file";
    if (S_ISCHR(m) || S_ISBLK(m))
        return "is a device, not a regular file";
    return "is not a regular file";
}

asp_csvfile *asp_csvfile_open(const char *path, char delim, char *err, size_t errlen)
{
    struct stat st = { 0 };
    asp_csvfile *f;
    /* Non-blocking, so that a FIFO without a writer cannot hang the open;
     * only regular files are read (pread needs one). */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s", S_ISREG(st.st_mode) ? strerror(errno) : kind_of(st.st_mode));
        close(fd);
        return NULL;
    }
    f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        close(fd);
        return NULL;
    }
    f->fd = fd;
    f->size = (int64_t)st.st_size;
    f->chunk = malloc(CHUNK);
    f->parser = asp_csv_new(delim);
    f->path = strdup(path);
    if (!f->chunk || !f->parser || !f->path) {
        snprintf(err, errlen, "out of memory");
        asp_csvfile_close(f);
        return NULL;
    }
    f->next = open_files;
    if (open_files)
        open_files->prev = f;
    open_files = f;
    return f;
}

void asp_csvfile_close(asp_csvfile *f)
{
    if (!f)
        return;
    if (f->prev)
        f->prev->next = f->next;
    else if (open_files == f)
        open_files = f->next;
    if (f->next)
        f->next->prev = f->prev;
    if (f->zs_live)
        inflateEnd(&f->zs);
    if (f->fd >= 0)
        close(f->fd);
    asp_csv_free(f->parser);
    free(f->in);
    free(f->chunk);
    free(f->header);
    free(f->path);
    free(f);
}

/* pread until n bytes or the end of the file; the byte count, or -1. */
static ssize_t read_at(asp_csvfile *f, void *buf, size_t n, int64_t at)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(f->fd, (char *)buf + got, n - got, (off_t)(at + (int64_t)got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            snprintf(f->err, sizeof f->err, "read error at byte %lld: %s", (long long)(at + (int64_t)got),
                     strerror(errno));
            return -1;
        }
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (ssize_t)got;
}

/* Decides plain or gzip from the first two bytes; 0, or -1 on an error.
 * A file of fewer than two bytes stays undecided while it may still grow. */
static int detect(asp_csvfile *f)
{
    unsigned char magic[2];
    ssize_t n = read_at(f, magic, 2, 0);
    if (n < 0)
        return -1;
    if (n < 2) {
        if (!f->follow)
            f->fmt = FMT_PLAIN;
        return 0;
    }
    if (magic[0] != 0x1f || magic[1] != 0x8b) {
        f->fmt = FMT_PLAIN;
        return 0;
    }
    f->in = malloc(GZ_IN);
    if (!f->in) {
        snprintf(f->err, sizeof f->err, "out of memory");
        return -1;
    }
    /* 16 + MAX_WBITS: a gzip wrapper, checked (CRC and length) per member. */
    if (inflateInit2(&f->zs, 16 + MAX_WBITS) != Z_OK) {
        snprintf(f->err, sizeof f->err, "cannot start zlib: out of memory");
        return -1;
    }
    f->zs_live = 1;
    f->fmt = FMT_GZIP;
    return 0;
}

/* Inflates into the chunk: the byte count (0 at the end of the input for
 * now), or -1 on an error. */
static int inflate_chunk(asp_csvfile *f)
{
    z_stream *zs = &f->zs;
    zs->next_out = (Bytef *)f->chunk;
    zs->avail_out = CHUNK;
    while (zs->avail_out == CHUNK) {
        int rc;
        if (zs->avail_in == 0) {
            ssize_t n = read_at(f, f->in, GZ_IN, f->off);
            if (n < 0)
                return -1;
            if (n == 0) {
                /* The end of the file: complete after a whole member;
                 * inside one, the file is cut short (or still growing). */
                if (!f->member_done && !f->follow) {
                    snprintf(f->err, sizeof f->err,
                             "truncated compressed file (unexpected end of the gzip data) at byte %lld",
                             (long long)f->off);
                    return -1;
                }
                break;
            }
            f->off += n;
            zs->next_in = f->in;
            zs->avail_in = (uInt)n;
        }
        if (f->member_done) {
            /* More bytes after a member: they must be another member. */
            if (zs->next_in[0] != 0x1f) {
                snprintf(f->err, sizeof f->err,
                         "the bytes after the end of the gzip data, from byte %lld on, are not gzip data",
                         (long long)(f->off - zs->avail_in));
                return -1;
            }
            inflateReset(zs);
            f->member_done = 0;
        }
        int64_t member_at = f->off - zs->avail_in;
        rc = inflate(zs, Z_NO_FLUSH);
        if (rc == Z_STREAM_END) {
            f->member_done = 1;
        } else if (rc == Z_BUF_ERROR && zs->avail_in == 0) {
            continue; /* needs more input: read it above */
        } else if (rc != Z_OK) {
            snprintf(f->err, sizeof f->err, "gzip data error near byte %lld: %s", (long long)member_at,
                     zs->msg ? zs->msg : "corrupt data");
            return -1;
        }
    }
    return (int)(CHUNK - zs->avail_out);
}

/* Reads the next chunk; returns the byte count, 0 at the end, -1 on error. */
static int read_chunk(asp_csvfile *f)
{
    ssize_t n;
    if (f->fmt == FMT_UNKNOWN && detect(f) != 0)
        return -1;
    if (f->fmt == FMT_UNKNOWN) {
        n = 0; /* follow mode, fewer than two bytes so far */
    } else if (f->fmt == FMT_GZIP) {
        n = inflate_chunk(f);
    } else {
        n = read_at(f, f->chunk, CHUNK, f->off);
        if (n > 0)
            f->off += n;
    }
    if (n < 0)
        return -1;
    f->have = (size_t)n;
    f->used = 0;
    return (int)n;
}

/* Follow mode at the end of a plain file: one that shrank below what was
 * read is read again from its start. Returns 1 when it did. */
static int check_truncated(asp_csvfile *f)
{
    struct stat st;
    if (f->fmt != FMT_PLAIN || fstat(f->fd, &st) != 0 || (int64_t)st.st_size >= f->off)
        return 0;
    fprintf(stderr, "asp.csv: %s: warning: the file was truncated (%lld bytes, %lld read): "
                    "reading it again from its start%s\n",
            f->path, (long long)st.st_size, (long long)f->off,
            asp_csv_partial(f->parser) ? "; its unfinished last row is dropped" : "");
    asp_csv_reset(f->parser); /* Lua holds its record: the parser stays */
    f->off = 0;
    f->have = f->used = 0;
    f->eof = 0;
    f->skip_header = f->header != NULL;
    return 1;
}

/* Keeps the header's fields (the file's first record), in follow mode. */
static void keep_header(asp_csvfile *f)
{
    const asp_csv_row *r = asp_csv_record(f->parser);
    size_t len = 0;
    for (int32_t i = 0; i < r->nfields; i++)
        len += r->stop[i] - r->start[i] + 1;
    f->header = malloc(len ? len : 1);
    if (!f->header)
        return; /* then a rewritten header is read as a row: it fails loudly */
    len = 0;
    for (int32_t i = 0; i < r->nfields; i++) {
        size_t n = r->stop[i] - r->start[i];
        memcpy(f->header + len, r->data + r->start[i], n);
        f->header[len + n] = '\0';
        len += n + 1;
    }
    f->header_len = len;
    f->header_fields = r->nfields;
}

static int is_header(const asp_csvfile *f)
{
    const asp_csv_row *r = asp_csv_record(f->parser);
    size_t at = 0;
    if (r->nfields != f->header_fields)
        return 0;
    for (int32_t i = 0; i < r->nfields; i++) {
        size_t n = r->stop[i] - r->start[i];
        if (at + n >= f->header_len || memcmp(f->header + at, r->data + r->start[i], n) != 0 ||
            f->header[at + n] != '\0')
            return 0;
        at += n + 1;
    }
    return 1;
}

/* A record came out: the header is kept or skipped in follow mode. */
static int on_record(asp_csvfile *f)
{
    if (f->keep_header && !f->header)
        keep_header(f);
    else if (f->skip_header) {
        f->skip_header = 0;
        if (is_header(f))
            return 0;
    }
    return 1;
}

/* A record of the chunk (ASP_CSV_RECORD from the parser): converted by
 * the plan when there is one. */
static int take_record(asp_csvfile *f)
{
    if (f->plan && asp_csv_plan_convert(f->plan, asp_csv_record(f->parser)))
        return ASP_CSV_CONVERTED;
    return ASP_CSV_RECORD;
}

/* Everything but a record found in the chunk: follow mode, errors, the end
 * of the chunk or of the file. Out of line, so that asp_csvfile_next's
 * common case saves no registers. */
__attribute__((noinline)) static int next_slow(asp_csvfile *f, int follow)
{
    for (;;) {
        if (f->used < f->have) {
            size_t used = 0;
            int rc = asp_csv_feed(f->parser, f->chunk + f->used, f->have - f->used, &used);
            f->used += used;
            if (rc == ASP_CSV_RECORD) {
                if (f->follow && !on_record(f))
                    continue;
                return take_record(f);
            }
            if (rc == ASP_CSV_ERROR) {
                snprintf(f->err, sizeof f->err, "%s", asp_csv_error(f->parser));
                return rc;
            }
        }
        if (f->eof && !follow) {
            int rc = asp_csv_finish(f->parser);
            if (rc == ASP_CSV_ERROR)
                snprintf(f->err, sizeof f->err, "%s", asp_csv_error(f->parser));
            return rc;
        }
        int n = read_chunk(f);
        if (n < 0)
            return ASP_CSV_ERROR;
        if (n == 0) {
            if (f->eof && follow) {
                if (!check_truncated(f))
                    return ASP_CSV_MORE; /* nothing new yet: the record so far stays in the parser */
                continue;
            }
            f->eof = 1;
        } else {
            f->eof = 0;
        }
    }
}

int asp_csvfile_next(asp_csvfile *f, int follow)
{
    /* The common case: the next record is in the chunk (follow mode's
     * header check and everything else are next_slow's). A parse that
     * ends without a record consumed the rest of the chunk, and an error
     * consumed nothing it could parse again: next_slow takes over. */
    if (f->used < f->have && !f->follow) {
        size_t used = 0;
        int rc = asp_csv_feed(f->parser, f->chunk + f->used, f->have - f->used, &used);
        f->used += used;
        if (rc == ASP_CSV_RECORD)
            return take_record(f);
        if (rc == ASP_CSV_ERROR) {
            snprintf(f->err, sizeof f->err, "%s", asp_csv_error(f->parser));
            return rc;
        }
    }
    return next_slow(f, follow);
}

const asp_csv_row *asp_csvfile_record(const asp_csvfile *f)
{
    return asp_csv_record(f->parser);
}

const char *asp_csvfile_error(const asp_csvfile *f)
{
    return f->err;
}

int64_t asp_csvfile_size(const asp_csvfile *f)
{
    return f->size;
}

/* How far the reading went in the file's own bytes (compressed ones for .gz). */
int64_t asp_csvfile_offset(asp_csvfile *f)
{
    if (f->fmt == FMT_GZIP)
        return f->off - (int64_t)f->zs.avail_in;
    return f->off;
}
