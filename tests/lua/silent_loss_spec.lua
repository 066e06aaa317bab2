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

describe("Time arithmetic out of range (NaN, infinite, beyond int64 ns)", function()
  local t = asp.time("2025-01-01T00:00:00Z")
  local max = asp.time("2262-04-11T23:47:16Z")
  local min = asp.time("1677-09-21T00:12:44Z")
  local RANGE = "out of the range of a Time (1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z"

  it("t + NaN, t - NaN, NaN + t are errors, not t", function()
    assert.matches("Time arithmetic: 2025-01-01T00:00:00.000000Z + nan: NaN is no number of seconds",
      pcall_err(function() return t + 0 / 0 end), 1, true)
    assert.matches("NaN is no number of seconds", pcall_err(function() return t - 0 / 0 end), 1, true)
    assert.matches("NaN is no number of seconds", pcall_err(function() return 0 / 0 + t end), 1, true)
  end)

  it("t +/- an infinite or huge number of seconds is an error, not the year 1732 or a clamp", function()
    for _, f in ipairs({
      function() return t - math.huge end, function() return t + math.huge end,
      function() return t + 1e300 end, function() return t - 1e300 end,
      function() return max + 1 end, function() return min - 1 end,
    }) do
      assert.matches(RANGE, pcall_err(f), 1, true)
    end
    assert.are.equal("2262-04-11T23:47:16.500000Z", tostring(max + 0.5))
  end)

  it("a difference of Times more than 292 years apart is an error, not a wrapped number", function()
    assert.matches("the difference is out of the range of a duration",
      pcall_err(function() return max - min end), 1, true)
    assert.matches("the difference is out of the range of a duration",
      pcall_err(function() return min - max end), 1, true)
    assert.are.equal(7487682436, max - t)
  end)

  it("asp.time(number) out of range is an error, as an out-of-range ISO string is", function()
    assert.matches("asp.time: invalid time 1e+300: " .. RANGE, pcall_err(asp.time, 1e300), 1, true)
    assert.matches("asp.time: invalid time -1e+300: " .. RANGE, pcall_err(asp.time, -1e300), 1, true)
    assert.matches("asp.time: invalid time 9223372037", pcall_err(asp.time, 9223372037), 1, true)
    assert.matches("asp.time: invalid time '2262-04-12'", pcall_err(asp.time, "2262-04-12"), 1, true)
    assert.are.equal("2262-04-11T23:47:16.000000Z", tostring(asp.time(9223372036)))
    assert.are.equal("1677-09-21T00:12:44.000000Z", tostring(asp.time(-9223372036)))
  end)

  it("the CSV reader accepts the same range as asp.time", function()
    local path = os.tmpname()
    -- Read directly: a run would wait in real time for the year 2262.
    helpers.write_file(path, "time,v\n9223372036,1\n-9223372036,2\n")
    local r = asp.csv(path)
    local t1 = r:next()
    local t2 = r:next()
    assert.are.equal(tostring(asp.time(9223372036)), tostring(t1))
    assert.are.equal(tostring(asp.time(-9223372036)), tostring(t2))
    helpers.write_file(path, "time,v\n9223372037,1\n")
    local err = pcall_err(function() return asp.csv(path):next() end)
    os.remove(path)
    assert.matches("invalid time '9223372037'", err, 1, true)
    assert.matches("out of the range of a Time", pcall_err(asp.time, 9223372037), 1, true)
  end)

  it("an out-of-range epoch number in an array past is an invalid time", function()
    local err = pcall_err(asp.run, { asp.process_stream { past = { { 1e300, 1 } }, callback = function() end } },
      { start_time = T0 })
    assert.matches("1e+300", err, 1, true)
  end)

  it("call_later(-math.huge) is an error; call_later(math.huge) and sleep(math.huge) mean never", function()
    local err = pcall_err(asp.run, { function() asp.call_later(-math.huge, function() end) end },
      { start_time = T0 })
    assert.matches("asp.call_later: bad argument #1 (2025-01-01T00:00:00.000000Z + -inf: " .. RANGE, err, 1, true)
    local ran = false
    asp.run({ function()
      asp.call_later(math.huge, function() ran = true end)
      asp.call_later(0.01, function() asp.stop() end)
      asp.sleep(math.huge)
      ran = true
    end }, { start_time = T0 })
    assert.is_false(ran)
  end)
end)

describe("timer intervals below 1 ns", function()
  it("are rejected (1e-300 never advanced, 1e-10 repeated one instant)", function()
    for _, iv in ipairs({ 1e-300, 1e-10, 0.6e-9, 5e-324 }) do
      assert.matches("asp.timer: option 'interval' must be at least 1 ns",
        pcall_err(asp.timer, { interval = iv, callback = function() end }), 1, true)
    end
  end)

  it("of 1 ns tick at distinct instants", function()
    local got = {}
    asp.run({ asp.timer { interval = 1e-9, end_time = 3e-9, start_time = T0,
      callback = function(t) got[#got + 1] = tonumber(t:ns() - T0:ns()) end } }, { start_time = T0 })
    assert.are.same({ 1, 2, 3 }, got)
  end)

  it("an end_time of -math.huge is rejected", function()
    assert.matches("option 'end_time' must be a Time or a number",
      pcall_err(asp.timer, { interval = 1, end_time = -math.huge, callback = function() end }), 1, true)
  end)
end)
