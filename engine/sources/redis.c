/*
 * asp.redis and asp.redis_writer (redis.h, docs/sources.md "Redis Streams").
 *
 * The past is read with a synchronous hiredis connection, XRANGE a page at
 * a time; the live part is a live source of the core on the engine's loop
 * (hiredis' async API, adapters/libuv.h): each entry is queued as one
 * record, so it is journaled and replayed like any live line. The reads
 * always name the last id queued, so that a reconnection (or the handoff
 * from the past) neither skips nor repeats an entry.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <uv.h>

#include <hiredis.h>
#include <async.h>
#include <sds.h>

#include "engine.h"
#include "sched.h"
#include "sources/redis.h"
#include "sources/source.h"
#include "time.h"

#define ID_MAX 48

/* -- hiredis on libuv ---------------------------------------------------------
 * hiredis' own adapters/libuv.h (0.14) drops a poll error (status < 0): a
 * refused connection then waits for ever (libuv stops polling on POLLERR).
 * This is that adapter with the error handed to hiredis, which reads the
 * socket's error and fails the context. */

typedef struct uvev {
    redisAsyncContext *ac;
    uv_poll_t poll;
    int events;
} uvev;

static void uvev_on_poll(uv_poll_t *h, int status, int events)
{
    uvev *e = h->data;
    if (status < 0) {
        /* hiredis learns the error from the socket: on the pending connect
         * (write) or on a read. */
        events = e->events ? e->events : UV_READABLE;
        uv_poll_stop(h);
        e->events = 0;
    }
    if (e->ac && (events & UV_WRITABLE))
        redisAsyncHandleWrite(e->ac);
    if (e->ac && (events & UV_READABLE))
        redisAsyncHandleRead(e->ac);
}

static void uvev_set(uvev *e, int events)
{
    e->events = events;
    if (events)
        uv_poll_start(&e->poll, events, uvev_on_poll);
    else
        uv_poll_stop(&e->poll);
}

static void uvev_add_read(void *p) { uvev_set(p, ((uvev *)p)->events | UV_READABLE); }
static void uvev_del_read(void *p) { uvev_set(p, ((uvev *)p)->events & ~UV_READABLE); }
static void uvev_add_write(void *p) { uvev_set(p, ((uvev *)p)->events | UV_WRITABLE); }
static void uvev_del_write(void *p) { uvev_set(p, ((uvev *)p)->events & ~UV_WRITABLE); }

static void uvev_closed(uv_handle_t *h)
{
    free(h->data);
}

static void uvev_cleanup(void *p)
{
    uvev *e = p;
    e->ac = NULL;
    uv_close((uv_handle_t *)&e->poll, uvev_closed);
}

/* Attaches ac to the loop and waits for its connection (a write event). */
static int uvev_attach(redisAsyncContext *ac, uv_loop_t *loop)
{
    uvev *e = calloc(1, sizeof *e);
    if (!e)
        return -1;
    if (uv_poll_init(loop, &e->poll, ac->c.fd) != 0) {
        free(e);
        return -1;
    }
    e->ac = ac;
    e->poll.data = e;
    ac->ev.data = e;
    ac->ev.addRead = uvev_add_read;
    ac->ev.delRead = uvev_del_read;
    ac->ev.addWrite = uvev_add_write;
    ac->ev.delWrite = uvev_del_write;
    ac->ev.cleanup = uvev_cleanup;
    uvev_add_write(e);
    return 0;
}

/* -- Entries as records -------------------------------------------------- */

typedef struct buf {
    char *p;
    size_t len, cap;
} buf;

static int buf_put(buf *b, const char *data, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *p;
        while (cap < b->len + n)
            cap *= 2;
        if (!(p = realloc(b->p, cap)))
            return -1;
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
    return 0;
}

static int buf_field(buf *b, const redisReply *r)
{
    char head[32];
    const char *s = r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ? r->str : "";
    size_t n = r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS ? (size_t)r->len : 0;
    int hn = snprintf(head, sizeof head, "%zu:", n);
    return buf_put(b, head, (size_t)hn) || buf_put(b, s, n) ? -1 : 0;
}

/* An entry reply [id, [name, value, ...] or nil] as a record in b (appended).
 * 0, or -1 when it is not an entry or memory ran out. */
static int encode_entry(buf *b, const redisReply *e)
{
    const redisReply *id, *kv;
    if (e->type != REDIS_REPLY_ARRAY || e->elements < 2)
        return -1;
    id = e->element[0];
    kv = e->element[1];
    if (id->type != REDIS_REPLY_STRING || id->len >= ID_MAX)
        return -1;
    if (buf_put(b, id->str, (size_t)id->len) || buf_put(b, "\n", 1))
        return -1;
    if (kv->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i + 1 < kv->elements; i += 2)
            if (buf_field(b, kv->element[i]) || buf_field(b, kv->element[i + 1]))
                return -1;
    }
    return buf_put(b, "\n", 1);
}

