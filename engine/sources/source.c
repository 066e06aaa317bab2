/*
 * The live sources' core: the bounded queue of lines, arming, pulling,
 * connections, the journal's records, closing. What differs between kinds
 * is in one file per kind (tcp.c, listen.c, udp.c, stdin.c, exec.c,
 * tail.c, watch.c) behind asp_source_kind (source.h).
 *
 * libuv callbacks never call Lua. They cut the input into lines and append
 * each, with its arrival time (wall ns), to the source's bounded queue. When
 * the queue holds qmax bytes or more, reading stops (uv_read_stop: TCP flow
 * control and pipes push back on the writer) until Lua has drained it to
 * half. When a line arrives and the source is armed (its stream waits for
 * it), the stream's item is queued in the scheduler, due at the arrival.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <uv.h>

#include "engine.h"
#include "journal.h"
#include "sched.h"
#include "sources/source.h"
#include "time.h"

#define LINE_HEADER (sizeof(int64_t) + sizeof(uint32_t))

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);
static void forget_source(asp_live *l);

/* -- The queue -- */

void asp__source_notify(asp_live *l, int64_t due)
{
    if (l->armed) {
        l->armed = 0;
        asp_sched_push_event(l->s, l->item, due, l->order);
    }
}

/* --reload: once this process has handed its Lua run over, its sources
 * only journal what they read (the new instance's live input); if the run
 * is resumed, its input comes from the journal (`taking`), the source's end
 * too, after the lines before it. */
static int forward_only, taking;

void asp__source_end(asp_live *l)
{
    if (l->ended)
        return;
    if (forward_only && !taking) {
        if (!l->end_forwarded)
            asp_journal_end(l->number, asp_time_wall(), l->end_status);
        l->end_forwarded = 1;
        return;
    }
    l->ended = 1;
    asp_journal_end(l->number, asp_time_wall(), l->end_status);
    if (l->counted) {
        l->counted = 0;
        asp_sched_live_source(l->s, -1);
    }
    asp__source_notify(l, asp_sched_now(l->s));
}

void asp__source_fail(asp_live *l, const char *fmt, const char *a, const char *b)
{
    if (l->failed)
        return;
    l->failed = 1;
    snprintf(l->err, sizeof l->err, fmt, a, b);
    if (l->fail_item >= 0 && !l->closing)
        asp_sched_push(l->s, l->fail_item, asp_sched_now(l->s));
    asp__source_end(l);
}

void asp__source_warn(const asp_live *l, const char *what, const char *detail)
{
    fprintf(stderr, "%s: warning: %s%s\n", l->name[0] ? l->name : "asp live source", what, detail);
}

void asp_live_set_name(asp_live *l, const char *name)
{
    snprintf(l->name, sizeof l->name, "%s", name);
}

/* -- The journal's records of a source --------------------------------------
 * A line record's source field names the source (bits 0-15) and the
 * connection it came from (bits 16-29). Two more kinds travel as line
 * records with a flag, so that journal.c stays as it is:
 *   JPART: bytes appended to that connection's unfinished line;
 *   JPOS:  a file source's position (int64 pos, uint64 ino, uint64 dev)
 *          followed by its unfinished line.
 * A resumed checkpoint thus takes back, with the lines, what the later
 * process had read of an unfinished line, and where it was in a file
 * (docs/sources.md, "Time travel and live sources"). */
#define JID_MASK ASP_CONN_ID_MASK
#define JPART (1u << 30)
#define JPOS (1u << 29)

static int32_t jsrc(const asp_live *l, const asp_conn *c, uint32_t flag)
{
    return (int32_t)(flag | ((c ? c->id & JID_MASK : 0u) << 16) | ((uint32_t)l->number & 0xffffu));
}

static int64_t replayed_lines;

