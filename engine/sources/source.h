/*
 * The interface of a live source, and the buffered-line core they share.
 *
 * Every native live source (tcp.c, listen.c, udp.c, stdin.c, exec.c,
 * tail.c, watch.c) is an asp_live: the core below, plus the state of its
 * kind (l->impl) and a table of what its kind does differently
 * (asp_source_kind). The core (source.c) owns what all of them do alike:
 *
 *   open   asp_live_new, then the kind's asp_live_<kind>(l, ...) (its own
 *          file), which sets l->kind and l->impl and starts reading;
 *   arm    asp_live_arm: the stream's next heap entry is queued by C when
 *          a line is there (at once if one is buffered, else on arrival);
 *   pull   asp_live_pop: the next buffered line, the end, or the failure;
 *   journal  every line (and unfinished line, file position, end) goes to
 *          the journal of a REPL session; a resumed checkpoint takes them
 *          back through the kind's replay hooks (docs/sources.md);
 *   close  asp_live_close: the core's connections, then the kind's close;
 *   stats  asp_live_counts: cut_lines, then the kind's own counts.
 *
 * libuv callbacks never call Lua: they cut input into lines (lines.c) and
 * append each, with its arrival, to the source's bounded queue.
 *
 * Names: asp_live_* are the functions Lua reaches (the FFI block);
 * asp__source_* and asp__conn_* are the core's functions for the kinds.
 */
#ifndef ASP_SOURCE_H
#define ASP_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <uv.h>

#include "sched.h"
#include "sources/lines.h"

/* ffi: begin */
/* -- Live sources (engine/sources/source.h and one file per kind) -- */
/* A line from a live source: data[0..len) (no newline), arrival wall ns. */
typedef struct asp_line {
    const char *data;
    size_t len;
    int64_t arrival;
    int32_t cut;     /* the peer stopped in the middle of it (an orderly close) */
} asp_line;
typedef struct asp_live asp_live;

/* What asp_live_pop returns. */
enum {
    ASP_LIVE_LINE = 1,    /* a line is in *out */
    ASP_LIVE_NONE = 0,    /* nothing buffered: arm and wait */
    ASP_LIVE_END = -1,    /* the source ended and its queue is drained */
    ASP_LIVE_FAILED = -2  /* the source failed: asp_live_error */
};

asp_live *asp_live_new(int32_t max_buffer, int32_t max_line);
void asp_live_set_fail_item(asp_live *l, int32_t item);
void asp_live_begin(asp_live *l);
int asp_live_arm(asp_live *l, int32_t item, uint32_t order);
/* The source's Lua side has read an event ahead (asp.csv's follow mode
 * finds a row already there): queue the stream's item now, at the wall
 * clock, so that a live stream's next heap entry always comes from C. */
int asp_live_arm_ready(asp_live *l, int32_t item, uint32_t order);
int asp_live_pop(asp_live *l, asp_line *out);
void asp_live_resume(asp_live *l);
size_t asp_live_buffered(const asp_live *l);
const char *asp_live_error(const asp_live *l);
void asp_live_set_name(asp_live *l, const char *name);
/* The port a listen or udp source is bound to, or -1. */
int32_t asp_live_port(asp_live *l);
void asp_live_close(asp_live *l);
/* format 1 (csv) or 2 (json): a line cut by a peer's close is dropped, not
 * delivered as a line. */
void asp_live_set_drop_cut(asp_live *l, int32_t format);
/* Counts for asp.stats(): out[0] partial lines dropped (cut_lines), out[1]
 * times accepting waited for descriptors (accept_waits), out[2] connections
 * closed by asp-lua (dropped_connections). */
void asp_live_counts(const asp_live *l, int64_t *out);
/* ffi: end */

#define ASP_SOURCE_READ_CHUNK (64u << 10)
#define ASP_SOURCE_POLL_MS 20
/* A connection's id in the journal's records (bits 16-29 of their source). */
#define ASP_CONN_ID_MASK 0x3fffu

