-- The examples of examples/, each run as `asp-lua examples/NAME.lua`: their
-- messages, their order and their virtual and event columns. The wall-clock
-- column is not checked; live examples run with short delays.
local h = require("helpers")

-- The repository's root, from this file's path (tests/lua/examples_spec.lua).
local here = debug.getinfo(1, "S").source:match("^@(.*)$")
local root = here:match("^(.*)/tests/lua/[^/]*$") or "."

local DAY_US = 86400 * 1000000

-- HH:MM:SS.ffffff -> microseconds since midnight.
local function us(s)
  local hh, mm, ss, f = s:match("^(%d%d):(%d%d):(%d%d)%.(%d%d%d%d%d%d)$")
  assert(hh, "not a time column: " .. tostring(s))
  return ((tonumber(hh) * 60 + tonumber(mm)) * 60 + tonumber(ss)) * 1000000 + tonumber(f)
end

-- b - a in microseconds, across midnight if need be.
local function diff(a, b)
  return (us(b) - us(a)) % DAY_US
end

-- Runs an example; returns its lines, each parsed as {wall, virtual, event, msg}
-- when it is a log line, or {msg = line} otherwise.
local function run_example(name, ...)
  local out, err, rc = h.run_asp({ root .. "/examples/" .. name .. ".lua", ... })
  assert.are.equal("", err)
  assert.are.equal(0, rc)
  local lines = {}
  for _, line in ipairs(h.lines(out)) do
    local w, v, e, msg = line:match("^(%d%d:%d%d:%d%d%.%d+) (%d%d:%d%d:%d%d%.%d+) (%d%d:%d%d:%d%d%.%d+) (.*)$")
    lines[#lines + 1] = w and { wall = w, virtual = v, event = e, msg = msg } or { msg = line }
  end
  return lines
end

local function messages(lines)
  local t = {}
  for i, l in ipairs(lines) do t[i] = l.msg end
  return t
end

local function by_msg(lines, msg, nth)
  nth = nth or 1
  for _, l in ipairs(lines) do
    if l.msg == msg then
      nth = nth - 1
      if nth == 0 then return l end
    end
  end
  error("no line " .. msg)
end

describe("examples/past.lua", function()
  it("greets the past names at their own times from 2025-01-01, virtual = event time", function()
    local lines = run_example("past")
    local got = {}
    for i, l in ipairs(lines) do got[i] = l.virtual .. " " .. l.event .. " " .. l.msg end
    assert.are.same({
      "00:00:00.000000 00:00:00.000000 Hello Jane.",
      "00:00:01.000000 00:00:01.000000 Hello John.",
      "00:00:02.000000 00:00:02.000000 Hello Sarah.",
      "00:00:03.000000 00:00:03.000000 Hello Paul.",
      "00:00:04.000000 00:00:04.000000 Hello again Jane!",
    }, got)
  end)
end)

describe("examples/future.lua", function()
  it("greets the live names in order, each at the virtual time it was emitted, delay apart", function()
    local lines = run_example("future", "0.02")
    assert.are.same({ "Hello Jane.", "Hello John.", "Hello Sarah.", "Hello Paul.", "Hello again Jane!" },
      messages(lines))
    for i, l in ipairs(lines) do
      assert.are.equal(l.virtual, l.event)
      if i > 1 then assert.are.equal(20000, diff(lines[i - 1].event, l.event)) end
    end
  end)
end)

describe("examples/crossing.lua", function()
  it("replays the past a minute ago, prints the crossing, then goes live", function()
    local lines = run_example("crossing", "0.02")
    assert.are.same({ "Hello Jane.", "Hello John.", "** Running live **", "Hello again Jane!", "Hello again John!" },
      messages(lines))
    local p1, p2, l1, l2 = lines[1], lines[2], lines[4], lines[5]
    for _, l in ipairs({ p1, p2, l1, l2 }) do assert.are.equal(l.virtual, l.event) end
    assert.are.equal(1000000, diff(p1.event, p2.event))
    assert.are.equal(20000, diff(l1.event, l2.event))
    assert.is_true(diff(p1.event, l1.event) >= 60 * 1000000) -- live starts in the present
    assert.is_true(diff(p1.event, l1.event) < 3600 * 1000000)
  end)
end)

describe("examples/call_later.lua", function()
  it("greets each arrival delay later, keeping the chronology across the crossing", function()
    local lines = run_example("call_later", "0.02")
    assert.are.same({
      "Jane arrived.", "Hello Jane.", "John arrived.", "** Running live **", "Hello John.",
      "Sarah arrived.", "Paul arrived.", "Hello Sarah.", "Jane arrived.", "Hello Paul.", "Hello again Jane!",
    }, messages(lines))
    for _, l in ipairs(lines) do
      if l.event then assert.are.equal(l.virtual, l.event) end
    end
    local function gap(arrived, n, hello)
      return diff(by_msg(lines, arrived, n).event, by_msg(lines, hello).event)
    end
    assert.are.equal(20000, gap("Jane arrived.", 1, "Hello Jane."))
    assert.are.equal(20000, gap("John arrived.", 1, "Hello John."))
    assert.are.equal(20000, gap("Sarah arrived.", 1, "Hello Sarah."))
    assert.are.equal(20000, gap("Paul arrived.", 1, "Hello Paul."))
    assert.are.equal(20000, gap("Jane arrived.", 2, "Hello again Jane!"))
  end)
end)

describe("examples/sleep.lua", function()
  it("greets each arrival after sleeping, the next arrival waiting for the callback", function()
    local lines = run_example("sleep", "0.02", "0.05")
    assert.are.same({
      "Jane arrived.", "Hello Jane.", "John arrived.", "Hello John.", "** Running live **",
      "Sarah arrived.", "Hello Sarah.", "Paul arrived.", "Hello Paul.", "Jane arrived.", "Hello again Jane!",
    }, messages(lines))
    local pairs_ = {
      { "Jane arrived.", 1, "Hello Jane." }, { "John arrived.", 1, "Hello John." },
      { "Sarah arrived.", 1, "Hello Sarah." }, { "Paul arrived.", 1, "Hello Paul." },
      { "Jane arrived.", 2, "Hello again Jane!" },
    }
    for _, p in ipairs(pairs_) do
      local a, g = by_msg(lines, p[1], p[2]), by_msg(lines, p[3])
      assert.are.equal(50000, diff(a.virtual, g.virtual)) -- slept exactly the pause
      assert.are.equal(50000, diff(a.event, g.event))     -- greeted at event_time + pause
    end
    -- Past arrivals one second apart; live ones emitted 0.02 apart but each
    -- delivered only once the previous callback returned.
    assert.are.equal(1000000, diff(lines[1].event, lines[3].event))
    local sarah, paul, jane = by_msg(lines, "Sarah arrived."), by_msg(lines, "Paul arrived."),
      by_msg(lines, "Jane arrived.", 2)
    assert.are.equal(sarah.virtual, sarah.event)
    assert.are.equal(20000, diff(sarah.event, paul.event))
    assert.are.equal(50000, diff(sarah.virtual, paul.virtual))
    assert.are.equal(40000, diff(sarah.event, jane.event))
    assert.are.equal(100000, diff(sarah.virtual, jane.virtual))
  end)
end)

describe("examples/timer.lua", function()
  it("fast-forwards the five past ticks: each at its own time, its sleep in virtual time", function()
    local lines = run_example("timer", "0.02")
    local msgs = messages(lines)
    assert.are.same({
      "sleeping for 0.02 seconds", "hello", "sleeping for 0.02 seconds", "hello",
      "sleeping for 0.02 seconds", "hello", "sleeping for 0.02 seconds", "hello",
      "sleeping for 0.02 seconds", "hello",
    }, msgs)
    for i = 1, 5 do
      local s, hl = lines[2 * i - 1], lines[2 * i]
      assert.are.equal(s.event, s.virtual)                -- the clock starts at the timer's start
      assert.are.equal(s.event, hl.event)                 -- the same tick
      assert.are.equal(20000, diff(s.virtual, hl.virtual)) -- after exactly its sleep
      if i > 1 then assert.are.equal(1000000, diff(lines[2 * i - 3].event, s.event)) end
    end
    -- the ticks are a minute ago, and were replayed at once
    assert.is_true(diff(lines[1].virtual, lines[1].wall) >= 59 * 1000000)
    assert.is_true(diff(lines[1].wall, lines[10].wall) < 1000000)
  end)
end)

describe("examples/pnl.lua", function()
  it("prints the same position, cash and P&L after each quote and trade", function()
    local out, err, rc = h.run_asp({ root .. "/examples/pnl.lua" })
    assert.are.equal("", err)
    assert.are.equal(0, rc)
    assert.are.same({
      "virtual         event           what                   position, cash and P&L",
      "09:30:00.000000 09:30:00.000000 quote 99.50/99.60      pos     0  cash       0.00  pnl     0.00",
      "09:30:01.000000 09:30:01.000000 buy 100 @ 99.60        pos   100  cash   -9960.00  pnl    -5.00",
      "09:30:02.000000 09:30:02.000000 quote 99.70/99.80      pos   100  cash   -9960.00  pnl    15.00",
      "09:30:03.000000 09:30:03.000000 quote 99.90/100.00     pos   100  cash   -9960.00  pnl    35.00",
      "09:30:03.000000 09:30:03.000000 buy 50 @ 100.00        pos   150  cash  -14960.00  pnl    32.50",
      "09:30:05.000000 09:30:05.000000 sell 120 @ 99.85       pos    30  cash   -2978.00  pnl    20.50",
      "09:30:05.000000 09:30:04.500000 sell 30 @ 99.95        pos     0  cash      20.50  pnl    20.50",
      "09:30:06.000000 09:30:06.000000 quote 99.40/99.50      pos     0  cash      20.50  pnl    20.50",
      "09:30:07.000000 09:30:07.000000 buy 40 @ 99.50         pos    40  cash   -3959.50  pnl    18.50",
      "09:30:08.000000 09:30:08.000000 quote 100.20/100.30    pos    40  cash   -3959.50  pnl    50.50",
      "final: position 40, cash -3959.50, P&L 50.50 at mid 100.25",
    }, h.lines(out))
    local out2 = h.run_asp({ root .. "/examples/pnl.lua" })
    assert.are.equal(out, out2)
  end)
end)

describe("the examples' arguments", function()
  it("are checked", function()
    local _, err, rc = h.run_asp({ root .. "/examples/future.lua", "soon" })
    assert.are.equal(1, rc)
    assert.matches("argument #1: a number of seconds >= 0 expected, got 'soon'", err, 1, true)
  end)
end)

describe("examples/go_live.lua", function()
  it("warms up on the whole history and arms orders only at the live moment", function()
    local lines = run_example("go_live", "3", "0.02")
    local msgs = messages(lines)
    assert.are.same({ "live: warmed up on 60 prices, orders armed" }, { msgs[1] })
    assert.are.equal(4, #msgs)
    for i = 2, 4 do
      assert.matches("^order [BS][UE][YL]L? at ", msgs[i])
      assert.is_true(diff(lines[1].virtual, lines[i].virtual) > 0) -- after the live moment, in the present
    end
  end)
end)
