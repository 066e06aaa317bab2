/* The line splitter of the live sources (see lines.h). */
#include <stdlib.h>
#include <string.h>

#include "sources/lines.h"

static int append(asp_linebuf *b, const char *data, size_t k)
{
    if (b->plen + k > b->pcap) {
        size_t cap = b->pcap ? b->pcap : 256;
        char *p;
        while (cap < b->plen + k)
            cap *= 2;
        p = realloc(b->part, cap);
        if (!p)
            return -1;
        b->part = p;
        b->pcap = cap;
    }
    memcpy(b->part + b->plen, data, k);
    b->plen += k;
    return 0;
}

int asp_lines_take(asp_linebuf *b, const char *data, size_t n, size_t max_line, asp_line_fn fn,
                   void *ctx)
{
    size_t i = 0;
    while (i < n) {
        const char *nl = memchr(data + i, '\n', n - i);
        size_t k = nl ? (size_t)(nl - (data + i)) : n - i;
        size_t len;
        int rc;
        if (k > max_line || b->plen > max_line - k) {
            b->plen = 0;
            return ASP_LINES_TOO_LONG;
        }
        if (!nl || b->plen > 0) {
            /* The line began in an earlier chunk, or goes on in a later one. */
            if (append(b, data + i, k) != 0) {
                b->plen = 0;
                return ASP_LINES_NOMEM;
            }
            if (!nl)
                return ASP_LINES_OK;
            len = b->plen;
            b->plen = 0;
            rc = fn(ctx, b->part, len);
        } else {
            rc = fn(ctx, data + i, k);
        }
        i += k + 1;
        if (rc != 0)
            return ASP_LINES_STOPPED;
    }
    return ASP_LINES_OK;
}

void asp_linebuf_free(asp_linebuf *b)
{
    free(b->part);
    b->part = NULL;
    b->plen = b->pcap = 0;
}
