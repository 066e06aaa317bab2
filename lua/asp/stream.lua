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
local gc = require("asp.gc")
local ffi = require("ffi")

local C, S = cffi.C, cffi.S
-- The clock, the run's counters and the direct path's horizon (sched.h,
-- asp_sched_fast): read and written here without a call.
local F = C.asp_sched_fast_of(S)
local band = require("bit").band
local Time = time.ct
local coerce = time.coerce
local schedule_event = sched.schedule_event
local set_context = sched.set_context
local type, unpack, tostring = type, unpack, tostring

local M = {}

-- The time of a stream's next event and of the last one queued, kept in C
-- memory: an int64 stored in a Lua table would be a new boxed cdata per
-- event, and the Time given to the callback is made just before the call,
-- where the JIT can sink it (no allocation) when the callback keeps it not.
--
-- The same struct holds the per-event counters (read, delivered,
-- out_of_order: doubles, so that reading one gives a Lua number) and a
-- flag, plain, set while the stream's events take the common path (a past
-- source, no unpack, no on_error = 'log'). With 10,000 streams the replay is
-- bound by cache misses: every field the hot path reads or writes in the
-- stream's table is a hash slot on a cache line of its own more often than
-- not, whereas these are together on one or two lines. The counters stay
-- readable as st.read, st.delivered and st.out_of_order (stream_mt.__index).
--
-- One field, ns, is both the time of the next event and of the last one
-- queued: an event is queued at the time it is next, and out_of_order
-- compares a new event's time with it before it is overwritten (a native
-- source's events set it as they are delivered; its deliver reads the time
-- from the source). 48 bytes, 64 with LuaJIT's header: a 16-byte class of
-- lua_alloc.c smaller than two fields' 72 (100,000 streams: 1.6 MB).
local Clock = ffi.typeof([[struct {
  int64_t ns;  /* the next event's time, and the last queued (NO_EVENT before the first) */
  double read, delivered, out_of_order;
  int32_t id, order;  /* the stream's item id (-1 before M.start) and order (0 before) */
  int32_t plain;
  uint8_t prepared, has_first, past_done, claimed;  /* 0 or 1 */
}]])

-- The stream table is made small (100,000 streams hold 100,000 of them):
-- three fields in its array part, at these indices (8 bytes a field), and
-- callback and past in a hash part of two slots (the smallest; sched.lua's
-- describe reads callback with rawget). A hash slot is 24 bytes, and the
-- hash part a power of two: with its 10 keys of round 7, 16 slots. Its
-- flags and numbers are in the Clock; the options only some streams have
-- (name, future, on_start, a reader's next, a producer's fifo...) are
-- keys of the hash part, absent when not set. Reading st.fetch, st.order...
-- from outside goes through stream_mt.__index.
local FETCH, CLOCK, NEXT_V = 1, 2, 3
local FIELDS = { fetch = FETCH, clock = CLOCK, next_v = NEXT_V }
local new_table = require("table.new")

local STREAM = "stream"
local NO_EVENT = -0x7fffffffffffffffLL -- a clock's ns before its first event
local streams_started = 0
local natives = {}   -- native future sources opened in this run, closed when it ends

local methods, stream_mt = task.class(function(st) M.start(st) end)

-- What the Clock holds, read as fields of the stream.
local COUNTERS = { read = true, delivered = true, out_of_order = true }
local FLAGS = { prepared = true, has_first = true, past_done = true, claimed = true }
stream_mt.__index = function(st, k)
  local i = FIELDS[k]
  if i then return rawget(st, i) end
  local clock = rawget(st, CLOCK)
  if COUNTERS[k] then return clock[k] end
  if FLAGS[k] then return clock[k] ~= 0 end
  if k == "order" then return clock.order > 0 and clock.order or nil end
  if k == "id" then return clock.id >= 0 and clock.id or nil end
  return methods[k]
