-- The Time type: an instant with nanosecond resolution, UTC.
--
-- A Time is an FFI struct holding an int64 count of nanoseconds since the
-- epoch, so creating one costs no table and the JIT can keep it in registers.
-- Durations are plain numbers of seconds.
local ffi = require("ffi")
local C = require("asp.cffi").C

local Time = {}
local methods = {}
Time.__index = methods

local Time_ct -- the ctype, set below once the metatable is attached
local istype = ffi.istype
local format_buf = ffi.new("char[48]")
local parse_out = ffi.new("int64_t[1]")
local tonumber, type, tostring = tonumber, type, tostring

local function is_time(x)
  return istype(Time_ct, x)
end

-- Returns the int64 ns of an ISO-8601 string, or nil when it is malformed.
local function parse_ns(s)
  if C.asp_time_parse(s, #s, parse_out) ~= 0 then return nil end
  return parse_out[0]
end

local function format_ns(ns)
  local n = C.asp_time_format(ns, format_buf)
  return ffi.string(format_buf, n)
end

-- The range rule (docs/api.md "Range"): a Time is never NaN, infinite or
-- outside int64 ns; arithmetic that would make one raises (never saturates).
local RANGE = "1677-09-21T00:12:43.145224192Z to 2262-04-11T23:47:16.854775807Z, int64 ns since the epoch"
local diff_out = ffi.new("double[1]")

-- Seconds to int64 ns in the JIT: the same arithmetic as engine/time.c's
-- asp_time_from_seconds, operation for operation (so the same rounding:
-- round half away from zero of the fraction, on the magnitude), without a
-- call through the FFI per event (a past source's epoch numbers, Time +
-- seconds). tests/lua/time_jit_spec.lua checks it against the C functions.
local I64 = ffi.typeof("int64_t")
local INT64_MAX = 0x7fffffffffffffffLL
local INT64_MIN = -INT64_MAX - 1
local ZERO = 0LL
local floor = math.floor
local HUGE = math.huge

-- asp_time_from_seconds: saturates (NaN is 0, out of range is INT64_MIN/MAX).
local function from_seconds_sat(x)
  if x ~= x then return ZERO end
  local neg = x < 0
  local mag = neg and -x or x
  if mag >= 9223372037.0 then return neg and INT64_MIN or INT64_MAX end -- also the infinities
  local whole = floor(mag)
  local frac = floor((mag - whole) * 1e9 + 0.5) -- 0..1e9, exact as in C
  -- whole <= 9223372036 here: only its last fraction can overflow (combine_ns).
  if whole >= 9223372036 and frac > 854775807 then return neg and INT64_MIN or INT64_MAX end
  local ns = I64(whole) * 1000000000 + frac
  return neg and -ns or ns
end

-- asp_time_seconds_ns: the ns, or nil and the reason code (-1 NaN, -2
-- infinite, -3 out of range; INT64_MAX/MIN count as out of range).
local function seconds_ns(x)
  if x ~= x then return nil, -1 end
  if x == HUGE or x == -HUGE then return nil, -2 end
  local ns = from_seconds_sat(x)
  if ns == INT64_MAX or ns == INT64_MIN then return nil, -3 end
  return ns
end

-- asp_time_add_checked: ns + seconds, or nil and the reason code.
local function add_checked(ns, x)
  local d, rc = seconds_ns(x)
  if not d then return nil, rc end
  local r = ns + d -- int64 arithmetic wraps: overflow shows in the sign
  if (d > 0 and r < ns) or (d < 0 and r > ns) then return nil, -3 end
  return r
end

-- asp_time_add_seconds: ns + seconds, saturating at the ends of the range.
local function add_seconds_sat(ns, x)
  local d = from_seconds_sat(x)
  local r = ns + d
  if d > 0 and r < ns then return INT64_MAX end
  if d < 0 and r > ns then return INT64_MIN end
  return r
end

-- Why a checked conversion (asp_time_seconds_ns, _add_checked, _diff) failed.
local function range_reason(rc)
  if rc == -1 then return "NaN is no number of seconds" end
  return "out of the range of a Time (" .. RANGE .. ")"
end

-- Raises the error of a failed Time +/- seconds (rc from asp_time_add_checked).
local function arith_error(rc, ns, op, d, level)
  error("Time arithmetic: " .. format_ns(ns) .. op .. tostring(d) .. ": " .. range_reason(rc), level + 1)
end

function Time.__add(a, b)
  if type(a) == "number" then a, b = b, a end
  if type(b) ~= "number" then
    error("attempt to add a Time and a " .. (is_time(b) and "Time" or type(b))
      .. " (add a number of seconds)", 2)
  end
  local r, rc = add_checked(a.ns_, b)
  if not r then arith_error(rc, a.ns_, " + ", b, 2) end
  return Time_ct(r)
end

function Time.__sub(a, b)
  if not is_time(a) then
    error("attempt to subtract a Time from a " .. type(a), 2)
  end
  if type(b) == "number" then
    local r, rc = add_checked(a.ns_, -b)
    if not r then arith_error(rc, a.ns_, " - ", b, 2) end
    return Time_ct(r)
  elseif is_time(b) then
    if C.asp_time_diff(a.ns_, b.ns_, diff_out) ~= 0 then
      error("Time arithmetic: " .. format_ns(a.ns_) .. " - " .. format_ns(b.ns_)
        .. ": the difference is out of the range of a duration (about 292 years, int64 ns)", 2)
    end
    return diff_out[0]
  end
  error("attempt to subtract a " .. type(b) .. " from a Time", 2)
end

-- Comparisons between a Time and anything else are false (==) or an error
-- (<, <=), as for mismatched Lua types.
function Time.__eq(a, b)
  return is_time(a) and is_time(b) and a.ns_ == b.ns_
end

local function check_pair(a, b)
  if not (is_time(a) and is_time(b)) then
    error("attempt to compare a Time with a " .. (is_time(a) and type(b) or type(a)), 3)
  end
end

function Time.__lt(a, b)
  check_pair(a, b)
  return a.ns_ < b.ns_
end

function Time.__le(a, b)
  check_pair(a, b)
  return a.ns_ <= b.ns_
end

function Time.__tostring(t)
  return format_ns(t.ns_)
end

function Time.__concat(a, b)
  return tostring(a) .. tostring(b)
end

-- Seconds since the epoch, as a number.
local function check_self(self, name)
  if not is_time(self) then
    error("Time:" .. name .. ": bad self (a Time expected, got " .. type(self)
      .. "; call it as t:" .. name .. "())", 3)
  end
end

function methods:epoch()
  check_self(self, "epoch")
  return C.asp_time_to_seconds(self.ns_)
end

-- Nanoseconds since the epoch, as a 64-bit integer.
function methods:ns()
  check_self(self, "ns")
  return self.ns_
end

-- -- Time zones (engine/tz.c) ------------------------------------------------

local tz_err = ffi.new("char[256]")
local known_zones = {} -- names asp_tz_check accepted

-- Checks a zone name once (a stat and a read of its file); raises
-- "<fname>: unknown time zone '<name>' (<reason>)" otherwise.
local function check_zone(fname, zone, level)
  if known_zones[zone] then return end
  if C.asp_tz_check(zone, tz_err, 256) ~= 0 then
    error(fname .. ": unknown time zone '" .. zone .. "' (" .. ffi.string(tz_err) .. ")", level + 1)
  end
  known_zones[zone] = true
end

local fmt_buf, fmt_cap = ffi.new("char[512]"), 512
local bad_at = ffi.new("int32_t[1]")
local FORMAT_MAX = 1048576

-- t:format(fmt [, zone]): strftime with %f (us) and %N (ns), UTC by default.
function methods:format(fmt, zone)
  if not is_time(self) then
    error("Time:format: bad self (a Time expected, got " .. type(self) .. "; call it as t:format(fmt))", 2)
  end
  if type(fmt) ~= "string" then
    error("Time:format: bad argument #1 (a format string expected, got " .. type(fmt) .. ")", 2)
  end
  if zone ~= nil then
    if type(zone) ~= "string" then
      error("Time:format: bad argument #2 (a time zone name such as 'Europe/London' expected, got " .. type(zone) .. ")", 2)
    end
    check_zone("Time:format", zone, 2)
  end
  while true do
    local n = C.asp_tz_format(self.ns_, fmt, zone, fmt_buf, fmt_cap, bad_at)
    if n >= 0 then return ffi.string(fmt_buf, n) end
    if n == -2 then
      local at = bad_at[0]
      error(("Time:format: unknown conversion '%s' at byte %d of '%s' (strftime's, or %%f, %%N)"):format(
        fmt:sub(at + 1, at + 3):match("^%%[-_0^#]?[EO]?.?"), at + 1, fmt), 2)
    end
    if fmt_cap >= FORMAT_MAX then
      error("Time:format: the result is longer than " .. FORMAT_MAX .. " bytes", 2)
    end
    fmt_cap = fmt_cap * 4
    fmt_buf = ffi.new("char[?]", fmt_cap)
  end
end

-- The process's own TZ is put back before os.date and os.time use it
-- (engine/tz.c leaves TZ set to the last zone it used).
do
  local os_date, os_time, restore = os.date, os.time, C.asp_tz_restore
  os.date = function(...) restore() return os_date(...) end
  os.time = function(...) restore() return os_time(...) end
end

Time_ct = ffi.metatype("asp_time", Time)

local zone_out = ffi.new("int64_t[1]")

-- An ISO string read as a local time of zone; raises fname's errors
-- (invalid time, unknown zone, a DST gap or overlap).
local function parse_in_zone(fname, s, zone, level)
  check_zone(fname, zone, level + 1)
  local rc = C.asp_tz_parse(s, #s, zone, zone_out, tz_err, 256)
  if rc == 0 then return Time_ct(zone_out[0]) end
  if rc == -1 then error(fname .. ": invalid time '" .. s .. "'", level + 1) end
  local change = ffi.string(tz_err)
  if rc == -2 then
    error(("%s: '%s' does not exist in %s: the clocks went forward from %s and skipped it (a DST gap); "
      .. "give an offset or a time outside the gap"):format(fname, s, zone, change), level + 1)
  end
  local o1, o2 = change:match("^(%S+) %b() to (%S+)")
  error(("%s: '%s' is ambiguous in %s: the clocks went back from %s and it happened twice (a DST overlap); "
    .. "give the offset: '%s%s' (the first) or '%s%s' (the second)"):format(fname, s, zone, change, s, o1, s, o2),
    level + 1)
end

-- Converts what a source may give as an event time (a Time, an ISO-8601
-- string, epoch seconds) to a Time; nil when it is none of those.
local function coerce(x)
  local tx = type(x)
  if tx == "cdata" then
    if istype(Time_ct, x) then return x end
    return nil
  elseif tx == "number" then
    local ns = seconds_ns(x)
    if not ns then return nil end
    return Time_ct(ns)
  elseif tx == "string" then
    local ns = parse_ns(x)
    if ns == nil then return nil end
    return Time_ct(ns)
  end
  return nil
end

-- Epoch seconds as a Time; nil and the reason when NaN, infinite or out of range.
local function from_seconds(x)
  local ns, rc = seconds_ns(x)
  if not ns then return nil, range_reason(rc), rc end
  return Time_ct(ns)
end

return {
  ct = Time_ct,
  from_seconds = from_seconds,
  seconds_ns = seconds_ns,
  add_checked = add_checked,
  add_seconds_sat = add_seconds_sat,
  from_seconds_sat = from_seconds_sat,
  range_reason = range_reason,
  is_time = is_time,
  coerce = coerce,
  parse_ns = parse_ns,
  format_ns = format_ns,
  parse_in_zone = parse_in_zone,
}
