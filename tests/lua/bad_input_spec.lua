-- Every asp function given the wrong kind of argument raises an error that
-- names the function and the argument; none crashes the process.
local asp = require("asp")
local h = require("helpers")
local pcall_err = h.pcall_err

describe("wrong arguments", function()
  it("to asp.time name the function and what it expected", function()
    assert.are.equal("asp.time: bad argument #1 (an ISO-8601 string, epoch seconds or a Time expected, got boolean)",
      pcall_err(asp.time, true))
    assert.are.equal("asp.time: bad argument #1 (an ISO-8601 string, epoch seconds or a Time expected, got table)",
      pcall_err(asp.time, {}))
    assert.are.equal("asp.time: invalid time nan (finite epoch seconds expected)", pcall_err(asp.time, 0 / 0))
    assert.are.equal("asp.time: invalid time inf (finite epoch seconds expected)", pcall_err(asp.time, math.huge))
  end)

  it("to Time methods called with a bad self say how to call them", function()
    local t = asp.time(0)
    assert.are.equal("Time:epoch: bad self (a Time expected, got number; call it as t:epoch())",
      pcall_err(t.epoch, 5))
    assert.are.equal("Time:ns: bad self (a Time expected, got string; call it as t:ns())",
      pcall_err(t.ns, "x"))
  end)

  it("to Time operators name the operand types", function()
    assert.matches("attempt to add a Time and a Time %(add a number of seconds%)",
      pcall_err(function() return asp.time(0) + asp.time(1) end))
    assert.matches("attempt to add a Time and a string",
      pcall_err(function() return asp.time(0) + "1" end))
    assert.matches("attempt to compare a Time with a number",
      pcall_err(function() return asp.time(0) < 1 end))
    assert.matches("attempt to subtract a Time from a number",
      pcall_err(function() return 1 - asp.time(0) end))
  end)

  it("to asp.timer name the option", function()
    assert.are.equal("asp.timer: bad argument #1 (a table of options expected, got nil)", pcall_err(asp.timer))
    assert.are.equal("asp.timer: option 'interval' must be a number of seconds > 0 (got nil)",
      pcall_err(asp.timer, { callback = print }))
    assert.are.equal("asp.timer: option 'interval' must be a number of seconds > 0 (got 0)",
      pcall_err(asp.timer, { callback = print, interval = 0 }))
    assert.are.equal("asp.timer: option 'callback' must be a function (got string)",
      pcall_err(asp.timer, { callback = "f", interval = 1 }))
    assert.are.equal("asp.timer: option 'start_time' must be a Time (got string; use asp.time(...))",
      pcall_err(asp.timer, { callback = print, interval = 1, start_time = "2025-01-01" }))
    assert.are.equal("asp.timer: unknown option 'intervall'",
      pcall_err(asp.timer, { callback = print, intervall = 1 }))
  end)

  it("to asp.process_stream name the option", function()
    assert.are.equal("asp.process_stream: bad argument #1 (a table of options expected, got nil)",
      pcall_err(asp.process_stream))
    assert.are.equal("asp.process_stream: option 'callback' must be a function (got nil)",
      pcall_err(asp.process_stream, {}))
    assert.are.equal("asp.process_stream: option 'past' must be an array of {time, value} pairs, "
      .. "an iterator function or a reader (got number)",
      pcall_err(asp.process_stream, { callback = print, past = 5 }))
    assert.are.equal("asp.process_stream: option 'future' must be a producer function(emit) or a live source (got number)",
      pcall_err(asp.process_stream, { callback = print, future = 5 }))
    assert.are.equal("asp.process_stream: option 'name' must be a string (got number)",
      pcall_err(asp.process_stream, { callback = print, name = 5 }))
    assert.are.equal("asp.process_stream: option 'on_start' must be a function (got boolean)",
      pcall_err(asp.process_stream, { callback = print, on_start = true }))
  end)

  it("to asp.run name the argument or the task", function()
    assert.are.equal("asp.run: bad argument #1 (an array of tasks and functions expected, got nil)",
      pcall_err(asp.run))
    assert.are.equal("asp.run: tasks[2] is a number (a task or a function expected)",
      pcall_err(asp.run, { function() end, 5 }))
    assert.are.equal("asp.run: bad argument #2 (a table of options expected, got number)",
      pcall_err(asp.run, {}, 5))
    assert.are.equal("asp.run: opts.start_time is not a time: nope",
      pcall_err(asp.run, {}, { start_time = "nope" }))
  end)

  it("to the functions used inside a run stop the run with the function's own message", function()
    local cases = {
      { function() asp.sleep(-1) end, "asp.sleep: bad duration %-1 %(seconds >= 0 expected%)" },
      { function() asp.sleep("x") end, "asp.sleep: bad argument #1 %(a number of seconds or a Time expected, got string%)" },
      { function() asp.call_later("x", print) end, "asp.call_later: bad argument #1 %(nil, a number of seconds or a Time expected, got string%)" },
      { function() asp.call_later(1, 5) end, "asp.call_later: bad argument #2 %(a function or a task expected, got number%)" },
      { function() asp.call_later(0 / 0, print) end, "asp.call_later: bad argument #1 %(NaN%)" },
      { function() asp.spawn(5) end, "asp.spawn: bad argument #1 %(a task or a function expected, got number%)" },
    }
    for _, c in ipairs(cases) do
      local err = pcall_err(asp.run, { c[1] }, { start_time = h.T0 })
      assert.matches("^asp%.run: error at 2025%-01%-01T00:00:00%.000000Z in task #1 of asp%.run: .*" .. c[2], err)
    end
  end)

  it("outside a run raise for what needs a run and are harmless for asp.stop", function()
    assert.matches("^asp%.sleep: not called from a task", pcall_err(asp.sleep, 1))
    assert.are.equal("asp.call_later: called outside asp.run", pcall_err(asp.call_later, 1, print))
    assert.are.equal("asp.spawn: called outside asp.run", pcall_err(asp.spawn, print))
    assert.has_no.errors(asp.stop)
  end)
end)
