/*
 * Live sources on libuv: stdin, TCP client and server, UDP, a subprocess's
 * standard output, a followed file, and the watch behind asp.csv's follow
 * mode.
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include "asp_ffi.h"
#include "journal.h"
#include "sched.h"
#include "signals.h"
#include "sources/lines.h"
#include "time.h"

#define READ_CHUNK (64u << 10)
#define POLL_MS 20
#define ROTATE_GRACE_MS 1000
#define LINE_HEADER (sizeof(int64_t) + sizeof(uint32_t))

enum { K_TCP, K_LISTEN, K_UDP, K_STDIN, K_EXEC, K_TAIL, K_WATCH };

typedef struct conn conn;

struct conn {
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
        uv_tty_t tty;
    } h;
    asp_live *owner;
    conn *next;
    asp_linebuf lb;      /* a line not ended yet */
    size_t counted;      /* of lb.plen, in the owner's partial_total */
    uint32_t id;         /* names it in the journal (0: a file's or a datagram's) */
    int closing;
};

struct asp_live {
    int kind;
    asp_sched *s;
    char *q;             /* the queue: [int64 arrival][uint32 len][bytes] ... */
    size_t qhead, qtail, qcap, qmax, max_line;
    int32_t item, fail_item;
    uint32_t order;
    int armed, begun, counted, ended, failed, paused, closing;
    int handles;         /* open libuv handles: freed when it drops to 0 while closing */
    char err[512];
    char *rbuf;          /* read buffer shared by the source's handles */
    conn *conns;
    /* kind-specific */
    uv_poll_t server;    /* asp.listen: readiness of its own listening socket */
    int lfd;
    uv_udp_t udp;
    uv_process_t proc;
    uv_timer_t timer;
    int has_server, has_udp, has_proc, has_timer;
    struct sockaddr_storage addr;
    uv_connect_t creq;
    int reconnect;
    uint64_t backoff_ms, backoff_min_ms, backoff_max_ms;
    char *path;
    int fd;
    int fd_eof_ends;     /* stdin from a file: its end ends the source */
    int64_t pos, watch_size, watch_mtime;
    dev_t dev;
    ino_t ino;
    int64_t arrival;     /* of the bytes being split */
    conn filepart;       /* the partial line of a file source (no handle) */
    int64_t exit_status; /* the exit code, or -signal */
    int exited, out_eof; /* asp.exec: the process exited; its output ended */
    int deleted;         /* asp.tail: the path is gone (warned once) */
    char name[200];      /* the source's name, for warnings */
    int32_t number;      /* its place among the sources made, for the journal */
    int held;            /* not reading: the journal replays its input */
    /* asp.tail: a rotated-away file, followed until it has been quiet for
     * ROTATE_GRACE_MS (its writer may not have reopened the path yet) */
    int ofd;
    int64_t opos, old_grew, gone_since;
    conn oldpart;
    uv_fs_event_t dirwatch; /* inotify on the file's directory: polls at once */
    int has_dirwatch;
    char *base;          /* the file's name in its directory */
    /* counts for asp.stats() */
    int pgid;            /* asp.exec: the child's process group, while it has members */
    pid_t spawner;       /* the process that started it (not a forked checkpoint) */
    int drop_cut;        /* 1 csv, 2 json: a line cut by a close is dropped */
    int64_t cut_lines;   /* partial lines dropped (rotation, truncation, reset) */
    int64_t accept_waits, accept_waiting; /* accept() failed: descriptors ran out */
    int64_t conns_dropped; /* connections closed: over-long line, partial-lines bound */
    size_t partial_total;  /* bytes of unfinished lines of all connections (asp.listen) */
    uint32_t conn_seq;   /* the last connection id given */
    conn *cur;           /* the connection whose bytes are being split */
};

