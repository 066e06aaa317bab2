-- lua-api.md v2, section "Running": the run's result table, end_time,
-- live = false, and the live moment (asp.is_live, opts.on_live).
local asp = require("asp")
local h = require("helpers")
local T0 = h.T0
local at = h.at

-- n events a second apart from T0 + 1.
local function history(n, tag)
  local p = {}
  for i = 1, n do p[i] = { T0 + i, (tag or "") .. i } end
  return p
end

describe("asp.run's result", function()
  it("is a table of last_time, items, events, dropped and stopped", function()
    local r = asp.run({ asp.process_stream{ past = history(3), callback = function() end } }, { start_time = T0 })
    assert.are.equal(tostring(T0 + 3), tostring(r.last_time))
    assert.are.equal(3, r.events)
    assert.are.equal(4, r.items)   -- the stream's start and its three events
    assert.are.equal(0, r.dropped)
    assert.is_false(r.stopped)
  end)

  it("says stopped and counts what asp.stop() left", function()
    local r = asp.run({ function()
      asp.call_later(10, function() end)
      asp.call_later(20, function() end)
      asp.sleep(1)
      asp.stop()
    end }, { start_time = T0 })
    assert.is_true(r.stopped)
    assert.are.equal(2, r.dropped)
    assert.are.equal(tostring(T0 + 1), tostring(r.last_time))
  end)
end)

