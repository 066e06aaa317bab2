/*
 * asp.tcp: a TCP client (docs/sources.md). Its connection is a connection
 * of the core (source.c); this file connects, and reconnects when the
 * connection ends or is refused and reconnect is on.
 */
#include <sys/socket.h>

#include <uv.h>

#include "sources/source.h"
#include "sources/tcp.h"

typedef struct tcp {
    struct sockaddr_storage addr;
    uv_connect_t creq;
    asp_retry retry;     /* the wait before reconnecting */
    int reconnect;
} tcp;

static void connect_now(asp_live *l);

static void reconnect_later(asp_live *l)
{
    tcp *k = l->impl;
    asp__retry_later(&k->retry);
}

static void on_connect(uv_connect_t *req, int status)
{
    asp_live *l = req->data;
    tcp *k = l->impl;
    asp_conn *c = (asp_conn *)req->handle;
    if (status == 0) {
        asp__retry_reset(&k->retry);
        asp__conn_start(l, c);
        return;
    }
    asp__conn_close(l, c);
    if (status == UV_ECANCELED || l->closing)
        return;
    if (k->reconnect) {
        reconnect_later(l);
        return;
    }
    asp__source_fail(l, "cannot connect: %s%s", uv_strerror(status), "");
}

static void connect_now(asp_live *l)
{
    tcp *k = l->impl;
    asp_conn *c = asp__conn_new(l);
    int rc;
    if (!c) {
        asp__source_fail(l, "out of memory%s%s", "", "");
        return;
    }
    uv_tcp_init(asp_sched_loop(l->s), &c->h.tcp);
    c->h.handle.data = l;
    l->handles++;
    k->creq.data = l;
    rc = uv_tcp_connect(&k->creq, &c->h.tcp, (const struct sockaddr *)&k->addr, on_connect);
    if (rc != 0) {
        asp__conn_close(l, c);
        if (k->reconnect)
            reconnect_later(l);
        else
            asp__source_fail(l, "cannot connect: %s%s", uv_strerror(rc), "");
    }
}

/* The connection ended: with reconnect, connect again (the stream goes on). */
static int tcp_conn_ended(asp_live *l, asp_conn *c)
{
    tcp *k = l->impl;
    (void)c;
    if (k->reconnect && !l->closing) {
        reconnect_later(l);
        return 1;
    }
    return 0;
}

static void tcp_close(asp_live *l)
{
    tcp *k = l->impl;
    asp__retry_close(&k->retry);
}

static const asp_source_kind tcp_kind = {
    .name = "tcp",
    .peer = 1,
    .conn_ended = tcp_conn_ended,
    .close = tcp_close,
};

int asp_live_tcp(asp_live *l, const char *host, int32_t port, int32_t reconnect_ms,
                 int32_t reconnect_max_ms, char *err, size_t errlen)
{
    tcp *k;
    if (asp__source_init(l, &tcp_kind, sizeof *k, err, errlen) != 0)
        return -1;
    k = l->impl;
    if (asp__source_resolve(host, port, 0, &k->addr, err, errlen) != 0)
        return -1;
    k->reconnect = reconnect_ms > 0;
    asp__retry_init(&k->retry, l, reconnect_ms > 0 ? (uint64_t)reconnect_ms : 0,
                    reconnect_max_ms > 0 ? (uint64_t)reconnect_max_ms : 0, connect_now);
    asp_live_begin(l);
    connect_now(l);
    return 0;
}
