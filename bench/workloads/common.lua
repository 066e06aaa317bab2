-- What every workload shares: a monotonic clock and the one output line
-- that bench/run.sh reads.
local ffi = require("ffi")
pcall(ffi.cdef, [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk, bench_timespec *ts);
]])
local ts = ffi.new("bench_timespec")
local M = {}

-- Seconds on CLOCK_MONOTONIC (1 on Linux), as a number.
function M.clock()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) + tonumber(ts.tv_nsec) * 1e-9
end

-- Prints "RESULT key=value ..." from a table, keys sorted.
function M.report(t)
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = k .. "=" .. tostring(t[k]) end
  io.write("RESULT ", table.concat(out, " "), "\n")
end

return M
