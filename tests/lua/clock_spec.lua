-- lua-api.md, section "Clock".
local asp = require("asp")
local h = require("helpers")
local pcall_err = h.pcall_err
local T = asp.time
local T0 = h.T0

describe("asp.now()", function()
  it("is the wall clock outside asp.run", function()
    local w1 = asp.wall()
    local n = asp.now()
    local w2 = asp.wall()
    assert.is_true(asp.is_time(n))
    assert.is_true(w1 <= n and n <= w2)
  end)

  it("is the virtual clock inside asp.run, at the start time and then at each event's time", function()
    local seen = {}
    asp.run({
      function() seen[#seen + 1] = asp.now() end,
      asp.process_stream{
        past = { { T0 + 5, "a" }, { T0 + 7.5, "b" } },
        callback = function() seen[#seen + 1] = asp.now() end,
      },
    }, { start_time = T0 })
    assert.are.same({ T0, T0 + 5, T0 + 7.5 }, seen)
  end)

  it("is the wall clock again once the run has returned", function()
    asp.run({ function() end }, { start_time = T0 })
    local n = asp.now()
    assert.is_true(n > T0 + 3600)
    assert.is_true(n <= asp.wall())
  end)
end)

describe("asp.wall()", function()
  it("is the wall clock, also inside a replayed run", function()
    local before = asp.wall()
    local inside
    asp.run({ function() inside = asp.wall() end }, { start_time = T0 })
    local after = asp.wall()
    assert.is_true(before <= inside and inside <= after)
    assert.is_true(inside ~= T0)
  end)
end)

describe("asp.sleep(d)", function()
  it("with seconds wakes the task at now + d, exactly, during replay", function()
    local seen = {}
    asp.run({
      function()
        seen[#seen + 1] = asp.now()
        asp.sleep(2.5)
        seen[#seen + 1] = asp.now()
        asp.sleep(1e-9)
        seen[#seen + 1] = asp.now()
      end,
    }, { start_time = T0 })
    assert.are.same({ T0, T0 + 2.5, T0 + 2.500000001 }, seen)
    assert.are.equal(2500000001, tonumber(seen[3]:ns() - T0:ns()))
  end)

  it("with a Time wakes the task at that time, exactly", function()
    local woke
    asp.run({ function() asp.sleep(T0 + 42.123456789); woke = asp.now() end }, { start_time = T0 })
    assert.is_true(woke:ns() == (T0 + 42.123456789):ns())
  end)

  it("replays without waiting in real time", function()
    local w = asp.wall()
    asp.run({ function() asp.sleep(3600) end }, { start_time = T0 })
    assert.is_true(asp.wall() - w < 1800) -- an hour of virtual time, not of real time
  end)

  it("waits in real time when the wake time is in the future, never waking early", function()
    local due, woke_wall, woke_now
    asp.run({
      function()
        due = asp.now() + 0.03
        asp.sleep(0.03)
        woke_wall, woke_now = asp.wall(), asp.now()
      end,
    })
    assert.is_true(woke_wall >= due)
    assert.are.equal(due, woke_now)
  end)

  it("with 0 still yields: the task resumes after the items already due now", function()
    local log = {}
    asp.run({
      function()
        log[#log + 1] = "a1"
        asp.sleep(0)
        log[#log + 1] = "a2"
      end,
      function() log[#log + 1] = "b" end,
      function() log[#log + 1] = "c" end,
    }, { start_time = T0 })
    assert.are.same({ "a1", "b", "c", "a2" }, log)
  end)

  it("with a Time in the past still yields, resumes FIFO and keeps the clock", function()
    local log = {}
    asp.run({
      function()
        asp.sleep(10)
        log[#log + 1] = "a sleeps at " .. tostring(asp.now() - T0)
        asp.sleep(T0)
        log[#log + 1] = "a resumes at " .. tostring(asp.now() - T0)
      end,
      function()
        asp.sleep(10)
        log[#log + 1] = "b at " .. tostring(asp.now() - T0)
      end,
    }, { start_time = T0 })
    assert.are.same({ "a sleeps at 10", "b at 10", "a resumes at 10" }, log)
  end)

  it("lets two tasks interleave by their wake times", function()
    local log = {}
    local function worker(name, d)
      return function()
        for _ = 1, 3 do
          asp.sleep(d)
          log[#log + 1] = name .. "@" .. tostring(asp.now() - T0)
        end
      end
    end
    asp.run({ worker("a", 2), worker("b", 3) }, { start_time = T0 })
    -- At 6 both are due: b queued its wake-up (at 3) before a did (at 4).
    assert.are.same({ "a@2", "b@3", "a@4", "b@6", "a@6", "b@9" }, log)
  end)

  it("raises for a negative number", function()
    local err
    asp.run({ function() err = pcall_err(asp.sleep, -1) end }, { start_time = T0 })
    assert.are.equal("asp.sleep: bad duration -1 (seconds >= 0 expected)", err)
  end)

  it("raises for NaN and for a non-number, non-Time", function()
    local e1, e2
    asp.run({
      function()
        e1 = pcall_err(asp.sleep, 0 / 0)
        e2 = pcall_err(asp.sleep, "1")
      end,
    }, { start_time = T0 })
    assert.matches("^asp%.sleep: bad duration", e1)
    assert.are.equal("asp.sleep: bad argument #1 (a number of seconds or a Time expected, got string)", e2)
  end)

  it("raises outside a task", function()
    assert.are.equal(
      "asp.sleep: not called from a task: only callbacks and tasks run by asp.run can sleep",
      pcall_err(asp.sleep, 1))
  end)

  it("raises inside a coroutine of the user's own, even during a run", function()
    local err
    asp.run({
      function()
        local co = coroutine.create(function() asp.sleep(1) end)
        local ok, e = coroutine.resume(co)
        assert(not ok)
        err = h.strip_pos(e)
      end,
    }, { start_time = T0 })
    assert.are.equal(
      "asp.sleep: not called from a task: only callbacks and tasks run by asp.run can sleep", err)
  end)

  it("inside a table.sort comparator fails the run with a clear error", function()
    local err = pcall_err(asp.run, {
      function()
        table.sort({ 3, 1, 2 }, function(a, b) asp.sleep(0); return a < b end)
      end,
    }, { start_time = T0 })
    assert.matches("asp.sleep: cannot suspend here: the task reached this call through a C function", err, 1, true)
    assert.matches("table.sort comparator", err, 1, true)
    assert.matches("call asp.sleep from the task's own Lua code", err, 1, true)
  end)

  it("a failed sleep inside table.sort can be caught, and the task can still sleep after", function()
    local log = {}
    asp.run({
      function()
        local ok = pcall(table.sort, { 3, 1, 2 }, function(a, b) asp.sleep(0); return a < b end)
        log[#log + 1] = tostring(ok)
        asp.sleep(1)
        log[#log + 1] = tostring(asp.now() - T0)
      end,
      function() asp.sleep(0.5); log[#log + 1] = "other" end,
    }, { start_time = T0 })
    assert.are.same({ "false", "other", "1" }, log)
  end)
end)

describe("huge durations", function()
  it("saturate instead of wrapping into the past: sleep(1e300) never wakes before the run is stopped", function()
    local woke = false
    asp.run({
      function() asp.sleep(1e300); woke = true end,
      function() asp.sleep(0.01); asp.stop() end,
    }, { start_time = T0 })
    assert.is_false(woke)
  end)

  it("do not saturate Time arithmetic: a Time out of range is an error (issue #11)", function()
    assert.matches("out of the range of a Time", pcall_err(function() return asp.time(0) + 1e300 end), 1, true)
    assert.matches("out of the range of a Time", pcall_err(function() return asp.time(0) - 1e300 end), 1, true)
  end)
end)

describe("coroutines inside tasks", function()
  it("a raw coroutine.yield in a task stops the run with an error that points to asp.sleep", function()
    local err = pcall_err(asp.run, { function() coroutine.yield() end }, { start_time = T0 })
    assert.matches("a task called coroutine.yield: tasks suspend with asp.sleep", err, 1, true)
  end)

  it("coroutines of the user's own work inside a task when they do not sleep", function()
    local got
    asp.run({ function()
      local gen = coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end)
      got = { gen(), gen(), gen() }
      asp.sleep(1)
    end }, { start_time = T0 })
    assert.are.same({ 1, 2, 3 }, got)
  end)
end)