/* A connection (TCP, a pipe, a terminal), or a file's or datagram's
 * unfinished line (no handle: asp_live.filepart). */
typedef struct asp_conn asp_conn;
struct asp_conn {
    union {
        uv_handle_t handle;
        uv_stream_t stream;
        uv_tcp_t tcp;
        uv_pipe_t pipe;
        uv_tty_t tty;
    } h;
    asp_live *owner;
    asp_conn *next;
    asp_linebuf lb;      /* a line not ended yet */
    size_t counted;      /* of lb.plen, in the owner's partial_total */
    uint32_t id;         /* names it in the journal (0: a file's or a datagram's) */
    int closing;
};

/* What a kind of source does differently. Every hook may be NULL. */
typedef struct asp_source_kind {
    const char *name;
    /* Its input comes from network peers: an end of input may be a reset,
     * and a line cut by a peer's close is warned about (or dropped). */
    int peer;
    /* Stop and start reading what is not a connection of the core. */
    void (*pause)(asp_live *l);
    void (*resume)(asp_live *l);
    /* Bytes of connection c were cut into lines with result rc (lines.h);
     * 1 when the kind has dealt with rc, 0 for the core's handling. */
    int (*took)(asp_live *l, asp_conn *c, int rc);
    /* Connection c's input ended and it is closed: 1 when the source goes
     * on (other clients, a reconnection, a process still running). */
    int (*conn_ended)(asp_live *l, asp_conn *c);
    /* Journal replay in a resumed checkpoint: a file position (a JPOS
     * record, source.c), and the source's journaled end. */
    void (*replay_pos)(asp_live *l, const char *data, size_t len);
    void (*replay_end)(asp_live *l, int32_t status);
    /* A journaled line goes back into the queue (before it is queued): a
     * kind that keeps a position in its lines (redis.c: the last entry id)
     * takes it from there. */
    void (*replay_line)(asp_live *l, const char *data, size_t len);
    /* out[1] and out[2] of asp_live_counts. */
    void (*counts)(const asp_live *l, int64_t *out);
    int32_t (*port)(const asp_live *l);
    /* Closes its handles (asp__source_close_handle) and descriptors. */
    void (*close)(asp_live *l);
    /* Frees what l->impl points to (l->impl itself is freed by the core). */
    void (*free)(asp_live *l);
} asp_source_kind;

struct asp_live {
    const asp_source_kind *kind; /* NULL until a kind's open function ran */
    void *impl;          /* the kind's state */
    asp_sched *s;
    char *q;             /* the queue: [int64 arrival][uint32 len][bytes] ... */
    size_t qhead, qtail, qcap, qmax, max_line;
    int32_t item, fail_item;
    uint32_t order;
    int armed, begun, counted, ended, failed, paused, closing;
    int end_forwarded;   /* --reload: its end journaled, for the run to take from there */
    int held;            /* not reading: the journal replays its input */
    int handles;         /* open libuv handles: freed when it drops to 0 while closing */
    char err[512];
    char *rbuf;          /* read buffer shared by the source's handles */
    asp_conn *conns;
    asp_conn filepart;   /* the partial line of a file or datagram (no handle) */
    int64_t arrival;     /* of the bytes being split */
    asp_conn *cur;       /* the connection whose bytes are being split */
    int32_t end_status;  /* journaled with its end: asp.exec's exit status */
    char name[200];      /* the source's name, for warnings */
    int32_t number;      /* its place among the sources made, for the journal */
    int drop_cut;        /* 1 csv, 2 json: a line cut by a close is dropped */
    int64_t cut_lines;   /* partial lines dropped (rotation, truncation, reset) */
    size_t partial_total;  /* bytes of unfinished lines of all connections */
    uint32_t conn_seq;   /* the last connection id given */
};

/* -- The core, for the kinds -- */

