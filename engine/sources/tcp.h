/*
 * asp.tcp: a TCP client; with reconnect, it connects again after the peer
 * closes or refuses, with a doubling backoff from reconnect_ms to
 * reconnect_max_ms.
 */
#ifndef ASP_SOURCES_TCP_H
#define ASP_SOURCES_TCP_H

#include "sources/source.h"

/* ffi: begin */
int asp_live_tcp(asp_live *l, const char *host, int32_t port, int32_t reconnect_ms,
                 int32_t reconnect_max_ms, char *err, size_t errlen);
/* ffi: end */

#endif
