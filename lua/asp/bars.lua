-- asp.bars: turns (time, price, size) into OHLCV bars over the intervals
-- [origin + k*interval, origin + (k+1)*interval), each closed by the clock
-- at its end (docs/api.md, "Windows and bars").
--
-- A bar is opened by its first event; opening it schedules a call_later at
-- its end that delivers it. An event at or after that end that arrives
-- first (at equal due times stream events run before other items, so an
-- event exactly at the end always does) delivers the bar itself, before it
-- opens the next one, and cancels the scheduled call: each bar is
-- delivered once, before any event of a later bar is added, and never
-- holds an event at its end time. Empty intervals make no bar.
local ffi = require("ffi")
local time = require("asp.time")
local task = require("asp.task")
local sched = require("asp.sched")
local C = require("asp.cffi").C

local is_time = time.is_time
local Time = time.ct
local type, error, tostring, huge = type, error, tostring, math.huge

local M = {}
local F = "asp.bars"
local MIN_NS = -0x7fffffffffffffffLL - 1

local Bars = {}
Bars.__index = Bars

-- Delivers the current bar (partial = true from flush) and forgets it.
local function deliver(b, partial)
  local bar = b.bar
  b.bar = nil
  if b.handle then
    b.handle:cancel()
    b.handle = nil
  end
  b.closed[0] = bar.stop.ns_
  if partial then bar.partial = true end
  b.callback(bar.stop, bar)
end

-- The call_later that closes a bar at its end.
local function close_due(_, b, bar)
  if b.bar == bar then
    b.handle = nil
    deliver(b, false)
  end
end

local function check_self(self, name)
  if getmetatable(self) ~= Bars then
    error(F .. ": " .. name .. ": bad self (a bar builder expected, got " .. type(self)
      .. "; call it as b:" .. name .. "(...))", 3)
  end
end

local function check_finite(x, i, name, what)
  if type(x) ~= "number" or x ~= x or x == huge or x == -huge then
    error(("%s: add: bad argument #%d '%s' (%s expected, got %s)"):format(F, i, name, what,
      type(x) == "number" and tostring(x) or type(x)), 3)
  end
end

-- b:add(t, price [, size]): adds a trade at event time t.
function Bars:add(t, price, size)
  check_self(self, "add")
  if not is_time(t) then
    error(F .. ": add: bad argument #1 't' (a Time expected, got " .. type(t) .. "; use asp.time(...))", 2)
  end
  check_finite(price, 2, "price", "a finite number")
  if size == nil then
    size = 0
  else
    check_finite(size, 3, "size", "a finite number >= 0")
    if size < 0 then
      error(F .. ": add: bad argument #3 'size' (a finite number >= 0 expected, got " .. tostring(size) .. ")", 2)
    end
  end
  local ns, clk = t.ns_, self.clk
  if ns < clk[0] then
    error(F .. ": add: out-of-order time " .. tostring(t) .. " is earlier than the last added time "
      .. tostring(Time(clk[0])), 2)
  end
  if ns < self.closed[0] then
    error(F .. ": add: time " .. tostring(t) .. " falls in a bar already closed at "
      .. tostring(Time(self.closed[0])), 2)
  end
  clk[0] = ns
  local bar = self.bar
  if bar and ns >= bar.stop.ns_ then
    deliver(self, false)
    bar = nil
  end
  if bar == nil then
    local off = (ns - self.origin_ns) % self.interval_ns
    if off < 0 then off = off + self.interval_ns end
    local start = Time(ns - off)
    bar = {
      open = price, high = price, low = price, close = price, volume = size, count = 1,
      start = start, stop = Time(start.ns_ + self.interval_ns),
    }
    self.bar = bar
    if sched.is_running() then
      self.handle = sched.call_later(bar.stop, close_due, self, bar)
    end
    return
  end
  if price > bar.high then bar.high = price end
  if price < bar.low then bar.low = price end
  bar.close = price
  bar.volume = bar.volume + size
  bar.count = bar.count + 1
end

-- b:flush(): delivers the current bar now, before its end, marked partial.
-- Returns true when there was one.
function Bars:flush()
  check_self(self, "flush")
  if self.bar == nil then return false end
  deliver(self, true)
  return true
end

-- b:current(): the bar being built (the live table; nil when none).
function Bars:current()
  check_self(self, "current")
  return self.bar
end

local OPTIONS = { interval = true, callback = true, origin = true }

function M.bars(opts)
  task.check_options(F, opts, OPTIONS)
  task.check_function(F, opts, "callback", true)
  local s = opts.interval
  if type(s) ~= "number" or not (s > 0) or s > 9e9 then
    error(F .. ": option 'interval' must be a number of seconds > 0 and <= 9e9 (got " .. tostring(s) .. ")", 2)
  end
  local interval_ns = C.asp_time_add_seconds(0, s)
  if interval_ns < 1 then
    error(F .. ": option 'interval' must be at least 1 ns (got " .. tostring(s) .. ")", 2)
  end
  local origin = opts.origin
  if origin ~= nil and not is_time(origin) then
    error(F .. ": option 'origin' must be a Time (got " .. type(origin) .. "; use asp.time(...))", 2)
  end
  return setmetatable({
    interval = s, interval_ns = interval_ns, origin_ns = origin and origin.ns_ or ffi.new("int64_t", 0),
    callback = opts.callback, bar = nil, handle = nil,
    clk = ffi.new("int64_t[1]", MIN_NS),    -- the last added time
    closed = ffi.new("int64_t[1]", MIN_NS), -- the end of the last delivered bar
  }, Bars)
end

return M