/* Compares two entry ids "ms-seq" as numbers. */
static int id_cmp(const char *a, const char *b)
{
    unsigned long long am = strtoull(a, NULL, 10), bm = strtoull(b, NULL, 10);
    const char *ad = strchr(a, '-'), *bd = strchr(b, '-');
    unsigned long long as = ad ? strtoull(ad + 1, NULL, 10) : 0, bs = bd ? strtoull(bd + 1, NULL, 10) : 0;
    if (am != bm)
        return am < bm ? -1 : 1;
    return as < bs ? -1 : as > bs;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* -- The past: a synchronous connection ------------------------------------ */

struct asp_redis {
    redisContext *c;
    char host[256];      /* the node c is connected to (a cluster's MOVED changes it) */
    int port;
    int32_t db;
    char *password;
    redisReply *page;
    buf rec;
    size_t *off;         /* the records of the page: off[i]..off[i+1] */
    size_t off_cap;
    int32_t n;
    char err[512];
};

static int sync_setup(redisContext *c, int32_t db, const char *password, char *err, size_t errlen)
{
    redisReply *r;
    if (password && password[0]) {
        r = redisCommand(c, "AUTH %s", password);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "AUTH: %s", r ? r->str : c->errstr);
            if (r)
                freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
    }
    if (db != 0) {
        r = redisCommand(c, "SELECT %d", (int)db);
        if (!r || r->type == REDIS_REPLY_ERROR) {
            snprintf(err, errlen, "SELECT %d: %s", (int)db, r ? r->str : c->errstr);
            if (r)
                freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
    }
    return 0;
}

asp_redis *asp_redis_connect(const char *host, int32_t port, int32_t db, const char *password,
                             int32_t retry_ms, char *err, size_t errlen)
{
    asp_redis *r = calloc(1, sizeof *r);
    int64_t start = asp_time_wall(), budget = (int64_t)(retry_ms > 0 ? retry_ms : 0) * 1000000;
    uint64_t wait = 50;
    int tries = 0;
    if (!r) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    for (;;) {
        struct timeval tv = { 5, 0 };
        redisContext *c = redisConnectWithTimeout(host, port, tv);
        tries++;
        if (c && !c->err) {
            r->c = c;
            break;
        }
        snprintf(err, errlen, "cannot connect to %s:%d: %s", host, (int)port, c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        if (asp_time_wall() - start + (int64_t)wait * 1000000 > budget) {
            if (tries > 1) {
                size_t n = strlen(err);
                snprintf(err + n, errlen - n, " (%d tries over %.1f s)", tries,
                         (double)(asp_time_wall() - start) / 1e9);
            }
            free(r);
            return NULL;
        }
        sleep_ms(wait);
        wait = wait * 2 > 1000 ? 1000 : wait * 2;
    }
    if (sync_setup(r->c, db, password, err, errlen) != 0) {
        asp_redis_free(r);
        return NULL;
    }
    snprintf(r->host, sizeof r->host, "%s", host);
    r->port = port;
    r->db = db;
    r->password = password && password[0] ? strdup(password) : NULL;
    return r;
}

/* "MOVED 3999 127.0.0.1:6381" / "ASK ...": the node, or -1. */
static int redirection(const redisReply *rep, const char *kind, char *host, size_t hostlen, int *port)
{
    const char *p, *colon;
    size_t n = strlen(kind);
    if (rep->type != REDIS_REPLY_ERROR || strncmp(rep->str, kind, n) != 0 || rep->str[n] != ' ')
        return -1;
    p = strchr(rep->str + n + 1, ' ');
    if (!p || !(colon = strrchr(p, ':')) || (size_t)(colon - p - 1) >= hostlen)
        return -1;
    memcpy(host, p + 1, (size_t)(colon - p - 1));
    host[colon - p - 1] = 0;
    *port = atoi(colon + 1);
    return 0;
}

static redisContext *node_connect(const char *host, int port, const char *password, char *err, size_t errlen)
{
    struct timeval tv = { 5, 0 };
    redisContext *c = redisConnectWithTimeout(host, port, tv);
    if (!c || c->err) {
        snprintf(err, errlen, "cannot connect to %s:%d: %s", host, port, c ? c->errstr : "out of memory");
        if (c)
            redisFree(c);
        return NULL;
    }
    if (sync_setup(c, 0, password, err, errlen) != 0) {
        redisFree(c);
        return NULL;
    }
    return c;
}

/*
 * A command on the synchronous connection, following a Redis Cluster's
 * redirections (hiredis has no cluster support): MOVED, the slot lives on
 * another node from now on: connect there and send it again; ASK, the slot
 * is migrating and this key is there already: ASKING then the command, on a
 * connection to that node for this command only. NULL when the connection
 * failed (r->err).
 */
static redisReply *sync_command(asp_redis *r, int argc, const char **argv, const size_t *argvlen)
{
    for (int hops = 0; hops < 8; hops++) {
        char host[256];
        int port;
        redisReply *rep = redisCommandArgv(r->c, argc, argv, argvlen);
        if (!rep) {
            snprintf(r->err, sizeof r->err, "connection lost: %s", r->c->errstr);
            return NULL;
        }
        if (redirection(rep, "MOVED", host, sizeof host, &port) == 0) {
            redisContext *c = node_connect(host, port, r->password, r->err, sizeof r->err);
            freeReplyObject(rep);
            if (!c)
                return NULL;
            redisFree(r->c);
            r->c = c;
            snprintf(r->host, sizeof r->host, "%s", host);
            r->port = port;
            continue;
        }
        if (redirection(rep, "ASK", host, sizeof host, &port) == 0) {
            redisContext *c = node_connect(host, port, r->password, r->err, sizeof r->err);
            redisReply *asking;
            freeReplyObject(rep);
            if (!c)
                return NULL;
            asking = redisCommand(c, "ASKING");
            if (asking)
                freeReplyObject(asking);
            rep = redisCommandArgv(c, argc, argv, argvlen);
            if (!rep)
                snprintf(r->err, sizeof r->err, "connection lost: %s", c->errstr);
            redisFree(c);
            return rep;
        }
        return rep;
    }
    snprintf(r->err, sizeof r->err, "too many cluster redirections");
    return NULL;
}

int32_t asp_redis_node(const asp_redis *r, char *host, size_t hostlen)
{
    snprintf(host, hostlen, "%s", r->host);
    return r->port;
}

static void drop_page(asp_redis *r)
{
    if (r->page)
        freeReplyObject(r->page);
    r->page = NULL;
    r->n = 0;
    r->rec.len = 0;
}

int32_t asp_redis_range(asp_redis *r, const char *key, const char *start, const char *end, int32_t count,
                        int32_t reverse)
{
    char cnt[16];
    const char *argv[6] = { reverse ? "XREVRANGE" : "XRANGE", key, start, end, "COUNT", cnt };
    redisReply *rep;
    drop_page(r);
    snprintf(cnt, sizeof cnt, "%d", (int)count);
    rep = sync_command(r, 6, argv, NULL);
    if (!rep)
        return -2;
    if (rep->type == REDIS_REPLY_ERROR) {
        snprintf(r->err, sizeof r->err, "%s", rep->str);
        freeReplyObject(rep);
        return -1;
    }
    if (rep->type != REDIS_REPLY_ARRAY) {
        snprintf(r->err, sizeof r->err, "unexpected reply to XRANGE (type %d)", rep->type);
        freeReplyObject(rep);
        return -1;
    }
    if (rep->elements + 1 > r->off_cap) {
        size_t cap = rep->elements + 1;
        size_t *off = realloc(r->off, cap * sizeof *off);
        if (!off) {
            freeReplyObject(rep);
            snprintf(r->err, sizeof r->err, "out of memory");
            return -1;
        }
        r->off = off;
        r->off_cap = cap;
    }
    r->off[0] = 0;
    for (size_t i = 0; i < rep->elements; i++) {
        if (encode_entry(&r->rec, rep->element[i]) != 0) {
            freeReplyObject(rep);
            snprintf(r->err, sizeof r->err, "unexpected entry in the reply to XRANGE (or out of memory)");
            return -1;
        }
        r->off[i + 1] = r->rec.len;
    }
    r->page = rep;
    r->n = (int32_t)rep->elements;
    /* The records are all that is needed: the reply goes at once. */
    freeReplyObject(rep);
    r->page = NULL;
    return r->n;
}

const char *asp_redis_entry(const asp_redis *r, int32_t i, size_t *len)
{
    if (i < 0 || i >= r->n)
        return NULL;
    *len = r->off[i + 1] - r->off[i];
    return r->rec.p + r->off[i];
}

int32_t asp_redis_call(asp_redis *r, int32_t argc, const char **argv, const size_t *argvlen)
{
    redisReply *rep = sync_command(r, argc, argv, argvlen);
    int32_t rc = 0;
    if (!rep)
        return -1;
    r->err[0] = 0;
    if (rep->type == REDIS_REPLY_ERROR)
        rc = 1;
    if (rep->type == REDIS_REPLY_ERROR || rep->type == REDIS_REPLY_STATUS || rep->type == REDIS_REPLY_STRING)
        snprintf(r->err, sizeof r->err, "%s", rep->str);
    else if (rep->type == REDIS_REPLY_INTEGER)
        snprintf(r->err, sizeof r->err, "%lld", rep->integer);
    freeReplyObject(rep);
    return rc;
}

const char *asp_redis_error(const asp_redis *r)
{
    return r->err;
}

void asp_redis_free(asp_redis *r)
{
    if (!r)
        return;
    drop_page(r);
    if (r->c)
        redisFree(r->c);
    free(r->password);
    free(r->rec.p);
    free(r->off);
    free(r);
}

/* -- The live source ------------------------------------------------------ */

enum { READ_OWN, READ_CLAIM, READ_NEW };

typedef struct rlive {
    redisAsyncContext *ac;   /* reads (a blocked XREAD holds up what follows on it) */
    redisAsyncContext *xac;  /* acknowledgements (groups) */
    int connected, xconnected, inflight, paused, ever_connected;
    char host[64];
    int port, db;
    char *password, *stream, *group, *consumer;
    char last_id[ID_MAX];    /* the greatest id queued (or replayed) */
    char cursor[ID_MAX];     /* XAUTOCLAIM's */
    int phase;
    int32_t count;
    int64_t claim_idle_ms;
    int64_t last_claim;      /* wall ns of the last XAUTOCLAIM round's start */
    asp_retry retry;         /* the wait before reconnecting */
    int reconnect;
    int64_t first_try, retry_ns;
    int tries;
    pid_t pid;               /* the process whose connection ac is */
    int64_t stale;           /* entries queued before this process resumed */
    int forking;             /* letting go of the contexts of the process forked from */
    char **acks;             /* acks waiting for a connection */
    size_t nacks, cap_acks;
    buf rec;
} rlive;

static void connect_now(asp_live *l);
static void issue_read(asp_live *l);

static void retry_later(asp_live *l)
{
    rlive *k = l->impl;
    asp__retry_later(&k->retry);
}

/* Lets a context go (its callbacks see data NULL and do nothing). */
static void drop_ctx(redisAsyncContext **pp)
{
    redisAsyncContext *ac = *pp;
    if (!ac)
        return;
    *pp = NULL;
    ac->data = NULL;
    redisAsyncFree(ac);
}

/* A connection failed or was lost (hiredis frees that context, ac): the
 * other goes too; try again, or fail the source. */
static void lost(asp_live *l, const redisAsyncContext *ac, const char *why)
{
    rlive *k = l->impl;
    char msg[300];
    if (k->ac == ac)
        k->ac = NULL;
    if (k->xac == ac)
        k->xac = NULL;
    drop_ctx(&k->ac);
    drop_ctx(&k->xac);
    k->connected = k->xconnected = 0;
    k->inflight = 0;
    if (asp__retry_waiting(&k->retry))
        return; /* already waiting to reconnect */
    if (l->closing || l->ended)
        return;
    if (!k->ever_connected) {
        if (asp_time_wall() - k->first_try + (int64_t)k->retry.ms * 1000000 > k->retry_ns) {
            char tries[64];
            snprintf(msg, sizeof msg, "%s:%d", k->host, k->port);
            snprintf(tries, sizeof tries, " (%d tries)", k->tries);
            asp__source_fail(l, "cannot connect to %s: %s", msg, why);
            if (k->tries > 1 && strlen(l->err) + strlen(tries) < sizeof l->err)
                strcat(l->err, tries);
            return;
        }
        retry_later(l);
        return;
    }
    if (!k->reconnect) {
        asp__source_fail(l, "connection lost: %s%s", why, "");
        return;
    }
    snprintf(msg, sizeof msg, "connection lost (%s), reconnecting", why);
    asp__source_warn(l, msg, "");
    retry_later(l);
}

/* The context was made by the process this one was forked from (a REPL
 * checkpoint, now resumed): its socket is that process's too. It is let go
 * without a word to the server, and what is queued now was read (and
 * acknowledged) by that process. */
static void check_fork(asp_live *l)
{
    rlive *k = l->impl;
    if (k->pid == getpid())
        return;
    k->pid = getpid();
    for (size_t p = l->qhead; p < l->qtail;) {
        uint32_t n;
        memcpy(&n, l->q + p + sizeof(int64_t), sizeof n);
        p += sizeof(int64_t) + sizeof n + n;
        k->stale++;
    }
    k->forking = 1;
    drop_ctx(&k->ac);
    drop_ctx(&k->xac);
    k->forking = 0;
    k->connected = k->xconnected = 0;
    k->inflight = 0;
}

static int queue_entries(asp_live *l, const redisReply *entries)
{
    rlive *k = l->impl;
    int64_t now = asp_time_wall();
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        k->rec.len = 0;
        if (encode_entry(&k->rec, e) != 0) {
            asp__source_fail(l, "unexpected entry in a reply from %s%s", k->stream, "");
            return -1;
        }
        if (id_cmp(e->element[0]->str, k->last_id) > 0)
            snprintf(k->last_id, sizeof k->last_id, "%s", e->element[0]->str);
        asp__source_push(l, k->rec.p, k->rec.len, now);
        if (l->failed)
            return -1;
    }
    return 0;
}

/* The entries of an XREAD / XREADGROUP reply [[stream, [entries]]], or nil. */
static const redisReply *stream_entries(const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1)
        return NULL;
    r = r->element[0];
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 || r->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    return r->element[1];
}

