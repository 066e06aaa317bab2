-- The REPL's .reload (docs/repl.md, issue #18 item 4): the edited script is
-- re-run in a fresh process from the start to the current virtual time, the
-- session's live journal included, and pauses there. Commands come on
-- standard input (asp-lua -i), the script is edited by a line of Lua.
local h = require("helpers")
local q = h.shell_quote

-- A backtest of 1000 ticks, one a second; `version` weighs the sum.
local TICKS = [[
local asp = require("asp")
local t0 = asp.time("2025-01-01T00:00:00Z")
n, sum, version = 0, 0, VERSION
local i = 0
local function tick()
  i = i + 1
  if i > 1000 then return nil end
  return t0 + i, i
end
asp.run({ asp.process_stream{ name = "ticks", past = tick, callback = function(t, k)
  n = n + 1
  sum = sum + k * version
end } })
]]

local function tmpdir()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir " .. q(dir)) == 0)
  return dir
end

-- A REPL line that replaces the script with `text`.
local function save_line(path, text)
  return ("do local f = assert(io.open(%q, 'w')); f:write(%q); f:close() end"):format(path, text)
end

local function results(out)
  local r = {}
  for line in out:gmatch("R\t([^\n]*)\n") do r[#r + 1] = line end
  return r
end

describe("the REPL's .reload", function()
  it("on a terminal (tests/repl/repl.exp, scenario reload): the process is replaced, the session goes on", function()
    local out = os.tmpname()
    local ok = os.execute(("expect tests/repl/repl.exp %s reload > %s 2>&1"):format(q(h.ASP_LUA), q(out)))
    local text = h.slurp(out)
    os.remove(out)
    assert(ok == 0 or ok == true, text)
  end)

  it("re-runs the edited script to the clock; .until and .back go on with the new code", function()
    local dir = tmpdir()
    local script = dir .. "/strat.lua"
    h.write_file(script, (TICKS:gsub("VERSION", "1")))
    local out, err, rc = h.run_asp({ "-i", script }, table.concat({
      '.until 2025-01-01T00:01:40Z',
      'print("R", n, sum, version)',
      save_line(script, (TICKS:gsub("VERSION", "2"))),
      '.reload',
      'print("R", n, sum, version)',
      '.until +50',
      'print("R", n, sum, version)',
      '.back -20',
      'print("R", n, sum, version)',
      'print("R", #asp.debug.checkpoints().list)',
    }, "\n") .. "\n")
    local info = out .. err
    assert.equal(0, rc, info)
    assert.same({ "100\t5050\t1", "100\t10100\t2", "150\t22650\t2", "130\t17030\t2", "2" }, results(out), info)
    assert.truthy(out:find("reloaded: paused: 2025-01-01T00:01:40.000000Z, 101 items", 1, true), info)
    os.execute("rm -rf " .. q(dir))
  end)

  it("a script that does not compile: the error with file:line, the session stays; the next .reload works", function()
    local dir = tmpdir()
    local script = dir .. "/strat.lua"
    h.write_file(script, (TICKS:gsub("VERSION", "1")))
    local out, err, rc = h.run_asp({ "-i", script }, table.concat({
      '.until +10',
      save_line(script, "local x = = 1\n"),
      '.reload',
      'print("R", n, sum, version)',
      save_line(script, (TICKS:gsub("VERSION", "3"))),
      '.reload',
      'print("R", n, sum, version)',
    }, "\n") .. "\n")
    local info = out .. err
    assert.equal(0, rc, info)
    assert.truthy(err:find("strat.lua:1: unexpected symbol near '='; the session stays as it is", 1, true), info)
    assert.same({ "11\t66\t1", "11\t198\t3" }, results(out), info)
    os.execute("rm -rf " .. q(dir))
  end)

  it("a live period comes back from the journal: the same lines at the same times, through the new code", function()
    local dir = tmpdir()
    local script = dir .. "/live.lua"
    local text = h.slurp("tests/repl/live.lua")
    h.write_file(script, text)
    local edited = text:gsub("live_count = live_count %+ 1", "live_count = live_count + 10")
    local out, err, rc = h.run_asp({ "-i", script }, table.concat({
      '.continue',
      'print("R", table.concat(log, " "), live_count)',
      save_line(script, edited),
      '.reload',
      'print("R", table.concat(log, " "), live_count)',
    }, "\n") .. "\n")
    local info = out .. err
    assert.equal(0, rc, info)
    local r = results(out)
    assert.equal(2, #r, info)
    local log1, n1 = r[1]:match("^(.*)\t(%d+)$")
    local log2, n2 = r[2]:match("^(.*)\t(%d+)$")
    assert.equal("5", n1, info)
    assert.equal("50", n2, info)
    assert.equal(log1, log2, info)
    assert.equal(7, select(2, log1:gsub("@", "")), info)
    os.execute("rm -rf " .. q(dir))
  end)
end)
