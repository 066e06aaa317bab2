-- make bench-redis: asp.redis against a local redis-server (issue #16).
--
--   replay   N entries (BENCH_REDIS_N, 1,000,000) read by asp.redis in pages
--            of 1000 into a trivial callback, entries/s, alternated with the
--            floor: a bare C hiredis reader doing the same XRANGE pages
--            (bench/reference/redis_reader.c); the medians and the ratio
--   live     XADD (another asp-lua process, asp.redis_writer, 5000 entries/s)
--            to the callback of an asp.redis{follow = true}: p50 / p99 / max
--            latency over 10,000 entries, and that none was lost
--
-- usage: asp-lua bench/redis.lua ASP_LUA REDIS_READER; appends the rows to
-- BENCH_OUT (bench/results-redis.md).
package.path = "tests/lua/?.lua;" .. package.path
local asp = require("asp")
local R = require("redis_util")
local C = require("asp.cffi").C

local bin, ref = arg[1], arg[2]
local N = tonumber(os.getenv("BENCH_REDIS_N")) or 1000000
local RUNS = tonumber(os.getenv("BENCH_RUNS")) or 3
local OUT = os.getenv("BENCH_OUT") or "bench/results-redis.md"

local function sh(cmd)
  local p = io.popen(cmd)
  local s = p:read("*a")
  p:close()
  return s
end

local function median(t)
  table.sort(t)
  return t[math.floor((#t + 1) / 2)]
end

local srv = R.start()
local ok, err = pcall(function()
  local url = R.url(srv)
  -- The stream: N entries of 3 fields, written by asp.redis_writer.
  local t0 = C.asp_time_wall()
  local w = asp.redis_writer { url = url, stream = "q", max_pending = 5000 }
  for i = 1, N do w:add { sym = "S" .. (i % 50), px = 100 + (i % 1000) / 100, qty = i % 300 } end
  w:close()
  local wsec = tonumber(C.asp_time_wall() - t0) / 1e9
  print(("write: %d entries in %.2f s (%.0f entries/s, asp.redis_writer)"):format(N, wsec, N / wsec))

  local script = os.tmpname()
  local f = io.open(script, "w")
  f:write(([[
    local asp = require("asp")
    local C = require("asp.cffi").C
    local n, t0 = 0, C.asp_time_wall()
    asp.run { asp.process_stream { past = asp.redis { url = %q, stream = "q", count = 1000 },
      callback = function(t, v) n = n + 1 end } }
    print(n, tonumber(C.asp_time_wall() - t0) / 1e9)
  ]]):format(url))
  f:close()
  local asp_s, ref_s = {}, {}
  for _ = 1, RUNS do
    local n, sec = sh(bin .. " " .. script):match("(%d+)%s+([%d.]+)")
    assert(tonumber(n) == N, "asp.redis read " .. tostring(n))
    asp_s[#asp_s + 1] = tonumber(sec)
    local rn, rsec = sh(("%s %d q 1000"):format(ref, srv.port)):match("(%d+)%s+([%d.]+)")
    assert(tonumber(rn) == N, "redis_reader read " .. tostring(rn))
    ref_s[#ref_s + 1] = tonumber(rsec)
  end
  os.remove(script)
  local a, r = median(asp_s), median(ref_s)
  local replay = ("| replay %d entries (XRANGE pages of 1000, 3 fields) | asp.redis %.2f s, %.0f entries/s | "
    .. "bare C hiredis reader %.2f s, %.0f entries/s | asp.redis at %.0f%% of the floor |"):format(N, a, N / a, r, N / r, 100 * r / a)
  print(replay)

  -- Live latency: XADD in another process -> callback here.
  local M = 10000
  local writer = os.tmpname()
  f = io.open(writer, "w")
  f:write(([[
    local asp = require("asp")
    local C = require("asp.cffi").C
    local w = asp.redis_writer { url = %q, stream = "lat" }
    asp.run { function()
      asp.sleep(0.3)
      for i = 1, %d do
        w:add { n = i, us = tostring(tonumber(C.asp_time_wall() / 1000)) }
        if i %% 5 == 0 then asp.sleep(0.001) end
      end
    end }
    w:close()
  ]]):format(url, M))
  f:close()
  os.execute(bin .. " " .. writer .. " &")
  local lat, want = {}, 1
  asp.run { asp.process_stream { past = asp.redis { url = url, stream = "lat", from = "$", follow = true },
    callback = function(_, v)
      assert(v.n == want, "live: entry " .. v.n .. " where " .. want .. " was due")
      want = want + 1
      lat[#lat + 1] = tonumber(C.asp_time_wall() / 1000) - tonumber(v.us)
      if v.n == M then asp.stop() end
    end } }
  os.remove(writer)
  table.sort(lat)
  local live = ("| live: XADD (asp.redis_writer, 5000/s, another process) to callback (asp.redis follow) | "
    .. "p50 %d us, p99 %d us, max %d us over %d entries | none lost, none twice | |"):format(
    lat[math.floor(#lat * 0.5)], lat[math.floor(#lat * 0.99)], lat[#lat], #lat)
  print(live)
  local o = io.open(OUT, "a")
  o:write(("\n## make bench-redis, %s (redis-server %s, %s)\n\n| row | asp-lua | reference | ratio |\n|---|---|---|---|\n%s\n%s\n"):format(
    os.date("!%Y-%m-%d"), sh("redis-server --version"):match("v=([%d.]+)") or "?",
    sh("nproc"):gsub("%s+$", "") .. " cores", replay, live))
  o:close()
end)
R.stop(srv)
if not ok then
  io.stderr:write(tostring(err), "\n")
  os.exit(1)
end
