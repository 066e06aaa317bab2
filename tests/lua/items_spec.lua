-- The item-kind registry (lua/asp/items.lua): one declaration per kind,
-- read by the dispatcher, asp.debug and asp.stats().
local asp = require("asp")
local items = require("asp.items")
local h = require("helpers")

describe("the kinds of item", function()
  it("are all declared, each with a runner and a description", function()
    for _, k in ipairs({ "stream", "wake", "tick", "call", "start", "task", "live_fail" }) do
      assert.is_table(items.kinds[k], k)
      assert.are.equal(items.kinds[k].run, items.run[k])
    end
  end)

  it("refuse a second declaration of a kind and a declaration without describe", function()
    assert.matches("kind 'call' is declared twice",
      h.pcall_err(items.declare, "call", { run = function() end, describe = function() end }))
    assert.matches("{run = fn, describe = fn} expected", h.pcall_err(items.declare, "x", { run = function() end }))
  end)

  it("are counted by kind in asp.stats().queued during a run", function()
    local seen
    local T0 = h.T0
    asp.run({
      asp.process_stream{ past = { { T0, 1 } }, callback = function()
        asp.call_later(10, function() end)
        asp.call_later(11, function() end)
        seen = asp.stats().queued
      end },
      asp.timer{ interval = 3, start_time = T0, end_time = 9, callback = function() end },
    })
    assert.same({ call = 2, start = 1 }, seen)
    assert.same({}, asp.stats().queued) -- no run: nothing queued
  end)

  it("describe themselves for the REPL with where their function is defined", function()
    local text, where = items.describe("call", { fn = print })
    assert.are.equal("call_later callback", text)
    assert.are.equal(print, where)
    assert.are.equal("item of kind nope", (items.describe("nope", {})))
  end)
end)
