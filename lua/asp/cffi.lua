-- The C engine as the FFI sees it: its declarations (asp.cdef, generated
-- from the ffi blocks of engine's headers by scripts/gen-cdef.lua) and the
-- process's scheduler.
local ffi = require("ffi")
ffi.cdef(require("asp.cdef"))
local C = ffi.C
return { C = C, S = C.asp_engine_sched() }