static void on_read_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    asp_live *l = priv;
    rlive *k;
    const redisReply *r = reply;
    if (!ac->data || !l || l->closing)
        return;
    k = l->impl;
    if (k->ac != ac)
        return;
    k->inflight = 0;
    if (!r)
        return; /* the connection is going: its disconnect callback follows */
    if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "MOVED ", 6)) {
        /* The stream's slot lives on another node now: read there, after
         * the same last id. */
        const char *sp = strchr(r->str + 6, ' '), *colon = sp ? strrchr(sp, ':') : NULL;
        if (colon && (size_t)(colon - sp - 1) < sizeof k->host) {
            memcpy(k->host, sp + 1, (size_t)(colon - sp - 1));
            k->host[colon - sp - 1] = 0;
            k->port = atoi(colon + 1);
            drop_ctx(&k->ac);
            drop_ctx(&k->xac);
            k->connected = k->xconnected = 0;
            connect_now(l);
            return;
        }
    }
    if (r->type == REDIS_REPLY_ERROR && !strncmp(r->str, "ASK ", 4)) {
        /* The slot is migrating: read again shortly (the old node answers
         * MOVED once it is done). */
        drop_ctx(&k->ac);
        drop_ctx(&k->xac);
        k->connected = k->xconnected = 0;
        retry_later(l);
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        char what[ID_MAX + 300];
        if (k->group && strncmp(r->str, "NOGROUP", 7) == 0)
            snprintf(what, sizeof what, "stream '%s': no consumer group '%s' (create = true makes it)", k->stream,
                     k->group);
        else
            snprintf(what, sizeof what, "stream '%s': %s", k->stream, r->str);
        asp__source_fail(l, "%s%s", what, "");
        return;
    }
    if (k->phase == READ_CLAIM) {
        /* [next cursor, [entries], (deleted ids)] */
        if (r->type == REDIS_REPLY_ARRAY && r->elements >= 2 && r->element[0]->type == REDIS_REPLY_STRING) {
            const redisReply *es = r->element[1];
            if (es->type == REDIS_REPLY_ARRAY && queue_entries(l, es) != 0)
                return;
            snprintf(k->cursor, sizeof k->cursor, "%s", r->element[0]->str);
            if (strcmp(k->cursor, "0-0") == 0)
                k->phase = READ_NEW;
        } else {
            k->phase = READ_NEW;
        }
    } else if (r->type == REDIS_REPLY_ARRAY) {
        const redisReply *es = stream_entries(r);
        if (es && queue_entries(l, es) != 0)
            return;
        if (k->phase == READ_OWN && (!es || es->elements == 0))
            k->phase = k->claim_idle_ms >= 0 ? READ_CLAIM : READ_NEW;
    } else if (k->phase == READ_OWN) {
        k->phase = k->claim_idle_ms >= 0 ? READ_CLAIM : READ_NEW;
    }
    /* nil: BLOCK timed out; read again. A claim round again every
     * claim_idle (at least 1 s): a consumer that died while this one runs
     * leaves entries that this one takes over. */
    if (k->phase == READ_NEW && k->claim_idle_ms >= 0) {
        int64_t every = (k->claim_idle_ms > 1000 ? k->claim_idle_ms : 1000) * 1000000;
        if (asp_time_wall() - k->last_claim >= every) {
            k->phase = READ_CLAIM;
            snprintf(k->cursor, sizeof k->cursor, "0-0");
        }
    }
    if (k->phase == READ_CLAIM && strcmp(k->cursor, "0-0") == 0)
        k->last_claim = asp_time_wall();
    /* A consumer of a group takes no more than `count` entries ahead of its
     * callbacks (the next read goes when its queue is empty): the others
     * share the work, and an entry does not wait here long enough to be
     * claimed by another consumer. */
    if (!l->paused && !l->ended && !(k->group && l->qtail > l->qhead))
        issue_read(l);
}

