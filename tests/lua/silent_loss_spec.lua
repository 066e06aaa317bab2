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

describe("CSV that read as nothing or as something else", function()
  local path
  before_each(function() path = os.tmpname() end)
  after_each(function() os.remove(path) end)

  local function read_all(opts)
    local r = asp.csv(path, opts)
    local got = {}
    while true do
      local t, v = r:next()
      if not t then break end
      got[#got + 1] = { t, v }
    end
    return got
  end

  it("CR-only line ends give every row (50,000), as LF and CRLF do", function()
    for _, eol in ipairs({ "\r", "\r\n", "\n" }) do
      local t = { "time,v" }
      for i = 1, 50000 do t[#t + 1] = (1735689600 + i) .. "," .. i end
      helpers.write_file(path, table.concat(t, eol) .. eol)
      local got = read_all()
      assert.are.equal(50000, #got)
      assert.are.equal(50000, got[50000][2].v)
      assert.are.equal(1735689600 + 50000, got[50000][1]:epoch())
    end
  end)

  it("a UTF-8 BOM is not part of the first column's name (time = 'time' works)", function()
    helpers.write_file(path, "\239\187\191time,v\n1735689601,7\n")
    local got = read_all({ time = "time" })
    assert.are.equal(1, #got)
    assert.are.same({ v = 7 }, got[1][2])
  end)

  it("duplicate header names are an error naming them and the file", function()
    helpers.write_file(path, "time,a,b,a\n1735689601,1,2,3\n")
    local err = pcall_err(read_all)
    assert.are.equal("asp.csv: " .. path .. ": duplicate column name in the header: 'a' (columns 2 and 4) "
      .. "(every column needs a name of its own)", err)
    helpers.write_file(path, "time,a,b,a,b\n1735689601,1,2,3,4\n")
    assert.matches("duplicate column names in the header: 'a' (columns 2 and 4), 'b' (columns 3 and 5)",
      pcall_err(read_all), 1, true)
  end)

  it("an invalid number shows at most 64 bytes of its field", function()
    helpers.write_file(path, "time,v\n1735689601,x" .. string.rep("9", 1000000) .. "\n")
    local err = pcall_err(read_all, { columns = { "v:number" } })
    assert.matches("invalid number 'x" .. string.rep("9", 63) .. "…' (1000001 bytes)", err, 1, true)
    assert.is_true(#err < 600)
  end)

  it("70,000 columns are read (no 'more than 65476 local variables' from the generated decoder)", function()
    local n = 70000
    local h, r = { "time" }, { "1735689601" }
    for i = 1, n do h[i + 1] = "c" .. i; r[i + 1] = tostring(i) end
    helpers.write_file(path, table.concat(h, ",") .. "\n" .. table.concat(r, ",") .. "\n")
    local got = read_all()
    assert.are.equal(1, #got)
    assert.are.equal(n, got[1][2]["c" .. n])
    assert.are.equal(1, got[1][2].c1)
    got = read_all({ unpack = true })
    assert.are.equal(n, #got[1][2])
    local err = pcall_err(function()
      helpers.write_file(path, table.concat(h, ",") .. "\n" .. table.concat(r, ",", 1, n) .. ",x\n")
      return read_all({ columns = { "c" .. n .. ":number" } })
    end)
    assert.matches("invalid number 'x'", err, 1, true)
  end)
end)

describe("unclear errors made clear", function()
  it("an empty JSON line is an error that says so (on_error = 'skip' counts it)", function()
    local msg = pcall_err(asp.run, { asp.process_stream {
      future = asp.exec { "sh", "-c", [[echo '{"a":1}'; echo; echo '{"a":2}']], format = "json" },
      callback = function() end } })
    assert.matches("line 2: invalid JSON (an empty line: JSON lines hold one value per line", msg, 1, true)
    local got = {}
    asp.run({ asp.process_stream {
      future = asp.exec { "sh", "-c", [[echo '{"a":1}'; echo; echo '{"a":2}']], format = "json", on_error = "skip" },
      callback = function(_, v) got[#got + 1] = v.a end } })
    assert.are.same({ 1, 2 }, got)
  end)

  it("JSON nested too deeply says which limit", function()
    local msg = pcall_err(asp.run, { asp.process_stream {
      future = asp.exec { "sh", "-c", "printf '%0300d' 0 | tr 0 '['; printf '%0300d' 0 | tr 0 ']'; echo", format = "json" },
      callback = function() end } })
    assert.matches("arrays and objects nested deeper than 200 levels (the limit)", msg, 1, true)
  end)

  local bad = setmetatable({}, { __tostring = function() error("tostring boom") end })

  it("an error object whose __tostring raises keeps the time and the stream", function()
    local msg = pcall_err(asp.run, { asp.process_stream { name = "s", past = events(3),
      callback = function() error(bad) end } }, { start_time = T0 })
    assert.matches("asp.run: error at 2025-01-01T00:00:01.000000Z in stream 's': "
      .. "(a table error object whose __tostring raised: ", msg, 1, true)
    assert.matches("tostring boom", msg, 1, true)
  end)

  it("an error object whose __tostring raises does not stop a run with on_error = 'log'", function()
    local n = 0
    local stderr = io.stderr
    local lines = {}
    io.stderr = { write = function(_, s) lines[#lines + 1] = s end }
    local ok, err = pcall(asp.run, { asp.process_stream { name = "s", past = events(3), on_error = "log",
      callback = function() n = n + 1; error(bad) end } }, { start_time = T0 })
    io.stderr = stderr
    assert.is_true(ok, tostring(err))
    assert.are.equal(3, n)
    assert.are.equal(3, #lines)
    assert.matches("in stream 's' (event at 2025-01-01T00:00:01.000000Z): (a table error object", lines[1], 1, true)
  end)

  it("an error in a __gc metamethod stops the run with the time and what ran, and never crashes", function()
    local ffi = require("ffi")
    local msg = pcall_err(asp.run, { asp.process_stream { name = "g", past = events(3),
      callback = function(_, i)
        if i == 2 then
          ffi.gc(ffi.new("int[1]"), function() error("gc boom") end)
          collectgarbage()
        end
      end } }, { start_time = T0 })
    assert.matches("asp.run: error at 2025-01-01T00:00:02.000000Z in a __gc metamethod (a finalizer) "
      .. "that the collector ran during stream 'g': ", msg, 1, true)
    assert.matches("gc boom", msg, 1, true)
  end)

  it("an error in a __gc metamethod run by a collector step in compiled code is no crash", function()
    local script = helpers.temp_script([[
      local asp = require("asp")
      local t0 = asp.time("2025-01-01T00:00:00Z")
      asp.run({ asp.process_stream { past = { { t0 + 1, 1 }, { t0 + 2, 2 } }, callback = function()
        local x = {}
        for i = 1, 1e5 do x[i] = {} end
        local q = newproxy(true)
        getmetatable(q).__gc = function() error("gc3") end
      end } }, { start_time = t0 })
    ]])
    local _, err, rc = helpers.run_asp({ script })
    helpers.cleanup()
    assert.are.equal(1, rc)
    assert.matches("in a __gc metamethod (a finalizer) that the collector ran during stream #", err, 1, true)
  end)
end)
