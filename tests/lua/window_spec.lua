-- docs/api.md, "Windows and bars": asp.window against a naive reference.
local asp = require("asp")
local h = require("helpers")
local pcall_err = h.pcall_err
local T0 = h.T0

-- Park-Miller minimal standard LCG: the same sequence everywhere (the
-- sequence of math.random is not guaranteed across builds).
local function lcg(seed)
  local s = seed
  return function(n) -- an integer in [0, n) with n, a float in [0, 1) without
    s = s * 16807 % 2147483647
    if n then return s % n end
    return (s - 1) / 2147483646
  end
end

-- The reference: a plain list, recomputed from scratch at every read.
local function ref_stats(list)
  local n = #list
  local r = { count = n, sum = 0 }
  if n == 0 then return r end
  local s = 0
  for i = 1, n do s = s + list[i].x end
  r.sum = s
  r.mean = s / n
  local q = 0
  for i = 1, n do local d = list[i].x - r.mean; q = q + d * d end
  if n > 1 then r.var = q / (n - 1) end
  r.pvar = q / n
  r.min, r.max = math.huge, -math.huge
  for i = 1, n do
    local x = list[i].x
    if x <= r.min then r.min, r.min_t = x, list[i].t end
    if x >= r.max then r.max, r.max_t = x, list[i].t end
  end
  r.first, r.first_t = list[1].x, list[1].t
  r.last, r.last_t = list[n].x, list[n].t
  return r
end

local function close(a, b, tol)
  if a == nil or b == nil then return a == b end
  return math.abs(a - b) <= tol * math.max(1, math.abs(a), math.abs(b))
end

local function check(w, list, step)
  local r = ref_stats(list)
  local where = " at step " .. step
  assert(w:count() == r.count, "count" .. where .. ": " .. w:count() .. " vs " .. r.count)
  assert(close(w:sum(), r.sum, 1e-9), "sum" .. where)
  assert(close(w:mean(), r.mean, 1e-9), "mean" .. where)
  assert(close(w:var(), r.var, 1e-8), "var" .. where .. ": " .. tostring(w:var()) .. " vs " .. tostring(r.var))
  assert(close(w:var(0), r.pvar, 1e-8), "var(0)" .. where)
  assert(close(w:std(), r.var and math.sqrt(r.var), 1e-8), "std" .. where)
  local x, t = w:min()
  assert(x == r.min and t == r.min_t, "min" .. where)
  x, t = w:max()
  assert(x == r.max and t == r.max_t, "max" .. where)
  x, t = w:first()
  assert(x == r.first and t == r.first_t, "first" .. where)
  x, t = w:last()
  assert(x == r.last and t == r.last_t, "last" .. where)
end