static void issue_read(asp_live *l)
{
    rlive *k = l->impl;
    char cnt[16], idle[24];
    const char *argv[16];
    int argc = 0;
    if (!k->ac || !k->connected || k->inflight || l->closing || l->ended)
        return;
    snprintf(cnt, sizeof cnt, "%d", (int)k->count);
    if (!k->group) {
        argv[argc++] = "XREAD";
        argv[argc++] = "COUNT";
        argv[argc++] = cnt;
        argv[argc++] = "BLOCK";
        argv[argc++] = "1000";
        argv[argc++] = "STREAMS";
        argv[argc++] = k->stream;
        argv[argc++] = k->last_id;
    } else if (k->phase == READ_CLAIM) {
        snprintf(idle, sizeof idle, "%lld", (long long)k->claim_idle_ms);
        argv[argc++] = "XAUTOCLAIM";
        argv[argc++] = k->stream;
        argv[argc++] = k->group;
        argv[argc++] = k->consumer;
        argv[argc++] = idle;
        argv[argc++] = k->cursor;
        argv[argc++] = "COUNT";
        argv[argc++] = cnt;
    } else {
        argv[argc++] = "XREADGROUP";
        argv[argc++] = "GROUP";
        argv[argc++] = k->group;
        argv[argc++] = k->consumer;
        argv[argc++] = "COUNT";
        argv[argc++] = cnt;
        if (k->phase == READ_NEW) {
            argv[argc++] = "BLOCK";
            argv[argc++] = "1000";
        }
        argv[argc++] = "STREAMS";
        argv[argc++] = k->stream;
        argv[argc++] = k->phase == READ_NEW ? ">" : k->last_id;
    }
    if (redisAsyncCommandArgv(k->ac, on_read_reply, l, argc, argv, NULL) == REDIS_OK)
        k->inflight = 1;
}

