-- The public `asp` module: the API of contract v2, documented in docs/api.md.
local time = require("asp.time")
local sched = require("asp.sched")
local stream = require("asp.stream")
local timer = require("asp.timer")
local cffi = require("asp.cffi")

local C, S = cffi.C, cffi.S
local Time = time.ct

-- Fewer collection cycles for small heaps (lua/asp/gc.lua).
require("asp.gc").start()

local asp = {
  version = "0.1.0",
  is_time = time.is_time,
  sleep = sched.sleep,
  call_later = sched.call_later,
  spawn = sched.spawn,
  run = sched.run,
  stop = sched.stop,
  is_live = sched.is_live,
  timer = timer.timer,
  process_stream = stream.process_stream,
  debug = require("asp.debug"),
  test = require("asp.test"),
  window = require("asp.window").window,
  bars = require("asp.bars").bars,
}

-- asp.time(s | n | t | nil [, zone]) -> Time
function asp.time(x, zone)
  if zone ~= nil then
    if type(zone) ~= "string" then
      error("asp.time: bad argument #2 (a time zone name such as 'Europe/London' expected, got " .. type(zone) .. ")", 2)
    end
    if type(x) ~= "string" then
      error("asp.time: bad argument #1 (a zone reads an ISO-8601 string, got " .. type(x) .. ")", 2)
    end
    local t = time.parse_in_zone("asp.time", x, zone, 2) -- not a tail call: level 2 is our caller
    return t
  end
  if x == nil then return Time(C.asp_time_wall()) end
  local tx = type(x)
  if tx == "string" then
    local ns = time.parse_ns(x)
    if ns == nil then error("asp.time: invalid time '" .. x .. "'", 2) end
    return Time(ns)
  elseif tx == "number" then
    local t, why, rc = time.from_seconds(x)
    if t == nil then
      error("asp.time: invalid time " .. tostring(x)
        .. (rc == -3 and (": " .. why) or " (finite epoch seconds expected)"), 2)
    end
    return t
  elseif time.is_time(x) then
    return x
  end
  error("asp.time: bad argument #1 (an ISO-8601 string, epoch seconds or a Time expected, got " .. tx .. ")", 2)
end

-- The virtual clock inside asp.run, the wall clock outside it.
function asp.now()
  if sched.is_running() then return Time(C.asp_sched_now(S)) end
  return Time(C.asp_time_wall())
end

function asp.wall()
  return Time(C.asp_time_wall())
end

-- Native sources (docs/sources.md) and statistics.
do
  for name, new in pairs(require("asp.sources")) do asp[name] = new end
  asp.stats = require("asp.stats").stats
end

-- Results (docs/results.md): writers, series, the report.
do
  local series = require("asp.series")
  asp.writer, asp.record, asp.series = require("asp.writer").writer, series.record, series.series
  asp.report = require("asp.report").report
end

-- Parameters and results (docs/sweeps.md): asp.params, asp.result,
-- asp.shared; asp.run passes a sweep's fork point first.
do
  local params = require("asp.params")
  asp.params, asp.result, asp.shared = params.params, params.set_result, params.shared
  asp.run = params.wrap_run(sched.run)
end

-- Hot reload (docs/reload.md): asp.replaying(), asp.keep/asp.kept, and
-- the effects muted while a new instance rebuilds its state.
do
  local reload = require("asp.reload")
  asp.replaying, asp.keep, asp.kept = reload.replaying, reload.keep, reload.kept
end

return asp
