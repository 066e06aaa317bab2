-- Issue #13 item 5: t:format(fmt [, zone]) and asp.time(s, zone), through
-- the system's zoneinfo (docs/api.md "Formatting and time zones").
local asp = require("asp")
local h = require("helpers")
local pcall_err = h.pcall_err
local T = asp.time

describe("t:format(fmt)", function()
  local t = T("2024-03-31T00:59:59.123456789Z")

  it("formats strftime conversions in UTC by default, %f as microseconds and %N as nanoseconds", function()
    assert.are.equal("2024-03-31 00:59:59.123456", t:format("%Y-%m-%d %H:%M:%S.%f"))
    assert.are.equal("00:59:59.123456789", t:format("%H:%M:%S.%N"))
    assert.are.equal("+0000 UTC 100%", t:format("%z %Z 100%%"))
    assert.are.equal("%f", t:format("%%f"))
    assert.are.equal("", t:format(""))
  end)

  it("truncates %f and %N towards the past, also before 1970", function()
    local before = T("1969-12-31T23:59:59.999999999Z")
    assert.are.equal("1969-12-31 23:59:59.999999 999999999", before:format("%Y-%m-%d %H:%M:%S.%f %N"))
    assert.are.equal("-1", before:format("%s"))
    assert.are.equal("1711846799", t:format("%s"))
  end)

  it("matches tostring for the ISO form", function()
    for _, s in ipairs { "1677-09-22T00:00:00Z", "1900-02-28T12:34:56.5Z", "2038-01-19T03:14:08Z", "2262-04-11T00:00:00.000001Z" } do
      local x = T(s)
      assert.are.equal(tostring(x), x:format("%Y-%m-%dT%H:%M:%S.%fZ"))
    end
  end)

  it("formats in a named zone, across the DST changes of Europe/London", function()
    assert.are.equal("00:59:59 GMT +0000", t:format("%H:%M:%S %Z %z", "Europe/London"))
    assert.are.equal("02:00:00 BST +0100", (t + 1):format("%H:%M:%S %Z %z", "Europe/London"))
    local back = T("2024-10-27T00:59:59Z")
    assert.are.equal("01:59:59 BST", back:format("%H:%M:%S %Z", "Europe/London"))
    assert.are.equal("01:00:00 GMT", (back + 1):format("%H:%M:%S %Z", "Europe/London"))
  end)

  it("formats in America/New_York across its DST changes", function()
    local fwd = T("2024-03-10T06:59:59.5Z")
    assert.are.equal("01:59:59.500000 EST -0500", fwd:format("%H:%M:%S.%f %Z %z", "America/New_York"))
    assert.are.equal("03:00:00.500000 EDT -0400", (fwd + 1):format("%H:%M:%S.%f %Z %z", "America/New_York"))
    local back = T("2024-11-03T05:59:59Z")
    assert.are.equal("01:59:59 EDT", back:format("%H:%M:%S %Z", "America/New_York"))
    assert.are.equal("01:00:00 EST", (back + 1):format("%H:%M:%S %Z", "America/New_York"))
  end)

  it("formats times before 1970 and after 2038 in a zone", function()
    assert.are.equal("1960-06-01 13:00 BST", T("1960-06-01T12:00Z"):format("%Y-%m-%d %H:%M %Z", "Europe/London"))
    assert.are.equal("2050-07-01 08:00 EDT", T("2050-07-01T12:00Z"):format("%Y-%m-%d %H:%M %Z", "America/New_York"))
    assert.are.equal("2100-01-01 00:00 GMT", T("2100-01-01T00:00Z"):format("%Y-%m-%d %H:%M %Z", "Europe/London"))
  end)

  it("grows its buffer for long results", function()
    assert.are.equal(4000, #t:format(("%Y"):rep(1000)))
  end)

  it("rejects unknown conversions, a lone %, bad arguments and unknown zones, naming them", function()
    assert.are.equal("Time:format: unknown conversion '%Q' at byte 4 of 'ab %Q' (strftime's, or %f, %N)",
      pcall_err(t.format, t, "ab %Q"))
    assert.are.equal("Time:format: unknown conversion '%' at byte 5 of 'abc %' (strftime's, or %f, %N)",
      pcall_err(t.format, t, "abc %"))
    assert.are.equal("Time:format: bad argument #1 (a format string expected, got nil)", pcall_err(t.format, t))
    assert.are.equal("Time:format: bad argument #2 (a time zone name such as 'Europe/London' expected, got number)",
      pcall_err(t.format, t, "%H", 1))
    assert.are.equal("Time:format: unknown time zone 'Europe/Lndon' (no zone file /usr/share/zoneinfo/Europe/Lndon; "
      .. "is the tzdata package installed?)", pcall_err(t.format, t, "%H", "Europe/Lndon"))
    assert.matches("^Time:format: unknown time zone '%.%./etc/passwd'", pcall_err(t.format, t, "%H", "../etc/passwd"))
    assert.matches("^Time:format: unknown time zone 'zone1970.tab'", pcall_err(t.format, t, "%H", "zone1970.tab"))
    assert.matches("^Time:format: unknown time zone '/etc/localtime'", pcall_err(t.format, t, "%H", "/etc/localtime"))
    assert.matches("^Time:format: bad self", pcall_err(t.format, "x", "%H"))
  end)
end)

describe("asp.time(s, zone) reads a local time of a zone", function()
  it("reads a local time outside DST changes in both zones", function()
    assert.are.equal(T("2024-06-01T11:00:00.25Z"), T("2024-06-01T12:00:00.25", "Europe/London"))
    assert.are.equal(T("2024-01-15T12:00Z"), T("2024-01-15 12:00", "Europe/London"))
    assert.are.equal(T("2024-07-04T13:30Z"), T("2024-07-04T09:30", "America/New_York"))
    assert.are.equal(T("2024-12-24T05:00Z"), T("2024-12-24", "America/New_York"))
  end)

  it("reads times before 1970 and after 2038", function()
    assert.are.equal(T("1960-06-01T11:00Z"), T("1960-06-01T12:00", "Europe/London"))
    assert.are.equal(T("1950-01-01T05:00Z"), T("1950-01-01T00:00", "America/New_York"))
    assert.are.equal(T("2050-07-01T11:00Z"), T("2050-07-01T12:00", "Europe/London"))
    assert.are.equal(T("2100-12-01T17:00Z"), T("2100-12-01T12:00", "America/New_York"))
  end)

  it("round-trips format and parse in a zone, to the nanosecond, on either side of each change", function()
    local zones = { "Europe/London", "America/New_York", "UTC", "Asia/Kolkata", "Australia/Lord_Howe" }
    local base = {
      "2024-03-31T00:59:59.999999999Z", "2024-03-31T01:00:00Z", "2024-10-27T00:59:59.123456789Z", "2024-10-27T01:00:00Z",
      "2024-03-10T06:59:59Z", "2024-03-10T07:00:00Z", "2024-11-03T05:59:59Z", "2024-11-03T06:00:00.000000001Z",
      "1965-05-05T05:05:05.5Z", "2045-08-09T10:11:12.13Z",
    }
    for _, zone in ipairs(zones) do
      for _, s in ipairs(base) do
        local x = T(s)
        -- With the offset the instant is exact even in an overlap.
        local text = x:format("%Y-%m-%dT%H:%M:%S.%N%z", zone)
        assert.are.equal(x, T(text, zone), zone .. " " .. text)
        local ok, back = pcall(T, x:format("%Y-%m-%dT%H:%M:%S.%N", zone), zone)
        if ok then assert.are.equal(x, back, zone .. " " .. s) else assert.matches("ambiguous", back) end
      end
    end
  end)

  it("refuses a time in the 2024-03-31 01:30 gap of Europe/London, naming the zone and the change", function()
    assert.are.equal("asp.time: '2024-03-31T01:30' does not exist in Europe/London: the clocks went forward from "
      .. "+00:00 (GMT) to +01:00 (BST) and skipped it (a DST gap); give an offset or a time outside the gap",
      pcall_err(T, "2024-03-31T01:30", "Europe/London"))
    -- The edges: 00:59:59.999999999 and 02:00 exist, 01:00 does not.
    assert.are.equal(T("2024-03-31T00:59:59.999999999Z"), T("2024-03-31T00:59:59.999999999", "Europe/London"))
    assert.are.equal(T("2024-03-31T01:00Z"), T("2024-03-31T02:00", "Europe/London"))
    assert.matches("does not exist", pcall_err(T, "2024-03-31T01:00", "Europe/London"))
    assert.matches("does not exist", pcall_err(T, "2024-03-31T01:59:59.999999999", "Europe/London"))
  end)

  it("refuses the ambiguous 2024-10-27 01:30 of Europe/London unless the string gives the offset", function()
    assert.are.equal("asp.time: '2024-10-27T01:30' is ambiguous in Europe/London: the clocks went back from "
      .. "+01:00 (BST) to +00:00 (GMT) and it happened twice (a DST overlap); give the offset: "
      .. "'2024-10-27T01:30+01:00' (the first) or '2024-10-27T01:30+00:00' (the second)",
      pcall_err(T, "2024-10-27T01:30", "Europe/London"))
    assert.are.equal(T("2024-10-27T00:30Z"), T("2024-10-27T01:30+01:00", "Europe/London"))
    assert.are.equal(T("2024-10-27T01:30Z"), T("2024-10-27T01:30+00:00", "Europe/London"))
    assert.are.equal(T("2024-10-27T02:00Z"), T("2024-10-27T02:00", "Europe/London"))
    assert.are.equal(T("2024-10-26T23:59:59Z"), T("2024-10-27T00:59:59", "Europe/London"))
  end)

  it("refuses the 2024-03-10 02:30 gap and the 2024-11-03 01:30 overlap of America/New_York", function()
    assert.are.equal("asp.time: '2024-03-10 02:30' does not exist in America/New_York: the clocks went forward from "
      .. "-05:00 (EST) to -04:00 (EDT) and skipped it (a DST gap); give an offset or a time outside the gap",
      pcall_err(T, "2024-03-10 02:30", "America/New_York"))
    assert.are.equal("asp.time: '2024-11-03T01:30' is ambiguous in America/New_York: the clocks went back from "
      .. "-04:00 (EDT) to -05:00 (EST) and it happened twice (a DST overlap); give the offset: "
      .. "'2024-11-03T01:30-04:00' (the first) or '2024-11-03T01:30-05:00' (the second)",
      pcall_err(T, "2024-11-03T01:30", "America/New_York"))
    assert.are.equal(T("2024-11-03T05:30Z"), T("2024-11-03T01:30-04:00", "America/New_York"))
    assert.are.equal(T("2024-11-03T06:30Z"), T("2024-11-03T01:30-05:00", "America/New_York"))
    assert.are.equal(T("2024-03-10T07:00Z"), T("2024-03-10T03:00", "America/New_York"))
  end)

  it("rejects bad arguments, unknown zones and malformed strings, naming them", function()
    assert.are.equal("asp.time: unknown time zone 'Europe/Lndon' (no zone file /usr/share/zoneinfo/Europe/Lndon; "
      .. "is the tzdata package installed?)", pcall_err(T, "2024-01-01T00:00", "Europe/Lndon"))
    assert.matches("^asp.time: unknown time zone 'Europe/%.%./%.%./etc/passwd' %(", pcall_err(T, "2024-01-01", "Europe/../../etc/passwd"))
    assert.matches("^asp.time: unknown time zone 'right/Europe/London' %(.*leap seconds", pcall_err(T, "2024-01-01", "right/Europe/London"))
    assert.matches("^asp.time: unknown time zone '' ", pcall_err(T, "2024-01-01", ""))
    assert.are.equal("asp.time: invalid time '2024-13-01T00:00'", pcall_err(T, "2024-13-01T00:00", "Europe/London"))
    assert.are.equal("asp.time: bad argument #2 (a time zone name such as 'Europe/London' expected, got table)",
      pcall_err(T, "2024-01-01", {}))
    assert.are.equal("asp.time: bad argument #1 (a zone reads an ISO-8601 string, got number)",
      pcall_err(T, 0, "Europe/London"))
  end)

  it("leaves os.date and os.time in the process's own zone", function()
    local own = os.date("%H:%M %Z", 0)
    T("2024-06-01T12:00", "America/New_York")
    assert.are.equal(own, os.date("%H:%M %Z", 0))
    T("2024-06-01T12:00Z"):format("%H", "Asia/Tokyo")
    assert.are.equal(own, os.date("%H:%M %Z", 0))
    assert.are.equal(os.time { year = 2024, month = 6, day = 1, hour = 0 }, os.time { year = 2024, month = 6, day = 1, hour = 0 })
  end)
end)
