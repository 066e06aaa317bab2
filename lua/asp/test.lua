-- asp.test: testing time-dependent code in virtual time (docs/testing.md).
--
-- asp.test.run(fn) runs fn as the only task of a fresh run on a virtual
-- clock that never waits for the wall clock: an hour of asp.sleep passes at
-- once, and asp.now() moves exactly as in a replay. Fakes stand in for live
-- input (asp.test.stream) and a recorder notes when things happened.
local sched = require("asp.sched")
local stream = require("asp.stream")
local time = require("asp.time")

local Time = time.ct
local is_time = time.is_time
local select, unpack, type, tostring, error = select, unpack, type, tostring, error

local T = {}

-- Where a test run's clock starts unless told: a fixed epoch, so that what
-- a test sees never depends on the day it runs.
T.EPOCH = time.ct(946684800LL * 1000000000LL) -- 2000-01-01T00:00:00Z

local OPTIONS = { start_time = true, end_time = true }

local function pack(...) return { n = select("#", ...), ... } end

-- Runs fn() as a task of a run that never waits; returns fn's results, then
-- the run's result table (with finished = false when end_time came first).
function T.run(fn, opts)
  if type(fn) ~= "function" then
    error("asp.test.run: bad argument #1 (a function expected, got " .. type(fn) .. ")", 2)
  end
  if sched.is_running() then
    error("asp.test.run: called inside a run (it starts a run of its own: call it from the spec itself)", 2)
  end
  opts = opts or {}
  if type(opts) ~= "table" then error("asp.test.run: bad argument #2 (a table of options expected)", 2) end
  for k in pairs(opts) do
    if not OPTIONS[k] then error("asp.test.run: unknown option " .. tostring(k), 2) end
  end
  local start = opts.start_time or T.EPOCH
  if not is_time(start) then
    error("asp.test.run: option 'start_time' must be a Time (got " .. type(start) .. ")", 2)
  end
  local results
  sched.never_wait_next = true
  local ok, r = pcall(sched.run, { function() results = pack(fn()) end },
    { start_time = start, end_time = opts.end_time })
  sched.never_wait_next = false
  if not ok then error((tostring(r):gsub("^asp%.run: ", "asp.test.run: ", 1)), 0) end
  if sched.live_open > 0 then
    error("asp.test.run: the run ended with live sources still open: " .. table.concat(T.open_live_streams(), ", ")
      .. " (a test run never waits for live input: end them, or use asp.test.stream)", 2)
  end
  r.finished = results ~= nil
  if not results then return r end
  results[results.n + 1] = r
  return unpack(results, 1, results.n + 1)
end

-- A Time from a fake event's time: a Time, or seconds after the run's start.
local function event_time(t)
  if is_time(t) then return t end
  return sched.run_start_time() + t
end

-- A future source (a producer) that emits each {t, v} at virtual time t: a
-- Time, or seconds after the run's start.
function T.stream(events)
  if type(events) ~= "table" then
    error("asp.test.stream: bad argument #1 (an array of {time, value} pairs expected, got " .. type(events) .. ")", 2)
  end
  for i = 1, #events do
    local e = events[i]
    if type(e) ~= "table" then
      error(("asp.test.stream: event %d is a %s, not a {time, value} pair"):format(i, type(e)), 2)
    end
    local t = e[1]
    if not is_time(t) and not (type(t) == "number" and t == t and t > -math.huge and t < math.huge) then
      error(("asp.test.stream: event %d: its time must be a Time or seconds after the run's start (got %s)"):format(
        i, tostring(t)), 2)
    end
  end
  return function(emit)
    for i = 1, #events do
      local t = event_time(events[i][1])
      sched.sleep(t)
      emit(events[i][2], t)
    end
  end
end

-- A recorder: rec(value) notes (asp.now(), value). rec.events holds
-- {time = Time, value = v}; rec:times() the times as seconds after the
-- run's start; rec:values() the values.
local Recorder = {}
Recorder.__index = Recorder
Recorder.__call = function(self, v)
  if not sched.is_running() then error("asp.test.recorder: called outside a run", 2) end
  self.events[#self.events + 1] = { time = Time(sched.now_ns()), value = v }
  self.start = self.start or sched.run_start_time()
end

function Recorder:times()
  local out = {}
  for i, e in ipairs(self.events) do out[i] = e.time - self.start end
  return out
end

function Recorder:values()
  local out = {}
  for i, e in ipairs(self.events) do out[i] = e.value end
  return out
end

function T.recorder()
  return setmetatable({ events = {} }, Recorder)
end

-- The streams of the last run that had an open native live source.
function T.open_live_streams()
  local names = {}
  for _, st in ipairs(stream.run_streams) do
    if st.native and not st.live_ended then names[#names + 1] = st:describe() end
  end
  return names
end

return T