static void on_setup_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    asp_live *l = priv;
    const redisReply *r = reply;
    if (!ac->data || !l || l->closing || !r)
        return;
    if (r->type == REDIS_REPLY_ERROR)
        asp__source_fail(l, "%s%s", r->str, "");
}

typedef struct pending_ack {
    asp_live *l;
    size_t len;
    char id[ID_MAX];
} pending_ack;

static void queue_ack(asp_live *l, const char *id, size_t len);

/* An XACK that did not arrive (the connection went, or the stream's slot
 * moved to another node) is sent again after the reconnection. */
static void on_ack_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    pending_ack *a = priv;
    asp_live *l = a->l;
    const redisReply *r = reply;
    (void)ac;
    if (l && !l->closing && !((rlive *)l->impl)->forking) {
        if (!r || (r->type == REDIS_REPLY_ERROR && (!strncmp(r->str, "MOVED ", 6) || !strncmp(r->str, "ASK ", 4))))
            queue_ack(l, a->id, a->len);
        else if (r->type == REDIS_REPLY_ERROR)
            asp__source_warn(l, "XACK failed: ", r->str);
    }
    free(a);
}

static void send_ack(asp_live *l, const char *id, size_t len)
{
    rlive *k = l->impl;
    const char *argv[4] = { "XACK", k->stream, k->group, id };
    size_t argvlen[4] = { 4, strlen(k->stream), strlen(k->group), len };
    pending_ack *a = malloc(sizeof *a);
    if (!a || len >= ID_MAX) {
        free(a);
        return; /* stays pending: claimed or read again later (at least once) */
    }
    a->l = l;
    a->len = len;
    memcpy(a->id, id, len);
    a->id[len] = 0;
    if (redisAsyncCommandArgv(k->xac, on_ack_reply, a, 4, argv, argvlen) != REDIS_OK) {
        free(a);
        return;
    }
    /* Written now, not when the loop next runs: the REPL may stop the run
     * here, and a resumed checkpoint counts on it (no second XACK). */
    redisAsyncHandleWrite(k->xac);
}

