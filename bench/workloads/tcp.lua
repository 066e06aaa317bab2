-- Live TCP latency: a writer process (tcp_writer.lua) sends N lines at RATE
-- lines/s to 127.0.0.1:PORT; the callback records asp.wall() minus the
-- line's send time. Reports the median and p99 in microseconds and the
-- lines lost.
-- usage: asp-lua tcp.lua [N] [RATE] [PORT]
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local asp = require("asp")
local common = require("common")

local N = tonumber(arg[1]) or 200000
local RATE = tonumber(arg[2]) or 100000
local PORT = tonumber(arg[3]) or 47311
local dir = arg[0]:gsub("[^/]*$", "")

if asp.tcp == nil then
  common.report{ na = "asp.tcp_not_merged" }
  return
end

-- ADAPT when asp.tcp lands: the writer's mode and the source below are the
-- whole dependency on its API ("connect": asp.tcp listens and the writer
-- connects; "listen": the writer listens and asp.tcp connects).
local WRITER_MODE = "connect"
local function tcp_source(port) return asp.tcp{ host = "127.0.0.1", port = port, listen = true } end

local lat, n, last_seq, lost = {}, 0, 0, 0
local st
st = asp.process_stream{
  name = "tcp",
  future = tcp_source(PORT),
  callback = function(t, line)
    local now_us = asp.wall():epoch() * 1e6
    local seq, sent = line:match("^(%d+) ([%d.]+)")
    seq, sent = tonumber(seq), tonumber(sent)
    lost = lost + (seq - last_seq - 1)
    last_seq = seq
    n = n + 1
    lat[n] = now_us - sent
    if seq >= N then asp.stop() end
  end,
}
local writer = io.popen(("%s %stcp_writer.lua %s %d %d %d"):format(
  os.getenv("ASP_LUA") or "asp-lua", dir, WRITER_MODE, PORT, N, RATE), "r")
asp.run({ st })
writer:close()
lost = lost + (N - last_seq)
table.sort(lat)
local function pct(p) return lat[math.max(1, math.ceil(n * p))] end
common.report{ n = n, lost = lost, p50_us = pct(0.5), p99_us = pct(0.99), max_us = lat[n] }