static int push_line(asp_live *l, const char *data, size_t len, int64_t arrival)
{
    uint32_t n32;
    if (len > 0 && data[len - 1] == '\r')
        len--;
    /* In a REPL session every line is journaled as it arrives, so that time
     * travel into this live period can give it back (journal.h). */
    asp_journal_line(jsrc(l, l->cur, 0), arrival, data, len);
    if (forward_only && !taking)
        return 0;
    if (l->qtail + LINE_HEADER + len > l->qcap) {
        if (l->qhead > 0) {
            memmove(l->q, l->q + l->qhead, l->qtail - l->qhead);
            l->qtail -= l->qhead;
            l->qhead = 0;
        }
        if (l->qtail + LINE_HEADER + len > l->qcap) {
            size_t cap = l->qcap ? l->qcap : 4096;
            char *q;
            while (cap < l->qtail + LINE_HEADER + len)
                cap *= 2;
            q = realloc(l->q, cap);
            if (!q) {
                asp__source_fail(l, "out of memory%s%s", "", "");
                return -1;
            }
            l->q = q;
            l->qcap = cap;
        }
    }
    n32 = (uint32_t)len;
    memcpy(l->q + l->qtail, &arrival, sizeof arrival);
    memcpy(l->q + l->qtail + sizeof arrival, &n32, sizeof n32);
    memcpy(l->q + l->qtail + LINE_HEADER, data, len);
    l->qtail += LINE_HEADER + len;
    asp__source_notify(l, arrival);
    if (l->qtail - l->qhead >= l->qmax)
        asp__source_pause(l);
    return 0;
}

void asp__source_push(asp_live *l, const char *data, size_t len, int64_t arrival)
{
    l->cur = NULL;
    push_line(l, data, len, arrival);
}

static int push_line_cb(void *ctx, const char *line, size_t len)
{
    asp_live *l = ctx;
    push_line(l, line, len, l->arrival);
    return l->failed;
}

/* Cuts data into lines (lines.c); what follows the last newline waits in c->lb. */
void asp__source_take(asp_live *l, asp_conn *c, const char *data, size_t n, int64_t arrival)
{
    int rc;
    if (l->failed)
        return;
    l->arrival = arrival;
    l->cur = c;
    rc = asp_lines_take(&c->lb, data, n, l->max_line, push_line_cb, l);
    if (c->lb.plen > 0 && c != &l->filepart && asp_journal_on()) {
        size_t k = c->lb.plen < n ? c->lb.plen : n; /* the bytes of this chunk after its last newline */
        asp_journal_line(jsrc(l, c, JPART), arrival, c->lb.part + c->lb.plen - k, k);
    }
    if (l->kind->took && c != &l->filepart && l->kind->took(l, c, rc))
        return;
    if (rc == ASP_LINES_TOO_LONG) {
        char lim[32];
        snprintf(lim, sizeof lim, "%zu", l->max_line);
        asp__source_fail(l, "a line is longer than %s bytes (max_line)%s", lim, "");
    } else if (rc == ASP_LINES_NOMEM) {
        asp__source_fail(l, "out of memory%s%s", "", "");
    }
}

void asp__source_flush(asp_live *l, asp_conn *c)
{
    l->cur = c;
    if (c->lb.plen > 0 && !l->failed)
        push_line(l, c->lb.part, c->lb.plen, asp_time_wall());
    c->lb.plen = 0;
}

