/*
 * asp.udp (docs/sources.md): each datagram is cut into lines through the
 * source's file-part buffer and ends its last line. UDP has no flow
 * control: while reading is paused, the kernel may drop datagrams.
 */
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>

#include <uv.h>

#include "sources/source.h"
#include "sources/udp.h"
#include "time.h"

typedef struct udp {
    struct sockaddr_storage addr;
    uv_udp_t h;
    int has_udp;
} udp;

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    asp_live *l = h->data;
    (void)suggested;
    buf->base = l->rbuf;
    buf->len = ASP_SOURCE_READ_CHUNK;
}

static void on_udp(uv_udp_t *h, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                   unsigned flags)
{
    asp_live *l = h->data;
    (void)flags;
    if (nread <= 0 || !addr)
        return;
    asp__source_take(l, &l->filepart, buf->base, (size_t)nread, asp_time_wall());
    asp__source_flush(l, &l->filepart);
}

static void udp_pause(asp_live *l)
{
    udp *k = l->impl;
    if (k->has_udp)
        uv_udp_recv_stop(&k->h);
}

static void udp_resume(asp_live *l)
{
    udp *k = l->impl;
    if (k->has_udp)
        uv_udp_recv_start(&k->h, udp_alloc, on_udp);
}

static int32_t udp_port(const asp_live *l)
{
    const udp *k = l->impl;
    struct sockaddr_storage ss;
    int len = sizeof ss;
    if (!k->has_udp || uv_udp_getsockname(&k->h, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
}

static void udp_close(asp_live *l)
{
    udp *k = l->impl;
    if (k->has_udp)
        asp__source_close_handle(l, (uv_handle_t *)&k->h);
}

static const asp_source_kind udp_kind = {
    .name = "udp",
    .pause = udp_pause,
    .resume = udp_resume,
    .port = udp_port,
    .close = udp_close,
};

int asp_live_udp(asp_live *l, const char *host, int32_t port, char *err, size_t errlen)
{
    udp *k;
    int rc;
    if (asp__source_init(l, &udp_kind, sizeof *k, err, errlen) != 0)
        return -1;
    k = l->impl;
    if (asp__source_resolve(host, port, 1, &k->addr, err, errlen) != 0)
        return -1;
    uv_udp_init(asp_sched_loop(l->s), &k->h);
    k->h.data = l;
    k->has_udp = 1;
    l->handles++;
    rc = uv_udp_bind(&k->h, (const struct sockaddr *)&k->addr, 0);
    if (rc == 0)
        rc = uv_udp_recv_start(&k->h, udp_alloc, on_udp);
    if (rc != 0) {
        snprintf(err, errlen, "cannot bind: %s", uv_strerror(rc));
        return -1;
    }
    return 0;
}
