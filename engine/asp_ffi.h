/*
 * Every header with an ffi block, for the C files that want all of them.
 *
 * The declarations Lua reaches through the LuaJIT FFI are written once, in
 * the header of the module that owns them, between the lines
 * "ffi: begin" and "ffi: end" (as comments); scripts/gen-cdef.lua collects
 * those blocks from every header of engine/ into the module asp.cdef that
 * lua/asp/cffi.lua passes to ffi.cdef. The C file that defines a function
 * includes its header, so the compiler checks that both agree. A new header
 * needs no entry here to reach Lua.
 */
#ifndef ASP_FFI_H
#define ASP_FFI_H

#include "checkpoint.h"
#include "engine.h"
#include "journal.h"
#include "progress.h"
#include "reload.h"
#include "repl.h"
#include "sched.h"
#include "series.h"
#include "signals.h"
#include "sweep.h"
#include "time.h"
#include "tz.h"
#include "writer.h"
#include "sources/csv.h"
#include "sources/exec.h"
#include "sources/glob.h"
#include "sources/json.h"
#include "sources/redis.h"
#include "sources/listen.h"
#include "sources/reader.h"
#include "sources/source.h"
#include "sources/stdin.h"
#include "sources/tail.h"
#include "sources/tcp.h"
#include "sources/udp.h"
#include "sources/watch.h"

#endif