void asp__source_describe(const asp_conn *c, char *out, size_t outlen)
{
    size_t n = c->lb.plen < 60 ? c->lb.plen : 60, k = 0;
    for (size_t i = 0; i < n && k + 5 < outlen; i++) {
        unsigned char ch = (unsigned char)c->lb.part[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\')
            out[k++] = (char)ch;
        else
            k += (size_t)snprintf(out + k, outlen - k, "\\x%02x", ch);
    }
    out[k < outlen ? k : outlen - 1] = '\0';
}

/* -- Pull and arm (the stream's side) -- */

int asp_live_pop(asp_live *l, asp_line *out)
{
    if (l->qhead < l->qtail) {
        uint32_t n32;
        memcpy(&out->arrival, l->q + l->qhead, sizeof out->arrival);
        memcpy(&n32, l->q + l->qhead + sizeof out->arrival, sizeof n32);
        out->data = l->q + l->qhead + LINE_HEADER;
        out->len = n32;
        l->qhead += LINE_HEADER + n32;
        if (l->qhead == l->qtail)
            l->qhead = l->qtail = 0; /* the bytes stay where they are until the next push */
        if (l->paused && l->qtail - l->qhead < l->qmax / 2)
            asp_live_resume(l);
        return ASP_LIVE_LINE;
    }
    if (l->failed)
        return ASP_LIVE_FAILED;
    if (l->ended)
        return ASP_LIVE_END;
    return ASP_LIVE_NONE;
}

int asp_live_arm(asp_live *l, int32_t item, uint32_t order)
{
    l->item = item;
    l->order = order;
    if (l->qhead < l->qtail) {
        int64_t arrival;
        memcpy(&arrival, l->q + l->qhead, sizeof arrival);
        asp_sched_push_event(l->s, item, arrival, order);
        return 1;
    }
    if (l->ended || l->failed) {
        asp_sched_push_event(l->s, item, asp_sched_now(l->s), order);
        return 1;
    }
    l->armed = 1;
    return 0;
}

int asp_live_arm_ready(asp_live *l, int32_t item, uint32_t order)
{
    l->item = item;
    l->order = order;
    l->armed = 0;
    return asp_sched_push_event(l->s, item, asp_time_wall(), order) == 0 ? 1 : -1;
}

const char *asp_live_error(const asp_live *l)
{
    return l->err;
}

void asp_live_set_drop_cut(asp_live *l, int32_t format)
{
    l->drop_cut = format;
}

void asp_live_counts(const asp_live *l, int64_t *out)
{
    out[0] = l->cut_lines;
    out[1] = 0;
    out[2] = 0;
    if (l->kind && l->kind->counts)
        l->kind->counts(l, out);
}

size_t asp_live_buffered(const asp_live *l)
{
    return l->qtail - l->qhead;
}

int32_t asp_live_port(asp_live *l)
{
    return l->kind && l->kind->port ? l->kind->port(l) : -1;
}

/* -- Handles and connections -- */

static void free_live(asp_live *l)
{
    forget_source(l);
    if (l->kind && l->kind->free)
        l->kind->free(l);
    free(l->impl);
    free(l->q);
    free(l->rbuf);
    asp_linebuf_free(&l->filepart.lb);
    free(l);
}

static void handle_gone(asp_live *l)
{
    if (--l->handles == 0 && l->closing)
        free_live(l);
}

static void on_handle_closed(uv_handle_t *h)
{
    handle_gone(h->data);
}

/* A connection's handle has the conn as its data. */
static void on_conn_closed(uv_handle_t *h)
{
    asp_conn *c = h->data;
    asp_live *l = c->owner;
    asp_linebuf_free(&c->lb);
    free(c);
    handle_gone(l);
}

void asp__source_close_handle(asp_live *l, uv_handle_t *h)
{
    h->data = l;
    if (!uv_is_closing(h))
        uv_close(h, on_handle_closed);
}

/* -- Reconnecting ------------------------------------------------------------ */

void asp__retry_init(asp_retry *r, asp_live *l, uint64_t min_ms, uint64_t max_ms, void (*again)(asp_live *l))
{
    r->l = l;
    r->again = again;
    r->ms = r->min_ms = min_ms;
    r->max_ms = max_ms > min_ms ? max_ms : min_ms;
}

static void on_retry(uv_timer_t *t)
{
    asp_retry *r = (asp_retry *)t;
    if (!r->l->closing)
        r->again(r->l);
}

void asp__retry_later(asp_retry *r)
{
    uint64_t ms = r->ms;
    r->ms = r->ms * 2 > r->max_ms ? r->max_ms : r->ms * 2;
    if (!r->has_timer) {
        uv_timer_init(asp_sched_loop(r->l->s), &r->timer);
        r->has_timer = 1;
        r->l->handles++;
    }
    uv_timer_start(&r->timer, on_retry, ms, 0);
}

void asp__retry_reset(asp_retry *r)
{
    r->ms = r->min_ms;
}

int asp__retry_waiting(const asp_retry *r)
{
    return r->has_timer && uv_is_active((const uv_handle_t *)&r->timer);
}

void asp__retry_close(asp_retry *r)
{
    if (r->has_timer)
        asp__source_close_handle(r->l, (uv_handle_t *)&r->timer);
}

void asp__conn_unlink(asp_live *l, asp_conn *c)
{
    for (asp_conn **pp = &l->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
}

void asp__conn_close(asp_live *l, asp_conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    l->partial_total -= c->counted;
    c->counted = 0;
    if (l->cur == c)
        l->cur = NULL;
    asp__conn_unlink(l, c);
    c->h.handle.data = c;
    uv_close(&c->h.handle, on_conn_closed);
}

asp_conn *asp__conn_new(asp_live *l)
{
    asp_conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->owner = l;
    c->id = (++l->conn_seq & JID_MASK) ? (l->conn_seq & JID_MASK) : (++l->conn_seq & JID_MASK);
    c->next = l->conns;
    l->conns = c;
    return c;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    asp_live *l = ((asp_conn *)h)->owner;
    (void)suggested;
    buf->base = l->rbuf;
    buf->len = ASP_SOURCE_READ_CHUNK;
}

void asp__conn_start(asp_live *l, asp_conn *c)
{
    if (!l->paused)
        uv_read_start(&c->h.stream, on_alloc, on_read);
}

void asp__source_pause(asp_live *l)
{
    if (l->paused)
        return;
    l->paused = 1;
    for (asp_conn *c = l->conns; c; c = c->next)
        uv_read_stop(&c->h.stream);
    if (l->kind && l->kind->pause)
        l->kind->pause(l);
}

void asp_live_resume(asp_live *l)
{
    if (!l->paused || l->closing || l->held)
        return;
    l->paused = 0;
    for (asp_conn *c = l->conns; c; c = c->next)
        uv_read_start(&c->h.stream, on_alloc, on_read);
    if (l->kind && l->kind->resume)
        l->kind->resume(l);
}

/* libuv reports a reset that came with or after data as an end of input
 * (EPOLLHUP after a short read: it never reads the error). The socket still
 * holds the error, or is closed where an orderly end leaves it CLOSE_WAIT. */
static int was_reset(asp_conn *c)
{
    uv_os_fd_t fd;
    int e = 0;
    socklen_t len = sizeof e;
    struct tcp_info ti;
    if (uv_fileno(&c->h.handle, &fd) != 0)
        return 0;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) == 0 && e == ECONNRESET)
        return 1;
    len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    return getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == 0 && ti.tcpi_state == TCP_CLOSE;
}

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    asp_conn *c = (asp_conn *)stream;
    asp_live *l = c->owner;
    int peer = l->kind->peer;
    if (nread > 0) {
        asp__source_take(l, c, buf->base, (size_t)nread, asp_time_wall());
        return;
    }
    if (nread == 0)
        return;
    if (nread == UV_EOF && peer && was_reset(c))
        nread = UV_ECONNRESET;
    /* End of this connection. At its orderly end (EOF), a last line without
     * its newline is a line (over the network, with a warning: the peer may
     * have stopped mid-line). After a reset or another error the bytes of an
     * unfinished line are known to be cut: they are dropped, with a warning
     * naming the source and showing them. Complete lines are all delivered. */
    if (c->lb.plen > 0 && !l->failed && !l->closing) {
        char shown[400], msg[600];
        asp__source_describe(c, shown, sizeof shown);
        if (nread == UV_EOF) {
            if (peer && l->drop_cut) {
                /* A CSV or JSON record cut by the close may parse, with
                 * its last field cut short, or fail and end the run: it
                 * is dropped, warned and counted. */
                snprintf(msg, sizeof msg, "the peer closed the connection in the middle of a line: "
                         "dropped its %zu bytes (format = '%s'): ", c->lb.plen, l->drop_cut == 1 ? "csv" : "json");
                asp__source_warn(l, msg, shown);
                l->cut_lines++;
                c->lb.plen = 0;
            } else if (peer) {
                snprintf(msg, sizeof msg, "the peer closed the connection in the middle of a line: "
                         "its %zu bytes are delivered as a line: ", c->lb.plen);
                asp__source_warn(l, msg, shown);
            }
            asp__source_flush(l, c);
        } else {
            snprintf(msg, sizeof msg, "connection lost (%s) in the middle of a line: "
                     "dropped its %zu bytes: ", uv_strerror((int)nread), c->lb.plen);
            asp__source_warn(l, msg, shown);
            l->cut_lines++;
            c->lb.plen = 0;
        }
    } else if (nread != UV_EOF && !l->closing) {
        char msg[200];
        snprintf(msg, sizeof msg, "connection lost (%s)", uv_strerror((int)nread));
        asp__source_warn(l, msg, "");
    }
    asp__conn_close(l, c);
    if (l->kind->conn_ended && l->kind->conn_ended(l, c))
        return;
    asp__source_end(l);
}

