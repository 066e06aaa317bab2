-- Time travel over asp.csv files (issue #10): a backtest over a plain file,
-- a gzip file and a follow = true file, driven through asp.debug in the
-- REPL (asp-lua -i, commands on standard input). After every step, the
-- counts and the sum equal those of a straight run up to the same time.
local h = require("helpers")

package.path = "tests/repl/?.lua;" .. package.path
local data = require("csv_data")
local iso = data.iso

local expected = data.expected

describe("time travel over asp.csv files", function()
  local dir, a, b, f, files

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir) == 0)
    local paths
    paths, files = data.make(dir)
    a, b, f = paths[1], paths[2], paths[3]
  end)

  teardown(function()
    os.execute("rm -rf " .. dir)
  end)

  local function session(lines)
    local out, err, rc = h.run_asp({ "-i", "tests/repl/csv_strategy.lua", a, b, f },
      table.concat(lines, "\n") .. "\n")
    local states = {}
    for s in out:gmatch("S %d+ %d+ %d+ %d+") do states[#states + 1] = s end
    return states, out, err, rc
  end

  it(".until, .back to a checkpoint and between checkpoints, .until again and .continue equal a straight run", function()
    local states, out, err, rc = session({
      'asp.debug.until_("' .. iso(6000) .. '")', "=state()",
      'asp.debug.back("' .. iso(2345.2) .. '")', "=state()",  -- between checkpoints
      'asp.debug.until_("' .. iso(9000) .. '")', "=state()",
      "asp.debug.back()", "=state()",                          -- to the checkpoint of the last command
      'asp.debug.until_("' .. iso(12001) .. '")', "=state()",
      "asp.debug.continue()", "=state()",
    })
    local info = out .. err
    assert.equals(0, rc, info)
    assert.same({
      expected(files, 6000),
      expected(files, 2345.2),
      expected(files, 9000),
      expected(files, 2345.2),
      expected(files, 12001),
      expected(files, 19999),
    }, states, info)
  end)

  it("going back many times and forwards again reads every file exactly", function()
    local lines, want = {}, {}
    local steps = { { "until_", 1000 }, { "until_", 15000 }, { "back", 300 }, { "until_", 14000.5 },
      { "back", 7777 }, { "back", 2 }, { "until_", 19000 } }
    for _, st in ipairs(steps) do
      lines[#lines + 1] = ('asp.debug.%s("%s")'):format(st[1], iso(st[2]))
      lines[#lines + 1] = "=state()"
      want[#want + 1] = expected(files, st[2])
    end
    local states, out, err, rc = session(lines)
    assert.equals(0, rc, out .. err)
    assert.same(want, states, out .. err)
  end)
end)
