/*
 * Buffered row writers for results files (asp.writer, --record): CSV (RFC
 * 4180) or JSON lines, written to a temporary file beside the final one and
 * renamed at commit (atomic mode), or appended to the final file (append
 * mode). The functions are declared in asp_ffi.h, which lua/asp/writer.lua
 * calls through the FFI.
 */
#ifndef ASP_WRITER_H
#define ASP_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include "asp_ffi.h"

/* Formats a number so that strtod reads it back exactly: an integer as an
 * integer, else the fewest decimals (up to 9) that do, else %.17g. NaN and
 * infinities as NaN, Inf, -Inf. Returns the length; buf holds >= 32 bytes. */
size_t asp_format_number(double v, char *buf);

#endif