/* -- The journal's side ------------------------------------------------------
 * Sources are numbered in the order they are made; a checkpoint is a forked
 * copy, so the same number names the same source in every process of a REPL
 * session. */

static asp_live **sources;
static int32_t sources_made, sources_cap;

static int register_source(asp_live *l)
{
    if (sources_made == sources_cap) {
        int32_t cap = sources_cap ? sources_cap * 2 : 16;
        asp_live **grown = realloc(sources, (size_t)cap * sizeof *grown);
        if (!grown)
            return -1;
        for (int32_t i = sources_cap; i < cap; i++)
            grown[i] = NULL;
        sources = grown;
        sources_cap = cap;
    }
    l->number = sources_made;
    sources[sources_made++] = l;
    return 0;
}

static void forget_source(asp_live *l)
{
    if (l->number >= 0 && l->number < sources_made && sources[l->number] == l)
        sources[l->number] = NULL;
}

static asp_conn *conn_by_id(asp_live *l, uint32_t id)
{
    if (id == 0)
        return &l->filepart;
    for (asp_conn *c = l->conns; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL; /* accepted or connected by the later process: not here */
}

static int ignore_line(void *ctx, const char *line, size_t len)
{
    (void)ctx;
    (void)line;
    (void)len;
    return 0;
}

/* A journaled line, back into its source as if it had just arrived; or
 * the bytes of an unfinished line, or a file position (the kind's). */
static void replay_line(int32_t source, int64_t arrival, const char *data, size_t len)
{
    uint32_t u = (uint32_t)source, number = u & 0xffffu, id = (u >> 16) & JID_MASK;
    asp_live *l = (int32_t)number < sources_made ? sources[number] : NULL;
    asp_conn *c;
    if (!l || l->closing)
        return;
    l->cur = NULL;
    if (forward_only) {
        /* The resumed instance of a --reload session takes its own input
         * back: its connections and files are live, only whole lines
         * count. */
        if (!(u & (JPOS | JPART))) {
            taking = 1;
            push_line(l, data, len, arrival);
            taking = 0;
        }
        return;
    }
    if (u & JPOS) {
        if (l->kind && l->kind->replay_pos)
            l->kind->replay_pos(l, data, len);
        return;
    }
    c = conn_by_id(l, id);
    if (u & JPART) {
        if (c) {
            asp_lines_take(&c->lb, data, len, SIZE_MAX, ignore_line, NULL);
            if (c != &l->filepart && l->kind && l->kind->took)
                l->kind->took(l, c, ASP_LINES_OK);
        }
        return;
    }
    if (c && c != &l->filepart) {
        /* The line began with what this process had of it when it was
         * forked; the journal gives it whole. */
        c->lb.plen = 0;
        if (l->kind && l->kind->took)
            l->kind->took(l, c, ASP_LINES_OK);
    }
    replayed_lines++;
    if (l->kind && l->kind->replay_line)
        l->kind->replay_line(l, data, len);
    push_line(l, data, len, arrival);
}

void asp__source_forward_all(void)
{
    forward_only = 1;
}

int asp__source_all_drained(void)
{
    for (int32_t i = 0; i < sources_made; i++)
        if (sources[i] && sources[i]->qhead < sources[i]->qtail)
            return 0;
    return 1;
}

int64_t asp__source_replayed_lines(void)
{
    return replayed_lines;
}

/* A source of a --reload follower: no handles, no reading; its lines and
 * its end come from the journal (engine/reload.c). */
static const asp_source_kind phantom_kind = { .name = "journal" };

int asp__source_phantom(asp_live *l)
{
    char err[64];
    return asp__source_init(l, &phantom_kind, 1, err, sizeof err);
}

/* A journaled end: the source ends where it ended in the original run. */
static void replay_end(int32_t source, int32_t status)
{
    asp_live *l = source >= 0 && source < sources_made ? sources[source] : NULL;
    if (!l || l->closing)
        return;
    if (forward_only) {
        taking = 1;
        asp__source_end(l);
        taking = 0;
        return;
    }
    if (l->kind && l->kind->replay_end)
        l->kind->replay_end(l, status);
    asp__source_end(l);
}

/* While the journal replays, the sources read nothing: their input was read
 * already, by the process that journaled it. */
static void hold_sources(int on)
{
    for (int32_t i = 0; i < sources_made; i++) {
        asp_live *l = sources[i];
        if (!l)
            continue;
        if (on) {
            asp__source_pause(l);
            l->held = 1;
            /* Connections made from now on must not take the ids that the
             * later process gave to its own, which the journal names. */
            l->conn_seq += (JID_MASK + 1) / 2;
        } else {
            l->held = 0;
            if (l->qtail - l->qhead < l->qmax)
                asp_live_resume(l);
        }
    }
}

/* -- Files: stdin from a file, asp.tail --------------------------------------
 * A file is read with pread() at the source's own position, never through
 * the shared offset of its open file description: a forked checkpoint of a
 * REPL session holds the same descriptor, and each process keeps its own
 * place in the file (docs/sources.md, "Time travel and live sources"). */

/* In a REPL session: where the current file was read to, and its
 * unfinished line (JPOS, above). */
static void journal_pos(asp_live *l, const asp_file *f)
{
    char *rec;
    size_t n = 3 * sizeof(int64_t) + l->filepart.lb.plen;
    uint64_t ino = (uint64_t)f->ino, dev = (uint64_t)f->dev;
    if (!asp_journal_on() || !(rec = malloc(n)))
        return;
    memcpy(rec, &f->pos, sizeof f->pos);
    memcpy(rec + 8, &ino, 8);
    memcpy(rec + 16, &dev, 8);
    if (l->filepart.lb.plen)
        memcpy(rec + 24, l->filepart.lb.part, l->filepart.lb.plen);
    asp_journal_line(jsrc(l, NULL, JPOS), asp_time_wall(), rec, n);
    free(rec);
}

int asp__file_drain(asp_live *l, asp_file *f, asp_conn *c, int journal)
{
    int64_t before = f->pos;
    int r = 0;
    while (!l->paused && !l->ended && !l->closing) {
        ssize_t n = pread(f->fd, l->rbuf, ASP_SOURCE_READ_CHUNK, (off_t)f->pos);
        if (n > 0) {
            f->pos += n;
            asp__source_take(l, c, l->rbuf, (size_t)n, asp_time_wall());
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        r = n == 0 ? 1 : -1;
        break;
    }
    if (journal && f->pos != before)
        journal_pos(l, f);
    return r;
}

int asp__file_pos_record(const char *data, size_t len, int64_t *pos, uint64_t *ino, uint64_t *dev)
{
    if (len < 24)
        return -1;
    memcpy(pos, data, 8);
    memcpy(ino, data + 8, 8);
    memcpy(dev, data + 16, 8);
    return 0;
}

void asp__file_restore(asp_live *l, asp_file *f, int64_t pos, const char *data, size_t len)
{
    f->pos = pos;
    l->filepart.lb.plen = 0;
    asp_lines_take(&l->filepart.lb, data + 24, len - 24, SIZE_MAX, ignore_line, NULL);
}

/* -- Opening and closing -- */

asp_live *asp_live_new(int32_t max_buffer, int32_t max_line)
{
    static int journal_hooked;
    if (!journal_hooked) {
        asp_journal_set_sources(replay_line, replay_end, hold_sources);
        journal_hooked = 1;
    }
    asp_live *l = calloc(1, sizeof *l);
    if (!l)
        return NULL;
    l->s = asp_engine_sched();
    l->qmax = max_buffer > 0 ? (size_t)max_buffer : (1u << 20);
    l->max_line = max_line > 0 ? (size_t)max_line : (1u << 20);
    l->item = -1;
    l->fail_item = -1;
    l->rbuf = malloc(ASP_SOURCE_READ_CHUNK);
    if (!l->rbuf) {
        free(l);
        return NULL;
    }
    l->filepart.owner = l;
    if (register_source(l) != 0) {
        free(l->rbuf);
        free(l);
        return NULL;
    }
    return l;
}

int asp__source_init(asp_live *l, const asp_source_kind *kind, size_t impl_size, char *err, size_t errlen)
{
    l->impl = calloc(1, impl_size);
    if (!l->impl) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->kind = kind; /* only with its state: the hooks may use it */
    return 0;
}

void asp_live_set_fail_item(asp_live *l, int32_t item)
{
    l->fail_item = item;
}

int asp__source_resolve(const char *host, int port, int passive, struct sockaddr_storage *out,
                        char *err, size_t errlen)
{
    struct addrinfo hints, *res = NULL;
    char service[16];
    int rc;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_flags = passive ? AI_PASSIVE : 0;
    snprintf(service, sizeof service, "%d", port);
    rc = getaddrinfo(host && *host ? host : NULL, service, &hints, &res);
    if (rc != 0 || !res) {
        snprintf(err, errlen, "cannot resolve '%s': %s", host ? host : "", gai_strerror(rc));
        return -1;
    }
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

void asp_live_begin(asp_live *l)
{
    if (!l->begun) {
        l->begun = 1;
        if (!l->ended) {
            l->counted = 1;
            asp_sched_live_source(l->s, 1);
        }
    }
}

void asp_live_close(asp_live *l)
{
    if (!l || l->closing)
        return;
    l->armed = 0;
    asp__source_end(l);
    l->closing = 1;
    while (l->conns)
        asp__conn_close(l, l->conns);
    if (l->kind && l->kind->close)
        l->kind->close(l);
    if (l->handles == 0) {
        free_live(l);
        return;
    }
    /* Let libuv run the close callbacks now, so that nothing outlives the run. */
    uv_run(asp_sched_loop(l->s), UV_RUN_NOWAIT);
}
