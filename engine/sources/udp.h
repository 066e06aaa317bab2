/*
 * asp.udp: datagrams on a bound UDP socket; each datagram holds one or more
 * lines, its last line needs no newline.
 */
#ifndef ASP_SOURCES_UDP_H
#define ASP_SOURCES_UDP_H

#include "sources/source.h"

/* ffi: begin */
int asp_live_udp(asp_live *l, const char *host, int32_t port, char *err, size_t errlen);
/* ffi: end */

#endif
