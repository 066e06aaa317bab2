/*
 * asp.listen: a TCP server; many clients, one stream, each client's lines
 * kept whole. It binds and listens when made (so that its port is known).
 */
#ifndef ASP_SOURCES_LISTEN_H
#define ASP_SOURCES_LISTEN_H

#include "sources/source.h"

/* ffi: begin */
int asp_live_listen(asp_live *l, const char *host, int32_t port, char *err, size_t errlen);
/* ffi: end */

#endif
