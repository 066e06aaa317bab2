-- A heartbeat watchdog fed by a fake live stream (asp.test.stream): the
-- timeouts fire at exact virtual times, with no socket and no waiting.
local asp = require("asp")
local watchdog = require("watchdog")

describe("the watchdog", function()
  it("fires once per silence longer than its timeout, timeout seconds after the last beat", function()
    local fired = asp.test.recorder()
    local w
    local run = asp.test.run(function() -- returns nothing: the run's table comes first
      w = watchdog{ timeout = 3, on_timeout = function(since) fired(since - asp.test.EPOCH) end }
      asp.spawn(asp.process_stream{
        future = asp.test.stream{ { 0, "hb" }, { 1, "hb" }, { 2, "hb" }, { 10, "hb" }, { 12, "hb" } },
        callback = function() w.beat() end,
      })
    end, { end_time = 100 })
    assert.are.same({ 5, 15 }, fired:times())   -- 2 + 3, and 12 + 3
    assert.are.same({ 2, 12 }, fired:values())  -- silent since
    assert.are.equal(2, w.timeouts)
    assert.are.equal(0, run.dropped)
  end)
end)
