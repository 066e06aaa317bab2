-- Live timer accuracy: an asp.timer ticking every INTERVAL seconds and a
-- task sleeping varied amounts, both in live mode (the clock follows the
-- wall clock) for DURATION seconds. Each wake-up records
-- asp.wall() - due; an early one (< 0) breaks the contract.
-- usage: asp-lua timer.lua [DURATION] [INTERVAL]
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local asp = require("asp")
local common = require("common")

local DURATION = tonumber(arg[1]) or 2
local INTERVAL = tonumber(arg[2]) or 0.001
local lat, n = {}, 0
local function record(due)
  n = n + 1
  lat[n] = asp.wall() - due
end

local start = asp.wall()
local ticker = asp.timer{
  interval = INTERVAL, start_time = start, end_time = DURATION,
  callback = function(tick) record(tick) end,
}
local function sleeper()
  local k = 0
  while asp.now() - start < DURATION do
    k = k + 1
    local due = asp.now() + (k % 7 + 1) * 0.0007 -- 0.7 .. 4.9 ms
    asp.sleep(due)
    record(due)
  end
end
asp.run({ ticker, sleeper })

table.sort(lat)
local early = 0
for i = 1, n do if lat[i] < 0 then early = early + 1 end end
local function pct(p) return lat[math.max(1, math.ceil(n * p))] * 1e6 end
common.report{ n = n, early = early, p50_us = pct(0.5), p99_us = pct(0.99), max_us = lat[n] * 1e6 }
