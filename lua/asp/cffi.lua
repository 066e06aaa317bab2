-- The C engine as the FFI sees it: its declarations (generated from
-- engine/asp_ffi.h) and the process's scheduler.
local ffi = require("ffi")
ffi.cdef(require("asp.cdef"))
local C = ffi.C
return { C = C, S = C.asp_engine_sched() }