static void setup(asp_live *l, redisAsyncContext *ac)
{
    rlive *k = l->impl;
    if (k->password) {
        const char *argv[2] = { "AUTH", k->password };
        redisAsyncCommandArgv(ac, on_setup_reply, l, 2, argv, NULL);
    }
    if (k->db != 0) {
        char db[16];
        const char *argv[2] = { "SELECT", db };
        snprintf(db, sizeof db, "%d", k->db);
        redisAsyncCommandArgv(ac, on_setup_reply, l, 2, argv, NULL);
    }
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    asp_live *l = ac->data;
    rlive *k;
    if (!l || l->closing)
        return;
    k = l->impl;
    if (k->ac != ac && k->xac != ac)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context after this callback */
        lost(l, ac, ac->errstr[0] ? ac->errstr : "connection refused");
        return;
    }
    setup(l, ac);
    if (ac == k->xac) {
        k->xconnected = 1;
        for (size_t i = 0; i < k->nacks; i++) {
            send_ack(l, k->acks[i], strlen(k->acks[i]));
            free(k->acks[i]);
        }
        k->nacks = 0;
        return;
    }
    k->connected = 1;
    k->ever_connected = 1;
    asp__retry_reset(&k->retry);
    if (k->group && k->phase == READ_NEW) {
        /* After a reconnection: what the group gave this consumer in a reply
         * that was lost (after the last id queued), then new entries. */
        k->phase = READ_OWN;
    }
    if (!l->paused)
        issue_read(l);
}

static void on_disconnect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    asp_live *l = ac->data;
    rlive *k;
    if (!l)
        return;
    k = l->impl;
    if (k->ac != ac && k->xac != ac)
        return;
    if (l->closing) {
        /* The acknowledgements' connection, closed once they were answered. */
        if (k->xac == ac)
            k->xac = NULL;
        return;
    }
    lost(l, ac, status == REDIS_OK ? "closed" : (ac->errstr[0] ? ac->errstr : "connection lost"));
}

/* A context on the engine's loop; NULL when it could not be made (the
 * source retries or failed). */
static redisAsyncContext *open_ctx(asp_live *l)
{
    rlive *k = l->impl;
    redisAsyncContext *ac = redisAsyncConnect(k->host, k->port);
    if (!ac) {
        asp__source_fail(l, "out of memory%s%s", "", "");
        return NULL;
    }
    if (ac->err) {
        char why[200];
        snprintf(why, sizeof why, "%s", ac->errstr);
        redisAsyncFree(ac);
        lost(l, NULL, why);
        return NULL;
    }
    ac->data = l;
    if (uvev_attach(ac, asp_sched_loop(l->s)) != 0) {
        ac->data = NULL;
        redisAsyncFree(ac);
        asp__source_fail(l, "cannot attach to the loop%s%s", "", "");
        return NULL;
    }
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    return ac;
}

static void connect_now(asp_live *l)
{
    rlive *k = l->impl;
    k->tries++;
    k->pid = getpid();
    if (!(k->ac = open_ctx(l)))
        return;
    if (k->group)
        k->xac = open_ctx(l);
}

static void redis_pause(asp_live *l)
{
    rlive *k = l->impl;
    check_fork(l);
    k->paused = 1;
}

static void redis_resume(asp_live *l)
{
    rlive *k = l->impl;
    check_fork(l);
    k->paused = 0;
    if (!k->ac && !asp__retry_waiting(&k->retry))
        connect_now(l);
    else
        issue_read(l);
}

/* A journaled entry goes back into the queue: it was read (and acknowledged)
 * by a later process; reading goes on after it. */
static void redis_replay_line(asp_live *l, const char *data, size_t len)
{
    rlive *k = l->impl;
    const char *nl = memchr(data, '\n', len);
    check_fork(l);
    k->stale++;
    if (nl && (size_t)(nl - data) < ID_MAX) {
        char id[ID_MAX];
        memcpy(id, data, (size_t)(nl - data));
        id[nl - data] = 0;
        if (id_cmp(id, k->last_id) > 0)
            memcpy(k->last_id, id, sizeof id);
    }
}

static void redis_close(asp_live *l)
{
    rlive *k = l->impl;
    uv_loop_t *loop = asp_sched_loop(l->s);
    drop_ctx(&k->ac);
    if (k->xac && k->xconnected && k->pid == getpid()) {
        /* The acknowledgements sent go out and are answered first (2 s at
         * most): the last entry's was sent just now. */
        int64_t until = asp_time_wall() + 2 * (int64_t)1000000000;
        redisAsyncDisconnect(k->xac);
        while (k->xac && asp_time_wall() < until) {
            uv_run(loop, UV_RUN_NOWAIT);
            if (k->xac) {
                struct timespec ts = { 0, 200000 };
                nanosleep(&ts, NULL);
            }
        }
    }
    drop_ctx(&k->xac);
    /* The contexts' poll handles close now, not after the run; the timer
     * last (its close may free l: the core runs the loop for it). */
    uv_run(loop, UV_RUN_NOWAIT);
    asp__retry_close(&k->retry);
}

