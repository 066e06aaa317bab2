-- Issue #11 "No silent loss": each case ended a run quietly with wrong or
-- missing results; each is now an error (or handled), see docs/errors.md.
local asp = require("asp")
local helpers = require("helpers")
local pcall_err, T0 = helpers.pcall_err, helpers.T0

local function events(n)
  local t = {}
  for i = 1, n do t[i] = { T0 + i, i } end
  return t
end

describe("a callback's own coroutine.yield", function()
  for _, v in ipairs({ 0, -1, -2, -3, -4, 5, "x", false }) do
    it("of " .. tostring(v) .. " is the documented error, never a status of the run", function()
      local n = 0
      local err = pcall_err(asp.run, { asp.process_stream {
        past = events(1000),
        callback = function()
          n = n + 1
          if n == 10 then coroutine.yield(v) end
        end,
      } }, { start_time = T0 })
      assert.matches("a task called coroutine.yield: tasks suspend with asp.sleep", err, 1, true)
      assert.are.equal(10, n)
    end)
  end

  it("of a number after the callback slept is the same error", function()
    local err = pcall_err(asp.run, { function()
      asp.sleep(1)
      coroutine.yield(-1)
    end }, { start_time = T0 })
    assert.matches("a task called coroutine.yield", err, 1, true)
  end)

  it("ends asp-lua with status 1, not 0", function()
    local script = helpers.temp_script([[
      local asp = require("asp")
      local t0 = asp.time("2025-01-01T00:00:00Z")
      local ev = {}
      for i = 1, 1000 do ev[i] = { t0 + i, i } end
      local n = 0
      asp.run({ asp.process_stream { past = ev, callback = function()
        n = n + 1
        if n == 10 then coroutine.yield(-2) end
      end } })
      print("finished", n)
    ]])
    local out, err, rc = helpers.run_asp({ script })
    helpers.cleanup()
    assert.are.equal(1, rc)
    assert.are.equal("", out)
    assert.matches("a task called coroutine.yield", err, 1, true)
    assert.not_matches("interrupted", err, 1, true)
  end)
end)