static void on_read(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

/* -- The queue -- */

static void notify(asp_live *l, int64_t due)
{
    if (l->armed) {
        l->armed = 0;
        asp_sched_push_event(l->s, l->item, due, l->order);
    }
}

static void end_source(asp_live *l)
{
    if (l->ended)
        return;
    l->ended = 1;
    asp_journal_end(l->number, asp_time_wall(), (int32_t)l->exit_status);
    if (l->counted) {
        l->counted = 0;
        l->s->live_sources--;
    }
    notify(l, l->s->now);
}

static void fail(asp_live *l, const char *fmt, const char *a, const char *b)
{
    if (l->failed)
        return;
    l->failed = 1;
    snprintf(l->err, sizeof l->err, fmt, a, b);
    if (l->fail_item >= 0 && !l->closing)
        asp_sched_push(l->s, l->fail_item, l->s->now);
    end_source(l);
}

static void pause_reading(asp_live *l);
static void forget_source(asp_live *l);

/* A warning on stderr, naming the source. */
static void warn(const asp_live *l, const char *what, const char *detail)
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
#define JID_MASK 0x3fffu
#define JPART (1u << 30)
#define JPOS (1u << 29)

static int32_t jsrc(const asp_live *l, const conn *c, uint32_t flag)
{
    return (int32_t)(flag | ((c ? c->id & JID_MASK : 0u) << 16) | ((uint32_t)l->number & 0xffffu));
}

static int push_line(asp_live *l, const char *data, size_t len, int64_t arrival)
{
    uint32_t n32;
    if (len > 0 && data[len - 1] == '\r')
        len--;
    /* In a REPL session every line is journaled as it arrives, so that time
     * travel into this live period can give it back (journal.h). */
    asp_journal_line(jsrc(l, l->cur, 0), arrival, data, len);
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
                fail(l, "out of memory%s%s", "", "");
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
    notify(l, arrival);
    if (l->qtail - l->qhead >= l->qmax)
        pause_reading(l);
    return 0;
}

static int push_line_cb(void *ctx, const char *line, size_t len)
{
    asp_live *l = ctx;
    push_line(l, line, len, l->arrival);
    return l->failed;
}

static void close_conn(asp_live *l, conn *c);
static void bound_partials(asp_live *l, conn *c);

/* asp.listen: one client's fault closes its connection, not the run. */
static void drop_conn(asp_live *l, conn *c, const char *why)
{
    char msg[400];
    snprintf(msg, sizeof msg, "%s: closed that connection (its complete lines were delivered; "
             "dropped_connections in asp.stats())", why);
    warn(l, msg, "");
    l->conns_dropped++;
    c->lb.plen = 0;
    close_conn(l, c);
}

/* Cuts data into lines (lines.c); what follows the last newline waits in c->lb. */
static void take_bytes(asp_live *l, conn *c, const char *data, size_t n, int64_t arrival)
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
    if (l->kind == K_LISTEN && c != &l->filepart) {
        if (rc == ASP_LINES_TOO_LONG) {
            char why[100];
            snprintf(why, sizeof why, "a line is longer than %zu bytes (max_line)", l->max_line);
            drop_conn(l, c, why);
            return;
        }
        bound_partials(l, c);
        if (rc == ASP_LINES_OK || c->closing)
            return;
    }
    if (rc == ASP_LINES_TOO_LONG) {
        char lim[32];
        snprintf(lim, sizeof lim, "%zu", l->max_line);
        fail(l, "a line is longer than %s bytes (max_line)%s", lim, "");
    } else if (rc == ASP_LINES_NOMEM) {
        fail(l, "out of memory%s%s", "", "");
    }
}

/* asp.listen: the unfinished lines of all its connections together are
 * bounded by `buffer`, as its queue is (500 clients each holding 1 MB
 * without a newline took 494 MB). Over it, the connection holding the most
 * is closed, warned and counted. A buffer grown for a long line is given
 * back once the line is complete. */
static void bound_partials(asp_live *l, conn *c)
{
    l->partial_total = l->partial_total - c->counted + c->lb.plen;
    c->counted = c->lb.plen;
    if (c->lb.plen == 0 && c->lb.pcap > (64u << 10))
        asp_linebuf_free(&c->lb);
    while (l->partial_total > l->qmax) {
        conn *big = c;
        char why[200];
        for (conn *o = l->conns; o; o = o->next)
            if (o->lb.plen > big->lb.plen)
                big = o;
        if (big->closing || big->counted == 0)
            break; /* cannot happen: the total counts open connections only */
        snprintf(why, sizeof why, "the unfinished lines of all connections hold more than buffer = %zu bytes, "
                 "%zu of them in this connection's", l->qmax, big->lb.plen);
        drop_conn(l, big, why);
    }
}

/* At the end of a connection, a last line without its newline is a line. */
static void flush_part(asp_live *l, conn *c)
{
    l->cur = c;
    if (c->lb.plen > 0 && !l->failed)
        push_line(l, c->lb.part, c->lb.plen, asp_time_wall());
    c->lb.plen = 0;
}

/* Shows the start of a partial line in a warning. */
static void describe_part(const conn *c, char *out, size_t outlen)
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
        return 1;
    }
    if (l->failed)
        return -2;
    if (l->ended)
        return -1;
    return 0;
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
        asp_sched_push_event(l->s, item, l->s->now, order);
        return 1;
    }
    l->armed = 1;
    return 0;
}

/* Wakes the stream at the next poll although no line arrived (follow mode
 * reads the file itself; the watch only says that it may have grown). */
static void watch_poll(asp_live *l)
{
    struct stat st;
    if (!l->armed)
        return;
    if (stat(l->path, &st) != 0)
        return;
    if ((int64_t)st.st_size != l->watch_size || (int64_t)st.st_mtime != l->watch_mtime) {
        l->watch_size = (int64_t)st.st_size;
        l->watch_mtime = (int64_t)st.st_mtime;
        notify(l, asp_time_wall());
    }
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
    out[1] = l->accept_waits;
    out[2] = l->conns_dropped;
}

size_t asp_live_buffered(const asp_live *l)
{
    return l->qtail - l->qhead;
}

/* -- Handles -- */

static void free_live(asp_live *l)
{
    forget_source(l);
    free(l->q);
    free(l->rbuf);
    free(l->path);
    asp_linebuf_free(&l->filepart.lb);
    asp_linebuf_free(&l->oldpart.lb);
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
    conn *c = h->data;
    asp_live *l = c->owner;
    asp_linebuf_free(&c->lb);
    free(c);
    handle_gone(l);
}

static void close_handle(asp_live *l, uv_handle_t *h)
{
    h->data = l;
    if (!uv_is_closing(h))
        uv_close(h, on_handle_closed);
}

