-- asp.timer: a task that calls back at start_time + k*interval, k = 1, 2, ...
--
-- Tick k is computed from k, not from the previous tick, so ticks never
-- drift; the next tick is queued before the callback runs, so a callback
-- that sleeps delays no tick.
local sched = require("asp.sched")
local time = require("asp.time")
local task = require("asp.task")
local cffi = require("asp.cffi")

local C, S = cffi.C, cffi.S
local Time = time.ct

local M = {}
local end_out = require("ffi").new("int64_t[1]")
local TICK = "tick"

local methods, timer_mt = task.class(function(tm) M.start(tm) end)

function methods:describe()
  return "a timer callback"
end

-- A timer's start_time counts for the clock's start, as a stream's first
-- past event does (contract v2): the clock starts at the earliest of them.
function methods:prepare()
  return self.start_time and self.start_time.ns_ or nil
end

-- Queues tick k+1, or ends the timer when it would be past end_time.
local function queue_tick(tm)
  local k = tm.k + 1
  local due = C.asp_time_add_seconds(tm.start_ns, k * tm.interval)
  if tm.end_ns ~= nil and due > tm.end_ns then
    sched.free_item(tm.id)
    tm.id = nil
    return
  end
  tm.k = k
  tm.due = due
  sched.schedule(tm.id, due)
end

require("asp.items").declare(TICK, {
  run = function(tm)
    local tick = Time(tm.due)
    queue_tick(tm)
    sched.set_context(tm)
    tm.callback(tick)
  end,
  describe = function(tm) return "timer tick", tm.callback end,
})

function M.start(tm)
  local now = C.asp_sched_now(S)
  tm.start_ns = tm.start_time and tm.start_time.ns_ or now
  local e = tm.end_time
  if type(e) == "number" then
    -- As for a delay: past the end of the range is "never", before its
    -- start an error (docs/api.md "Range").
    if e >= 0 then
      tm.end_ns = C.asp_time_add_seconds(tm.start_ns, e)
    else
      local rc = C.asp_time_add_checked(tm.start_ns, e, end_out)
      if rc ~= 0 then
        error("asp.timer: option 'end_time': " .. time.format_ns(tm.start_ns) .. " + " .. tostring(e)
          .. ": " .. time.range_reason(rc), 0)
      end
      tm.end_ns = end_out[0]
    end
  elseif e ~= nil then
    tm.end_ns = e.ns_
  end
  tm.k = 0
  tm.id = sched.new_item(TICK, tm)
  queue_tick(tm)
end

local OPTIONS = { interval = true, callback = true, start_time = true, end_time = true }

function M.timer(opts)
  local F = "asp.timer"
  task.check_options(F, opts, OPTIONS)
  task.check_function(F, opts, "callback", true)
  local interval = opts.interval
  if type(interval) ~= "number" or not (interval > 0) or interval == math.huge then
    error(F .. ": option 'interval' must be a number of seconds > 0 (got " .. tostring(interval) .. ")", 2)
  end
  -- Ticks are whole ns apart: below 1 ns, ticks k and k+1 would fall on the
  -- same instant (and an interval that rounds to 0 ns would never advance).
  if interval < 1e-9 then
    error(F .. ": option 'interval' must be at least 1 ns (1e-9 s), got " .. tostring(interval)
      .. " s: ticks at the resolution of a Time would repeat one instant", 2)
  end
  local start_time
  if opts.start_time ~= nil then
    start_time = time.is_time(opts.start_time) and opts.start_time or nil
    if start_time == nil then
      error(F .. ": option 'start_time' must be a Time (got " .. type(opts.start_time) .. "; use asp.time(...))", 2)
    end
  end
  local end_time = opts.end_time
  if end_time ~= nil and not time.is_time(end_time)
    and not (type(end_time) == "number" and end_time == end_time and end_time ~= -math.huge) then
    error(F .. ": option 'end_time' must be a Time or a number of seconds after start_time (got "
      .. (type(end_time) == "number" and tostring(end_time) or type(end_time)) .. ")", 2)
  end
  return setmetatable({
    interval = interval, callback = opts.callback, start_time = start_time, end_time = end_time,
  }, timer_mt)
end

return M
