-- lua-api.md, section "Running".
local asp = require("asp")
local h = require("helpers")
local pcall_err, pcall_full = h.pcall_err, h.pcall_full
local T0 = h.T0

local at = h.at

describe("asp.run(tasks)", function()
  it("starts the tasks in list order", function()
    local log = {}
    asp.run({
      function() log[#log + 1] = "f1" end,
      asp.process_stream{ on_start = function() log[#log + 1] = "s2" end, callback = print },
      asp.timer{ interval = 1, end_time = 0.5, callback = print },
      function() log[#log + 1] = "f4" end,
      asp.process_stream{ on_start = function() log[#log + 1] = "s5" end, callback = print },
    }, { start_time = T0 })
    assert.are.same({ "f1", "s2", "f4", "s5" }, log)
  end)

  it("runs functions as tasks with no arguments, which may sleep", function()
    local got
    asp.run({ function(...) local n = select("#", ...); asp.sleep(1); got = { n, at(asp.now()) } end },
      { start_time = T0 })
    assert.are.same({ 0, "1" }, got)
  end)

  it("returns once every task has finished and nothing is scheduled", function()
    local log = {}
    asp.run({
      function()
        asp.call_later(100, function() log[#log + 1] = "last at " .. at(asp.now()) end)
      end,
      asp.process_stream{ past = { { T0 + 50, "e" } }, callback = function(_, v) log[#log + 1] = v end },
    }, { start_time = T0 })
    log[#log + 1] = "returned"
    assert.are.same({ "e", "last at 100", "returned" }, log)
  end)

  it("returns at once for an empty list", function()
    assert.has_no.errors(function() asp.run({}) end)
  end)

  it("can run again after a run has finished", function()
    local n = 0
    for _ = 1, 3 do
      asp.run({ asp.process_stream{ past = { { T0, 1 }, { T0 + 1, 2 } }, callback = function() n = n + 1 end } },
        { start_time = T0 })
    end
    assert.are.equal(6, n)
  end)
end)

describe("the start of the clock", function()
  it("is opts.start_time when given", function()
    local seen
    asp.run({ function() seen = asp.now() end }, { start_time = T0 + 0.25 })
    assert.are.equal(T0 + 0.25, seen)
  end)

  it("is opts.start_time even when later than the first events, which then run at once", function()
    local log = {}
    asp.run({ asp.process_stream{
      past = { { T0 + 1, "a" }, { T0 + 20, "b" } },
      callback = function(t, v) log[#log + 1] = v .. " " .. at(t) .. " at " .. at(asp.now()) end,
    } }, { start_time = T0 + 10 })
    assert.are.same({ "a 1 at 10", "b 20 at 20" }, log)
  end)

  it("defaults to the earliest first past event of the tasks when earlier than the wall clock", function()
    local seen
    asp.run({
      function() seen = asp.now() end,
      asp.process_stream{ past = { { T0 + 30, 1 } }, callback = function() end },
      asp.process_stream{ past = { { T0 + 20, 1 }, { T0 + 5, 2 } }, callback = function() end },
      asp.process_stream{ past = { { T0 + 25, 1 } }, callback = function() end },
    })
    assert.are.equal(T0 + 20, seen)
  end)

  it("lets replayed events see now() at their own time, not in the present", function()
    local seen = {}
    local start = asp.wall() - 3600
    asp.run({ asp.process_stream{
      past = { { start, 1 }, { start + 1, 2 } },
      callback = function(t) seen[#seen + 1] = asp.now() - t end,
    } })
    assert.are.same({ 0, 0 }, seen)
  end)

  it("defaults to the wall clock when there is no past event", function()
    local before = asp.wall()
    local seen
    asp.run({ function() seen = asp.now() end })
    assert.is_true(seen >= before)
    assert.is_true(seen <= asp.wall())
  end)

  it("defaults to the wall clock when the first past events are in the future", function()
    local before = asp.wall()
    local first = before + 0.05
    local seen, delivered
    asp.run({
      function() seen = asp.now() end,
      asp.process_stream{ past = { { first, 1 } }, callback = function(t) delivered = { t, asp.now(), asp.wall() } end },
    })
    assert.is_true(seen >= before and seen < first)
    assert.are.equal(first, delivered[1])
    assert.are.equal(first, delivered[2])
    assert.is_true(delivered[3] >= first) -- waited for, not replayed early
  end)
end)

describe("asp.stop()", function()
  it("ends the run after the current item, dropping the pending ones", function()
    local log = {}
    asp.run({
      asp.process_stream{
        past = { { T0 + 1, 1 }, { T0 + 2, 2 }, { T0 + 3, 3 } },
        callback = function(_, v)
          log[#log + 1] = "event " .. v
          if v == 2 then
            asp.stop()
            log[#log + 1] = "after stop"
          end
        end,
      },
      function() asp.call_later(2, function() log[#log + 1] = "call at 2" end) end,
      function() asp.call_later(2.5, function() log[#log + 1] = "call at 2.5" end) end,
    }, { start_time = T0 })
    assert.are.same({ "event 1", "event 2", "after stop" }, log)
  end)

  it("called by a callback that then sleeps ends the run at once", function()
    local log = {}
    asp.run({
      function()
        asp.stop()
        log[#log + 1] = "stopped"
        asp.sleep(1)
        log[#log + 1] = "woke"
      end,
      function() log[#log + 1] = "second task" end,
    }, { start_time = T0 })
    assert.are.same({ "stopped" }, log)
  end)

  it("does not run a sleeping task's rest", function()
    local log = {}
    asp.run({
      function() asp.sleep(5); log[#log + 1] = "woke" end,
      function() asp.sleep(1); asp.stop() end,
    }, { start_time = T0 })
    assert.are.same({}, log)
  end)

  it("ends a run whose live producer is still sleeping", function()
    local t0 = asp.wall()
    local log = {}
    asp.run({
      asp.process_stream{
        future = function(emit) emit("x"); asp.sleep(30); emit("never") end,
        callback = function(_, v) log[#log + 1] = v end,
      },
      -- Stops once "x" was delivered (the producer then sleeps), not after a
      -- fixed 10 ms, which a slow machine (valgrind) can spend before the
      -- producer starts: the spec once got {} there.
      function()
        while log[1] == nil do asp.sleep(0.005) end
        asp.stop()
      end,
    })
    assert.are.same({ "x" }, log)
    assert.is_true(asp.wall() - t0 < 20)
  end)

  it("ends a timer that never ends", function()
    local n = 0
    asp.run({ asp.timer{ interval = 1, callback = function() n = n + 1; if n == 3 then asp.stop() end end } },
      { start_time = T0 })
    assert.are.equal(3, n)
  end)

  it("does nothing outside a run, and the next run is not affected", function()
    asp.stop()
    local n = 0
    asp.run({ asp.process_stream{ past = { { T0, 1 }, { T0 + 1, 2 } }, callback = function() n = n + 1 end } },
      { start_time = T0 })
    assert.are.equal(2, n)
  end)

  it("leaves nothing behind for the next run", function()
    local log = {}
    asp.run({
      function() asp.call_later(1, function() log[#log + 1] = "stale" end); asp.stop() end,
    }, { start_time = T0 })
    asp.run({ function() asp.sleep(2); log[#log + 1] = "fresh" end }, { start_time = T0 })
    assert.are.same({ "fresh" }, log)
  end)
end)

describe("asp.run inside a run", function()
  it("raises an error", function()
    local err
    asp.run({ function() err = pcall_err(asp.run, {}) end }, { start_time = T0 })
    assert.are.equal("asp.run: already running (asp.run cannot be called inside a run)", err)
  end)
end)

describe("an error in a callback or task", function()
  it("stops the run and makes asp.run raise with the virtual time, the stream's name and the message", function()
    local after = false
    local err = pcall_err(asp.run, {
      asp.process_stream{
        name = "quotes",
        past = { { T0 + 1.5, 1 }, { T0 + 2, 2 } },
        callback = function() error("bad quote", 0) end,
      },
      function() asp.sleep(1.75); after = true end,
    }, { start_time = T0 })
    assert.are.equal("asp.run: error at 2025-01-01T00:00:01.500000Z in stream 'quotes': bad quote", err)
    assert.is_false(after)
  end)

  it("keeps the original message with its position, and adds the Lua traceback", function()
    local err = pcall_full(asp.run, { asp.process_stream{
      name = "trades",
      past = { { T0 + 3, 1 } },
      callback = function() local x = nil; return x.field end,
    } }, { start_time = T0 })
    assert.matches("^asp%.run: error at 2025%-01%-01T00:00:03%.000000Z in stream 'trades': "
      .. "[^\n]*running_spec%.lua:%d+: attempt to index local 'x' %(a nil value%)\nstack traceback:\n", err)
    assert.matches("running_spec%.lua:?%d*: in function 'callback'", err)
  end)

  it("names the time at which a task that slept failed", function()
    local err = pcall_err(asp.run, { function() asp.sleep(3.25); error("late", 0) end }, { start_time = T0 })
    assert.are.equal("asp.run: error at 2025-01-01T00:00:03.250000Z in task #1 of asp.run: late", err)
  end)

  it("names call_later callbacks and timer callbacks", function()
    assert.are.equal("asp.run: error at 2025-01-01T00:00:02.000000Z in a call_later callback: cl",
      pcall_err(asp.run, { function() asp.call_later(2, function() error("cl", 0) end) end }, { start_time = T0 }))
    assert.are.equal("asp.run: error at 2025-01-01T00:00:01.000000Z in a timer callback: tm",
      pcall_err(asp.run, { asp.timer{ interval = 1, callback = function() error("tm", 0) end } }, { start_time = T0 }))
  end)

  it("in a producer names the stream", function()
    local err = pcall_err(asp.run, { asp.process_stream{
      name = "live", future = function() error("no feed", 0) end, callback = print,
    } })
    assert.matches(" in the producer of stream 'live': no feed$", err)
  end)

  it("in on_start and on_live_start names the stream", function()
    assert.are.equal("asp.run: error at 2025-01-01T00:00:00.000000Z in stream 's': os",
      pcall_err(asp.run, { asp.process_stream{ name = "s", callback = print,
        on_start = function() error("os", 0) end } }, { start_time = T0 }))
    assert.are.equal("asp.run: error at 2025-01-01T00:00:04.000000Z in stream 's': ols",
      pcall_err(asp.run, { asp.process_stream{ name = "s", callback = function() end, past = { { T0 + 4, 1 } },
        on_live_start = function() error("ols", 0) end } }, { start_time = T0 }))
  end)

  it("in a past iterator's first read, before the clock starts, names the stream and keeps the message", function()
    local err = pcall_full(asp.run, { asp.process_stream{
      name = "feed", past = function() error("source broke", 0) end, callback = print,
    } }, { start_time = T0 })
    assert.matches("^asp%.run: error before the start in stream 'feed': source broke\nstack traceback:\n", err)
  end)

  it("in a past iterator's later read names the virtual time and the stream", function()
    local n = 0
    local err = pcall_err(asp.run, { asp.process_stream{
      name = "feed",
      past = function()
        n = n + 1
        if n == 3 then error("source broke", 0) end
        return T0 + n, n
      end,
      callback = function() end,
    } }, { start_time = T0 })
    assert.are.equal("asp.run: error at 2025-01-01T00:00:02.000000Z in stream 'feed': source broke", err)
  end)

  it("is not lost when the error value is not a string", function()
    local err = pcall_err(asp.run, { function() error(setmetatable({}, { __tostring = function() return "custom" end })) end },
      { start_time = T0 })
    assert.are.equal("asp.run: error at 2025-01-01T00:00:00.000000Z in task #1 of asp.run: custom", err)
  end)

  it("leaves the engine ready for the next run", function()
    pcall(asp.run, { function() asp.call_later(1, print); error("x") end }, { start_time = T0 })
    local log = {}
    asp.run({ asp.process_stream{ past = { { T0, "ok" } }, callback = function(_, v) log[#log + 1] = v end } },
      { start_time = T0 })
    assert.are.same({ "ok" }, log)
  end)
end)

describe("bad arguments to asp.run", function()
  it("raise clear errors", function()
    assert.are.equal("asp.run: bad argument #1 (an array of tasks and functions expected, got nil)",
      pcall_err(asp.run))
    assert.are.equal("asp.run: bad argument #1 (an array of tasks and functions expected, got a single task: wrap it in { })",
      pcall_err(asp.run, asp.process_stream{ callback = print }))
    assert.are.equal("asp.run: tasks[2] is a number (a task or a function expected)",
      pcall_err(asp.run, { print, 3 }))
    assert.are.equal("asp.run: bad argument #2 (a table of options expected, got string)",
      pcall_err(asp.run, {}, "now"))
    assert.matches("^asp%.run: opts%.start_time is not a time",
      pcall_err(asp.run, {}, { start_time = "tomorrow" }))
  end)

  it("refuse a task that was already run", function()
    local st = asp.process_stream{ callback = print }
    asp.run({ st })
    assert.matches("was already started (a task runs once; make a new one)", pcall_err(asp.run, { st }), 1, true)
  end)
end)

describe("after a run", function()
  it("a handle from a stopped run cancels nothing in the next run, and no global is left behind", function()
    local stale
    asp.run({ function()
      stale = asp.call_later(10, function() end)
      asp.stop()
    end }, { start_time = T0 })
    local ran = false
    asp.run({ function()
      -- The next run reuses the scheduler's ids: the stale handle's id may
      -- now name this call.
      asp.call_later(10, function() ran = true end)
      assert.is_false(stale:cancel())
    end }, { start_time = T0 })
    assert.is_true(ran)
    assert.is_nil(rawget(_G, "kind"))
    assert.is_nil(rawget(_G, "payload"))
  end)
end)
