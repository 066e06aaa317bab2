-- asp.window throughput: adds per second into a window of seconds = 60 at
-- RATE events per second of event time (so ~60*RATE values held), reading
-- min and max after every add; and the same for asp.bars (interval 1 s).
-- Deterministic data (a Park-Miller random walk). Outside asp.run: this
-- measures the window itself, not the scheduler.
-- usage: asp-lua bench/workloads/window.lua [N] [RATE]
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local asp = require("asp")
local common = require("common")

local N = tonumber(arg[1]) or 5e6
local RATE = tonumber(arg[2]) or 1000

local function walk()
  local s, x = 42, 100
  return function()
    s = s * 16807 % 2147483647
    x = x + (s % 201 - 100) * 0.01
    return x
  end
end

local T0 = asp.time("2025-01-01")
local dt = 1 / RATE

local function run_window(reads)
  local w = asp.window{ seconds = 60 }
  local nextx = walk()
  local acc = 0
  local c0 = common.clock()
  for i = 1, N do
    w:add(T0 + i * dt, nextx())
    if reads then acc = acc + w:min() - w:max() end
  end
  local secs = common.clock() - c0
  return N / secs, w:count(), acc
end

local function run_bars()
  local nb = 0
  local b = asp.bars{ interval = 1, callback = function() nb = nb + 1 end }
  local nextx = walk()
  local c0 = common.clock()
  for i = 1, N do b:add(T0 + i * dt, nextx(), 1) end
  local secs = common.clock() - c0
  return N / secs, nb
end

local plain, held = run_window(false)
local minmax = run_window(true)
local bars, nb = run_bars()
common.report{
  n = N, held = held, window_adds_per_s = math.floor(plain),
  window_minmax_adds_per_s = math.floor(minmax), bars_adds_per_s = math.floor(bars), bars = nb,
}
