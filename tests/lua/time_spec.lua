-- lua-api.md, section "Time".
local asp = require("asp")
local h = require("helpers")
local pcall_err = h.pcall_err
local T = asp.time

-- 2025-01-01T00:00:00Z in epoch seconds.
local Y2025 = 1735689600

describe("asp.time(s) from an ISO-8601 string", function()
  it("reads a date alone as midnight UTC", function()
    assert.are.equal(Y2025, T("2025-01-01"):epoch())
  end)

  it("reads hours and minutes", function()
    assert.are.equal(Y2025 + 10 * 3600 + 20 * 60, T("2025-01-01T10:20"):epoch())
  end)

  it("reads seconds", function()
    assert.are.equal(Y2025 + 10 * 3600 + 20 * 60 + 30, T("2025-01-01T10:20:30"):epoch())
  end)

  it("reads 1 to 9 fractional digits to the nanosecond", function()
    local base = T("2025-01-01T00:00:00"):ns()
    local cases = {
      { "5", 500000000 }, { "12", 120000000 }, { "123", 123000000 },
      { "1234", 123400000 }, { "12345", 123450000 }, { "123456", 123456000 },
      { "1234567", 123456700 }, { "12345678", 123456780 }, { "123456789", 123456789 },
    }
    for _, c in ipairs(cases) do
      local t = T("2025-01-01T00:00:00." .. c[1])
      assert.are.equal(tonumber(base + c[2]), tonumber(t:ns()), c[1])
    end
  end)

  it("rejects ten fractional digits and an empty fraction", function()
    assert.are.equal("asp.time: invalid time '2025-01-01T00:00:00.1234567890'",
      pcall_err(T, "2025-01-01T00:00:00.1234567890"))
    assert.are.equal("asp.time: invalid time '2025-01-01T00:00:00.'",
      pcall_err(T, "2025-01-01T00:00:00."))
  end)

  it("accepts one space instead of T between date and time", function()
    assert.are.equal(T("2025-01-01T10:20:30.25"), T("2025-01-01 10:20:30.25"))
  end)

  it("treats a missing offset and Z alike as UTC", function()
    assert.are.equal(T("2025-06-01T12:00:00"), T("2025-06-01T12:00:00Z"))
    assert.are.equal(Y2025, T("2025-01-01T00:00Z"):epoch())
  end)

  it("applies +HH:MM, -HH:MM and +HHMM offsets", function()
    local utc = T("2025-01-01T00:00:00Z")
    assert.are.equal(utc - 3600, T("2025-01-01T00:00:00+01:00"))
    assert.are.equal(utc + 5400, T("2025-01-01T00:00:00-01:30"))
    assert.are.equal(utc - 19800, T("2025-01-01T00:00:00+0530"))
    assert.are.equal(utc + 3600, T("2025-01-01T00:00:00-0100"))
    assert.are.equal(utc - 3600, T("2025-01-01 00:00+01:00"))
  end)

  it("raises exactly \"asp.time: invalid time '<s>'\" for a malformed string", function()
    for _, s in ipairs({
      "", "2025", "2025-01", "2025-13-01", "2025-02-30", "2025-01-01T25:00", "2025-01-01T10:60",
      "2025-01-01T10", "2025-01-01X10:00", "2025-01-01  10:00", "2025-01-01T10:00:00+1",
      "2025-01-01T10:00:00 Z", "yesterday", "2025-01-01T10:00:00Zjunk", " 2025-01-01",
    }) do
      assert.are.equal("asp.time: invalid time '" .. s .. "'", pcall_err(T, s))
    end
  end)

  it("accepts 29 February only in leap years", function()
    assert.are.equal("2024-02-29T00:00:00.000000Z", tostring(T("2024-02-29")))
    assert.are.equal("asp.time: invalid time '2023-02-29'", pcall_err(T, "2023-02-29"))
  end)
end)

describe("asp.time(n) from epoch seconds", function()
  it("reads whole seconds", function()
    assert.are.equal("2025-01-01T00:00:00.000000Z", tostring(T(Y2025)))
    assert.are.equal("1970-01-01T00:00:00.000000Z", tostring(T(0)))
  end)

  it("reads fractional seconds", function()
    assert.are.equal("2025-01-01T00:00:01.250000Z", tostring(T(Y2025 + 1.25)))
    assert.are.equal(1500000000, tonumber(T(1.5):ns()))
  end)

  it("reads negative seconds as instants before the epoch", function()
    assert.are.equal("1969-12-31T23:59:59.000000Z", tostring(T(-1)))
    assert.are.equal(-500000000, tonumber(T(-0.5):ns()))
  end)
end)

describe("asp.time(t) and asp.time()", function()
  it("returns a Time itself", function()
    local t = T("2025-01-01T00:00:01Z")
    assert.are.equal(t, T(t))
    assert.is_true(asp.is_time(T(t)))
  end)

  it("gives the wall clock now with no argument", function()
    local before = os.time()
    local t = T()
    local after = os.time()
    assert.is_true(asp.is_time(t))
    assert.is_true(t:epoch() >= before - 1 and t:epoch() <= after + 1)
    assert.is_true(T() >= t)
  end)

  it("rejects other types with a bad argument error", function()
    assert.matches("^asp%.time: bad argument #1", pcall_err(T, {}))
    assert.matches("^asp%.time: bad argument #1", pcall_err(T, true))
  end)
end)

