-- process_stream: a stream's state, its sources and the delivery of its
-- events through the scheduler's merge.
--
-- A stream has at most one event in the scheduler's queue at a time: the
-- next one. It is queued only after the callback of the previous one has
-- returned, which is what keeps a stream's events one at a time and in the
-- source's order, while the queue merges all streams by time.
local sched = require("asp.sched")
local time = require("asp.time")
local task = require("asp.task")
local cffi = require("asp.cffi")

local C, S = cffi.C, cffi.S
local Time = time.ct
local coerce = time.coerce
local schedule_event = sched.schedule_event
local set_context = sched.set_context
local type, unpack, tostring = type, unpack, tostring

local M = {}

local STREAM = "stream"
local streams_started = 0
M.started = {}   -- the run's streams in start order (for asp.debug)

local methods, stream_mt = task.class(function(st) M.start(st) end)

function methods:describe()
  if self.name then return "stream '" .. self.name .. "'" end
  if self.order then return "stream #" .. self.order end
  return "a stream"
end

local function show(x)
  if type(x) == "string" then return "'" .. x .. "'" end
  return tostring(x)
end

local function bad_time(st, x)
  error(("asp.process_stream: %s: past event #%d has an invalid time %s "
    .. "(a Time, an ISO-8601 string or epoch seconds expected)"):format(
      st:describe(), st.read, show(x)), 0)
end

-- -- Past sources: each returns the next (Time, value), or nil at its end. --

local function from_array(st)
  local i = st.read + 1
  local pair = st.past[i]
  if pair == nil then return nil end
  st.read = i
  if type(pair) ~= "table" then
    error(("asp.process_stream: %s: past[%d] is a %s ({time, value} pair expected)"):format(
      st:describe(), i, type(pair)), 0)
  end
  local t = coerce(pair[1])
  if t == nil then bad_time(st, pair[1]) end
  return t, pair[2]
end

local function from_iterator(st)
  local t, v = st.past()
  if t == nil then return nil end
  st.read = st.read + 1
  local tt = coerce(t)
  if tt == nil then bad_time(st, t) end
  return tt, v
end

local function no_past()
  return nil
end

-- Native readers (asp.csv and others) are objects whose metatable has
-- __asp_past and a next(self) method returning (Time, value) or nil.
local function from_reader(st)
  local t, v = st.past:next()
  if t ~= nil then st.read = st.read + 1 end
  return t, v
end

-- -- Going live ------------------------------------------------------------

local function queue_next(st, t, v)
  st.next_t, st.next_v = t, v
  if t.ns_ < st.last_ns then st.out_of_order = st.out_of_order + 1 end
  st.last_ns = t.ns_
  schedule_event(st.id, t.ns_, st.order)
end

-- Queues the next live event, if one is waiting; otherwise the stream waits
-- for its producer's next emit.
local function take_live(st)
  local h = st.fifo_head
  if h <= st.fifo_tail then
    local fifo = st.fifo
    local t, v = fifo[h], fifo[h + 1]
    fifo[h], fifo[h + 1] = nil, nil
    st.fifo_head = h + 2
    queue_next(st, t, v)
  else
    st.waiting = true
  end
end

local function run_producer(st)
  st.future(st.emit)
  st.producer_done = true
end

local function go_live(st)
  st.past_done = true
  if st.on_live_start then
    set_context(st)
    st.on_live_start()
  end
  if st.future then
    sched.start_task_at(C.asp_sched_wall(S), "the producer of " .. st:describe(), run_producer, st)
  end
end

-- After an event (or at the start), queues the stream's next event.
local function advance(st)
  if not st.past_done then
    local t, v = st.fetch(st)
    if t ~= nil then return queue_next(st, t, v) end
    go_live(st)
  end
  take_live(st)
end

