/*
 * The line splitter of the live sources, separate from libuv so that it can
 * be tested and fuzzed alone: bytes go in, in chunks of any size; each
 * complete line (without its '\n') goes to a callback; what follows the last
 * newline waits in the buffer for the next chunk.
 */
#ifndef ASP_LINES_H
#define ASP_LINES_H

#include <stddef.h>

typedef struct asp_linebuf {
    char *part;          /* a line not ended yet */
    size_t plen, pcap;
} asp_linebuf;

/* Receives one line; a non-zero return stops the splitting. */
typedef int (*asp_line_fn)(void *ctx, const char *line, size_t len);

enum { ASP_LINES_OK = 0, ASP_LINES_TOO_LONG = -1, ASP_LINES_NOMEM = -2, ASP_LINES_STOPPED = -3 };

/* Splits data[0..n). A line longer than max_line bytes (its newline not
 * counted) is ASP_LINES_TOO_LONG: the lines before it were delivered, the
 * buffer is left empty. */
int asp_lines_take(asp_linebuf *b, const char *data, size_t n, size_t max_line, asp_line_fn fn,
                   void *ctx);

void asp_linebuf_free(asp_linebuf *b);

#endif