static void redis_free(asp_live *l)
{
    rlive *k = l->impl;
    free(k->password);
    free(k->stream);
    free(k->group);
    free(k->consumer);
    for (size_t i = 0; i < k->nacks; i++)
        free(k->acks[i]);
    free(k->acks);
    free(k->rec.p);
}

static const asp_source_kind redis_kind = {
    .name = "redis",
    .pause = redis_pause,
    .resume = redis_resume,
    .replay_line = redis_replay_line,
    .close = redis_close,
    .free = redis_free,
};

static char *dup_or_null(const char *s)
{
    return s && s[0] ? strdup(s) : NULL;
}

int asp_live_redis(asp_live *l, const char *host, int32_t port, int32_t db, const char *password,
                   const char *stream, const char *after, const char *group, const char *consumer,
                   int32_t count, int64_t claim_idle_ms, int32_t reconnect_ms, int32_t reconnect_max_ms,
                   int32_t retry_ms, char *err, size_t errlen)
{
    rlive *k;
    struct sockaddr_storage addr;
    if (asp__source_init(l, &redis_kind, sizeof *k, err, errlen) != 0)
        return -1;
    k = l->impl;
    /* Resolved once, here: hiredis would resolve (blocking) at every try. */
    if (asp__source_resolve(host, port, 0, &addr, err, errlen) != 0)
        return -1;
    if (addr.ss_family == AF_INET6)
        uv_ip6_name((const struct sockaddr_in6 *)&addr, k->host, sizeof k->host);
    else
        uv_ip4_name((const struct sockaddr_in *)&addr, k->host, sizeof k->host);
    k->port = port;
    k->db = db;
    k->password = dup_or_null(password);
    k->stream = strdup(stream);
    k->group = dup_or_null(group);
    k->consumer = dup_or_null(consumer);
    if (!k->stream || (group && group[0] && (!k->group || !k->consumer))) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(k->last_id, sizeof k->last_id, "%s", after && after[0] ? after : "0-0");
    snprintf(k->cursor, sizeof k->cursor, "0-0");
    k->phase = READ_OWN;
    k->count = count > 0 ? count : 100;
    k->claim_idle_ms = claim_idle_ms;
    k->reconnect = reconnect_ms > 0;
    asp__retry_init(&k->retry, l, reconnect_ms > 0 ? (uint64_t)reconnect_ms : 100,
                    reconnect_max_ms > 0 ? (uint64_t)reconnect_max_ms : 0, connect_now);
    k->first_try = asp_time_wall();
    k->retry_ns = (int64_t)(retry_ms > 0 ? retry_ms : 0) * 1000000;
    k->pid = getpid();
    asp_live_begin(l);
    connect_now(l);
    return 0;
}

int32_t asp_live_redis_fresh(asp_live *l)
{
    rlive *k = l->impl;
    if (k->pid != getpid()) {
        check_fork(l);
        k->stale++; /* the entry just popped was queued before, too */
    }
    if (k->group && l->qtail == l->qhead && !l->paused)
        issue_read(l);
    if (k->stale > 0) {
        k->stale--;
        return 0;
    }
    return 1;
}

void asp_live_redis_ack(asp_live *l, const char *id, size_t len)
{
    rlive *k = l->impl;
    check_fork(l);
    if (!k->group || l->closing)
        return;
    if (k->xac && k->xconnected) {
        send_ack(l, id, len);
        return;
    }
    queue_ack(l, id, len);
}

static void queue_ack(asp_live *l, const char *id, size_t len)
{
    rlive *k = l->impl;
    if (k->nacks == k->cap_acks) {
        size_t cap = k->cap_acks ? k->cap_acks * 2 : 64;
        char **a = realloc(k->acks, cap * sizeof *a);
        if (!a)
            return; /* stays pending: claimed again later (at least once) */
        k->acks = a;
        k->cap_acks = cap;
    }
    if ((k->acks[k->nacks] = strndup(id, len)) != NULL)
        k->nacks++;
}

/* -- The writer ------------------------------------------------------------ */

struct asp_redis_writer {
    redisAsyncContext *ac;
    uv_loop_t *loop;
    int connected, connecting, failed;
    int64_t pending, done, max_pending;
    char err[512];
};

static void writer_fail(asp_redis_writer *w, const char *fmt, const char *a)
{
    if (w->failed)
        return;
    w->failed = 1;
    snprintf(w->err, sizeof w->err, fmt, a);
}

static void on_writer_reply(redisAsyncContext *ac, void *reply, void *priv)
{
    asp_redis_writer *w = priv;
    const redisReply *r = reply;
    (void)ac;
    w->pending--;
    if (!r) {
        writer_fail(w, "connection lost before the answer%s", "");
        return;
    }
    if (r->type == REDIS_REPLY_ERROR)
        writer_fail(w, "%s", r->str);
    else
        w->done++;
}

