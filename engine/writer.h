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

/* asp_format_number (asp_ffi.h) formats the numbers of both formats. */

#endif
