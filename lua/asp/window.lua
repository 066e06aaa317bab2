-- asp.window: a rolling window of (Time, number) values, by event time or
-- by count, with O(1) amortized add and O(1) reads (docs/api.md, "Windows
-- and bars").
--
-- Layout: the values live in a ring of FFI arrays (times as int64 ns,
-- values as doubles) indexed by absolute sequence numbers: value number i
-- is at slot i & mask, and the window holds the numbers [head, tail). Two
-- monotonic deques of sequence numbers, in rings of the same size, give
-- min and max: the front of `mins` is the oldest smallest value, each
-- later entry larger, so evicting a value pops it from the front when it
-- is there and adding x pops every entry >= x from the back.
--
-- Numerics: the mean and the sum of squared deviations (M2) follow
-- Welford's update on add and its inverse on removal. Removal cancels, so
-- errors grow with the number of updates and with how far M2 falls from a
-- larger value; both are bounded by recomputing sum, mean and M2 exactly
-- (compensated two-pass) from the ring when the updates since the last
-- recomputation outnumber twice the values held (plus 16), or when M2 fell below 2^-20 of
-- its peak since then. Each recomputation costs O(n) after at least n
-- updates (or after the removal of the values that made the peak), so adds
-- stay O(1) amortized.
local ffi = require("ffi")
local bit = require("bit")
local time = require("asp.time")
local task = require("asp.task")
local C = require("asp.cffi").C

local band = bit.band
local is_time = time.is_time
local Time = time.ct
local type, error, tostring, sqrt, huge = type, error, tostring, math.sqrt, math.huge

local M = {}
local F = "asp.window"
local MIN_CAP = 16
local MAX_SPAN_S = 9e9      -- int64 ns reach about 9.22e9 s
local PEAK_DROP = 2 ^ -20   -- recompute when M2 falls below this part of its peak
local MIN_NS = -0x7fffffffffffffffLL - 1

local Window = {}
Window.__index = Window

local function new_ring(cap)
  return ffi.new("int64_t[?]", cap), ffi.new("double[?]", cap),
    ffi.new("double[?]", cap), ffi.new("double[?]", cap)
end

-- Moves the entries of the rings to rings twice as large (seconds windows
-- only: a count window's ring is sized once).
local function grow(w)
  local cap = w.cap * 2
  local mask = cap - 1
  local ts, xs, mins, maxs = new_ring(cap)
  local om = w.mask
  local ots, oxs = w.ts, w.xs
  for i = w.head, w.tail - 1 do
    local a, b = band(i, mask), band(i, om)
    ts[a], xs[a] = ots[b], oxs[b]
  end
  local omins, omaxs = w.mins, w.maxs
  for j = w.mn_h, w.mn_t - 1 do mins[band(j, mask)] = omins[band(j, om)] end
  for j = w.mx_h, w.mx_t - 1 do maxs[band(j, mask)] = omaxs[band(j, om)] end
  w.ts, w.xs, w.mins, w.maxs, w.cap, w.mask = ts, xs, mins, maxs, cap, mask
end

-- Sum, mean and M2 from the values held: a Neumaier-compensated sum, then
-- the corrected two-pass M2 (the second term removes the first-order error
-- of the mean).
local function recompute(w)
  local n = w.tail - w.head
  w.ops = 0
  if n == 0 then
    w.acc, w.mu, w.m2, w.peak = 0, 0, 0, 0
    return
  end
  local xs, mask = w.xs, w.mask
  local s, c = 0, 0
  for i = w.head, w.tail - 1 do
    local x = xs[band(i, mask)]
    local t = s + x
    if (s >= 0 and s or -s) >= (x >= 0 and x or -x) then
      c = c + ((s - t) + x)
    else
      c = c + ((x - t) + s)
    end
    s = t
  end
  s = s + c
  local mean = s / n
  local q, e = 0, 0
  for i = w.head, w.tail - 1 do
    local d = xs[band(i, mask)] - mean
    q = q + d * d
    e = e + d
  end
  q = q - e * e / n
  if q < 0 then q = 0 end
  w.acc, w.mu, w.m2, w.peak = s, mean + e / n, q, q
end

-- Removes the oldest value.
local function pop(w)
  local i = w.head
  local x = w.xs[band(i, w.mask)]
  w.head = i + 1
  local mask = w.mask
  if w.mn_h < w.mn_t and w.mins[band(w.mn_h, mask)] == i then w.mn_h = w.mn_h + 1 end
  if w.mx_h < w.mx_t and w.maxs[band(w.mx_h, mask)] == i then w.mx_h = w.mx_h + 1 end
  local n = w.tail - w.head
  w.ops = w.ops + 1
  if n == 0 then
    w.acc, w.mu, w.m2, w.peak, w.ops = 0, 0, 0, 0, 0
    return
  end
  w.acc = w.acc - x
  local mean = w.mu
  local d = x - mean
  mean = mean - d / n
  w.mu = mean
  local m2 = w.m2 - d * (x - mean)
  w.m2 = m2 > 0 and m2 or 0
end

-- Evicts the values at or before cut_ns (int64).
local function evict_before(w, cut_ns)
  local ts, mask = w.ts, w.mask
  while w.head < w.tail and ts[band(w.head, mask)] <= cut_ns do pop(w) end
end

local function check_self(self, name)
  if getmetatable(self) ~= Window then
    error(F .. ": " .. name .. ": bad self (a window expected, got " .. type(self)
      .. "; call it as w:" .. name .. "(...))", 3)
  end
end

local function check_t(t, name)
  if not is_time(t) then
    error(F .. ": " .. name .. ": bad argument #1 't' (a Time expected, got " .. type(t)
      .. "; use asp.time(...))", 3)
  end
end


-- Recomputes when the running figures may have drifted (see the top).
local function maybe_recompute(w)
  if w.ops > 2 * (w.tail - w.head) + 16 or w.m2 < w.peak * PEAK_DROP then recompute(w) end
end

-- w:add(t, x): appends x at event time t, then evicts what fell out.
function Window:add(t, x)
  check_self(self, "add")
  check_t(t, "add")
  if type(x) ~= "number" or x ~= x or x == huge or x == -huge then
    error(F .. ": add: bad argument #2 'x' (a finite number expected, got "
      .. (type(x) == "number" and tostring(x) or type(x)) .. ")", 2)
  end
  local ns, clk = t.ns_, self.clk
  if ns < clk[0] then
    error(F .. ": add: out-of-order time " .. tostring(t) .. " is earlier than the last added time "
      .. tostring(Time(clk[0])), 2)
  end
  clk[0] = ns
  if ns > clk[1] then clk[1] = ns end
  local i = self.tail
  if i - self.head == self.count_max then pop(self) end
  if i - self.head == self.cap then grow(self) end
  local mask = self.mask
  local xs, mins, maxs = self.xs, self.mins, self.maxs
  local slot = band(i, mask)
  self.ts[slot] = ns
  xs[slot] = x
  self.tail = i + 1
  -- The deques: x makes every larger (mins) or smaller (maxs) value at the
  -- back irrelevant while x is held, and x leaves after them.
  local h, k = self.mn_h, self.mn_t
  while k > h and xs[band(mins[band(k - 1, mask)], mask)] >= x do k = k - 1 end
  mins[band(k, mask)] = i
  self.mn_t = k + 1
  h, k = self.mx_h, self.mx_t
  while k > h and xs[band(maxs[band(k - 1, mask)], mask)] <= x do k = k - 1 end
  maxs[band(k, mask)] = i
  self.mx_t = k + 1
  -- Welford's update.
  local n = self.tail - self.head
  self.acc = self.acc + x
  local mean = self.mu
  local d = x - mean
  mean = mean + d / n
  self.mu = mean
  local m2 = self.m2 + d * (x - mean)
  self.m2 = m2
  if m2 > self.peak then self.peak = m2 end
  self.ops = self.ops + 1
  if self.span_ns then evict_before(self, clk[1] - self.span_ns) end
  maybe_recompute(self)
end

-- w:advance(t): evicts by the clock, as if a value had been added at t.
function Window:advance(t)
  check_self(self, "advance")
  check_t(t, "advance")
  local ns, clk = t.ns_, self.clk
  if ns <= clk[1] then return end
  clk[1] = ns
  if self.span_ns then
    evict_before(self, ns - self.span_ns)
    maybe_recompute(self)
  end
end

-- -- Reads ---------------------------------------------------------------------

function Window:count()
  return self.tail - self.head
end

function Window:sum()
  return self.acc
end

function Window:mean()
  local n = self.tail - self.head
  if n == 0 then return nil end
  return self.acc / n
end

-- Sample variance by default (ddof = 1); var(0) is the population one.
function Window:var(ddof)
  if ddof == nil then
    ddof = 1
  elseif type(ddof) ~= "number" or not (ddof >= 0) then
    error(F .. ": var: bad argument #1 'ddof' (a number >= 0 expected, got " .. tostring(ddof) .. ")", 2)
  end
  local n = self.tail - self.head
  if n - ddof <= 0 then return nil end
  return self.m2 / (n - ddof)
end

function Window:std(ddof)
  if ddof ~= nil and (type(ddof) ~= "number" or not (ddof >= 0)) then
    error(F .. ": std: bad argument #1 'ddof' (a number >= 0 expected, got " .. tostring(ddof) .. ")", 2)
  end
  local v = self:var(ddof)
  return v and sqrt(v)
end

-- value, Time of seq i.
local function at(w, i)
  local slot = band(i, w.mask)
  return w.xs[slot], Time(w.ts[slot])
end

function Window:min()
  if self.mn_h == self.mn_t then return nil end
  return at(self, self.mins[band(self.mn_h, self.mask)])
end

function Window:max()
  if self.mx_h == self.mx_t then return nil end
  return at(self, self.maxs[band(self.mx_h, self.mask)])
end

function Window:first()
  if self.head == self.tail then return nil end
  return at(self, self.head)
end

function Window:last()
  if self.head == self.tail then return nil end
  return at(self, self.tail - 1)
end

Window.__tostring = function(w)
  return ("asp.window(%s%s%s: %d values)"):format(
    w.seconds and ("seconds = " .. tostring(w.seconds)) or "",
    (w.seconds and w.count_max) and ", " or "",
    w.count_max and ("count = " .. w.count_max) or "", w.tail - w.head)
end

-- -- Construction --------------------------------------------------------------

local OPTIONS = { seconds = true, count = true }

local function pow2_at_least(n)
  local c = MIN_CAP
  while c < n do c = c * 2 end
  return c
end

function M.window(opts)
  task.check_options(F, opts, OPTIONS)
  local s, n = opts.seconds, opts.count
  if s == nil and n == nil then
    error(F .. ": option 'seconds' or 'count' is required", 2)
  end
  local span_ns
  if s ~= nil then
    if type(s) ~= "number" or not (s > 0) or s > MAX_SPAN_S then
      error(F .. ": option 'seconds' must be a number of seconds > 0 and <= 9e9 (got "
        .. tostring(s) .. ")", 2)
    end
    span_ns = C.asp_time_add_seconds(0, s)
    if span_ns < 1 then
      error(F .. ": option 'seconds' must be at least 1 ns (got " .. tostring(s) .. ")", 2)
    end
  end
  if n ~= nil and (type(n) ~= "number" or n < 1 or n ~= n - n % 1 or n > 2 ^ 31) then
    error(F .. ": option 'count' must be an integer >= 1 and <= 2^31 (got " .. tostring(n) .. ")", 2)
  end
  local cap = pow2_at_least(n or MIN_CAP)
  local ts, xs, mins, maxs = new_ring(cap)
  local w = setmetatable({
    seconds = s, span_ns = span_ns, count_max = n or false,
    cap = cap, mask = cap - 1, ts = ts, xs = xs, mins = mins, maxs = maxs,
    head = 0, tail = 0, mn_h = 0, mn_t = 0, mx_h = 0, mx_t = 0,
    -- The last added time and the window's end (the latest time added or
    -- advanced to), in an FFI array so that updating them allocates nothing.
    clk = ffi.new("int64_t[2]", MIN_NS, MIN_NS),
    acc = 0, mu = 0, m2 = 0, peak = 0, ops = 0,
  }, Window)
  return w
end

return M