static void on_writer_connect(const redisAsyncContext *ac, int status)
{
    asp_redis_writer *w = ac->data;
    if (!w)
        return;
    w->connecting = 0;
    if (status != REDIS_OK) {
        w->ac = NULL;
        writer_fail(w, "%s", ac->errstr[0] ? ac->errstr : "connection refused");
        return;
    }
    w->connected = 1;
}

static void on_writer_disconnect(const redisAsyncContext *ac, int status)
{
    asp_redis_writer *w = ac->data;
    if (!w)
        return;
    w->ac = NULL;
    w->connected = 0;
    if (status != REDIS_OK)
        writer_fail(w, "connection lost: %s", ac->errstr);
}

static int writer_try(asp_redis_writer *w, const char *host, int32_t port)
{
    w->failed = 0;
    w->err[0] = 0;
    w->ac = redisAsyncConnect(host, port);
    if (!w->ac || w->ac->err) {
        snprintf(w->err, sizeof w->err, "%s", w->ac ? w->ac->errstr : "out of memory");
        if (w->ac)
            redisAsyncFree(w->ac);
        w->ac = NULL;
        return -1;
    }
    w->ac->data = w;
    if (uvev_attach(w->ac, w->loop) != 0) {
        w->ac->data = NULL;
        redisAsyncFree(w->ac);
        w->ac = NULL;
        snprintf(w->err, sizeof w->err, "cannot attach to the loop");
        return -1;
    }
    redisAsyncSetConnectCallback(w->ac, on_writer_connect);
    redisAsyncSetDisconnectCallback(w->ac, on_writer_disconnect);
    w->connecting = 1;
    while (w->connecting)
        uv_run(w->loop, UV_RUN_ONCE);
    return w->connected ? 0 : -1;
}

asp_redis_writer *asp_redis_writer_open(const char *host, int32_t port, int32_t db, const char *password,
                                        int32_t max_pending, int32_t retry_ms, char *err, size_t errlen)
{
    asp_redis_writer *w = calloc(1, sizeof *w);
    int64_t start = asp_time_wall(), budget = (int64_t)(retry_ms > 0 ? retry_ms : 0) * 1000000;
    uint64_t wait = 50;
    int tries = 0;
    if (!w) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    w->loop = asp_sched_loop(asp_engine_sched());
    w->max_pending = max_pending > 0 ? max_pending : 1000;
    while (tries++, writer_try(w, host, port) != 0) {
        if (asp_time_wall() - start + (int64_t)wait * 1000000 > budget) {
            snprintf(err, errlen, "cannot connect to %s:%d: %s (%d tries)", host, (int)port, w->err, tries);
            uv_run(w->loop, UV_RUN_NOWAIT); /* the failed context's handle closes */
            free(w);
            return NULL;
        }
        sleep_ms(wait);
        wait = wait * 2 > 1000 ? 1000 : wait * 2;
    }
    if (password && password[0]) {
        const char *argv[2] = { "AUTH", password };
        asp_redis_writer_send(w, 2, argv, NULL);
    }
    if (db != 0) {
        char d[16];
        const char *argv[2] = { "SELECT", d };
        snprintf(d, sizeof d, "%d", (int)db);
        asp_redis_writer_send(w, 2, argv, NULL);
    }
    if (asp_redis_writer_flush(w) != 0) {
        snprintf(err, errlen, "%s", w->err);
        asp_redis_writer_close(w);
        return NULL;
    }
    w->done = 0;
    return w;
}

int asp_redis_writer_send(asp_redis_writer *w, int32_t argc, const char **argv, const size_t *argvlen)
{
    if (w->failed || !w->ac)
        return -1;
    if (redisAsyncCommandArgv(w->ac, on_writer_reply, w, argc, argv, argvlen) != REDIS_OK) {
        writer_fail(w, "cannot send: %s", w->ac ? w->ac->errstr : "disconnected");
        return -1;
    }
    w->pending++;
    /* Out at once in a live run (latency), by 64 KiB in a replay (fewer
     * writes); the rest goes when the loop runs (a wait, flush, close). */
    if (asp_sched_is_live(asp_engine_sched()) || sdslen(w->ac->c.obuf) >= (64u << 10))
        redisAsyncHandleWrite(w->ac);
    /* Pushes back: the caller waits while too many are unanswered. */
    while (w->pending >= w->max_pending && !w->failed && w->ac)
        uv_run(w->loop, UV_RUN_ONCE);
    return w->failed ? -1 : 0;
}

int asp_redis_writer_flush(asp_redis_writer *w)
{
    while (w->pending > 0 && !w->failed && w->ac)
        uv_run(w->loop, UV_RUN_ONCE);
    return w->failed ? -1 : 0;
}

const char *asp_redis_writer_error(const asp_redis_writer *w)
{
    return w->err;
}

int64_t asp_redis_writer_done(const asp_redis_writer *w)
{
    return w->done;
}

void asp_redis_writer_close(asp_redis_writer *w)
{
    if (!w)
        return;
    if (w->ac) {
        asp_redis_writer_flush(w);
        if (w->ac) {
            redisAsyncContext *ac = w->ac;
            w->ac = NULL;
            ac->data = NULL;
            redisAsyncFree(ac);
        }
    }
    uv_run(w->loop, UV_RUN_NOWAIT);
    free(w);
}