local function make_emit(st)
  return function(value, when)
    if not sched.is_running() then
      error("emit: " .. st:describe() .. ": the run has ended", 2)
    end
    local t
    if when == nil then
      t = Time(C.asp_sched_now(S))
    else
      t = coerce(when)
      if t == nil then
        error("emit: " .. st:describe() .. ": invalid time " .. show(when), 2)
      end
    end
    if st.waiting then
      st.waiting = false
      queue_next(st, t, value)
    else
      local tail = st.fifo_tail
      st.fifo[tail + 1], st.fifo[tail + 2] = t, value
      st.fifo_tail = tail + 2
    end
  end
end

-- -- Delivery -----------------------------------------------------------------

local function deliver(st)
  local t, v = st.next_t, st.next_v
  st.next_t, st.next_v = nil, nil
  set_context(st)
  if st.unpack then
    if type(v) ~= "table" then
      error(("asp.process_stream: %s: unpack is set but the value is a %s (an array expected)"):format(
        st:describe(), type(v)), 0)
    end
    st.callback(t, unpack(v))
  else
    st.callback(t, v)
  end
  st.delivered = st.delivered + 1
  advance(st)
end
sched.handlers[STREAM] = deliver

-- -- The task ---------------------------------------------------------------

-- Reads the first past event, before the clock is placed (asp.run starts
-- the clock at the earliest first event). Returns its ns, or nil.
function methods:prepare()
  if self.prepared then return self.next_t and self.next_t.ns_ end
  self.prepared = true
  set_context(self)
  local t, v = self.fetch(self)
  if t == nil then return nil end
  self.next_t, self.next_v = t, v
  return t.ns_
end

function M.start(st)
  st:prepare()
  streams_started = streams_started + 1
  st.order = streams_started
  M.started[streams_started] = st
  st.id = sched.new_item(STREAM, st)
  if st.on_start then
    set_context(st)
    st.on_start()
  end
  if st.next_t ~= nil then
    local t, v = st.next_t, st.next_v
    queue_next(st, t, v)
  else
    go_live(st)
    take_live(st)
  end
end

sched.cleanups[#sched.cleanups + 1] = function()
  streams_started = 0
  M.started = {}
end

local OPTIONS = {
  callback = true, past = true, future = true, on_start = true,
  on_live_start = true, unpack = true, name = true,
}

function M.process_stream(opts)
  local F = "asp.process_stream"
  task.check_options(F, opts, OPTIONS)
  task.check_function(F, opts, "callback", true)
  task.check_function(F, opts, "on_start")
  task.check_function(F, opts, "on_live_start")
  if opts.name ~= nil and type(opts.name) ~= "string" then
    error(F .. ": option 'name' must be a string (got " .. type(opts.name) .. ")", 2)
  end
  local st = setmetatable({
    callback = opts.callback, on_start = opts.on_start, on_live_start = opts.on_live_start,
    unpack = opts.unpack and true or false, name = opts.name,
    past = opts.past, future = opts.future,
    read = 0, delivered = 0, out_of_order = 0, last_ns = -0x7fffffffffffffffLL,
    fifo = {}, fifo_head = 1, fifo_tail = 0,
    past_done = false, waiting = false, producer_done = false,
  }, stream_mt)
  local past = opts.past
  if past == nil then
    st.fetch = no_past
  elseif type(past) == "function" then
    st.fetch = from_iterator
  elseif type(past) == "table" then
    local mt = getmetatable(past)
    if mt and mt.__asp_past then
      st.fetch = from_reader
    else
      st.fetch = from_array
    end
  else
    error(F .. ": option 'past' must be an array of {time, value} pairs, an iterator function "
      .. "or a reader (got " .. type(past) .. ")", 2)
  end
  if opts.future ~= nil and type(opts.future) ~= "function" then
    error(F .. ": option 'future' must be a producer function(emit) (got " .. type(opts.future) .. ")", 2)
  end
  st.emit = make_emit(st)
  return st
end

M.methods = methods
return M
