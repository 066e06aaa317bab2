/*
 * asp.listen: a TCP server (docs/sources.md).
 *
 * Its own listening socket, accepted with accept() on a uv_poll: when the
 * descriptors run out (EMFILE), libuv's listener accepts and closes the
 * waiting connections at once (its "EMFILE trick"), silently losing their
 * lines. Here a connection that cannot be accepted stays in the kernel's
 * backlog: a warning once per burst, counted in accept_waits, and accepting
 * goes on every 20 ms or when a connection of the source closes.
 *
 * One client's fault (a line over max_line, or the unfinished lines of all
 * clients over buffer) closes that client's connection, not the run.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <uv.h>

#include "sources/listen.h"
#include "sources/source.h"

typedef struct listener {
    struct sockaddr_storage addr;
    uv_poll_t server;    /* readiness of its own listening socket */
    int lfd;
    int has_server;
    uv_timer_t timer;    /* accepting again after descriptors ran out */
    int has_timer;
    int64_t accept_waits, accept_waiting; /* accept() failed: descriptors ran out */
    int64_t conns_dropped; /* connections closed: over-long line, partial-lines bound */
} listener;

static void bound_partials(asp_live *l, asp_conn *c);

/* One client's fault closes its connection, not the run. */
static void drop_conn(asp_live *l, asp_conn *c, const char *why)
{
    listener *k = l->impl;
    char msg[400];
    snprintf(msg, sizeof msg, "%s: closed that connection (its complete lines were delivered; "
             "dropped_connections in asp.stats())", why);
    asp__source_warn(l, msg, "");
    k->conns_dropped++;
    c->lb.plen = 0;
    asp__conn_close(l, c);
}

/* The unfinished lines of all its connections together are bounded by
 * `buffer`, as its queue is (500 clients each holding 1 MB without a
 * newline took 494 MB). Over it, the connection holding the most is
 * closed, warned and counted. A buffer grown for a long line is given
 * back once the line is complete. */
static void bound_partials(asp_live *l, asp_conn *c)
{
    l->partial_total = l->partial_total - c->counted + c->lb.plen;
    c->counted = c->lb.plen;
    if (c->lb.plen == 0 && c->lb.pcap > (64u << 10))
        asp_linebuf_free(&c->lb);
    while (l->partial_total > l->qmax) {
        asp_conn *big = c;
        char why[200];
        for (asp_conn *o = l->conns; o; o = o->next)
            if (o->lb.plen > big->lb.plen)
                big = o;
        if (big->closing || big->counted == 0)
            break; /* cannot happen: the total counts open connections only */
        snprintf(why, sizeof why, "the unfinished lines of all connections hold more than buffer = %zu bytes, "
                 "%zu of them in this connection's", l->qmax, big->lb.plen);
        drop_conn(l, big, why);
    }
}

static int listen_took(asp_live *l, asp_conn *c, int rc)
{
    if (rc == ASP_LINES_TOO_LONG) {
        char why[100];
        snprintf(why, sizeof why, "a line is longer than %zu bytes (max_line)", l->max_line);
        drop_conn(l, c, why);
        return 1;
    }
    bound_partials(l, c);
    return rc == ASP_LINES_OK || c->closing;
}

/* The server goes on with its other clients. */
static int listen_conn_ended(asp_live *l, asp_conn *c)
{
    (void)l;
    (void)c;
    return 1;
}

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
    listener *k = l->impl;
    if (l->closing)
        return;
    uv_poll_start(&k->server, UV_READABLE, on_listen_io);
    accept_all(l);
}

