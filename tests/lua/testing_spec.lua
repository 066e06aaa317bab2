-- asp.test and `asp-lua test` (docs/testing.md).
local asp = require("asp")
local h = require("helpers")

describe("asp.test.run", function()
  it("runs fn on a virtual clock from a fixed epoch: an hour of sleep passes at once", function()
    local wall0 = asp.wall()
    local t1, t2, run = asp.test.run(function()
      local a = asp.now()
      asp.sleep(3600)
      return a, asp.now()
    end)
    assert.are.equal("2000-01-01T00:00:00.000000Z", tostring(t1))
    assert.are.equal("2000-01-01T01:00:00.000000Z", tostring(t2))
    assert.is_true(run.finished)
    assert.are.equal("2000-01-01T01:00:00.000000Z", tostring(run.last_time))
    assert.is_true(asp.wall() - wall0 < 2)
  end)

  it("starts at start_time, and end_time bounds a loop that never ends", function()
    local n = 0
    local run = asp.test.run(function()
      while true do asp.sleep(1); n = n + 1 end
    end, { start_time = h.T0, end_time = 10 })
    assert.are.equal(10, n)
    assert.is_false(run.finished)
    assert.are.equal(tostring(h.T0 + 10), tostring(run.last_time))
  end)

  it("re-raises the task's error with its virtual time", function()
    local err = h.pcall_err(asp.test.run, function() asp.sleep(90); error("boom") end)
    assert.matches("^asp%.test%.run: error at 2000%-01%-01T00:01:30%.000000Z in .*: boom", err)
  end)

  it("moves now() as a replay does, with timers and calls in clock-rule order", function()
    local rec = asp.test.recorder()
    asp.test.run(function()
      asp.call_later(2.5, function() rec("call") end)
      asp.spawn(asp.timer{ interval = 1, end_time = 3, callback = function() rec("tick") end })
      asp.spawn(asp.process_stream{ future = asp.test.stream{ { 0.5, "a" }, { 2.5, "b" } },
        callback = function(_, v) rec(v) end })
    end)
    assert.are.same({ "a", "tick", "tick", "call", "b", "tick" }, rec:values())
    assert.are.same({ 0.5, 1, 2, 2.5, 2.5, 3 }, rec:times())
  end)

  it("refuses bad arguments, a call inside a run, and a run that leaves live input open", function()
    assert.matches("bad argument #1 %(a function expected, got number%)", h.pcall_err(asp.test.run, 1))
    assert.matches("unknown option foo", h.pcall_err(asp.test.run, function() end, { foo = 1 }))
    local inner
    asp.test.run(function() inner = h.pcall_err(asp.test.run, function() end) end)
    assert.matches("called inside a run", inner)
    local err = h.pcall_err(asp.test.run, function()
      asp.spawn(asp.process_stream{ name = "feed", future = asp.listen{ port = 0 }, callback = function() end })
    end)
    assert.matches("the run ended with live sources still open: stream 'feed'", err, 1, true)
    assert.matches("event 2: its time must be a Time or seconds", h.pcall_err(asp.test.stream, { { 1, "a" }, { "x", "b" } }))
  end)
end)

describe("asp-lua test", function()
  local dir
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir) == 0)
  end)
  after_each(function() os.execute("rm -rf " .. dir) end)

  local function spec(name, body)
    h.write_file(dir .. "/" .. name, body)
    return dir .. "/" .. name
  end

  it("runs busted specs with the real engine and busted's exit status", function()
    local ok = spec("ok_spec.lua", [[
      local asp = require("asp")
      describe("s", function() it("sleeps", function()
        assert.are.equal(60, asp.test.run(function() asp.sleep(60) return asp.now() - asp.test.EPOCH end))
      end) end)]])
    local out, err, rc = h.run_asp({ "test", ok })
    assert.are.equal(0, rc, out .. err)
    assert.matches("1 success / 0 failures", out, 1, true)
    local bad = spec("bad_spec.lua", [[describe("s", function() it("fails", function() assert.is_true(false) end) end)]])
    out, err, rc = h.run_asp({ "test", bad })
    assert.are.equal(1, rc)
    assert.matches("0 successes / 1 failure", out, 1, true)
    assert.are.equal("", err) -- busted's way to exit 1 is not an error to print
  end)

  it("names the package when busted is not installed", function()
    local o = os.tmpname()
    os.execute(("PATH=%s %s test > %s 2>&1"):format(dir, h.shell_quote(h.ASP_LUA), o))
    local text = h.slurp(o)
    os.remove(o)
    assert.matches("busted is not installed (the Debian package lua-busted", text, 1, true)
  end)
end)