describe("opts.end_time", function()
  it("never runs items due after it, counts them, and ends the run there", function()
    local log = {}
    local r = asp.run({
      asp.process_stream{ past = history(10), callback = function(t) log[#log + 1] = at(t) end },
      asp.timer{ interval = 4, start_time = T0, callback = function(t) log[#log + 1] = "tick" .. at(t) end },
    }, { start_time = T0, end_time = 5 })
    assert.are.same({ "1", "2", "3", "4", "tick4", "5" }, log) -- at equal times, stream events first
    assert.are.equal(tostring(T0 + 5), tostring(r.last_time))
    assert.are.equal(2, r.dropped) -- the stream's next event and the next tick
  end)

  it("takes a Time, and an end before the start is an error", function()
    local n = 0
    asp.run({ asp.process_stream{ past = history(10), callback = function() n = n + 1 end } },
      { start_time = T0, end_time = T0 + 2.5 })
    assert.are.equal(2, n)
    assert.matches("opts.end_time 2024%-12%-31T23:59:59.000000Z is before the start",
      h.pcall_err(asp.run, { function() end }, { start_time = T0, end_time = T0 - 1 }))
    assert.matches("opts.end_time must be a Time or a number", h.pcall_err(asp.run, { function() end }, { end_time = "x" }))
    assert.matches("asp.run: unknown option endtime", h.pcall_err(asp.run, { function() end }, { endtime = 1 }))
  end)

  it("bounds a live run: live sources close at the end, in real time", function()
    local lines = {}
    local wall0 = asp.wall()
    local r = asp.run({ asp.process_stream{
      future = asp.exec{ "sh", "-c", "echo a; sleep 30; echo b" },
      callback = function(_, v) lines[#lines + 1] = v end } }, { end_time = 0.3 })
    local took = asp.wall() - wall0
    assert.same({ "a" }, lines)
    assert.is_true(took >= 0.29 and took < 10, "took " .. took)
    assert.is_false(r.stopped)
  end)
end)

describe("opts.live = false (a backtest)", function()
  it("ends after the last past event: endless timers and later calls are counted, not run", function()
    local log = {}
    local wall0 = asp.wall()
    local r = asp.run({
      asp.process_stream{ past = history(5), callback = function(t, v)
        log[#log + 1] = v
        if v == "5" then asp.call_later(100, function() log[#log + 1] = "never" end) end
      end },
      asp.timer{ interval = 2, start_time = T0, callback = function(t) log[#log + 1] = "tick" .. at(t) end },
    }, { live = false })
    assert.are.same({ "1", "2", "tick2", "3", "4", "tick4", "5" }, log) -- events first at equal times
    assert.are.equal(tostring(T0 + 5), tostring(r.last_time))
    assert.are.equal(2, r.dropped) -- the next tick and the call
    assert.is_true(asp.wall() - wall0 < 5)
    assert.are.equal(2, asp.stats().dropped)
  end)

  it("never starts a future and never waits for the wall clock", function()
    local log = {}
    local wall0 = asp.wall()
    local r = asp.run({
      asp.process_stream{ past = { { asp.now() - 2, "p" } }, future = function(emit)
        log[#log + 1] = "producer started"
        emit("live")
      end, callback = function(_, v) log[#log + 1] = v end },
      asp.process_stream{ past = { { asp.now() - 1, "q" } }, callback = function(_, v) log[#log + 1] = v end,
        future = asp.exec{ "sh", "-c", "echo x; sleep 30" } },
      function() asp.sleep(3600) log[#log + 1] = "an hour later" end,
    }, { live = false })
    assert.are.same({ "p", "q" }, log)
    assert.is_true(asp.wall() - wall0 < 5)
    assert.is_false(asp.is_live())
    assert.are.equal(1, r.dropped) -- the sleeper's wake-up
  end)
end)

describe("the live moment", function()
  it("asp.is_live() is false in the replay, and on_live runs once, before anything due later", function()
    local log = {}
    local function rec(what) log[#log + 1] = what .. (asp.is_live() and "+" or "-") end
    local wall0 = asp.now()
    local r = asp.run({
      asp.process_stream{ name = "q", past = { { wall0 - 3, "h1" }, { wall0 - 2, "h2" }, { wall0 - 1, "h3" } },
        future = function(emit)
          rec("producer")
          asp.sleep(0.05)
          emit("l1")
          asp.sleep(0.05)
          emit("l2")
        end,
        callback = function(_, v) rec(v) end,
        on_live_start = function() rec("on_live_start") end },
      function() asp.call_later(-10, function() rec("late call") end) end,
    }, { on_live = function() rec("on_live") end })
    -- h1 is due at the start, before the function task starts and queues the late call;
    -- the producer's start is the first live item: on_live runs just before it
    assert.are.same({ "h1-", "late call-", "h2-", "h3-", "on_live_start-", "on_live+", "producer+", "l1+", "l2+" },
      log)
    assert.is_false(asp.is_live()) -- outside a run
    assert.is_false(r.stopped)
  end)

  it("comes before the first line of a real live feed (a process), after every replayed item", function()
    local log, live_at = {}, nil
    local past = {}
    local now = asp.now()
    for i = 1, 1000 do past[i] = { now - 10 + i / 1000, i } end
    asp.run({ asp.process_stream{ past = past, future = asp.exec{ "sh", "-c", "sleep 0.1; echo a; echo b" },
      callback = function(_, v) log[#log + 1] = { v, asp.is_live() } end } },
      { on_live = function() live_at = #log end })
    assert.are.equal(1000, live_at)
    assert.are.equal(1002, #log)
    for i = 1, 1000 do assert.is_false(log[i][2]) end
    assert.same({ "a", true }, log[1001])
    assert.same({ "b", true }, log[1002])
  end)

  it("comes before the first line of a real TCP feed, after the whole history", function()
    local su = require("sources_util")
    local log, live_at = {}, nil
    local now = asp.now()
    local past = {}
    for i = 1, 500 do past[i] = { now - 5 + i / 1000, "h" .. i } end
    local feed = asp.listen{ port = 0 }
    asp.run({
      asp.process_stream{ name = "quotes", past = past, future = feed, callback = function(_, v)
        log[#log + 1] = { v, asp.is_live() }
        if v == "l2" then asp.stop() end
      end },
    }, { on_live = function()
      live_at = #log
      -- a client connects only now, in the present: its lines are live
      asp.call_later(0.05, function() su.tcp_send(feed:port(), "l1\nl2\n") end)
    end })
    assert.are.equal(500, live_at)
    assert.are.equal(502, #log)
    for i = 1, 500 do assert.is_false(log[i][2], log[i][1]) end
    assert.same({ "l1", true }, log[501])
    assert.same({ "l2", true }, log[502])
  end)

  it("is not reached by a run that ends without waiting, and a bad on_live is an error", function()
    local called = false
    asp.run({ asp.process_stream{ past = history(3), callback = function() end } },
      { start_time = T0, on_live = function() called = true end })
    assert.is_false(called)
    assert.matches("opts.on_live must be a function", h.pcall_err(asp.run, { function() end }, { on_live = 1 }))
    assert.matches("opts.live must be a boolean", h.pcall_err(asp.run, { function() end }, { live = "no" }))
  end)
end)
