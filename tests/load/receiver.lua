-- Load receiver: an asp.listen source fed by tests/load/writer.lua (started
-- in the background), COUNT lines into a callback that checks their order
-- and optionally sleeps SLEEP seconds every 200 lines (lines WIDTH bytes).
-- Prints one line:
--   in=COUNT out=N lost=K order_ok=true|false peak_rss_kb=VmHWM seconds=S
-- Usage: asp-lua tests/load/receiver.lua COUNT [RATE] [SLEEP] [BUFFER] [WIDTH]
local asp = require("asp")
local count, rate = tonumber(arg[1]), tonumber(arg[2] or 0)
local nap, buffer, width = tonumber(arg[3] or 0), tonumber(arg[4]), tonumber(arg[5] or 0)

local src = asp.listen { port = 0, buffer = buffer }
local me = os.getenv("ASP_LUA") or arg[-1] or "build/asp-lua"
os.execute(("%s tests/load/writer.lua %d %d %d %d &"):format(me, src:port(), count, rate, width))

local n, ok, last_seen = 0, true, asp.wall()
local t0 = asp.wall()
asp.run {
  asp.process_stream { future = src, callback = function(t, v)
    n = n + 1
    if tonumber(v:match("^%d+")) ~= n then ok = false end
    last_seen = asp.wall()
    if nap > 0 and n % 200 == 0 then asp.sleep(nap) end
    if n == count then asp.stop() end
  end },
  function() -- gives up when nothing arrived for 20 s (a lost line would hang)
    while asp.wall() - last_seen < 20 do asp.sleep(0.5) end
    asp.stop()
  end,
}
local hwm = io.open("/proc/self/status"):read("*a"):match("VmHWM:%s*(%d+)")
print(("in=%d out=%d lost=%d order_ok=%s peak_rss_kb=%s seconds=%.2f"):format(
  count, n, count - n, tostring(ok), hwm, asp.wall() - t0))