static void unlink_conn(asp_live *l, conn *c)
{
    for (conn **pp = &l->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
}

static void close_conn(asp_live *l, conn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    l->partial_total -= c->counted;
    c->counted = 0;
    if (l->cur == c)
        l->cur = NULL;
    unlink_conn(l, c);
    c->h.handle.data = c;
    uv_close(&c->h.handle, on_conn_closed);
}

static conn *new_conn(asp_live *l)
{
    conn *c = calloc(1, sizeof *c);
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
    asp_live *l = ((conn *)h)->owner;
    (void)suggested;
    buf->base = l->rbuf;
    buf->len = READ_CHUNK;
}

static void start_conn(asp_live *l, conn *c)
{
    if (!l->paused)
        uv_read_start(&c->h.stream, on_alloc, on_read);
}

static void pause_reading(asp_live *l)
{
    if (l->paused)
        return;
    l->paused = 1;
    for (conn *c = l->conns; c; c = c->next)
        uv_read_stop(&c->h.stream);
    if (l->has_udp)
        uv_udp_recv_stop(&l->udp);
}

static void on_udp(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                   unsigned flags);
static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    asp_live *l = h->data;
    (void)suggested;
    buf->base = l->rbuf;
    buf->len = READ_CHUNK;
}

void asp_live_resume(asp_live *l)
{
    if (!l->paused || l->closing || l->held)
        return;
    l->paused = 0;
    for (conn *c = l->conns; c; c = c->next)
        uv_read_start(&c->h.stream, on_alloc, on_read);
    if (l->has_udp)
        uv_udp_recv_start(&l->udp, udp_alloc, on_udp);
}

static void reconnect_later(asp_live *l);

/* libuv reports a reset that came with or after data as an end of input
 * (EPOLLHUP after a short read: it never reads the error). The socket still
 * holds the error, or is closed where an orderly end leaves it CLOSE_WAIT. */
static int was_reset(conn *c)
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
    conn *c = (conn *)stream;
    asp_live *l = c->owner;
    if (nread > 0) {
        take_bytes(l, c, buf->base, (size_t)nread, asp_time_wall());
        return;
    }
    if (nread == 0)
        return;
    if (nread == UV_EOF && (l->kind == K_TCP || l->kind == K_LISTEN) && was_reset(c))
        nread = UV_ECONNRESET;
    /* End of this connection. At its orderly end (EOF), a last line without
     * its newline is a line (over the network, with a warning: the peer may
     * have stopped mid-line). After a reset or another error the bytes of an
     * unfinished line are known to be cut: they are dropped, with a warning
     * naming the source and showing them. Complete lines are all delivered. */
    if (c->lb.plen > 0 && !l->failed && !l->closing) {
        char shown[400], msg[600];
        describe_part(c, shown, sizeof shown);
        if (nread == UV_EOF) {
            if ((l->kind == K_TCP || l->kind == K_LISTEN) && l->drop_cut) {
                /* A CSV or JSON record cut by the close may parse, with
                 * its last field cut short, or fail and end the run: it
                 * is dropped, warned and counted. */
                snprintf(msg, sizeof msg, "the peer closed the connection in the middle of a line: "
                         "dropped its %zu bytes (format = '%s'): ", c->lb.plen, l->drop_cut == 1 ? "csv" : "json");
                warn(l, msg, shown);
                l->cut_lines++;
                c->lb.plen = 0;
            } else if (l->kind == K_TCP || l->kind == K_LISTEN) {
                snprintf(msg, sizeof msg, "the peer closed the connection in the middle of a line: "
                         "its %zu bytes are delivered as a line: ", c->lb.plen);
                warn(l, msg, shown);
            }
            flush_part(l, c);
        } else {
            snprintf(msg, sizeof msg, "connection lost (%s) in the middle of a line: "
                     "dropped its %zu bytes: ", uv_strerror((int)nread), c->lb.plen);
            warn(l, msg, shown);
            l->cut_lines++;
            c->lb.plen = 0;
        }
    } else if (nread != UV_EOF && !l->closing) {
        char msg[200];
        snprintf(msg, sizeof msg, "connection lost (%s)", uv_strerror((int)nread));
        warn(l, msg, "");
    }
    close_conn(l, c);
    if (l->kind == K_LISTEN)
        return; /* the server goes on with its other clients */
    if (l->kind == K_TCP && l->reconnect && !l->closing) {
        reconnect_later(l);
        return;
    }
    if (l->kind == K_EXEC) {
        /* The stream ends once the process has exited too, so that its
         * status is known when the stream ends. */
        l->out_eof = 1;
        if (!l->exited && l->spawner != getpid()) {
            /* Time travel: this process is a checkpoint forked after the
             * child was started; the child's exit goes to the process that
             * started it (gone, or another checkpoint), never here. */
            warn(l, "the process was started before time travel: its output ended; ",
                 "its exit status cannot be known in this process");
            if (!uv_is_closing((uv_handle_t *)&l->proc))
                close_handle(l, (uv_handle_t *)&l->proc);
        } else if (!l->exited) {
            return;
        }
    }
    end_source(l);
}

/* -- Creation -- */

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

/* A journaled line, back into its source as if it had just arrived. */
static void finish_old(asp_live *l);

