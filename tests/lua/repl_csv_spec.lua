-- Time travel over asp.csv files (issue #10): a backtest over a plain file,
-- a gzip file and a follow = true file, driven through asp.debug in the
-- REPL (asp-lua -i, commands on standard input). After every step, the
-- counts and the sum equal those of a straight run up to the same time.
local h = require("helpers")

local T0 = 1735689600 -- 2025-01-01T00:00:00Z

local function iso(s)
  local whole = math.floor(s)
  return os.date("!%Y-%m-%dT%H:%M:%S", T0 + whole) .. ("%.3fZ"):format(s - whole):sub(2)
end

-- Rows at step, 2*step, ... seconds; bid and ask small integers.
local function rows(n, step, salt)
  local out, list = { "time,bid,ask" }, {}
  for i = 1, n do
    local t = i * step
    local bid, ask = (i * salt) % 97, (i * 13 + salt) % 89
    out[#out + 1] = ("%s,%d,%d"):format(iso(t), bid, ask)
    list[i] = { t = t, v = bid * 3 + ask }
  end
  return table.concat(out, "\n") .. "\n", list
end

-- What a straight run has done once every item due at or before s ran.
local function expected(files, s)
  local c, sum = {}, 0
  for name, list in pairs(files) do
    c[name] = 0
    for _, r in ipairs(list) do
      if r.t <= s then
        c[name] = c[name] + 1
        sum = sum + r.v
      end
    end
  end
  return ("S %d %d %d %d"):format(c.a, c.b, c.f, sum)
end

describe("time travel over asp.csv files", function()
  local dir, a, b, f, files

  setup(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir) == 0)
    files = {}
    local text
    -- ~1 MB each: several 256 KiB chunks, so a shared offset would show.
    text, files.a = rows(30000, 0.5, 7)
    a = dir .. "/a.csv"
    h.write_file(a, text)
    text, files.b = rows(20000, 0.7, 11)
    b = dir .. "/b.csv"
    h.write_file(b, text)
    assert(os.execute("gzip " .. b) == 0)
    b = b .. ".gz"
    text, files.f = rows(1000, 13, 5)
    f = dir .. "/f.csv"
    h.write_file(f, text .. iso(20000) .. ",stop,0\n")
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
