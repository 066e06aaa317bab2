-- lua/asp/time.lua converts seconds to int64 ns in Lua (in the JIT) with the
-- arithmetic of engine/time.c; these check it against the C functions, value
-- for value, on the edges of the range and on many random numbers.
local ffi = require("ffi")
local C = require("asp.cffi").C
local time = require("asp.time")

local out = ffi.new("int64_t[1]")

local function c_seconds_ns(x)
  local rc = C.asp_time_seconds_ns(x, out)
  if rc ~= 0 then return nil, rc end
  return out[0]
end

local function c_add_checked(ns, x)
  local rc = C.asp_time_add_checked(ns, x, out)
  if rc ~= 0 then return nil, rc end
  return out[0]
end

local function same(a, b)
  if a == nil or b == nil then return a == b end
  return a == b
end

local EDGES = {
  0, -0.0, 1, -1, 0.5, -0.5, 1e-9, -1e-9, 0.5e-9, -0.5e-9, 1.5e-9, 2.5e-9, 0.4999999999e-9,
  0.9999999995, 0.99999999949, 0.9999999999, -0.9999999995, 1e-10, 5e-10, 1700000000.000001,
  1700000000 + 123456 * 1e-6, 1735689600.123456789, 9223372036, -9223372036, 9223372036.854775,
  9223372036.8547754, 9223372036.854775807, 9223372036.854776, -9223372036.854775807,
  -9223372036.854776, -9223372036.8547754, 9223372036.9999999, 9223372036.99999999, 9223372037,
  -9223372037, 9223372037.5, 1e19, -1e19, 1e300, -1e300, math.huge, -math.huge, 0 / 0,
  4503599627370496, 4503599627370497, 2 ^ 52 + 0.5, 2 ^ 53, 12345.6789, -12345.6789,
}

local NS = {
  0LL, 1LL, -1LL, 1700000000000000000LL, -1700000000000000000LL, 0x7fffffffffffffffLL,
  -0x7fffffffffffffffLL - 1, 0x7fffffffffffffffLL - 1000000000LL, -0x7fffffffffffffffLL + 999999999LL,
}

-- A deterministic spread of numbers: random mantissas over many magnitudes
-- and both signs, and random fractions of ns around the half.
local function randoms(n)
  local xs, seed = {}, 42
  local function rand()
    seed = (seed * 48271) % 2147483647
    return seed / 2147483647
  end
  for i = 1, n do
    local e = math.floor(rand() * 80) - 40 -- 1e-40 .. 1e40 around the range
    local x = rand() * 10 ^ e
    if i % 3 == 0 then x = math.floor(rand() * 2e9) + (math.floor(rand() * 1e9) + 0.5) * 1e-9 end
    if i % 2 == 0 then x = -x end
    xs[#xs + 1] = x
  end
  return xs
end

describe("Time arithmetic in Lua (lua/asp/time.lua) against engine/time.c", function()
  local xs = {}
  for _, x in ipairs(EDGES) do xs[#xs + 1] = x end
  for _, x in ipairs(randoms(20000)) do xs[#xs + 1] = x end

  it("seconds_ns gives the ns and the reason codes of asp_time_seconds_ns", function()
    for _, x in ipairs(xs) do
      local a, ra = time.seconds_ns(x)
      local b, rb = c_seconds_ns(x)
      if not (same(a, b) and ra == rb) then
        error(("%.17g: Lua %s (%s), C %s (%s)"):format(x, tostring(a), tostring(ra), tostring(b), tostring(rb)))
      end
    end
  end)

  it("from_seconds_sat is asp_time_from_seconds", function()
    for _, x in ipairs(xs) do
      local a, b = time.from_seconds_sat(x), C.asp_time_from_seconds(x)
      if a ~= b then error(("%.17g: Lua %s, C %s"):format(x, tostring(a), tostring(b))) end
    end
  end)

  it("add_checked and add_seconds_sat are asp_time_add_checked and asp_time_add_seconds", function()
    for _, ns in ipairs(NS) do
      for i = 1, #xs, 7 do
        local x = xs[i]
        local a, ra = time.add_checked(ns, x)
        local b, rb = c_add_checked(ns, x)
        if not (same(a, b) and ra == rb) then
          error(("%s + %.17g: Lua %s (%s), C %s (%s)"):format(tostring(ns), x, tostring(a), tostring(ra),
            tostring(b), tostring(rb)))
        end
        local s, t = time.add_seconds_sat(ns, x), C.asp_time_add_seconds(ns, x)
        if s ~= t then
          error(("%s + %.17g saturating: Lua %s, C %s"):format(tostring(ns), x, tostring(s), tostring(t)))
        end
      end
    end
  end)

  it("runs compiled as interpreted (the loop hot enough to be traced)", function()
    for _ = 1, 3 do
      for i = 1, 2000 do
        local x = xs[i]
        local a = time.seconds_ns(x)
        local b = c_seconds_ns(x)
        assert(same(a, b), x)
      end
    end
  end)
end)