describe("asp.is_time", function()
  it("is true for a Time and false for everything else", function()
    assert.is_true(asp.is_time(T(0)))
    assert.is_true(asp.is_time(asp.now()))
    assert.is_true(asp.is_time(asp.wall()))
    for _, x in ipairs({ 0, "2025-01-01", {}, true, print }) do
      assert.is_false(asp.is_time(x))
    end
    assert.is_false(asp.is_time(nil))
    assert.is_false(asp.is_time(require("ffi").new("int64_t", 5)))
  end)
end)

describe("Time arithmetic", function()
  local t = T("2025-01-01T00:00:00Z")

  it("adds seconds on either side to give a Time", function()
    local a, b = t + 1.5, 1.5 + t
    assert.is_true(asp.is_time(a))
    assert.is_true(asp.is_time(b))
    assert.are.equal("2025-01-01T00:00:01.500000Z", tostring(a))
    assert.are.equal(a, b)
  end)

  it("subtracts seconds to give a Time", function()
    local a = t - 61
    assert.is_true(asp.is_time(a))
    assert.are.equal("2024-12-31T23:58:59.000000Z", tostring(a))
  end)

  it("subtracts two Times to give a number of seconds", function()
    local d = (t + 90.25) - t
    assert.are.equal("number", type(d))
    assert.are.equal(90.25, d)
    assert.are.equal(-90.25, t - (t + 90.25))
  end)

  it("rounds a duration to the nearest nanosecond", function()
    local z = T(0)
    assert.are.equal(1, tonumber((z + 1.4e-9):ns()))
    assert.are.equal(2, tonumber((z + 1.6e-9):ns()))
    assert.are.equal(-2, tonumber((z - 1.6e-9):ns()))
    assert.are.equal(100000000, tonumber((z + 0.1):ns()))
    assert.are.equal(1, tonumber((z + 0.7e-9):ns()))
    assert.are.equal(0, tonumber((z + 0.3e-9):ns()))
  end)

  it("keeps nanoseconds exact far from the epoch", function()
    local a = T("2025-01-01T00:00:00.000000001Z")
    assert.are.equal(tonumber(t:ns()) + 1, tonumber(a:ns()))
    assert.is_true((a + 1e-9):ns() == t:ns() + 2)
    assert.are.equal(1e-9, a - t)
  end)

  it("rejects adding two Times and other mismatched operands", function()
    assert.matches("attempt to add a Time and a Time", pcall_err(function() return t + t end))
    assert.matches("attempt to add a Time and a string", pcall_err(function() return t + "1" end))
    assert.matches("attempt to subtract a Time from a number", pcall_err(function() return 1 - t end))
  end)
end)

describe("Time comparisons", function()
  local a, b = T("2025-01-01T00:00:00Z"), T("2025-01-01T00:00:00.000000001Z")

  it("compares instants with ==, <, <=, >, >=", function()
    assert.is_true(a == T(Y2025))
    assert.is_false(a == b)
    assert.is_true(a ~= b)
    assert.is_true(a < b)
    assert.is_false(b < a)
    assert.is_true(a <= b)
    assert.is_true(a <= T(Y2025))
    assert.is_true(b > a)
    assert.is_true(b >= a)
    assert.is_false(a >= b)
  end)

  it("compares the instant, not the offset it was written with", function()
    assert.is_true(T("2025-01-01T01:00:00+01:00") == a)
  end)

  it("is never equal to a non-Time and raises on ordering with one", function()
    assert.is_false(a == Y2025)
    assert.matches("attempt to compare a Time with a number", pcall_err(function() return a < 1 end))
  end)
end)

describe("tostring(Time)", function()
  it("prints UTC with exactly six fractional digits and Z", function()
    assert.are.equal("2025-01-01T00:00:01.000000Z", tostring(T("2025-01-01T00:00:01Z")))
    assert.are.equal("2025-01-01T09:30:00.000000Z", tostring(T("2025-01-01T10:30:00+01:00")))
  end)

  it("truncates below the microsecond instead of rounding", function()
    assert.are.equal("2025-01-01T00:00:00.123456Z", tostring(T("2025-01-01T00:00:00.123456999")))
    assert.are.equal("2025-01-01T00:00:00.999999Z", tostring(T("2025-01-01T00:00:00.999999999")))
  end)

  it("truncates towards the past before the epoch", function()
    assert.are.equal("1969-12-31T23:59:59.999999Z", tostring(T(0) - 1e-9))
  end)

  it("prints what asp.time reads back to the microsecond", function()
    local t = T("2031-07-15T23:59:58.654321Z")
    assert.are.equal(t, T(tostring(t)))
  end)

  it("concatenates with strings", function()
    assert.are.equal("at 1970-01-01T00:00:00.000000Z", "at " .. T(0))
  end)
end)

describe("Time:epoch() and Time:ns()", function()
  it("epoch gives seconds since the epoch as a number", function()
    local e = T("2025-01-01T00:00:00.5Z"):epoch()
    assert.are.equal("number", type(e))
    assert.are.equal(Y2025 + 0.5, e)
  end)

  it("ns gives nanoseconds since the epoch as a 64-bit integer", function()
    local ffi = require("ffi")
    local n = T("2025-01-01T00:00:00.000000001Z"):ns()
    assert.is_true(ffi.istype("int64_t", n))
    assert.is_true(n == 1735689600000000001LL)
  end)
end)
