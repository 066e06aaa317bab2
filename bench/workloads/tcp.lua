-- Live TCP latency: asp.listen binds 127.0.0.1 on a port the system chooses;
-- a writer process (tcp_writer.lua) connects and sends N lines
-- "<seq> <sent_ns>" at RATE lines/s, where sent_ns is the wall clock
-- (CLOCK_REALTIME, integer ns) just before the write() that sends the line.
-- The callback computes asp.wall() - sent_ns exactly in int64 ns. Reports
-- the median, p99 and max in microseconds, the lines sent and received, and
-- the lines lost (gaps in seq, or lines never received).
-- usage: asp-lua tcp.lua [N] [RATE]
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local asp = require("asp")
local common = require("common")

local N = tonumber(arg[1]) or 200000
local RATE = tonumber(arg[2]) or 100000
local dir = arg[0]:gsub("[^/]*$", "")

if asp.listen == nil then
  common.report{ na = "asp.listen_not_merged" }
  return
end

-- asp.listen listens (bound at once, port 0: the system chooses) and the
-- writer connects. The stream never ends by itself: the last line stops the run.
local src = asp.listen{ host = "127.0.0.1", port = 0 }
local PORT = src:port()

-- The latencies go into a C array: a 200k-entry Lua table would be both
-- rehashed as it grows and traversed whole by each GC cycle, pauses of the
-- measurement itself that would show in the tail as if they were the engine's.
local ffi = require("ffi")
local lat, n, last_seq, lost = ffi.new("double[?]", N + 1), 0, 0, 0
local st = asp.process_stream{
  name = "tcp",
  future = src,
  callback = function(t, line)
    local w = asp.wall():ns()
    local seq, hi, lo = line:match("^(%d+) (%d+)(%d%d%d%d%d%d%d%d%d)$")
    seq = tonumber(seq)
    n = n + 1
    -- sent_ns = hi * 1e9 + lo, kept exact: the difference in int64.
    lat[n] = tonumber(w - tonumber(hi) * 1000000000LL) - tonumber(lo)
    lost = lost + (seq - last_seq - 1)
    last_seq = seq
    if seq >= N then asp.stop() end
  end,
}
local writer = io.popen(("%s %stcp_writer.lua connect %d %d %d"):format(
  os.getenv("ASP_LUA") or "asp-lua", dir, PORT, N, RATE), "r")
asp.run({ st })
local wout = writer:read("*a")
writer:close()
local sent = tonumber(wout:match("SENT (%d+)")) or -1
lost = lost + (N - last_seq)
local sorted = {}
for i = 1, n do sorted[i] = lat[i] end
table.sort(sorted)
lat = sorted
local function pct(p) return lat[math.max(1, math.ceil(n * p))] / 1e3 end
common.report{ n = n, sent = sent, received = n, lost = lost,
  p50_us = pct(0.5), p99_us = pct(0.99), max_us = lat[n] / 1e3 }