end
-- A field written from outside (task.lua's claimed) goes to its place.
stream_mt.__newindex = function(st, k, v)
  if FLAGS[k] then
    rawget(st, CLOCK)[k] = v and 1 or 0
  else
    rawset(st, FIELDS[k] or k, v)
  end
end

-- Where an asp.csv past is (the line of the record last read, which is the
-- event being delivered while its callback runs), as " at path:line".
local function position(st)
  local p = st.past
  if st[CLOCK].past_done ~= 0 or type(p) ~= "table" or type(p.path) ~= "string" or p.f == nil then return "" end
  local line = tonumber(p.row.line)
  if not line or line < 1 then return "" end
  return " at " .. p.path .. ":" .. line
end

function methods:describe()
  if self.name then return "stream '" .. self.name .. "'" .. position(self) end
  local order = self[CLOCK].order
  if order > 0 then return "stream #" .. order .. position(self) end
  return "a stream"
end

local function show(x)
  if type(x) == "string" then return "'" .. x .. "'" end
  return tostring(x)
end

local function bad_time(st, x)
  error(("asp.process_stream: %s: past event #%d has an invalid time %s "
    .. "(a Time, an ISO-8601 string or epoch seconds expected)"):format(
      st:describe(), st[CLOCK].read, show(x)), 0)
end

-- -- Past sources: each returns the next (Time, value), or nil at its end. --

local function from_array(st)
  local clock = st[CLOCK]
  local i = clock.read + 1
  local pair = st.past[i]
  if pair == nil then return nil end
  clock.read = i
  if type(pair) ~= "table" then
    error(("asp.process_stream: %s: past[%d] is a %s ({time, value} pair expected)"):format(
      st:describe(), i, type(pair)), 0)
  end
  local t = coerce(pair[1])
  if not t then bad_time(st, pair[1]) end
  return t, pair[2]
end

local function from_iterator(st)
  local t, v = st.past()
  if t == nil then return nil end
  local clock = st[CLOCK]
  clock.read = clock.read + 1
  local tt = coerce(t)
  if not tt then bad_time(st, t) end
  return tt, v
end

local function no_past()
  return nil
end

-- Native readers (asp.csv and others) are objects whose metatable has
-- __asp_past and a next(self) method returning (Time, value) or nil.
local function from_reader(st)
  -- past_next is the reader's next method, looked up once (the same
  -- function for every reader of a kind: the trace stays monomorphic).
  local t, v = st.past_next(st.past)
  if t then
    local clock = st[CLOCK]
    clock.read = clock.read + 1
  end
  return t, v
end

-- -- Going live ------------------------------------------------------------

-- (A Time tested against nil would call its __eq: "if t then" is the test.)
local function queue_next(st, ns, v)
  local clock = st[CLOCK]
  st[NEXT_V] = v
  if ns < clock.ns then clock.out_of_order = clock.out_of_order + 1 end
  clock.ns = ns
  schedule_event(clock.id, ns, clock.order)
end

-- Marks the stream as off the common path (see Clock).
local function not_plain(st)
  st[CLOCK].plain = 0
end

-- Queues the next live event, if one is waiting; otherwise the stream waits
-- for its producer's next emit.
local function take_live(st)
  if st.native then
    -- A native source: C queues the stream's item when a line is there.
    st.pulling = true
    not_plain(st)
    local clock = st[CLOCK]
    return st.future:_arm(clock.id, clock.order)
  end
  local h = st.fifo_head
  if h and h <= st.fifo_tail then
    local fifo = st.fifo
    local t, v = fifo[h], fifo[h + 1]
    fifo[h], fifo[h + 1] = nil, nil
    st.fifo_head = h + 2
    queue_next(st, t.ns_, v)
  elseif h then
    -- Only a producer's emit reads it: a stream without one (its past
    -- over) gets no new key, which would grow its hash part (100,000
    -- streams ending: 10 MB at the end of the replay).
    st.waiting = true
  end
end

local function run_producer(st)
  st.future(st.emit)
  st.producer_done = true
end

local function go_live(st)
  st[CLOCK].past_done = 1
  not_plain(st)
  if st.past then
    local last = st[CLOCK].ns
    sched.past_closed(last > NO_EVENT and last or nil)
  end
  if sched.backtest then
    -- live = false: the future is never started.
    st.future, st.native = nil, false
  end
  if st.future then
    gc.live_started()
    sched.mark_live(st[CLOCK].id) -- every later event of the stream is live input
  end
  if st.on_live_start then
    set_context(st)
    st.on_live_start()
  end
  if st.future and not st.native then
    -- The wall clock decides when the producer starts: in a REPL session it
    -- is journaled, so that travelling back into the live period replays it.
    -- (A run that never waits, asp.test.run, has no present but its clock.)
    local at = sched.never_wait and C.asp_sched_now(S) or C.asp_journal_wall(C.asp_sched_wall(S))
    sched.mark_live(sched.start_task_at(at, "the producer of " .. st:describe(), run_producer, st))
  end
end

-- After an event (or at the start), queues the stream's next event.
local function advance(st)
  if st[CLOCK].past_done == 0 then
    local t, v = st[FETCH](st)
    if t then return queue_next(st, t.ns_, v) end
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
      if not t then
        error("emit: " .. st:describe() .. ": invalid time " .. show(when), 2)
      end
    end
    if st.waiting then
      st.waiting = false
      queue_next(st, t.ns_, value)
    else
      local tail = st.fifo_tail
      st.fifo[tail + 1], st.fifo[tail + 2] = t, value
      st.fifo_tail = tail + 2
    end
  end
end

-- -- Delivery -----------------------------------------------------------------

