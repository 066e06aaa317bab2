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
    assert.equals("stream 'q' event", q.items[1].what)
    assert.equals("timer tick", q.items[2].what)
    assert.matches("1%. 2025%-01%-01T00:00:02%.000000Z  stream 'q' event", tostring(q))
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

  it("format pretty-prints tables with a depth limit", function()
    assert.equals('{ 1, 2, a = "x" }', D.format({ 1, 2, a = "x" }))
    assert.equals("{ a = { b = { c = {...} } } }", D.format({ a = { b = { c = { d = 1 } } } }))
    assert.equals(tostring(t0), D.format(t0))
    local cyc = {}
    cyc.self = cyc
    assert.equals("{ self = <cycle> }", D.format(cyc))
  end)
end)
