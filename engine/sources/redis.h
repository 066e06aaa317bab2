/*
 * asp.redis and asp.redis_writer: Redis Streams through hiredis
 * (docs/sources.md, "Redis Streams").
 *
 *   past    asp_redis_*: a synchronous connection that reads the history
 *           with XRANGE, one page at a time (a past source blocks while it
 *           reads, as asp.csv blocks reading a file);
 *   live    asp_live_redis: a live source of the core (source.h) on the
 *           engine's loop through hiredis' async API and its libuv adapter:
 *           XREAD BLOCK from the last id queued, or XREADGROUP (own pending
 *           entries, XAUTOCLAIM, then new ones); reconnects with backoff;
 *   writer  asp_redis_writer_*: pipelined XADD on the engine's loop, with a
 *           bounded number of unanswered commands.
 *
 * An entry travels as one record (a line of the core, journaled like any
 * live line): "<id>\n" then, per field, "<len>:<name><len>:<value>", then
 * "\n". Names and values may hold any byte.
 */
#ifndef ASP_SOURCES_REDIS_H
#define ASP_SOURCES_REDIS_H

#include "sources/source.h"

/* ffi: begin */
/* -- Redis Streams (engine/sources/redis.h) -- */
typedef struct asp_redis asp_redis;
/* A synchronous connection (the past). retry_ms: how long a refused or
 * failed connection is tried again (with a doubling wait) before the error. */
asp_redis *asp_redis_connect(const char *host, int32_t port, int32_t db, const char *password,
                             int32_t retry_ms, char *err, size_t errlen);
/* XRANGE key start end COUNT count (XREVRANGE with reverse): the number of
 * entries of the page (asp_redis_entry 0..n-1 until the next call), -1
 * (asp_redis_error) or -2 when the connection was lost (connect again). */
int32_t asp_redis_range(asp_redis *r, const char *key, const char *start, const char *end, int32_t count,
                        int32_t reverse);
const char *asp_redis_entry(const asp_redis *r, int32_t i, size_t *len);
/* Any command: 0 done (its reply as text in asp_redis_error when it is a
 * string or status), 1 the server answered an error (asp_redis_error), -1
 * the connection failed. */
int32_t asp_redis_call(asp_redis *r, int32_t argc, const char **argv, const size_t *argvlen);
const char *asp_redis_error(const asp_redis *r);
/* The node the connection is on (a Redis Cluster's MOVED moves it): its
 * port, and its host in host. */
int32_t asp_redis_node(const asp_redis *r, char *host, size_t hostlen);
void asp_redis_free(asp_redis *r);

/* The live source: entries after `after` (an id), or, with a group, the
 * group's (own pending entries after `after`, then those claimed from
 * consumers idle for claim_idle_ms when it is >= 0, then new ones).
 * reconnect_ms 0: a lost connection fails the source. retry_ms: how long
 * the first connection is tried. */
int asp_live_redis(asp_live *l, const char *host, int32_t port, int32_t db, const char *password,
                   const char *stream, const char *after, const char *group, const char *consumer,
                   int32_t count, int64_t claim_idle_ms, int32_t reconnect_ms, int32_t reconnect_max_ms,
                   int32_t retry_ms, char *err, size_t errlen);
/* Called once after each entry popped: 1 when this process read it from the
 * server, 0 when it was in the queue of a resumed checkpoint or came from
 * the journal (the process that read it acknowledged it: not again). A
 * group's next read goes out when its queue is empty. */
int32_t asp_live_redis_fresh(asp_live *l);
/* XACK of an entry of the group (sent when connected, else after the
 * reconnection). */
void asp_live_redis_ack(asp_live *l, const char *id, size_t len);

typedef struct asp_redis_writer asp_redis_writer;
/* Connects on the engine's loop (waiting for the connection, at most
 * retry_ms of retries); at most max_pending commands unanswered. */
asp_redis_writer *asp_redis_writer_open(const char *host, int32_t port, int32_t db, const char *password,
                                        int32_t max_pending, int32_t retry_ms, char *err, size_t errlen);
/* Sends a command (XADD ...): 0, or -1 when the writer failed (an earlier
 * command's error, the connection lost): asp_redis_writer_error. Runs the
 * engine's loop while max_pending commands are unanswered. */
int asp_redis_writer_send(asp_redis_writer *w, int32_t argc, const char **argv, const size_t *argvlen);
/* Waits for every answer: 0, or -1 when the writer failed. */
int asp_redis_writer_flush(asp_redis_writer *w);
const char *asp_redis_writer_error(const asp_redis_writer *w);
/* Commands answered without an error. */
int64_t asp_redis_writer_done(const asp_redis_writer *w);
/* Flushes (unless failed), disconnects and frees. */
void asp_redis_writer_close(asp_redis_writer *w);
/* ffi: end */

#endif
