-- asp.debug from a script: a run paused at its start and driven item by item.
local asp = require("asp")
local D = asp.debug

local t0 = asp.time("2025-01-01T00:00:00Z")

local function quotes(n)
  local q = {}
  for i = 1, n do q[i] = { t0 + i, i } end
  return q
end

-- Starts a paused run of one stream "q" of n events and a timer every 10 s.
local function paused_run(n, extra)
  local state = { n = 0, sum = 0, ticks = 0 }
  D.interactive(true)
  local tasks = {
    asp.process_stream{ name = "q", past = quotes(n), callback = function(_, v)
      state.n = state.n + 1
      state.sum = state.sum + v
    end },
    asp.timer{ interval = 10, start_time = t0, end_time = n, callback = function()
      state.ticks = state.ticks + 1
    end },
  }
  for _, t in ipairs(extra or {}) do tasks[#tasks + 1] = t end
  local out = io.output()
  io.output(os.tmpname())   -- the "paused at start" line
  asp.run(tasks, { start_time = t0 })
  io.output(out)
  D.interactive(false)
  return state
end

local function finish()
  if asp.now() and require("asp.sched").is_running() then D.continue() end
  D.break_("off")
  D.watch("off")
end

describe("asp.debug", function()
  after_each(finish)

  it("asp.run in interactive mode returns paused before the first item", function()
    local state = paused_run(5)
    assert.equals(0, state.n)
    assert.equals(tostring(t0), tostring(asp.now()))
    assert.matches("next: start of stream 'q'", D.status())
  end)

  it("step(n) runs exactly n items and reports where it paused", function()
    local state = paused_run(50)
    local r = D.step(4)           -- 2 starts, then events 1 and 2
    assert.equals("paused", r.outcome)
    assert.equals(4, r.items)
    assert.equals(2, state.n)
    D.step()
    assert.equals(3, state.n)
  end)

  it("until_ runs every item due at or before the time, and +seconds is relative", function()
    local state = paused_run(50)
    D.until_("2025-01-01T00:00:20Z")
    assert.equals(20, state.n)
    assert.equals(2, state.ticks)
    assert.equals("2025-01-01T00:00:20.000000Z", tostring(asp.now()))
    D["until"]("+5")
    assert.equals(25, state.n)
  end)

  it("next(stream) stops after that stream's next event", function()
    local other = {}
    local state = paused_run(50, { asp.process_stream{ name = "slow",
      past = { { t0 + 30, "x" } }, callback = function(_, v) other[#other + 1] = v end } })
    D.step(3)                    -- the three starts
    D.next("slow")
    assert.same({ "x" }, other)
    assert.equals(30, state.n)   -- q's event at t0+30 ran first: stream events in start order
    assert.has_error(function() D.next("nope") end, "asp.debug.next: no stream named nope")
  end)

  it("break_ pauses after the item that makes the expression true", function()
    local state = paused_run(100)
    _G.debug_spec_state = state
    D.break_("debug_spec_state.n == 33")
    local r = D.continue()
    assert.equals("break", r.outcome)
    assert.equals(33, state.n)
    D.break_("off")
    assert.equals("finished", D.continue().outcome)
    assert.equals(100, state.n)
    _G.debug_spec_state = nil
  end)

  it("watch prints each change with the virtual time", function()
    local state = paused_run(25)
    local lines = {}
    local real_write = io.write
    io.write = function(...) lines[#lines + 1] = table.concat({ ... }) end
    D.watch(function() return state.ticks end)
    local ok, err = pcall(D.until_, "2025-01-01T00:00:21Z")
    io.write = real_write
    assert(ok, err)
    assert.same({
      "[watch 1] 2025-01-01T00:00:10.000000Z <function> = 1\n",
      "[watch 1] 2025-01-01T00:00:20.000000Z <function> = 2\n",
    }, lines)
  end)

  it("where and queue describe the clock, the streams and what comes next", function()
    paused_run(10)
    D.step(3)
    local w = D.where()
    assert.equals("replay", w.mode)
    assert.equals(1, #w.streams)
    assert.equals("q", w.streams[1].name)
    assert.equals(1, w.streams[1].events)
    assert.equals(tostring(t0 + 2), tostring(w.streams[1].next))
    local q = D.queue(2)
    assert.equals(2, #q.items)
    assert.equals("stream 'q' event (tests/lua/debug_spec.lua:18)", q.items[1].what)
    assert.equals("timer tick (tests/lua/debug_spec.lua:22)", q.items[2].what)
    assert.matches("1%. 2025%-01%-01T00:00:02%.000000Z  stream 'q' event %(tests/lua/debug_spec.lua:18%)", tostring(q))
  end)

  it("a sleeping task keeps its state across pauses", function()
    local log = {}
    paused_run(0, { function()
      for i = 1, 3 do asp.sleep(1); log[#log + 1] = tostring(asp.now()) end
    end })
    D.until_("+1")
    assert.equals(1, #log)
    D.continue()
    assert.same({ "2025-01-01T00:00:01.000000Z", "2025-01-01T00:00:02.000000Z",
      "2025-01-01T00:00:03.000000Z" }, log)
  end)

  it("an error in a callback ends the paused run and is raised by the command", function()
    D.interactive(true)
    io.output(os.tmpname())
    asp.run({ asp.process_stream{ name = "bad", past = quotes(3), callback = function(_, v)
      if v == 2 then error("boom") end
    end } }, { start_time = t0 })
    io.output(io.stdout)
    D.interactive(false)
    local ok, err = pcall(D.continue)
    assert.is_false(ok)
    assert.matches("in stream 'bad': .*boom", err)
    assert.is_false(require("asp.sched").is_running())
  end)

  it("commands without a paused run, and back outside the REPL, say why", function()
    assert.has_error(function() D.step() end)
    local ok, err = pcall(D.back, "#0")
    assert.is_false(ok)
    assert.matches("time travel needs the REPL", err)
  end)

  it("queue labels every kind of item with where its function is defined, never nil", function()
    local function sleeper() asp.sleep(5) end          -- the line of the wake-up
    local later = function() end
    paused_run(30, { sleeper, function() asp.call_later(100, later) end })
    D.step(6)
    local whats = {}
    for _, it in ipairs(D.queue(20).items) do whats[#whats + 1] = it.what end
    local text = table.concat(whats, "\n")
    assert.not_matches("nil", text)
    local here = "tests/lua/debug_spec.lua:"
    assert.matches("wake%-up of a sleeping task %(" .. here .. debug.getinfo(sleeper, "S").linedefined .. "%)", text)
    assert.matches("call_later callback %(" .. here .. debug.getinfo(later, "S").linedefined .. "%)", text)
    assert.matches("timer tick %(" .. here .. "22%)", text)
  end)

  it("the status line and break lines name the next item's function", function()
    paused_run(5)
    assert.matches("next: start of stream 'q' %(tests/lua/debug_spec.lua:18%)", D.status())
    D.break_(function() return true end)
    local r = D.continue()
    assert.equals("break", r.outcome)
    assert.matches("next: .*%(tests/lua/debug_spec.lua:%d+%)", tostring(r))
    D.break_("off")
  end)

  it("until_ takes a time of day on the clock's date and durations with units", function()
    local state = paused_run(4000)
    D.until_("00:00:30")
    assert.equals(30, state.n)
    D.until_("00:01")
    assert.equals(60, state.n)
    D.until_("+90s")
    assert.equals(150, state.n)
    D.until_("+1m")
    assert.equals(210, state.n)
    D.until_("+0.5h")
    assert.equals(2010, state.n)
    D.until_("+1h30m")   -- past the end: said, not silent
    assert.equals(4000, state.n)
    local to = D._to_ns
    local now = asp.time("2025-03-04T12:00:00Z").ns_
    assert.equals(asp.time("2025-03-04T10:00:00Z").ns_, to("10:00", "until", now))
    assert.equals(now + 2 * 86400 * 1000000000LL, to("+2d", "until", now))
    assert.equals(now - 300 * 1000000000LL, to("-5m", "back", now))
    assert.equals(now + 60 * 1000000000LL, to("+60", "until", now))
    assert.equals(now + 5400 * 1000000000LL, to("+1h30m", "until", now))
    assert.equals(now + 30 * 1000000000LL + 250000000LL - 7200 * 1000000000LL, to("10:00:30.25", "until", now))
  end)

  it("until_ past the end of the run says where it ended", function()
    paused_run(10)
    local r = D.until_("+1h")
    assert.equals("finished", r.outcome)
    assert.is_true(r.ended_before)
    assert.equals("the run ended at 2025-01-01T00:00:10.000000Z before reaching 2025-01-01T01:00:00.000000Z",
      tostring(r))
  end)

  it("a bad or out-of-range time is a one-line error naming it", function()
    paused_run(10)
    local function err(t)
      local ok, e = pcall(D.until_, t)
      assert.is_false(ok)
      assert.not_matches("\n", e)
      return e
    end
    assert.matches("time offset '%+8e9' is out of range", err("+8e9"))
    assert.matches("time offset '%-2e10' is out of range", err("-2e10"))
    assert.matches("bad time '%+5q'", err("+5q"))
    assert.matches("bad time of day '24:00'", err("24:00"))
    assert.matches("bad time of day '10:61'", err("10:61"))
    assert.matches("bad time 'soon'", err("soon"))
    assert.equals(0, D.where().items)   -- nothing ran
  end)

  it("a mistyped command is one line with a suggestion", function()
    local function err(name, args)
      local ok, e = pcall(D.command, name, args)
      assert.is_false(ok)
      return e
    end
    assert.equals("unknown command '.untill'; did you mean '.until'?", err("untill"))
    assert.equals("unknown command '.contnue'; did you mean '.continue'?", err("contnue"))
    assert.equals("unknown command '.frobnicate' (.help lists the commands)", err("frobnicate"))
    -- A command's own error has no position inside debug.lua.
    assert.equals("asp.debug.step: a whole number of items >= 1 expected", err("step", "x"))
  end)

  it("keep copies a global into kept, serialised, and says what it cannot keep", function()
    _G.kept = nil
    _G.spec_value = { n = 3, name = "x", ok = true, nested = { 1, 2, { deep = -1.5 } } }
    local r = D.keep("spec_value")
    assert.matches("^kept%.spec_value = ", tostring(r))
    assert.same(_G.spec_value, _G.kept.spec_value)
    assert.are_not.equal(_G.spec_value, _G.kept.spec_value)   -- a copy
    _G.spec_value.n = 4
    assert.equals(3, _G.kept.spec_value.n)
    D.keep("other", 1 / 0)
    assert.equals(math.huge, _G.kept.other)
    assert.same({ "other", "spec_value" }, D.keep().names)
    -- What comes back after .back is what the shared memory holds.
    _G.kept = nil
    D._restore_kept()
    assert.same({ n = 3, name = "x", ok = true, nested = { 1, 2, { deep = -1.5 } } }, _G.kept.spec_value)
    local function err(...)
      local ok, e = pcall(D.keep, ...)
      assert.is_false(ok)
      return e
    end
    _G.spec_fn = { f = print }
    assert.matches("cannot keep spec_fn: spec_fn%[\"f\"%] is a function", err("spec_fn"))
    local cyc = {}
    cyc.me = cyc
    _G.spec_cyc = cyc
    assert.matches("spec_cyc%[\"me\"%] refers to itself", err("spec_cyc"))
    _G.spec_mt = setmetatable({}, {})
    assert.matches("a table with a metatable", err("spec_mt"))
    assert.matches("no_such_global is nil", err("no_such_global"))
    assert.matches("a global's name expected", err("a.b"))
    assert.matches("too large to keep", err("big", string.rep("x", 2 * 1024 * 1024)))
    _G.spec_value, _G.spec_fn, _G.spec_cyc, _G.spec_mt, _G.kept = nil, nil, nil, nil, nil
  end)

  it("interactive() tells whether interactive mode is on", function()
    assert.is_false(D.interactive())
    assert.is_true(D.interactive(true))
    assert.is_true(D.interactive())
    assert.is_false(D.interactive(false))
  end)

  it("format pretty-prints tables with a depth limit", function()
    assert.equals('{ 1, 2, a = "x" }', D.format({ 1, 2, a = "x" }))
    assert.equals("{ a = { b = { c = {...} } } }", D.format({ a = { b = { c = { d = 1 } } } }))
    assert.equals(tostring(t0), D.format(t0))
    local cyc = {}
    cyc.self = cyc
    assert.equals("{ self = <cycle> }", D.format(cyc))
  end)
end)
