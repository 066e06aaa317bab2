-- lua-api.md, section "Scheduling".
local asp = require("asp")
local h = require("helpers")
local pcall_err = h.pcall_err
local T0 = h.T0

local at = h.at

describe("asp.call_later(when, fn, ...)", function()
  it("with a number runs fn(due_time) that many seconds after now", function()
    local log = {}
    asp.run({
      function()
        asp.sleep(1)
        asp.call_later(2.5, function(due)
          log[#log + 1] = { due, asp.now() }
        end)
      end,
    }, { start_time = T0 })
    assert.are.same({ { T0 + 3.5, T0 + 3.5 } }, log)
  end)

  it("with a Time runs fn at that time", function()
    local log = {}
    asp.run({
      function()
        asp.call_later(T0 + 7, function(due) log[#log + 1] = { due, asp.now() } end)
      end,
    }, { start_time = T0 })
    assert.are.same({ { T0 + 7, T0 + 7 } }, log)
  end)

  it("with nil runs fn now, after the items already due now", function()
    local log = {}
    asp.run({
      function()
        asp.call_later(nil, function(due) log[#log + 1] = "later " .. at(due) .. " " .. at(asp.now()) end)
        log[#log + 1] = "first"
      end,
      function() log[#log + 1] = "second task" end,
    }, { start_time = T0 })
    assert.are.same({ "first", "second task", "later 0 0" }, log)
  end)

  it("passes the due time it was scheduled for even when that was already past", function()
    local got
    asp.run({
      function()
        asp.sleep(10)
        asp.call_later(T0 + 3, function(due) got = { due, asp.now() } end)
      end,
    }, { start_time = T0 })
    assert.are.same({ T0 + 3, T0 + 10 }, got)
  end)

  it("passes a negative delay's due time and runs it now", function()
    local got
    asp.run({
      function() asp.call_later(-2, function(due) got = { due, asp.now() } end) end,
    }, { start_time = T0 })
    assert.are.same({ T0 - 2, T0 }, got)
  end)

  it("passes the extra arguments after the due time, nils included", function()
    local got
    asp.run({
      function()
        asp.call_later(1, function(...) got = { n = select("#", ...), ... } end, "a", nil, 3, nil)
      end,
    }, { start_time = T0 })
    assert.are.same({ n = 5, T0 + 1, "a", nil, 3, nil }, got)
  end)

  it("passes exactly as many extra arguments as given, from none to three (nils counted)", function()
    local got = {}
    local function record(...) got[#got + 1] = { n = select("#", ...), select(2, ...) } end
    asp.run({
      function()
        asp.call_later(1, record)
        asp.call_later(1, record, nil)
        asp.call_later(1, record, "x", nil)
        asp.call_later(1, record, nil, "y", nil)
      end,
    }, { start_time = T0 })
    assert.are.same({ { n = 1 }, { n = 2 }, { n = 3, "x" }, { n = 4, nil, "y" } }, got)
  end)

  it("runs fn in a task of its own that may sleep without holding up others", function()
    local log = {}
    asp.run({
      function()
        asp.call_later(1, function()
          log[#log + 1] = "sleeper starts at " .. at(asp.now())
          asp.sleep(5)
          log[#log + 1] = "sleeper wakes at " .. at(asp.now())
        end)
        asp.call_later(2, function() log[#log + 1] = "other at " .. at(asp.now()) end)
      end,
    }, { start_time = T0 })
    assert.are.same({ "sleeper starts at 1", "other at 2", "sleeper wakes at 6" }, log)
  end)

  it("given a task starts it at that time", function()
    local log = {}
    local st = asp.process_stream{
      past = { { T0 + 1, "x" }, { T0 + 8, "y" } },
      on_start = function() log[#log + 1] = "start at " .. at(asp.now()) end,
      callback = function(t, v) log[#log + 1] = v .. " " .. at(t) .. " at " .. at(asp.now()) end,
    }
    asp.run({ function() asp.call_later(5, st) end }, { start_time = T0 })
    assert.are.same({ "start at 5", "x 1 at 5", "y 8 at 8" }, log)
  end)

  it("given a timer starts it at that time, its ticks counted from then", function()
    local ticks = {}
    local tm = asp.timer{ interval = 2, end_time = 4, callback = function(t) ticks[#ticks + 1] = at(t) end }
    asp.run({ function() asp.call_later(T0 + 10, tm) end }, { start_time = T0 })
    assert.are.same({ "12", "14" }, ticks)
  end)

  it("raises for a bad when or fn, and outside a run", function()
    local e1, e2
    asp.run({
      function()
        e1 = pcall_err(asp.call_later, "soon", print)
        e2 = pcall_err(asp.call_later, 1, 42)
      end,
    }, { start_time = T0 })
    assert.are.equal("asp.call_later: bad argument #1 (nil, a number of seconds or a Time expected, got string)", e1)
    assert.are.equal("asp.call_later: bad argument #2 (a function or a task expected, got number)", e2)
    assert.are.equal("asp.call_later: called outside asp.run", pcall_err(asp.call_later, 1, print))
  end)
end)

describe("handle:cancel()", function()
  it("returns true when the call had not run yet, and it then never runs", function()
    local ran, result = false, nil
    asp.run({
      function()
        local hd = asp.call_later(5, function() ran = true end)
        asp.sleep(1)
        result = hd:cancel()
      end,
    }, { start_time = T0 })
    assert.is_true(result)
    assert.is_false(ran)
  end)

  it("returns false after the call has run", function()
    local runs, result = 0, nil
    asp.run({
      function()
        local hd = asp.call_later(1, function() runs = runs + 1 end)
        asp.sleep(2)
        result = hd:cancel()
      end,
    }, { start_time = T0 })
    assert.is_false(result)
    assert.are.equal(1, runs)
  end)

  it("returns false the second time", function()
    local r1, r2
    asp.run({
      function()
        local hd = asp.call_later(1, print)
        r1, r2 = hd:cancel(), hd:cancel()
      end,
    }, { start_time = T0 })
    assert.is_true(r1)
    assert.is_false(r2)
  end)

  it("cancels only its own call, even when the item's slot is reused", function()
    local log = {}
    asp.run({
      function()
        local a = asp.call_later(1, function() log[#log + 1] = "a" end)
        assert(a:cancel())
        asp.call_later(1, function() log[#log + 1] = "b" end)
        log[#log + 1] = tostring(a:cancel())
      end,
    }, { start_time = T0 })
    assert.are.same({ "false", "b" }, log)
  end)

  it("of a call due now, from an item running before it, prevents it", function()
    local log = {}
    local hd
    asp.run({
      function() hd = asp.call_later(nil, function() log[#log + 1] = "ran" end) end,
      function() log[#log + 1] = tostring(hd:cancel()) end,
    }, { start_time = T0 })
    assert.are.same({ "true" }, log)
  end)

  it("of a task prevents its start", function()
    local started = false
    local st = asp.process_stream{ on_start = function() started = true end, callback = print }
    asp.run({ function() asp.call_later(1, st):cancel() end }, { start_time = T0 })
    assert.is_false(started)
  end)
end)

describe("asp.spawn(task)", function()
  it("starts a task now, after the items already due now", function()
    local log = {}
    local st = asp.process_stream{
      past = { { T0 - 5, "old" }, { T0 + 1, "new" } },
      callback = function(t, v) log[#log + 1] = v .. " " .. at(t) .. " at " .. at(asp.now()) end,
    }
    asp.run({
      function()
        asp.sleep(0.5)
        asp.spawn(st)
        log[#log + 1] = "spawned"
      end,
    }, { start_time = T0 })
    assert.are.same({ "spawned", "old -5 at 0.5", "new 1 at 1" }, log)
  end)

  it("starts a function as call_later(nil, fn) does, passing it the due time", function()
    local got
    asp.run({ function() asp.spawn(function(...) got = { select("#", ...), asp.now() } end) end },
      { start_time = T0 })
    assert.are.same({ 1, T0 }, got)
  end)

  it("raises for something that is not a task, and outside a run", function()
    local e
    asp.run({ function() e = pcall_err(asp.spawn, 3) end }, { start_time = T0 })
    assert.are.equal("asp.spawn: bad argument #1 (a task or a function expected, got number)", e)
    assert.are.equal("asp.spawn: called outside asp.run", pcall_err(asp.spawn, print))
  end)

  it("refuses to start the same task twice", function()
    local st = asp.process_stream{ callback = print }
    local e = pcall_err(asp.run, { st, function() asp.spawn(st) end }, { start_time = T0 })
    assert.matches("was already started (a task runs once; make a new one)", e, 1, true)
  end)
end)

describe("asp.timer{...}", function()
  it("calls back at start_time + k*interval for k = 1, 2, ... while tick_time <= end_time", function()
    local ticks = {}
    asp.run({
      asp.timer{
        interval = 1.5, start_time = T0 + 10, end_time = T0 + 16,
        callback = function(t) ticks[#ticks + 1] = at(t) .. "/" .. at(asp.now()) end,
      },
    }, { start_time = T0 })
    assert.are.same({ "11.5/11.5", "13/13", "14.5/14.5", "16/16" }, ticks)
  end)

  it("takes end_time as a number of seconds after start_time", function()
    local ticks = {}
    asp.run({
      asp.timer{ interval = 1, start_time = T0 + 100, end_time = 3,
        callback = function(t) ticks[#ticks + 1] = at(t) end },
    }, { start_time = T0 })
    assert.are.same({ "101", "102", "103" }, ticks)
  end)

  it("starts counting from now when there is no start_time", function()
    local ticks = {}
    asp.run({
      function() asp.sleep(7) end,
      function()
        asp.sleep(2)
        asp.spawn(asp.timer{ interval = 1, end_time = 2, callback = function(t) ticks[#ticks + 1] = at(t) end })
      end,
    }, { start_time = T0 })
    assert.are.same({ "3", "4" }, ticks)
  end)

  it("never ends without end_time, until asp.stop()", function()
    local n = 0
    asp.run({
      asp.timer{ interval = 60, start_time = T0, callback = function()
        n = n + 1
        if n == 1000 then asp.stop() end
      end },
    }, { start_time = T0 })
    assert.are.equal(1000, n)
  end)

  it("does not drift: tick k is due at exactly start + k*interval", function()
    local last, count = nil, 0
    asp.run({
      asp.timer{ interval = 0.1, start_time = T0, end_time = 1000,
        callback = function(t) last = t; count = count + 1 end },
    }, { start_time = T0 })
    assert.are.equal(10000, count)
    assert.is_true(last:ns() == T0:ns() + 1000000000000LL)
    -- a drifting timer (adding 0.1 10000 times) would be off by microseconds
  end)

  it("runs each tick's callback in its own task, so one that sleeps delays no tick", function()
    local log = {}
    asp.run({
      asp.timer{ interval = 1, start_time = T0, end_time = 3, callback = function(t)
        log[#log + 1] = "tick " .. at(t) .. " at " .. at(asp.now())
        asp.sleep(2.5)
        log[#log + 1] = "done " .. at(t) .. " at " .. at(asp.now())
      end },
    }, { start_time = T0 })
    assert.are.same({
      "tick 1 at 1", "tick 2 at 2", "tick 3 at 3",
      "done 1 at 3.5", "done 2 at 4.5", "done 3 at 5.5",
    }, log)
  end)

  it("delivers ticks due before the clock at once, each with its own tick_time", function()
    local log = {}
    asp.run({
      function() asp.sleep(10) end,
      asp.timer{ interval = 2, start_time = T0 - 5, end_time = T0 + 1,
        callback = function(t) log[#log + 1] = at(t) .. " at " .. at(asp.now()) end },
    }, { start_time = T0 })
    assert.are.same({ "-3 at 0", "-1 at 0", "1 at 1" }, log)
  end)

  it("raises for bad options", function()
    assert.are.equal("asp.timer: option 'interval' must be a number of seconds > 0 (got 0)",
      pcall_err(asp.timer, { interval = 0, callback = print }))
    assert.are.equal("asp.timer: option 'interval' must be a number of seconds > 0 (got nil)",
      pcall_err(asp.timer, { callback = print }))
    assert.are.equal("asp.timer: option 'callback' must be a function (got nil)",
      pcall_err(asp.timer, { interval = 1 }))
    assert.are.equal("asp.timer: unknown option 'intervl'",
      pcall_err(asp.timer, { intervl = 1, interval = 1, callback = print }))
    assert.matches("^asp%.timer: option 'start_time' must be a Time",
      pcall_err(asp.timer, { interval = 1, callback = print, start_time = "2025-01-01" }))
    assert.matches("^asp%.timer: option 'end_time' must be a Time or a number",
      pcall_err(asp.timer, { interval = 1, callback = print, end_time = "x" }))
  end)
end)