static void accept_all(asp_live *l)
{
    listener *k = l->impl;
    while (!l->closing) {
        asp_conn *c;
        int fd = accept(k->lfd, NULL, NULL); /* uv_tcp_open makes it non-blocking */
        if (fd >= 0)
            fcntl(fd, F_SETFD, FD_CLOEXEC);
        if (fd < 0) {
            char msg[300];
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
                if (!k->accept_waiting) {
                    k->accept_waiting = 1;
                    k->accept_waits++;
                    snprintf(msg, sizeof msg, "cannot accept a connection (%s): it waits in the kernel's "
                             "backlog until a descriptor is free (%lld time%s so far, accept_waits in asp.stats())",
                             strerror(errno), (long long)k->accept_waits, k->accept_waits == 1 ? "" : "s");
                    asp__source_warn(l, msg, "");
                }
                uv_poll_stop(&k->server);
                if (!k->has_timer) {
                    uv_timer_init(asp_sched_loop(l->s), &k->timer);
                    k->timer.data = l;
                    k->has_timer = 1;
                    l->handles++;
                }
                uv_timer_start(&k->timer, on_accept_retry, 20, 0);
                return;
            }
            snprintf(msg, sizeof msg, "cannot accept a connection: %s", strerror(errno));
            asp__source_warn(l, msg, "");
            return;
        }
        if (k->accept_waiting) {
            k->accept_waiting = 0;
            asp__source_warn(l, "accepting connections again: ", "descriptors are free");
        }
        c = asp__conn_new(l);
        if (!c) {
            close(fd);
            return;
        }
        uv_tcp_init(asp_sched_loop(l->s), &c->h.tcp);
        c->h.handle.data = l;
        l->handles++;
        if (uv_tcp_open(&c->h.tcp, fd) != 0) {
            close(fd);
            asp__conn_close(l, c);
            continue;
        }
        asp__conn_start(l, c);
    }
}

static void listen_counts(const asp_live *l, int64_t *out)
{
    const listener *k = l->impl;
    out[1] = k->accept_waits;
    out[2] = k->conns_dropped;
}

static int32_t listen_port(const asp_live *l)
{
    const listener *k = l->impl;
    struct sockaddr_storage ss;
    socklen_t slen = sizeof ss;
    if (!k->has_server || getsockname(k->lfd, (struct sockaddr *)&ss, &slen) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void listen_close(asp_live *l)
{
    listener *k = l->impl;
    if (k->has_server) {
        asp__source_close_handle(l, (uv_handle_t *)&k->server); /* stops polling at once */
        close(k->lfd);
        k->lfd = -1;
    }
    if (k->has_timer)
        asp__source_close_handle(l, (uv_handle_t *)&k->timer);
}

static const asp_source_kind listen_kind = {
    .name = "listen",
    .peer = 1,
    .took = listen_took,
    .conn_ended = listen_conn_ended,
    .counts = listen_counts,
    .port = listen_port,
    .close = listen_close,
};

int asp_live_listen(asp_live *l, const char *host, int32_t port, char *err, size_t errlen)
{
    int one = 1;
    socklen_t alen;
    listener *k;
    if (asp__source_init(l, &listen_kind, sizeof *k, err, errlen) != 0)
        return -1;
    k = l->impl;
    k->lfd = -1;
    if (asp__source_resolve(host, port, 1, &k->addr, err, errlen) != 0)
        return -1;
    alen = k->addr.ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    k->lfd = socket(k->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (k->lfd < 0 || setsockopt(k->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(k->lfd, (const struct sockaddr *)&k->addr, alen) != 0 || listen(k->lfd, 128) != 0) {
        snprintf(err, errlen, "cannot listen: %s", strerror(errno));
        if (k->lfd >= 0)
            close(k->lfd);
        k->lfd = -1;
        return -1;
    }
    if (uv_poll_init(asp_sched_loop(l->s), &k->server, k->lfd) != 0) {
        snprintf(err, errlen, "cannot listen: cannot poll");
        close(k->lfd);
        k->lfd = -1;
        return -1;
    }
    k->server.data = l;
    k->has_server = 1;
    l->handles++;
    uv_poll_start(&k->server, UV_READABLE, on_listen_io);
    return 0;
}