-- Drives a window and the reference with the same random steps: equal
-- times, quarter-second steps (so times land exactly on boundaries), gaps
-- larger than the window, and evictions by advance.
local function random_run(opts, seed, steps, values)
  local rnd = lcg(seed)
  local w = asp.window(opts)
  local list, t, e = {}, T0, T0
  local function evict()
    if opts.seconds then
      local cut = e - opts.seconds
      while #list > 0 and list[1].t <= cut do table.remove(list, 1) end
    end
    if opts.count then
      while #list > opts.count do table.remove(list, 1) end
    end
  end
  for step = 1, steps do
    local r = rnd(100)
    if r < 20 then
      -- same time
    elseif r < 95 then
      t = t + 0.25 * (1 + rnd(8))
    else
      t = t + (opts.seconds or 1) * (1 + rnd(3)) -- a gap larger than the window
    end
    if rnd(10) == 0 then
      local a = t + 0.25 * rnd(12)
      w:advance(a)
      if a > e then e = a end
      evict()
      check(w, list, step)
    end
    local x = values(rnd)
    w:add(t, x)
    if t > e then e = t end
    list[#list + 1] = { t = t, x = x }
    evict()
    check(w, list, step)
  end
end

local function small_ints(rnd) return rnd(10) end          -- many ties for min/max
local function floats(rnd) return (rnd() - 0.5) * 1e3 end

describe("asp.window{seconds = s}", function()
  it("matches a naive reference over 5,000 random steps with equal times, boundary ties and gaps", function()
    random_run({ seconds = 2 }, 12345, 5000, small_ints)
    random_run({ seconds = 3.5 }, 777, 5000, floats)
  end)

  it("holds the values with time in (t_last - s, t_last]: a value exactly s old is evicted", function()
    local w = asp.window{ seconds = 10 }
    w:add(T0, 1)
    w:add(T0 + 9.999999999, 2)
    assert.are.equal(2, w:count())
    w:add(T0 + 10, 3)
    assert.are.equal(2, w:count())
    assert.are.equal(2, (w:first()))
  end)

  it("keeps every value of an equal time together", function()
    local w = asp.window{ seconds = 1 }
    for i = 1, 5 do w:add(T0, i) end
    assert.are.equal(5, w:count())
    w:add(T0 + 1, 9)
    assert.are.equal(1, w:count())
  end)

  it("gives min and max right after the extreme is evicted", function()
    local w = asp.window{ seconds = 5 }
    w:add(T0, 100)
    w:add(T0 + 1, -100)
    w:add(T0 + 2, 3)
    w:add(T0 + 3, 1)
    w:add(T0 + 4, 2)
    assert.are.same({ 100, -100 }, { (w:max()), (w:min()) })
    w:add(T0 + 5, 0)     -- evicts 100 (at T0)
    assert.are.same({ 3, -100 }, { (w:max()), (w:min()) })
    w:advance(T0 + 6)    -- evicts -100
    assert.are.same({ 3, 0 }, { (w:max()), (w:min()) })
    w:advance(T0 + 7.5)  -- evicts 3
    assert.are.same({ 2, 0 }, { (w:max()), (w:min()) })
    local x, t = w:max()
    assert.are.equal(T0 + 4, t)
    assert.are.equal(2, x)
  end)

  it("empties on a gap larger than the window, and reads nil (count 0, sum 0)", function()
    local w = asp.window{ seconds = 1 }
    w:add(T0, 5)
    w:advance(T0 + 100)
    assert.are.equal(0, w:count())
    assert.are.equal(0, w:sum())
    assert.is_nil(w:mean())
    assert.is_nil(w:var())
    assert.is_nil(w:min())
    assert.is_nil(w:first())
    w:add(T0 + 100, 7)
    assert.are.same({ 1, 7, 7 }, { w:count(), w:sum(), (w:max()) })
    assert.is_nil(w:var())    -- sample variance of one value
    assert.are.equal(0, w:var(0))
  end)

  it("advance to a time before the window's end changes nothing; adds stay ordered by add time", function()
    local w = asp.window{ seconds = 10 }
    w:add(T0 + 5, 1)
    w:advance(T0 + 14)
    w:advance(T0 + 2)
    assert.are.equal(1, w:count())
    w:add(T0 + 5, 2)           -- not earlier than the last add: accepted
    assert.are.equal(2, w:count())
    w:advance(T0 + 15)
    assert.are.equal(0, w:count())
  end)

  it("reads at a timer tick after advance(asp.now())", function()
    local seen = {}
    local w = asp.window{ seconds = 2 }
    asp.run({
      asp.process_stream{
        past = { { T0 + 0.5, 1 }, { T0 + 1, 2 }, { T0 + 2.5, 3 } },
        callback = function(t, x) w:add(t, x) end,
      },
      asp.timer{ interval = 1, start_time = T0, end_time = 5, callback = function(tick)
        w:advance(tick)
        seen[#seen + 1] = w:count() .. ":" .. w:sum()
      end },
    }, { start_time = T0 })
    -- Ticks at 1 (the event at 1 runs first), 2, 3, 4, 5; the add at 2.5 evicts 0.5.
    assert.are.same({ "2:3", "2:3", "1:3", "1:3", "0:0" }, seen)
  end)
end)

describe("asp.window{count = n}", function()
  it("matches the last n values over 5,000 random steps", function()
    random_run({ count = 7 }, 4242, 5000, small_ints)
    random_run({ count = 1 }, 99, 2000, floats)
    random_run({ count = 100 }, 31337, 5000, floats)
  end)

  it("with seconds too, holds the last n values inside the time window", function()
    random_run({ count = 5, seconds = 2 }, 2718, 5000, small_ints)
  end)

  it("ignores advance (it evicts by count only)", function()
    local w = asp.window{ count = 2 }
    w:add(T0, 1)
    w:advance(T0 + 1e6)
    assert.are.equal(1, w:count())
  end)
end)

describe("asp.window variance", function()
  -- The reference: two passes over the exact values.
  local function two_pass(xs, i, j)
    local s = 0
    for k = i, j do s = s + xs[k] end
    local m = s / (j - i + 1)
    local q = 0
    for k = i, j do local d = xs[k] - m; q = q + d * d end
    return q / (j - i)
  end

  it("stays accurate over 1,000,000 adds around 1e9 with a spread of 1", function()
    local rnd = lcg(2024)
    local n = 500
    local w = asp.window{ count = n }
    local xs = {}
    local worst = 0
    for i = 1, 1000000 do
      local x = 1e9 + rnd()
      xs[i] = x
      w:add(T0, x)
      if i % 50000 == 0 then
        local v = two_pass(xs, i - n + 1, i)
        worst = math.max(worst, math.abs(w:var() - v) / v)
      end
    end
    assert.is_true(worst < 1e-6, "relative error " .. worst)
  end)

  it("recovers full accuracy after huge values leave the window", function()
    local rnd = lcg(7)
    local w = asp.window{ seconds = 10 }
    local xs = {}
    for i = 1, 100 do
      xs[i] = rnd() * 1e12
      w:add(T0 + i * 0.01, xs[i])
    end
    local t = T0 + 1
    for i = 101, 300 do
      xs[i] = 1 + rnd() * 1e-3
      t = t + 0.1
      w:add(t, xs[i])
    end
    -- The window now holds the values of the last 10 s: 100 of the small ones.
    assert.are.equal(100, w:count())
    local v = two_pass(xs, 201, 300)
    assert.is_true(math.abs(w:var() - v) / v < 1e-9, w:var() .. " vs " .. v)
  end)

  it("is exactly 0 for constant values, also after large ones left", function()
    local w = asp.window{ count = 3 }
    for _, x in ipairs({ 1e15, -3e14, 7, 5, 5, 5 }) do w:add(T0, x) end
    assert.are.equal(0, w:var())
    assert.are.equal(15, w:sum())
  end)
end)

describe("asp.window errors", function()
  it("names the option", function()
    assert.are.equal("asp.window: option 'seconds' or 'count' is required", pcall_err(asp.window, {}))
    assert.matches("asp.window: option 'seconds' must be a number of seconds > 0",
      pcall_err(asp.window, { seconds = 0 }))
    assert.matches("option 'seconds' must be", pcall_err(asp.window, { seconds = 0 / 0 }))
    assert.matches("asp.window: option 'count' must be an integer >= 1", pcall_err(asp.window, { count = 1.5 }))
    assert.matches("option 'count' must be", pcall_err(asp.window, { count = 0 }))
    assert.are.equal("asp.window: unknown option 'second'", pcall_err(asp.window, { second = 1 }))
    assert.matches("asp.window: bad argument #1", pcall_err(asp.window, 5))
  end)

  it("names the argument of add and advance", function()
    local w = asp.window{ seconds = 1 }
    assert.matches("asp.window: add: bad argument #1 't' %(a Time expected, got number",
      pcall_err(w.add, w, 5, 1))
    assert.are.equal("asp.window: add: bad argument #2 'x' (a finite number expected, got nan)",
      pcall_err(w.add, w, T0, 0 / 0))
    assert.are.equal("asp.window: add: bad argument #2 'x' (a finite number expected, got inf)",
      pcall_err(w.add, w, T0, math.huge))
    assert.matches("got string", pcall_err(w.add, w, T0, "1"))
    assert.matches("asp.window: advance: bad argument #1 't'", pcall_err(w.advance, w, nil))
    assert.matches("asp.window: add: bad self", pcall_err(w.add, T0, 1))
    assert.matches("asp.window: var: bad argument #1 'ddof'", pcall_err(w.var, w, -1))
  end)

  it("rejects an out-of-order add, naming both times, and keeps its state", function()
    local w = asp.window{ seconds = 10 }
    w:add(T0 + 5, 1)
    assert.are.equal("asp.window: add: out-of-order time 2025-01-01T00:00:04.000000Z is earlier than "
      .. "the last added time 2025-01-01T00:00:05.000000Z", pcall_err(w.add, w, T0 + 4, 2))
    assert.are.same({ 1, 1 }, { w:count(), w:sum() })
  end)
end)
