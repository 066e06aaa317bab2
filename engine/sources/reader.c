/*
 * Reading CSV files in chunks: zlib's gzread reads gzip-compressed files and
 * plain ones alike, so .gz files need nothing special. Memory stays constant:
 * one chunk buffer and the parser's field buffer.
 *
 * In follow mode the end of the file is not the end of the input: the part
 * of a record after the last newline stays in the parser, and the reading
 * goes on when the file has grown (gzclearerr lets gzread continue past EOF).
 */
#include "sources/reader.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "sources/csv.h"

#define CHUNK (256u << 10)

struct asp_csvfile {
    gzFile gz;
    asp_csv *parser;
    char *chunk;
    size_t have, used;  /* chunk[used..have) is not parsed yet */
    int64_t size;       /* the file's size when opened (compressed size for .gz) */
    int eof;
    int follow;
    asp_csvfile *prev, *next; /* the open files, for the progress display */
    char err[400];
};

static asp_csvfile *open_files;

double asp_csvfile_progress(void)
{
    int64_t size = 0, done = 0;
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

asp_csvfile *asp_csvfile_open(const char *path, char delim, char *err, size_t errlen)
{
    struct stat stbuf;
    asp_csvfile *f;
    if (stat(path, &stbuf) != 0) {
        snprintf(err, errlen, "%s", strerror(errno));
        return NULL;
    }
    if (S_ISDIR(stbuf.st_mode)) {
        snprintf(err, errlen, "is a directory");
        return NULL;
    }
    f = calloc(1, sizeof *f);
    if (!f) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    f->size = (int64_t)stbuf.st_size;
    f->gz = gzopen(path, "rb");
    if (!f->gz) {
        snprintf(err, errlen, "%s", errno ? strerror(errno) : "cannot open");
        free(f);
        return NULL;
    }
    /* Half the chunk: zlib then reads plain files straight into the chunk
     * (a request of at least twice its buffer skips the buffer and a copy). */
    gzbuffer(f->gz, CHUNK / 2);
    f->chunk = malloc(CHUNK);
    f->parser = asp_csv_new(delim);
    if (!f->chunk || !f->parser) {
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
    if (f->gz)
        gzclose(f->gz);
    asp_csv_free(f->parser);
    free(f->chunk);
    free(f);
}

/* Reads the next chunk; returns the byte count, 0 at the end, -1 on error. */
static int read_chunk(asp_csvfile *f)
{
    int n = gzread(f->gz, f->chunk, CHUNK);
    if (n < 0) {
        int zerr;
        const char *m = gzerror(f->gz, &zerr);
        snprintf(f->err, sizeof f->err, "read error: %s", zerr == Z_ERRNO ? strerror(errno) : m);
        return -1;
    }
    if (n == 0 && !f->follow) {
        /* zlib reports a gzip stream cut short only through gzerror. */
        int zerr;
        (void)gzerror(f->gz, &zerr);
        if (zerr == Z_BUF_ERROR) {
            snprintf(f->err, sizeof f->err, "truncated compressed file (unexpected end of the gzip data)");
            return -1;
        }
    }
    f->have = (size_t)n;
    f->used = 0;
    return n;
}

int asp_csvfile_next(asp_csvfile *f, int follow)
{
    for (;;) {
        if (f->used < f->have) {
            size_t used = 0;
            int rc = asp_csv_feed(f->parser, f->chunk + f->used, f->have - f->used, &used);
            f->used += used;
            if (rc == ASP_CSV_RECORD)
                return rc;
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
        if (f->eof)
            gzclearerr(f->gz); /* follow: try again past the old end */
        int n = read_chunk(f);
        if (n < 0)
            return ASP_CSV_ERROR;
        if (n == 0) {
            if (f->eof && follow)
                return ASP_CSV_MORE; /* nothing new yet: the record so far stays in the parser */
            f->eof = 1;
        } else {
            f->eof = 0;
        }
    }
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
    z_off_t off = gzoffset(f->gz);
    return off < 0 ? 0 : (int64_t)off;
}
