-- The run loop: items, the dispatcher coroutines, sleep, call_later, run, stop.
--
-- The C scheduler (engine/sched.c) owns the clock and the queue; it hands
-- back item ids in clock-rule order. Each id maps to a kind and a payload
-- kept here in two arrays indexed by id.
--
-- Callbacks run directly in a dispatcher coroutine, with no coroutine switch
-- per item. A callback that sleeps keeps the coroutine it runs in (it is
-- "detached"); the dispatching goes on in a fresh coroutine from a pool, and
-- the sleeper is resumed by whichever dispatcher pops its wake-up. When its
-- callback returns, the detached coroutine hands itself back to the pool.
local cffi = require("asp.cffi")
local time = require("asp.time")

local C, S = cffi.C, cffi.S
local Time = time.ct
local is_time = time.is_time
local coroutine_create, resume, yield, running, status =
  coroutine.create, coroutine.resume, coroutine.yield, coroutine.running, coroutine.status
local type, select, tostring, error, pcall, setmetatable, unpack =
  type, select, tostring, error, pcall, setmetatable, unpack
local traceback = debug.traceback

local M = {}

-- Sentinels that workers yield to whoever resumed them.
local SLEEP = setmetatable({}, { __tostring = function() return "asp sleep" end })
local DONE = setmetatable({}, { __tostring = function() return "asp done" end })
-- A dispatcher hands its status (a number: EMPTY, INTERRUPTED, STOPPED,
-- PAUSED) to drive() as yield(STATUS, n): the private table comes first so
-- that a callback's own coroutine.yield(<number>) can never pass for one.
local STATUS = setmetatable({}, { __tostring = function() return "asp status" end })
-- The statuses are engine/sched.h's enum (one definition for C and Lua).
local STOPPED = C.ASP_SCHED_STOPPED
local INTERRUPTED = C.ASP_SCHED_INTERRUPTED
local SIGNAL_NAMES = { [1] = "SIGHUP", [2] = "SIGINT", [13] = "SIGPIPE (standard output closed)", [15] = "SIGTERM" }