-- on_error = "log": an error of the callback is written on stderr with its
-- context, and the stream goes on with its next event.
local function log_error(st, t, err)
  st.errors = st.errors + 1
  io.stderr:write(("asp.run: error at %s in %s (event at %s): %s (on_error = 'log': going on)\n"):format(
    time.format_ns(C.asp_sched_now(S)), st:describe(), tostring(t), sched.error_text(err)))
end

local function call_logged(st, t, v)
  local ok, err
  if st.unpack and type(v) == "table" then
    ok, err = pcall(st.callback, t, unpack(v))
  else
    ok, err = pcall(st.callback, t, v)
  end
  if ok then
    local clock = st[CLOCK]
    clock.delivered = clock.delivered + 1
  else
    log_error(st, t, err)
  end
  advance(st)
end

local function call(st, t, v)
  if st.log_errors then return call_logged(st, t, v) end
  if st.unpack then
    if type(v) ~= "table" then
      error(("asp.process_stream: %s: unpack is set but the value is a %s (an array expected)"):format(
        st:describe(), type(v)), 0)
    end
    st.callback(t, unpack(v))
  else
    st.callback(t, v)
  end
  local clock = st[CLOCK]
  clock.delivered = clock.delivered + 1
  advance(st)
end

-- The item of a stream fed by a native live source, queued by C when a line
-- arrived: takes the next event from the source and delivers it; when none
-- is complete yet it waits again, and when the source has ended so has the
-- stream.
local function deliver_native(st)
  set_context(st)
  local t, v = st.future:_pull()
  if not t then
    if t == false then
      st.future:_arm(st[CLOCK].id, st[CLOCK].order)
    else
      st.live_ended = true
    end
    return
  end
  local clock, ns = st[CLOCK], t.ns_
  if ns < clock.ns then clock.out_of_order = clock.out_of_order + 1 end
  clock.ns = ns
  return call(st, t, v)
end

-- The direct path (sched.h, asp_sched_fast): while a stream's next event is
-- below every other queued item and the run's bounds (F.horizon, kept by
-- C), it is the item asp_sched_next would hand out next, and it runs here as
-- take() would run it (the clock, the counters), without the queue. Every
-- 1024th item goes through C for take's periodic work.
local function direct(st, ns)
  return ns < F.horizon and band(F.items, 1023) ~= 1023
end

-- One event of the direct path: the clock moved and counted as take() would.
local function deliver_one(st, clock, ns, v)
  if ns < clock.ns then clock.out_of_order = clock.out_of_order + 1 end
  clock.ns = ns
  if ns > F.now then F.now = ns end
  F.items = F.items + 1
  F.events = F.events + 1
  set_context(st)
  st.callback(Time(ns), v)
  clock.delivered = clock.delivered + 1
end

-- The stream's events on the direct path, from the fetched (ns, v) on; the
-- loop is a function of its own, so that a stream that leaves it at once
-- (another item is due first) does not make a loop trace of deliver.
-- Each value is a fresh local of one iteration, never carried to the next:
-- a value carried across the loop (as `v = fetch(st)` reassigned would be)
-- makes LuaJIT allocate it, whereas a CSV row that the callback does not
-- keep is then never allocated at all (round 7, part 2: default rows
-- 40 % -> 66 % of the C reference).
local function deliver_direct(st, clock, ns, v)
  local fetch = st[FETCH]
  deliver_one(st, clock, ns, v)
  while true do
    local t, w = fetch(st)
    if not t then
      go_live(st)
      return take_live(st)
    end
    local n = t.ns_
    if not direct(st, n) then return queue_next(st, n, w) end
    deliver_one(st, clock, n, w)
  end
end

local function deliver(st)
  local clock = st[CLOCK]
  if clock.plain ~= 0 then
    -- The common path: call, then the next past event. Nothing the callback
    -- can do changes the stream's mode (only its own advance does).
    local t, v = Time(clock.ns), st[NEXT_V]
    -- false, not nil: the slot stays non-nil, so that queue_next's store
    -- into it needs no look for a __newindex in stream_mt (a hash lookup).
    st[NEXT_V] = false
    set_context(st)
    st.callback(t, v)
    clock.delivered = clock.delivered + 1
    local t2, v2 = st[FETCH](st)
    if t2 then
      local ns = t2.ns_
      if direct(st, ns) then return deliver_direct(st, clock, ns, v2) end
      return queue_next(st, ns, v2)
    end
    go_live(st)
    return take_live(st)
  end
  if st.pulling then return deliver_native(st) end
  local t, v = Time(clock.ns), st[NEXT_V]
  st[NEXT_V] = nil
  set_context(st)
  return call(st, t, v)
end
require("asp.items").declare(STREAM, {
  run = deliver,
  describe = function(st) return st:describe() .. " event", st.callback end,
})

-- -- The task ---------------------------------------------------------------