/* Sets the kind and allocates its zeroed state; -1 (with err) when out of memory. */
int asp__source_init(asp_live *l, const asp_source_kind *kind, size_t impl_size, char *err, size_t errlen);
/* Queues the armed stream's item, due at `due`. */
void asp__source_notify(asp_live *l, int64_t due);
/* The source ended (journaled, no longer counted as open). */
void asp__source_end(asp_live *l);
/* The source failed: the message (fmt with two strings) is kept, the run told. */
void asp__source_fail(asp_live *l, const char *fmt, const char *a, const char *b);
/* A warning on stderr, naming the source. */
void asp__source_warn(const asp_live *l, const char *what, const char *detail);
/* Queues one whole record as a line (journaled like the lines of
 * asp__source_take), for a kind whose input is already cut into records
 * (redis.c). Its bytes may hold any byte; a last '\r' is dropped. */
void asp__source_push(asp_live *l, const char *data, size_t len, int64_t arrival);
/* Cuts bytes of c into lines queued with this arrival; the rest waits in c->lb. */
void asp__source_take(asp_live *l, asp_conn *c, const char *data, size_t n, int64_t arrival);
/* At the end of input, a last line without its newline is a line. */
void asp__source_flush(asp_live *l, asp_conn *c);
/* The start of c's unfinished line, printable, for a warning. */
void asp__source_describe(const asp_conn *c, char *out, size_t outlen);
/* Stops reading every handle (the queue is full, or the journal replays). */
void asp__source_pause(asp_live *l);
/* Closes a handle of the kind (h->data becomes l); the core counts it. */
void asp__source_close_handle(asp_live *l, uv_handle_t *h);
/* Reconnecting with a doubling backoff (tcp, redis): retry_later runs again(l)
 * after the current wait, which doubles up to max_ms; retry_reset after a
 * success goes back to min_ms; retry_close with the kind's close. */
typedef struct asp_retry {
    uv_timer_t timer;    /* first: the timer callback finds the struct from it */
    asp_live *l;
    void (*again)(asp_live *l);
    int has_timer;
    uint64_t ms, min_ms, max_ms;
} asp_retry;
void asp__retry_init(asp_retry *r, asp_live *l, uint64_t min_ms, uint64_t max_ms, void (*again)(asp_live *l));
void asp__retry_later(asp_retry *r);
void asp__retry_reset(asp_retry *r);
int asp__retry_waiting(const asp_retry *r);
void asp__retry_close(asp_retry *r);
/* Resolves host:port; 0, or -1 with err. */
int asp__source_resolve(const char *host, int port, int passive, struct sockaddr_storage *out,
                        char *err, size_t errlen);

/* --reload (engine/reload.c): sources only journal from now on; whether every
 * queue is empty; lines taken back from the journal so far; a source with
 * no handles that the journal feeds (0, or -1 out of memory). */
void asp__source_forward_all(void);
int asp__source_all_drained(void);
int64_t asp__source_replayed_lines(void);
int asp__source_phantom(asp_live *l);

/* Connections: made, started (unless reading is paused), closed. */
asp_conn *asp__conn_new(asp_live *l);
void asp__conn_start(asp_live *l, asp_conn *c);
void asp__conn_close(asp_live *l, asp_conn *c);
void asp__conn_unlink(asp_live *l, asp_conn *c);

/* A file read with pread() at the source's own position, never through the
 * shared offset: a forked checkpoint holds the same descriptor. */
typedef struct asp_file {
    int fd;
    int64_t pos;
    dev_t dev;
    ino_t ino;
} asp_file;
/* Reads f from its position to its end into c's lines, or until reading
 * pauses: 1 at the end, 0 when paused or ended, -1 on an error. With
 * journal set (the source's current file), a REPL session journals where
 * it was read to and l->filepart's unfinished line. */
int asp__file_drain(asp_live *l, asp_file *f, asp_conn *c, int journal);
/* A journaled position (JPOS): 0 and its fields, or -1 when too short. */
int asp__file_pos_record(const char *data, size_t len, int64_t *pos, uint64_t *ino, uint64_t *dev);
/* Takes the position and l->filepart's unfinished line from a JPOS record. */
void asp__file_restore(asp_live *l, asp_file *f, int64_t pos, const char *data, size_t len);

#endif