-- Item kinds and their handlers: handler(payload, id) runs the item.
-- (lua/asp/items.lua declares the kinds; this is their runners' table.)
local item_kinds = require("asp.items")
local handlers = item_kinds.run
M.handlers = handlers
local declare = item_kinds.declare
-- An item's kind is at items[2 * id] and its payload at items[2 * id + 1]:
-- side by side, so that dispatching an item reads one cache line of this
-- array, not one in each of two (with 10,000 streams neither stays cached).
local items = {}

-- -- The run's state: all of it here (docs/architecture.md, "Who owns the
-- run"); finish_run resets it. The C scheduler owns the clock, the queue and
-- its bounds; these are the rest.
local running_run = false   -- inside asp.run
local stopping = false      -- asp.stop() was called
local current = nil         -- the coroutine dispatching now
local current_ctx = nil     -- what runs now, for error messages
local gc_failure = nil      -- a finalizer's error, raised as the run's (gc_guard)
local pasts_open = 0        -- streams with a past not exhausted yet (live = false)
local last_past_ns = nil    -- the latest event time of an exhausted past
local live_hooks = {}       -- run at the live moment, before opts.on_live (M.at_live)
local live_fn = nil         -- opts.on_live
local live_item_set = false -- the live moment's item is handed to C
local ensure_live_item      -- (defined with the live moment, below)
-- Published for the other modules: M.backtest (live = false: no futures,
-- end after the last past event), M.never_wait (the clock never waits:
-- live = false or asp.test.run), M.interactive (the REPL: asp.run pauses at
-- the start), and, once a run ended, M.last_result, M.run_failed,
-- M.live_open, M.cleanup_error.
local ctx_of = setmetatable({}, { __mode = "k" }) -- detached coroutine -> its context
local is_worker = setmetatable({}, { __mode = "k" })
local pool, pool_n = {}, 0
local POOL_MAX = 64

-- -- Items ---------------------------------------------------------------------

local function new_item(k, p)
  local id = C.asp_sched_alloc(S)
  if id < 0 then error("asp: out of memory for scheduled items", 3) end
  items[2 * id] = k
  items[2 * id + 1] = p
  return id
end
M.new_item = new_item

local function free_item(id)
  items[2 * id] = nil
  items[2 * id + 1] = nil
  C.asp_sched_release(S, id)
end
M.free_item = free_item

-- Queues item id (class "other") due at ns; a due time in the past is now.
local function schedule(id, ns)
  if C.asp_sched_push(S, id, ns) ~= 0 then error("asp: out of memory for scheduled items", 3) end
end
M.schedule = schedule

-- new_item and schedule in one C call (a sleep's wake-up, a call).
local function add_item(k, p, ns)
  local id = C.asp_sched_add(S, ns)
  if id < 0 then error("asp: out of memory for scheduled items", 3) end
  items[2 * id] = k
  items[2 * id + 1] = p
  return id
end

function M.schedule_event(id, ns, order)
  if C.asp_sched_push_event(S, id, ns, order) ~= 0 then
    error("asp: out of memory for scheduled items", 3)
  end
end

function M.set_context(ctx)
  current_ctx = ctx
end

function M.now_ns()
  return C.asp_sched_now(S)
end

function M.run_start_time()
  return Time(C.asp_sched_run_start(S))
end

function M.is_running()
  return running_run
end

-- -- Errors --------------------------------------------------------------------

-- An error already given its context by an inner dispatcher travels outward
-- wrapped in this table, so that it is not wrapped twice.
local Failure = {}
Failure.__index = Failure
Failure.__tostring = function(f) return f.message end

local function describe(ctx)
  if type(ctx) == "table" then
    return ctx.describe and ctx:describe() or tostring(ctx)
  end
  return ctx or "a task"
end

-- The text of an error value. An error object whose __tostring raises (or
-- returns no string) still gives a message, so that the error keeps its
-- time and context and on_error = "log" can go on (issue #11).
local function error_text(err)
  if type(err) == "string" then return err end
  local ok, s = pcall(tostring, err)
  if ok and type(s) == "string" then return s end
  return ("(a %s error object whose __tostring %s)"):format(type(err),
    ok and ("returned a " .. type(s)) or ("raised: " .. (type(s) == "string" and s or "a " .. type(s))))
end
M.error_text = error_text

local function failure(co, err, ctx)
  if getmetatable(err) == Failure then return err end
  local msg = error_text(err)
  local head = ("asp.run: error at %s in %s: %s"):format(
    time.format_ns(C.asp_sched_now(S)), describe(ctx), msg)
  return setmetatable({ message = traceback(co, head) }, Failure)
end

-- -- Errors in __gc metamethods -------------------------------------------------

-- A finalizer runs wherever the collector happens to be; an error raised
-- there surfaced in unrelated code without its own context, or, raised from
-- a step of the collector inside compiled code, crashed LuaJIT (issue #11).
-- So finalizers set with ffi.gc or on a newproxy(true) metatable are run
-- under pcall: in a run, the first error stops the run after the current
-- item, as an error of the run naming the finalizer and what ran when the
-- collector called it; outside a run it is written to stderr (gc_failure,
-- with the run's state above).

local function gc_guard(f)
  return function(...)
    local ok, err = xpcall(f, traceback, ...)
    if ok then return end
    if running_run then
      if gc_failure == nil then
        gc_failure = setmetatable({ message = ("asp.run: error at %s in a __gc metamethod (a finalizer) "
          .. "that the collector ran during %s: %s"):format(time.format_ns(C.asp_sched_now(S)),
          describe(current_ctx), error_text(err)) }, Failure)
        stopping = true
        C.asp_sched_close_direct(S) -- a stream's direct path stops after this item too
      end
    else
      pcall(io.stderr.write, io.stderr, "asp: error in a __gc metamethod (a finalizer): "
        .. error_text(err) .. "\n")
    end
  end
end
M.gc_guard = gc_guard

do
  local ffi = require("ffi")
  local ffi_gc = ffi.gc
  ffi.gc = function(cdata, f)
    if type(f) == "function" then f = gc_guard(f) end
    return ffi_gc(cdata, f)
  end
  local real_newproxy = newproxy
  if real_newproxy then
    local guard_mt = { __newindex = function(mt, k, v)
      if k == "__gc" and type(v) == "function" then v = gc_guard(v) end
      rawset(mt, k, v)
    end }
    newproxy = function(x)
      local p = real_newproxy(x)
      if x == true then setmetatable(getmetatable(p), guard_mt) end
      return p
    end
  end
end

-- -- Dispatching ---------------------------------------------------------------

local function dispatch(me)
  current = me
  -- asp.stop() may come from a callback that then slept, before this
  -- dispatcher took over: check before every item, not only after one.
  while not stopping do
    local id = C.asp_sched_next(S)
    if id < 0 then return id end
    -- A stream's event (the replay's item) by the constant key: handlers[kind]
    -- with a kind the trace does not know is a hash lookup with a loop.
    local kind = items[2 * id]
    local run = kind == "stream" and handlers.stream or handlers[kind]
    run(items[2 * id + 1], id)
    if current ~= me then return DONE end   -- a callback slept: detached
  end
  return STOPPED
end

local function worker_body()
  local me = running()
  while true do
    local r = dispatch(me)
    if r == DONE then yield(DONE) else yield(STATUS, r) end
  end
end

local function take_worker()
  if pool_n > 0 then
    local co = pool[pool_n]
    pool[pool_n] = nil
    pool_n = pool_n - 1
    return co
  end
  local co = coroutine_create(worker_body)
  is_worker[co] = true
  return co
end

local function give_worker(co)
  if pool_n < POOL_MAX then
    pool_n = pool_n + 1
    pool[pool_n] = co
  end
end

local function unexpected_yield(co, ctx)
  return failure(co, "a task called coroutine.yield: tasks suspend with asp.sleep "
    .. "(use coroutines of your own only with coroutine.wrap/resume around code that does not sleep)", ctx)
end

-- Resumes a sleeping task (from a wake-up item).
local function resume_task(co)
  local ctx = ctx_of[co]
  local saved_ctx = current_ctx
  local ok, r = resume(co)
  current_ctx = saved_ctx
  if not ok then error(failure(co, r, ctx), 0) end
  if r == SLEEP then return end
  ctx_of[co] = nil
  if r == DONE then
    give_worker(co)
  elseif status(co) ~= "dead" then
    error(unexpected_yield(co, ctx), 0)
  end
end

local WAKE = declare("wake", {
  run = function(co, id)
    free_item(id)
    resume_task(co)
  end,
  describe = function(co) return "wake-up of a sleeping task", co end,
})

-- Runs the dispatchers until the queue is empty, asp.stop() or an interrupt.
local function drive()
  while true do
    local co = take_worker()
    local ok, r, st = resume(co)
    if not ok then error(failure(co, r, current_ctx), 0) end
    if r ~= SLEEP then
      if r ~= STATUS then error(unexpected_yield(co, current_ctx), 0) end
      give_worker(co)
      return st
    end
  end
end

-- -- Sleeping ------------------------------------------------------------------

local CANNOT_YIELD = "asp.sleep: cannot suspend here: the task reached this call through a C function "
  .. "(a table.sort comparator, a string.gsub callback, a __gc or __tostring metamethod, a C library); "
  .. "call asp.sleep from the task's own Lua code"

function M.sleep(d)
  local co = running()
  if not is_worker[co] then
    error("asp.sleep: not called from a task: only callbacks and tasks run by asp.run can sleep", 2)
  end
  local due
  if type(d) == "number" then
    if not (d >= 0) then error("asp.sleep: bad duration " .. tostring(d) .. " (seconds >= 0 expected)", 2) end
    -- Saturates: a sleep past the end of the range (math.huge) is "never".
    due = C.asp_time_add_seconds(C.asp_sched_now(S), d)
  elseif is_time(d) then
    -- A past Time is due now, behind what is already due (the contract's
    -- one exception to late items keeping their own due times).
    due = d.ns_
    local now = C.asp_sched_now(S)
    if due < now then due = now end
  else
    error("asp.sleep: bad argument #1 (a number of seconds or a Time expected, got " .. type(d) .. ")", 2)
  end
  local id = add_item(WAKE, co, due)
  local was_dispatcher = co == current
  if was_dispatcher then
    current = nil
    ctx_of[co] = current_ctx
  end
  local ok, err = pcall(yield, SLEEP)
  if not ok then
    free_item(id)
    if was_dispatcher then
      current = co
      ctx_of[co] = nil
    end
    error(CANNOT_YIELD .. " (" .. tostring(err) .. ")", 2)
  end
end

-- -- Calls ---------------------------------------------------------------------

local Handle = {}
Handle.__index = Handle

-- Returns true when the call had not run yet; it then never runs.
function Handle:cancel()
  local id = self.id
  if id == nil or items[2 * id + 1] ~= self then return false end
  self.id = nil
  free_item(id)
  return true
end

-- A call's arguments: up to three in fields of the record (a1..a3), more in
-- an array of their own (args). The record is one table constructor with
-- constant keys, which LuaJIT copies from a template with every key in
-- place; arguments stored in the record's own array part ({..., ...}) made
-- every call_later resize the table and rehash its keys (~20% of the time
-- of a call_later-heavy replay, in lj_tab_resize and lj_tab_newkey).
local CALL = "call"
local CALL_CTX = "a call_later callback"
declare(CALL, {
  run = function(rec, id)
    rec.id = nil
    free_item(id)
    current_ctx = CALL_CTX
    local n = rec.n
    if n == 0 then return rec.fn(rec.when) end
    if n == 1 then return rec.fn(rec.when, rec.a1) end
    if n == 2 then return rec.fn(rec.when, rec.a1, rec.a2) end
    if n == 3 then return rec.fn(rec.when, rec.a1, rec.a2, rec.a3) end
    return rec.fn(rec.when, unpack(rec.args, 1, n))
  end,
  describe = function(rec) return "call_later callback", rec.fn end,
})

local when_out = require("ffi").new("int64_t[1]")

-- Converts a `when` argument (nil, seconds from now, a Time) to a Time.
local function when_to_time(when, fname)
  if when == nil then return Time(C.asp_sched_now(S)) end
  if type(when) == "number" then
    if when ~= when then error(fname .. ": bad argument #1 (NaN)", 3) end
    local now = C.asp_sched_now(S)
    -- A delay past the end of the range (math.huge) saturates to "never",
    -- as asp.sleep's; one before its start is an error (docs/api.md "Range").
    if when >= 0 then return Time(C.asp_time_add_seconds(now, when)) end
    local rc = C.asp_time_add_checked(now, when, when_out)
    if rc ~= 0 then
      error(fname .. ": bad argument #1 (" .. time.format_ns(now) .. " + " .. tostring(when) .. ": "
        .. time.range_reason(rc) .. ")", 3)
    end
    return Time(when_out[0])
  end
  if is_time(when) then return when end
  error(fname .. ": bad argument #1 (nil, a number of seconds or a Time expected, got " .. type(when) .. ")", 3)
end

-- Tasks (process_stream, timer) are tables whose metatable says so; the
-- module that makes them registers a starter for their kind.
local task_mt = {}
M.task_mt = task_mt

local function is_task(x)
  return type(x) == "table" and task_mt[getmetatable(x)] ~= nil
end
M.is_task = is_task

-- A start item's payload is the task itself (asp.run's tasks: 100,000
-- streams made no table each) or, from call_later and spawn, its Handle.
local function start_task(p)
  if getmetatable(p) == Handle then return p.fn end
  return p
end

local START = declare("start", {
  run = function(p, id)
    if getmetatable(p) == Handle then p.id = nil end
    free_item(id)
    local task = start_task(p)
    current_ctx = task
    task_mt[getmetatable(task)](task)
  end,
  describe = function(p)
    local t = start_task(p)
    local what = type(t) == "table" and t.describe and t:describe() or "a task"
    local fn = type(t) == "function" and t or type(t) == "table" and (rawget(t, "callback") or rawget(t, "fn")) or nil
    return "start of " .. what, fn
  end,
})

-- Schedules fn(due_time, ...) or the start of a task; returns a handle.
function M.call_later(when, fn, ...)
  if not running_run then error("asp.call_later: called outside asp.run", 2) end
  local t = when_to_time(when, "asp.call_later")
  local k
  if is_task(fn) then
    k = START
    fn:claim("asp.call_later")
  elseif type(fn) == "function" then
    k = CALL
  else
    error("asp.call_later: bad argument #2 (a function or a task expected, got " .. type(fn) .. ")", 2)
  end
  -- id is in the constructor so that setting it below does not rehash the table.
  local n = select("#", ...)
  local rec
  if n <= 3 then
    local a1, a2, a3 = ...
    rec = setmetatable({ fn = fn, when = t, n = n, id = false, a1 = a1, a2 = a2, a3 = a3 }, Handle)
  else
    rec = setmetatable({ fn = fn, when = t, n = n, id = false, args = { ... } }, Handle)
  end
  rec.id = add_item(k, rec, t.ns_)
  return rec
end

function M.spawn(task)
  if not running_run then error("asp.spawn: called outside asp.run", 2) end
  if not is_task(task) and type(task) ~= "function" then
    error("asp.spawn: bad argument #1 (a task or a function expected, got " .. type(task) .. ")", 2)
  end
  return M.call_later(nil, task)
end

-- Schedules fn() with the given context at ns: used for tasks of the run
-- list, producers and other internal starts.
local TASK = declare("task", {
  run = function(rec, id)
    free_item(id)
    current_ctx = rec.ctx
    rec.fn(unpack(rec, 1, rec.n))
  end,
  describe = function(rec)
    local ctx = rec.ctx
    return type(ctx) == "table" and ctx.describe and ctx:describe() or (ctx ~= nil and tostring(ctx)) or "a task",
      rec.fn
  end,
})

function M.start_task_at(ns, ctx, fn, ...)
  local id = new_item(TASK, { fn = fn, ctx = ctx, n = select("#", ...), ... })
  schedule(id, ns)
  return id
end

-- Marks an item as live input, for the live moment (sched.h).
function M.mark_live(id)
  if C.asp_sched_mark_live(S, id) ~= 0 then error("asp: out of memory for scheduled items", 3) end
end

-- -- Running -------------------------------------------------------------------

-- Hooks the other modules register: cleanup() when a run ends for any
-- reason (it may return an error message: see finish_run). Each task's own
-- prepare method reads its first past event before the clock is placed.
M.cleanups = {}
M.run_starts = {} -- run_start() when a run begins, before its tasks are prepared

function M.stop()
  if running_run then
    stopping = true
    C.asp_sched_close_direct(S) -- a stream's direct path stops after this item too
  end
end

-- -- Bounds: live = false ends after the last past event -----------------------

-- asp-lua --backtest makes live = false the default of every run.
M.default_live = true
M.backtest = false

function M.past_opened()
  pasts_open = pasts_open + 1
end

-- A stream's past is exhausted; last_ns is its last event's time (or nil).
-- In a backtest, once every past is, the run ends after what is due up to
-- the latest past event.
function M.past_closed(last_ns)
  pasts_open = pasts_open - 1
  if last_ns ~= nil and (last_past_ns == nil or last_ns > last_past_ns) then last_past_ns = last_ns end
  if M.backtest and pasts_open == 0 then
    local e = last_past_ns or C.asp_sched_now(S)
    if e < C.asp_sched_end(S) then C.asp_sched_set_end(S, e) end
  end
end

-- -- The live moment: opts.on_live and the modules' hooks -------------------

local function live_moment()
  for i = 1, #live_hooks do live_hooks[i]() end
  if live_fn then live_fn() end
end

-- The item C hands out once at the live moment (sched.h), made when a run
-- first needs it.
ensure_live_item = function()
  if not live_item_set and C.asp_sched_is_live(S) == 0 then
    C.asp_sched_set_live_item(S, new_item(TASK, { fn = live_moment, ctx = "on_live of asp.run", n = 0 }))
    live_item_set = true
  end
end

-- fn() runs at this run's live moment, before opts.on_live (asp.writer
-- turns a replay's file into an appended one then). Only inside a run.
function M.at_live(fn)
  live_hooks[#live_hooks + 1] = fn
  ensure_live_item()
end

-- What asp.run returns (and asp.stats shows), made as the run ends.
M.last_result = nil

-- failed: the run ends with an error or an interrupt (cleanups read M.run_failed).
local function finish_run(failed)
  M.run_failed = failed or false
  M.last_wall_end = C.asp_time_wall()
  M.last_result = {
    last_time = Time(C.asp_sched_now(S)),
    items = tonumber(C.asp_sched_items(S)),
    events = tonumber(C.asp_sched_events(S)),
    dropped = tonumber(C.asp_sched_pending(S)),
    stopped = stopping,
  }
  -- For asp.test.run, which refuses a run that left live input open.
  M.live_open = C.asp_sched_live_sources(S)
  M.backtest, pasts_open, last_past_ns = false, 0, nil
  live_hooks, live_fn, live_item_set = {}, nil, false
  C.asp_sched_clear(S)
  -- A cleanup may return an error message (a results file it could not
  -- commit): asp.run raises the first one when the run itself succeeded.
  for i = 1, #M.cleanups do
    local e = M.cleanups[i]()
    if e and not failed and not M.cleanup_error then M.cleanup_error = e end
  end
  items = {}
  running_run, stopping, current, current_ctx = false, false, nil, nil
  -- A finalizer that failed after the run's result was taken (while the
  -- cleanups ran): too late to be the run's error, but not silent.
  local late = gc_failure
  gc_failure = nil
  if late and not late.taken then
    pcall(io.stderr.write, io.stderr, late.message .. "\n")
  end
end

local function raise_cleanup_error()
  local e = M.cleanup_error
  M.cleanup_error = nil
  if e then error(e, 0) end
end

-- Interactive mode (the REPL): asp.run sets the run up and returns with it
-- paused before its first item; M.resume drives it on. M.on_pause, when set,
-- is called when asp.run returns paused.
M.interactive = false
local PAUSED = C.ASP_SCHED_PAUSED

-- Drives a paused run for at most `budget` items (nil: no limit) and none
-- due after `pause_after` ns (nil: no limit). Returns "paused" or
-- "interrupted" with the run still paused, or "finished" once it ended;
-- raises the run's error after ending it.
function M.resume(budget, pause_after)
  if not running_run then error("asp.debug: no run is paused (start one with asp.run)", 2) end
  C.asp_sched_pause(S, budget or -1, pause_after or 0x7fffffffffffffffLL)
  local ok, r = pcall(drive)
  C.asp_sched_pause(S, -1, 0x7fffffffffffffffLL)
  if ok and gc_failure then ok, r = false, gc_failure; gc_failure.taken = true end
  if ok and r == PAUSED then return "paused" end
  if ok and r == INTERRUPTED then return "interrupted" end
  finish_run(not ok)
  if not ok then error(error_text(r), 0) end
  raise_cleanup_error()
  return "finished"
end

function M.item(id)
  return items[2 * id], items[2 * id + 1]
end

local RUN_OPTIONS = { start_time = true, end_time = true, live = true, on_live = true }

function M.run(tasks, opts)
  if running_run then error("asp.run: already running (asp.run cannot be called inside a run)", 2) end
  if type(tasks) ~= "table" or is_task(tasks) then
    error("asp.run: bad argument #1 (an array of tasks and functions expected, got "
      .. (is_task(tasks) and "a single task: wrap it in { }" or type(tasks)) .. ")", 2)
  end
  if opts ~= nil and type(opts) ~= "table" then
    error("asp.run: bad argument #2 (a table of options expected, got " .. type(opts) .. ")", 2)
  end
  local n = #tasks
  for i = 1, n do
    local t = tasks[i]
    if not is_task(t) and type(t) ~= "function" then
      error(("asp.run: tasks[%d] is a %s (a task or a function expected)"):format(i, type(t)), 2)
    end
  end
  opts = opts or {}
  for k in pairs(opts) do
    if not RUN_OPTIONS[k] then error("asp.run: unknown option " .. tostring(k), 2) end
  end
  local start
  if opts.start_time ~= nil then
    start = time.coerce(opts.start_time)
    if start == nil then
      error("asp.run: opts.start_time is not a time: " .. tostring(opts.start_time), 2)
    end
    start = start.ns_
  end
  local end_time = opts.end_time
  if end_time ~= nil and not is_time(end_time) and not (type(end_time) == "number" and end_time == end_time) then
    error("asp.run: opts.end_time must be a Time or a number of seconds after the start (got "
      .. type(end_time) .. ")", 2)
  end
  if opts.live ~= nil and type(opts.live) ~= "boolean" then
    error("asp.run: opts.live must be a boolean (got " .. type(opts.live) .. ")", 2)
  end
  if opts.on_live ~= nil and type(opts.on_live) ~= "function" then
    error("asp.run: opts.on_live must be a function (got " .. type(opts.on_live) .. ")", 2)
  end
  local live = opts.live
  if live == nil then live = M.default_live end
  running_run = true
  M.backtest = not live
  -- asp.test.run: futures start, but the clock never waits (docs/testing.md).
  M.never_wait = not live or M.never_wait_next
  pasts_open, last_past_ns = 0, nil
  for i = 1, #M.run_starts do M.run_starts[i]() end
  local ok, err = pcall(function()
    local earliest = C.asp_time_wall()
    -- Reading a stream's first event runs user code (an iterator) before
    -- the clock exists: its errors get the context too. One handler for
    -- every task (the task being prepared in an upvalue), not a closure
    -- each: 100,000 of them were ~10 MB of garbage at the peak of the start.
    local preparing
    local function prepare_failed(e)
      if getmetatable(e) == Failure then return e end
      return setmetatable({ message = traceback(("asp.run: error before the start in %s: %s"):format(
        describe(preparing), error_text(e)), 2) }, Failure)
    end
    for i = 1, n do
      local t = tasks[i]
      if is_task(t) then
        t:claim("asp.run")
        preparing = t
        local ok_p, first = xpcall(t.prepare, prepare_failed, t)
        if not ok_p then error(first, 0) end
        if first ~= nil and first < earliest then earliest = first end
      end
    end
    preparing = nil
    C.asp_sched_start(S, start or earliest)
    local now = C.asp_sched_now(S)
    if end_time ~= nil then
      local e = is_time(end_time) and end_time.ns_ or C.asp_time_add_seconds(now, end_time)
      if e < now then
        error(("asp.run: opts.end_time %s is before the start %s"):format(time.format_ns(e), time.format_ns(now)), 0)
      end
      C.asp_sched_set_end(S, e)
    end
    C.asp_sched_set_backtest(S, M.never_wait and 1 or 0)
    live_fn = opts.on_live
    if live_fn then ensure_live_item() end
    for i = 1, n do
      local t = tasks[i]
      if is_task(t) then
        local id = new_item(START, t)
        schedule(id, C.asp_sched_now(S))
      else
        M.start_task_at(C.asp_sched_now(S), "task #" .. i .. " of asp.run", t)
      end
    end
    if M.interactive then return PAUSED end
    return drive()
  end)
  if ok and gc_failure then ok, err = false, gc_failure; gc_failure.taken = true end
  if ok and err == PAUSED then
    if M.on_pause then M.on_pause() end
    return
  end
  if ok and err == INTERRUPTED then
    -- SIGINT, SIGTERM or a closed standard output (engine/signals.c): the
    -- current item finished; the run ends with an error so that the script
    -- stops too, and asp-lua exits with 128 + the signal.
    local sig = C.asp_signals_received()
    local items = tonumber(C.asp_sched_items(S))
    local at = time.format_ns(C.asp_sched_now(S))
    finish_run(true)
    error(("asp.run: interrupted by %s at %s after %d items"):format(
      SIGNAL_NAMES[sig] or ("signal " .. sig), at, items), 2)
  end
  finish_run(not ok)
  if not ok then error(error_text(err), 0) end
  raise_cleanup_error()
  return M.last_result
end

-- True once the run has caught up with the wall clock (lua-api.md, "The
-- live moment"); false outside a run.
function M.is_live()
  return running_run and C.asp_sched_is_live(S) ~= 0
end

return M