-- Reads the first past event, before the clock is placed (asp.run starts
-- the clock at the earliest first event). Returns its ns, or nil.
function methods:prepare()
  local clock = self[CLOCK]
  if clock.prepared ~= 0 then return clock.has_first ~= 0 and clock.ns or nil end
  clock.prepared = 1
  -- Counted here, before any stream starts: a backtest ends once no past is left.
  if self.past then sched.past_opened() end
  set_context(self)
  M.run_streams[#M.run_streams + 1] = self
  if self.native then
    -- Native live sources start reading when the run starts, so that what
    -- arrives during the replay of the past is kept for after it.
    natives[#natives + 1] = self.future
    self.future:_open()
  end
  local t, v = self[FETCH](self)
  if not t then return nil end
  -- (ns was NO_EVENT: queue_next in M.start compares the event with itself.)
  clock.has_first, clock.ns, self[NEXT_V] = 1, t.ns_, v
  return t.ns_
end

function M.start(st)
  st:prepare()
  streams_started = streams_started + 1
  local clock = st[CLOCK]
  clock.order = streams_started
  clock.id = sched.new_item(STREAM, st)
  if st.on_start then
    set_context(st)
    st.on_start()
  end
  if clock.has_first ~= 0 then
    clock.has_first = 0
    queue_next(st, clock.ns, st[NEXT_V])
  else
    go_live(st)
    take_live(st)
  end
end

-- The streams of the current (or last) run, for asp.stats.
M.run_streams = {}
sched.run_starts[#sched.run_starts + 1] = function() M.run_streams = {} end

sched.cleanups[#sched.cleanups + 1] = function()
  streams_started = 0
  for i = 1, #natives do natives[i]:_close() end
  natives = {}
  gc.live_ended()
end

local OPTIONS = {
  callback = true, past = true, future = true, on_start = true,
  on_live_start = true, unpack = true, name = true, on_error = true,
}

function M.process_stream(opts)
  local F = "asp.process_stream"
  task.check_options(F, opts, OPTIONS)
  task.check_function(F, opts, "callback", true)
  task.check_function(F, opts, "on_start")
  task.check_function(F, opts, "on_live_start")
  if opts.on_error ~= nil and opts.on_error ~= "error" and opts.on_error ~= "log" then
    error(F .. ": option 'on_error' must be 'error' or 'log' (got " .. tostring(opts.on_error) .. ")", 2)
  end
  if opts.name ~= nil and type(opts.name) ~= "string" then
    error(F .. ": option 'name' must be a string (got " .. type(opts.name) .. ")", 2)
  end
  -- Every stream's fields in the array part (the indices above), sized once
  -- by the constructor; a slot is never nil (false: unset), so that a store
  -- into it needs no look for __newindex. The options only some streams
  -- have are keys of the hash part, absent when not set (nil reads the same).
  local log = opts.on_error == "log"
  local st = new_table(3, 2)
  st[FETCH] = false
  st[CLOCK] = Clock(NO_EVENT, 0, 0, 0, -1, 0, (opts.unpack or log) and 0 or 1)
  st[NEXT_V] = false
  st.callback, st.past = opts.callback, opts.past
  setmetatable(st, stream_mt)
  if opts.on_start ~= nil then st.on_start = opts.on_start end
  if opts.on_live_start ~= nil then st.on_live_start = opts.on_live_start end
  if opts.unpack then st.unpack = true end
  if opts.name ~= nil then st.name = opts.name end
  if opts.future ~= nil then st.future = opts.future end
  if log then st.log_errors, st.errors = true, 0 end
  local past = opts.past
  if past == nil then
    st[FETCH] = no_past
  elseif type(past) == "function" then
    st[FETCH] = from_iterator
  elseif type(past) == "table" then
    local mt = getmetatable(past)
    if mt and mt.__asp_past then
      st[FETCH] = from_reader
      st.past_next = past.next
    else
      st[FETCH] = from_array
    end
  else
    error(F .. ": option 'past' must be an array of {time, value} pairs, an iterator function "
      .. "or a reader (got " .. type(past) .. ")", 2)
  end
  local future = opts.future
  if future == nil and type(past) == "table" and getmetatable(past) and getmetatable(past).__asp_future then
    future = past -- asp.csv(path, {follow = true}): the same file goes on live
    st.future = future
  end
  if type(future) == "table" and getmetatable(future) and getmetatable(future).__asp_future then
    st.native = true
  elseif future ~= nil and type(future) ~= "function" then
    error(F .. ": option 'future' must be a producer function(emit) or a live source (got " .. type(future) .. ")", 2)
  end
  if type(future) == "function" then
    -- A producer: what it emits while the stream is not waiting for it.
    st.fifo, st.fifo_head, st.fifo_tail = {}, 1, 0
    st.emit = make_emit(st)
  end
  return st
end

return M