static conn *conn_by_id(asp_live *l, uint32_t id)
{
    if (id == 0)
        return &l->filepart;
    for (conn *c = l->conns; c; c = c->next)
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

/* A journaled file position (JPOS): the later process read the file to
 * there; this one goes on from there, in the same file if it can. */
static void replay_pos(asp_live *l, const char *data, size_t len)
{
    int64_t pos;
    uint64_t ino, dev;
    if (len < 24 || l->fd < 0)
        return;
    memcpy(&pos, data, 8);
    memcpy(&ino, data + 8, 8);
    memcpy(&dev, data + 16, 8);
    if (ino != (uint64_t)l->ino || dev != (uint64_t)l->dev) {
        struct stat st;
        int fd = l->path ? open(l->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK) : -1;
        if (fd < 0 || fstat(fd, &st) != 0 || (uint64_t)st.st_ino != ino || (uint64_t)st.st_dev != dev) {
            if (fd >= 0)
                close(fd);
            return; /* that file is gone from the path: the rotation is seen again */
        }
        finish_old(l);
        close(l->fd);
        l->fd = fd;
        l->ino = st.st_ino;
        l->dev = st.st_dev;
    }
    l->pos = pos;
    l->filepart.lb.plen = 0;
    asp_lines_take(&l->filepart.lb, data + 24, len - 24, SIZE_MAX, ignore_line, NULL);
}

/* A journaled line, back into its source as if it had just arrived; or
 * the bytes of an unfinished line, or a file position (above). */
static void replay_line(int32_t source, int64_t arrival, const char *data, size_t len)
{
    uint32_t u = (uint32_t)source, number = u & 0xffffu, id = (u >> 16) & JID_MASK;
    asp_live *l = (int32_t)number < sources_made ? sources[number] : NULL;
    conn *c;
    if (!l || l->closing)
        return;
    l->cur = NULL;
    if (u & JPOS) {
        replay_pos(l, data, len);
        return;
    }
    c = conn_by_id(l, id);
    if (u & JPART) {
        if (c) {
            asp_lines_take(&c->lb, data, len, SIZE_MAX, ignore_line, NULL);
            if (l->kind == K_LISTEN)
                bound_partials(l, c);
        }
        return;
    }
    if (c && c != &l->filepart) {
        /* The line began with what this process had of it when it was
         * forked; the journal gives it whole. */
        c->lb.plen = 0;
        if (l->kind == K_LISTEN)
            bound_partials(l, c);
    }
    push_line(l, data, len, arrival);
}

/* A journaled end: the source ends where it ended in the original run. */
static void replay_end(int32_t source, int32_t status)
{
    asp_live *l = source >= 0 && source < sources_made ? sources[source] : NULL;
    if (!l || l->closing)
        return;
    if (l->kind == K_EXEC) {
        l->exit_status = status;
        l->exited = 1;
        l->out_eof = 1;
        /* The process was the child of the process that journaled its end,
         * not of this one: its handle would wait for an exit never seen. */
        if (l->has_proc && !uv_is_closing((uv_handle_t *)&l->proc))
            close_handle(l, (uv_handle_t *)&l->proc);
    }
    end_source(l);
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
            pause_reading(l);
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
    l->fd = -1;
    l->ofd = -1;
    l->lfd = -1;
    l->rbuf = malloc(READ_CHUNK);
    if (!l->rbuf) {
        free(l);
        return NULL;
    }
    l->filepart.owner = l;
    l->oldpart.owner = l;
    if (register_source(l) != 0) {
        free(l->rbuf);
        free(l);
        return NULL;
    }
    return l;
}

void asp_live_set_fail_item(asp_live *l, int32_t item)
{
    l->fail_item = item;
}

/* Resolves host:port into l->addr; returns 0 or writes an error. */
static int resolve(asp_live *l, const char *host, int port, int passive, char *err, size_t errlen)
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
    memcpy(&l->addr, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

void asp_live_begin(asp_live *l)
{
    if (!l->begun) {
        l->begun = 1;
        if (!l->ended) {
            l->counted = 1;
            l->s->live_sources++;
        }
    }
}

/* TCP client */

static void connect_now(asp_live *l);

static void on_connect(uv_connect_t *req, int status)
{
    asp_live *l = req->data;
    conn *c = (conn *)req->handle;
    if (status == 0) {
        l->backoff_ms = l->backoff_min_ms;
        start_conn(l, c);
        return;
    }
    close_conn(l, c);
    if (status == UV_ECANCELED || l->closing)
        return;
    if (l->reconnect) {
        reconnect_later(l);
        return;
    }
    fail(l, "cannot connect: %s%s", uv_strerror(status), "");
}

static void connect_now(asp_live *l)
{
    conn *c = new_conn(l);
    int rc;
    if (!c) {
        fail(l, "out of memory%s%s", "", "");
        return;
    }
    uv_tcp_init(&l->s->loop, &c->h.tcp);
    c->h.handle.data = l;
    l->handles++;
    l->creq.data = l;
    rc = uv_tcp_connect(&l->creq, &c->h.tcp, (const struct sockaddr *)&l->addr, on_connect);
    if (rc != 0) {
        close_conn(l, c);
        if (l->reconnect)
            reconnect_later(l);
        else
            fail(l, "cannot connect: %s%s", uv_strerror(rc), "");
    }
}

static void on_reconnect_timer(uv_timer_t *t)
{
    asp_live *l = t->data;
    if (!l->closing)
        connect_now(l);
}

static void reconnect_later(asp_live *l)
{
    uint64_t ms = l->backoff_ms;
    l->backoff_ms = l->backoff_ms * 2 > l->backoff_max_ms ? l->backoff_max_ms : l->backoff_ms * 2;
    if (!l->has_timer) {
        uv_timer_init(&l->s->loop, &l->timer);
        l->has_timer = 1;
        l->handles++;
    }
    l->timer.data = l;
    uv_timer_start(&l->timer, on_reconnect_timer, ms, 0);
}

int asp_live_tcp(asp_live *l, const char *host, int32_t port, int32_t reconnect_ms,
                 int32_t reconnect_max_ms, char *err, size_t errlen)
{
    l->kind = K_TCP;
    if (resolve(l, host, port, 0, err, errlen) != 0)
        return -1;
    l->reconnect = reconnect_ms > 0;
    l->backoff_min_ms = l->backoff_ms = reconnect_ms > 0 ? (uint64_t)reconnect_ms : 0;
    l->backoff_max_ms = reconnect_max_ms > reconnect_ms ? (uint64_t)reconnect_max_ms : l->backoff_ms;
    asp_live_begin(l);
    connect_now(l);
    return 0;
}

/* TCP server
 *
 * Its own listening socket, accepted with accept4() on a uv_poll: when the
 * descriptors run out (EMFILE), libuv's listener accepts and closes the
 * waiting connections at once (its "EMFILE trick"), silently losing their
 * lines. Here a connection that cannot be accepted stays in the kernel's
 * backlog: a warning once per burst, counted in accept_waits, and accepting
 * goes on every 20 ms or when a connection of the source closes. */

static void accept_all(asp_live *l);

static void on_listen_io(uv_poll_t *p, int status, int events)
{
    (void)status;
    (void)events;
    accept_all(p->data);
}

static void on_accept_retry(uv_timer_t *t)
{
    asp_live *l = t->data;
    if (l->closing)
        return;
    uv_poll_start(&l->server, UV_READABLE, on_listen_io);
    accept_all(l);
}

static void accept_all(asp_live *l)
{
    while (!l->closing) {
        conn *c;
        int fd = accept(l->lfd, NULL, NULL); /* uv_tcp_open makes it non-blocking */
        if (fd >= 0)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
        if (fd < 0) {
            char msg[300];
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                if (!l->accept_waiting) {
                    l->accept_waiting = 1;
                    l->accept_waits++;
                    snprintf(msg, sizeof msg, "cannot accept a connection (%s): it waits in the kernel's "
                             "backlog until a descriptor is free (%lld time%s so far, accept_waits in asp.stats())",
                             strerror(errno), (long long)l->accept_waits, l->accept_waits == 1 ? "" : "s");
                    warn(l, msg, "");
                }
                uv_poll_stop(&l->server);
                if (!l->has_timer) {
                    uv_timer_init(&l->s->loop, &l->timer);
                    l->timer.data = l;
                    l->has_timer = 1;
                    l->handles++;
                }
                uv_timer_start(&l->timer, on_accept_retry, 20, 0);
                return;
            }
            snprintf(msg, sizeof msg, "cannot accept a connection: %s", strerror(errno));
            warn(l, msg, "");
            return;
        }
        if (l->accept_waiting) {
            l->accept_waiting = 0;
            warn(l, "accepting connections again: ", "descriptors are free");
        }
        c = new_conn(l);
        if (!c) {
            close(fd);
            return;
        }
        uv_tcp_init(&l->s->loop, &c->h.tcp);
        c->h.handle.data = l;
        l->handles++;
        if (uv_tcp_open(&c->h.tcp, fd) != 0) {
            close(fd);
            close_conn(l, c);
            continue;
        }
        start_conn(l, c);
    }
}

int asp_live_listen(asp_live *l, const char *host, int32_t port, char *err, size_t errlen)
{
    int one = 1;
    socklen_t alen;
    l->kind = K_LISTEN;
    if (resolve(l, host, port, 1, err, errlen) != 0)
        return -1;
    alen = l->addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    l->lfd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (l->lfd < 0 || setsockopt(l->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(l->lfd, (const struct sockaddr *)&l->addr, alen) != 0 || listen(l->lfd, 128) != 0) {
        snprintf(err, errlen, "cannot listen: %s", strerror(errno));
        if (l->lfd >= 0)
            close(l->lfd);
        l->lfd = -1;
        return -1;
    }
    if (uv_poll_init(&l->s->loop, &l->server, l->lfd) != 0) {
        snprintf(err, errlen, "cannot listen: cannot poll");
        close(l->lfd);
        l->lfd = -1;
        return -1;
    }
    l->server.data = l;
    l->has_server = 1;
    l->handles++;
    uv_poll_start(&l->server, UV_READABLE, on_listen_io);
    return 0;
}

/* The port bound (for a port 0 chosen by the system), or -1. */
int32_t asp_live_port(asp_live *l)
{
    struct sockaddr_storage ss;
    int len = sizeof ss;
    int rc;
    if (l->has_server) {
        socklen_t slen = sizeof ss;
        rc = getsockname(l->lfd, (struct sockaddr *)&ss, &slen);
    }
    else if (l->has_udp)
        rc = uv_udp_getsockname(&l->udp, (struct sockaddr *)&ss, &len);
    else
        return -1;
    if (rc != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

/* UDP: each datagram holds one or more lines; its last line needs no newline. */

static void on_udp(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                   unsigned flags)
{
    asp_live *l = h->data;
    (void)flags;
    if (nread <= 0 || !addr)
        return;
    take_bytes(l, &l->filepart, buf->base, (size_t)nread, asp_time_wall());
    flush_part(l, &l->filepart);
}

int asp_live_udp(asp_live *l, const char *host, int32_t port, char *err, size_t errlen)
{
    int rc;
    l->kind = K_UDP;
    if (resolve(l, host, port, 1, err, errlen) != 0)
        return -1;
    uv_udp_init(&l->s->loop, &l->udp);
    l->udp.data = l;
    l->has_udp = 1;
    l->handles++;
    rc = uv_udp_bind(&l->udp, (const struct sockaddr *)&l->addr, 0);
    if (rc == 0)
        rc = uv_udp_recv_start(&l->udp, udp_alloc, on_udp);
    if (rc != 0) {
        snprintf(err, errlen, "cannot bind: %s", uv_strerror(rc));
        return -1;
    }
    return 0;
}

/* Files: stdin when it is a file, asp.tail and the follow-mode watch.
 *
 * A file is read with pread() at the source's own position, never through
 * the shared offset of its open file description: a forked checkpoint of a
 * REPL session holds the same descriptor, and each process keeps its own
 * place in the file (docs/sources.md, "Time travel and live sources"). */

/* Reads fd from *pos to its end, or until reading pauses (the queue is
 * full): 1 at the end, 0 when paused or ended, -1 on an error. */
static int drain_raw(asp_live *l, int fd, int64_t *pos, conn *c)
{
    while (!l->paused && !l->ended && !l->closing) {
        ssize_t n = pread(fd, l->rbuf, READ_CHUNK, (off_t)*pos);
        if (n > 0) {
            *pos += n;
            take_bytes(l, c, l->rbuf, (size_t)n, asp_time_wall());
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        return n == 0 ? 1 : -1;
    }
    return 0;
}

/* In a REPL session: where the current file was read to, and its
 * unfinished line (JPOS, above). */
static void journal_pos(asp_live *l)
{
    char *rec;
    size_t n = 3 * sizeof(int64_t) + l->filepart.lb.plen;
    uint64_t ino = (uint64_t)l->ino, dev = (uint64_t)l->dev;
    if (!asp_journal_on() || !(rec = malloc(n)))
        return;
    memcpy(rec, &l->pos, sizeof l->pos);
    memcpy(rec + 8, &ino, 8);
    memcpy(rec + 16, &dev, 8);
    if (l->filepart.lb.plen)
        memcpy(rec + 24, l->filepart.lb.part, l->filepart.lb.plen);
    asp_journal_line(jsrc(l, NULL, JPOS), asp_time_wall(), rec, n);
    free(rec);
}

static int drain(asp_live *l, int fd, int64_t *pos, conn *c)
{
    int64_t before = *pos;
    int r = drain_raw(l, fd, pos, c);
    if (*pos != before && fd == l->fd)
        journal_pos(l);
    return r;
}

/* A partial line that can never be completed (its file was truncated or
 * rotated away for good): dropped, with a warning that shows it, and
 * counted in the stream's cut_lines. Never delivered as if complete. */
static void drop_cut(asp_live *l, conn *c, const char *why)
{
    char shown[400], msg[600];
    if (c->lb.plen == 0)
        return;
    describe_part(c, shown, sizeof shown);
    snprintf(msg, sizeof msg, "%s in the middle of a line: dropped its %zu bytes: ", why, c->lb.plen);
    warn(l, msg, shown);
    l->cut_lines++;
    c->lb.plen = 0;
}

/* The rotated-away file is done with: its cut last line is dropped. */
static void finish_old(asp_live *l)
{
    if (l->ofd < 0)
        return;
    drop_cut(l, &l->oldpart, "the rotated file ended");
    close(l->ofd);
    l->ofd = -1;
    asp_linebuf_free(&l->oldpart.lb);
}

static void poll_tail(asp_live *l)
{
    struct stat cur, named;
    int64_t now = asp_time_wall();
    int r;
    if (l->ofd >= 0) {
        /* The old file first: its lines came before the new file's. */
        int64_t before = l->opos;
        r = drain(l, l->ofd, &l->opos, &l->oldpart);
        if (r == 0)
            return;
        if (l->opos != before)
            l->old_grew = now;
        else if (now - l->old_grew >= (int64_t)ROTATE_GRACE_MS * 1000000)
            finish_old(l);
    }
    r = drain(l, l->fd, &l->pos, &l->filepart);
    if (r == 0)
        return; /* paused: nothing switches before this file is read to its end */
    if (fstat(l->fd, &cur) == 0 && (int64_t)cur.st_size < l->pos) {
        /* Truncated (copytruncate): start again at its beginning. */
        l->pos = 0;
        drop_cut(l, &l->filepart, "the file was truncated");
        drain(l, l->fd, &l->pos, &l->filepart);
        return;
    }
    if (stat(l->path, &named) != 0) {
        /* Deleted (or renamed away): what remains of the open file is
         * read; then the source waits for the path to exist again. */
        if (!l->gone_since)
            l->gone_since = now;
        if (!l->deleted && now - l->gone_since >= (int64_t)ROTATE_GRACE_MS * 1000000) {
            /* Not at once: a rotation leaves the path empty for a moment. */
            l->deleted = 1;
            warn(l, "the file is gone: ", "reading what remains of it, then waiting for it to be created again");
        }
        return;
    }
    l->gone_since = 0;
    if (named.st_ino != l->ino || named.st_dev != l->dev) {
        /* Rotated: the file read so far (to its end, above) is followed
         * for a while yet, its writer may still append to it; the new
         * file at the path is read from its start. */
        int fd = open(l->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0 || fstat(fd, &named) != 0 || !S_ISREG(named.st_mode)) {
            if (fd >= 0)
                close(fd);
            return;
        }
        finish_old(l); /* a second rotation within the grace: drained above */
        l->ofd = l->fd;
        l->opos = l->pos;
        l->old_grew = now;
        l->oldpart.lb = l->filepart.lb;
        memset(&l->filepart.lb, 0, sizeof l->filepart.lb);
        l->fd = fd;
        l->pos = 0;
        l->ino = named.st_ino;
        l->dev = named.st_dev;
        if (l->deleted) {
            l->deleted = 0;
            warn(l, "the file exists again: ", "reading it from its start");
        }
        drain(l, l->fd, &l->pos, &l->filepart);
    }
}

static void poll_file(asp_live *l)
{
    if (l->kind == K_TAIL) {
        poll_tail(l);
        return;
    }
    if (drain(l, l->fd, &l->pos, &l->filepart) != 0 && l->fd_eof_ends) {
        flush_part(l, &l->filepart); /* a file's last line needs no newline */
        end_source(l);
    }
}

static void on_poll(uv_timer_t *t)
{
    asp_live *l = t->data;
    if (l->closing)
        return;
    if (l->kind == K_WATCH)
        watch_poll(l);
    else
        poll_file(l);
}

static int start_polling(asp_live *l, uint64_t ms)
{
    uv_timer_init(&l->s->loop, &l->timer);
    l->timer.data = l;
    l->has_timer = 1;
    l->handles++;
    return uv_timer_start(&l->timer, on_poll, 0, ms);
}

/* inotify (through libuv) on the file's directory: a write, a rename or a
 * new file at the path polls at once, rather than at the next 20 ms tick.
 * The tick stays, as the fallback where inotify is missing or misses. */
static void on_dir_event(uv_fs_event_t *h, const char *filename, int events, int status)
{
    asp_live *l = h->data;
    (void)events;
    if (status < 0 || l->closing || l->held)
        return;
    if (filename && strcmp(filename, l->base) != 0 && l->ofd < 0)
        return;
    /* At once: a file rotated within a few ms must be opened before it is
     * moved away (a poll costs a pread, an fstat and a stat). */
    poll_file(l);
}

static void watch_dir(asp_live *l)
{
    char *dir = strdup(l->path), *slash;
    if (!dir)
        return;
    slash = strrchr(dir, '/');
    if (!slash)
        strcpy(dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    if (uv_fs_event_init(&l->s->loop, &l->dirwatch) == 0) {
        l->dirwatch.data = l;
        l->has_dirwatch = 1;
        l->handles++;
        if (uv_fs_event_start(&l->dirwatch, on_dir_event, dir, 0) != 0)
            close_handle(l, (uv_handle_t *)&l->dirwatch);
    }
    free(dir);
}

int asp_live_tail(asp_live *l, const char *path, int64_t offset, char *err, size_t errlen)
{
    struct stat st;
    char *slash;
    l->kind = K_TAIL;
    l->path = strdup(path);
    if (!l->path) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    slash = strrchr(l->path, '/');
    l->base = slash ? slash + 1 : l->path;
    /* O_NONBLOCK: a FIFO without a writer would block open() forever. */
    l->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (l->fd < 0 || fstat(l->fd, &st) != 0) {
        snprintf(err, errlen, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "cannot follow: not a regular file (%s)",
                 S_ISDIR(st.st_mode) ? "a directory" : S_ISFIFO(st.st_mode) ? "a FIFO: read it with asp.stdin or asp.exec { \"cat\", path }" : "a device or socket");
        return -1;
    }
    l->ino = st.st_ino;
    l->dev = st.st_dev;
    l->pos = offset < 0 ? (int64_t)st.st_size : offset;
    asp_live_begin(l);
    if (start_polling(l, POLL_MS) != 0) {
        snprintf(err, errlen, "cannot poll");
        return -1;
    }
    watch_dir(l);
    return 0;
}

int asp_live_watch(asp_live *l, const char *path, char *err, size_t errlen)
{
    l->kind = K_WATCH;
    l->path = strdup(path);
    if (!l->path) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    l->watch_size = -1;
    asp_live_begin(l);
    return start_polling(l, POLL_MS);
}

/* Standard input: a pipe, a terminal or a file. */

int asp_live_stdin(asp_live *l, char *err, size_t errlen)
{
    uv_handle_type t = uv_guess_handle(0);
    conn *c;
    int rc;
    l->kind = K_STDIN;
    if (t == UV_FILE) {
        l->fd = dup(0);
        if (l->fd < 0) {
            snprintf(err, errlen, "cannot read: %s", strerror(errno));
            return -1;
        }
        l->fd_eof_ends = 1;
        l->pos = lseek(l->fd, 0, SEEK_CUR);
        if (l->pos < 0)
            l->pos = 0;
        asp_live_begin(l);
        return start_polling(l, 1);
    }
    c = new_conn(l);
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    if (t == UV_TTY)
        rc = uv_tty_init(&l->s->loop, &c->h.tty, 0, 1);
    else
        rc = uv_pipe_init(&l->s->loop, &c->h.pipe, 0);
    if (rc != 0) {
        unlink_conn(l, c);
        free(c);
        snprintf(err, errlen, "cannot read: %s", uv_strerror(rc));
        return -1;
    }
    l->handles++;
    if (t != UV_TTY && (rc = uv_pipe_open(&c->h.pipe, 0)) != 0) {
        close_conn(l, c);
        snprintf(err, errlen, "cannot read: %s", uv_strerror(rc));
        return -1;
    }
    asp_live_begin(l);
    start_conn(l, c);
    return 0;
}

/* A subprocess: its standard output is the input; its exit is recorded. */

static void on_exit_proc(uv_process_t *p, int64_t status, int signal)
{
    asp_live *l = p->data;
    l->exit_status = signal ? -signal : status;
    l->exited = 1;
    /* Its group lives on while a grandchild does: ended when the source
     * closes. An empty group is forgotten (its id may be reused). */
    if (kill(-l->pgid, 0) != 0) {
        asp_signals_untrack_group(l->pgid);
        l->pgid = 0;
    }
    close_handle(l, (uv_handle_t *)p);
    if (l->out_eof)
        end_source(l);
}

int asp_live_exec(asp_live *l, const char *const *argv, char *err, size_t errlen)
{
    uv_process_options_t o;
    uv_stdio_container_t stdio[3];
    conn *c = new_conn(l);
    int rc;
    l->kind = K_EXEC;
    if (!c) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    uv_pipe_init(&l->s->loop, &c->h.pipe, 0);
    c->h.handle.data = l;
    l->handles++;
    memset(&o, 0, sizeof o);
    memset(stdio, 0, sizeof stdio);
    stdio[0].flags = UV_IGNORE;
    stdio[1].flags = UV_CREATE_PIPE | UV_WRITABLE_PIPE;
    stdio[1].data.stream = &c->h.stream;
    stdio[2].flags = UV_INHERIT_FD;
    stdio[2].data.fd = 2;
    o.file = argv[0];
    o.args = (char **)argv;
    o.stdio = stdio;
    o.stdio_count = 3;
    o.exit_cb = on_exit_proc;
    /* setsid() in the child: its own process group, which the run ends as
     * a whole (its grandchildren too) when it stops. */
    o.flags = UV_PROCESS_DETACHED;
    l->proc.data = l;
    rc = uv_spawn(&l->s->loop, &l->proc, &o);
    if (rc != 0) {
        close_conn(l, c);
        /* A failed spawn still needs its handle closed. */
        l->handles++;
        close_handle(l, (uv_handle_t *)&l->proc);
        snprintf(err, errlen, "cannot run '%s': %s", argv[0], uv_strerror(rc));
        return -1;
    }
    l->has_proc = 1;
    l->handles++;
    l->pgid = l->proc.pid;
    l->spawner = getpid();
    asp_signals_track_group(l->pgid);
    asp_live_begin(l);
    start_conn(l, c);
    return 0;
}

int64_t asp_live_exit_status(const asp_live *l)
{
    return l->exit_status;
}

int asp_live_exited(const asp_live *l)
{
    return l->exited;
}

/* Kills and reaps a process still running when its source closes, so that
 * no zombie remains: SIGTERM, up to 1 s to exit, then SIGKILL. Its handle
 * is closed first, so libuv no longer waits for it. */
static void reap(asp_live *l)
{
    int pid = l->exited ? 0 : l->proc.pid, st, i, grace;
    struct timespec ts = { 0, 5 * 1000 * 1000 };
    if (l->spawner != getpid()) {
        /* A checkpoint resumed by time travel: the child is not its own
         * (no waitpid), but the run that reads it is over. */
        if (l->pgid > 0 && !l->out_eof)
            kill(-l->pgid, SIGTERM);
        return;
    }
    if (pid > 0)
        kill(pid, SIGTERM);
    if (l->pgid > 0)
        kill(-l->pgid, SIGTERM); /* the grandchildren too */
    /* Up to 1 s for the child, then up to 100 ms for the rest of its
     * group (kill(-pgid, 0) also sees zombies that a container's init
     * does not reap: not worth a longer wait). */
    for (i = 0, grace = 0; i < 200 && grace < 20; i++) {
        if (pid > 0) {
            pid_t r = waitpid(pid, &st, WNOHANG);
            if (r == pid || (r < 0 && errno != EINTR))
                pid = 0; /* reaped (or already reaped by libuv) */
        }
        if (pid <= 0 && (l->pgid <= 0 || kill(-l->pgid, 0) != 0))
            break;
        if (pid <= 0)
            grace++;
        nanosleep(&ts, NULL);
    }
    if (l->pgid > 0) {
        kill(-l->pgid, SIGKILL);
        asp_signals_untrack_group(l->pgid);
        l->pgid = 0;
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
        }
    }
}

/* -- Closing -- */

void asp_live_close(asp_live *l)
{
    if (!l || l->closing)
        return;
    l->armed = 0;
    end_source(l);
    l->closing = 1;
    if (l->fd >= 0) {
        close(l->fd);
        l->fd = -1;
    }
    if (l->ofd >= 0) {
        close(l->ofd);
        l->ofd = -1;
    }
    if (l->has_dirwatch)
        close_handle(l, (uv_handle_t *)&l->dirwatch);
    while (l->conns)
        close_conn(l, l->conns);
    if (l->has_server) {
        close_handle(l, (uv_handle_t *)&l->server); /* stops polling at once */
        close(l->lfd);
        l->lfd = -1;
    }
    if (l->has_udp)
        close_handle(l, (uv_handle_t *)&l->udp);
    if (l->has_timer)
        close_handle(l, (uv_handle_t *)&l->timer);
    if (l->has_proc && !l->exited)
        close_handle(l, (uv_handle_t *)&l->proc);
    if (l->has_proc)
        reap(l);
    if (l->handles == 0) {
        free_live(l);
        return;
    }
    /* Let libuv run the close callbacks now, so that nothing outlives the run. */
    uv_run(&l->s->loop, UV_RUN_NOWAIT);
}
