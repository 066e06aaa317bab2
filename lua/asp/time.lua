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
local checked_out = ffi.new("int64_t[1]")
local diff_out = ffi.new("double[1]")

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
  local rc = C.asp_time_add_checked(a.ns_, b, checked_out)
  if rc ~= 0 then arith_error(rc, a.ns_, " + ", b, 2) end
  return Time_ct(checked_out[0])
end

function Time.__sub(a, b)
  if not is_time(a) then
    error("attempt to subtract a Time from a " .. type(a), 2)
  end
  if type(b) == "number" then
    local rc = C.asp_time_add_checked(a.ns_, -b, checked_out)
    if rc ~= 0 then arith_error(rc, a.ns_, " - ", b, 2) end
    return Time_ct(checked_out[0])
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

Time_ct = ffi.metatype("asp_time", Time)

-- Converts what a source may give as an event time (a Time, an ISO-8601
-- string, epoch seconds) to a Time; nil when it is none of those.
local function coerce(x)
  local tx = type(x)
  if tx == "cdata" then
    if istype(Time_ct, x) then return x end
    return nil
  elseif tx == "number" then
    if C.asp_time_seconds_ns(x, checked_out) ~= 0 then return nil end
    return Time_ct(checked_out[0])
  elseif tx == "string" then
    local ns = parse_ns(x)
    if ns == nil then return nil end
    return Time_ct(ns)
  end
  return nil
end

-- Epoch seconds as a Time; nil and the reason when NaN, infinite or out of range.
local function from_seconds(x)
  local rc = C.asp_time_seconds_ns(x, checked_out)
  if rc ~= 0 then return nil, range_reason(rc), rc end
  return Time_ct(checked_out[0])
end

return {
  ct = Time_ct,
  from_seconds = from_seconds,
  range_reason = range_reason,
  is_time = is_time,
  coerce = coerce,
  parse_ns = parse_ns,
  format_ns = format_ns,
  wall = function() return Time_ct(C.asp_time_wall()) end,
}
