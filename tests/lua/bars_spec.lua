-- docs/api.md, "Windows and bars": asp.bars, closed by the clock.
local asp = require("asp")
local h = require("helpers")
local pcall_err = h.pcall_err
local T0 = h.T0

-- Park-Miller minimal standard LCG (math.random's sequence is not guaranteed).
local function lcg(seed)
  local s = seed
  return function(n)
    s = s * 16807 % 2147483647
    return s % n
  end
end

-- The reference: the events grouped by interval k = floor((t - origin) / s),
-- one bar per non-empty interval.
local function ref_bars(events, origin, s)
  local bars, cur = {}, nil
  for _, e in ipairs(events) do
    local t, p, q = e[1], e[2][1], e[2][2]
    local k = math.floor((t - origin) / s)
    if cur == nil or cur.k ~= k then
      cur = { k = k, open = p, high = p, low = p, close = p, volume = 0, count = 0,
        start = origin + k * s, stop = origin + (k + 1) * s }
      bars[#bars + 1] = cur
    end
    cur.high = math.max(cur.high, p)
    cur.low = math.min(cur.low, p)
    cur.close = p
    cur.volume = cur.volume + q
    cur.count = cur.count + 1
  end
  return bars
end

-- Runs the events through a bar builder inside asp.run; returns the bars,
-- the log of events and bars in the order they happened, and the result.
local function run_bars(events, opts, run_opts)
  local got, log = {}, {}
  opts.callback = function(e, bar)
    assert.are.equal(e, bar.stop)
    assert.are.equal(asp.now(), e)   -- delivered at its end, by the clock
    got[#got + 1] = bar
    log[#log + 1] = "bar " .. h.at(bar.start)
  end
  local b = asp.bars(opts)
  local res = asp.run({
    asp.process_stream{ past = events, unpack = true, callback = function(t, p, q)
      b:add(t, p, q)
      log[#log + 1] = "ev " .. h.at(t) -- after add: a bar that add delivers comes first
    end },
  }, run_opts)
  return got, log, res, b
end

local function same_bars(want, got)
  assert.are.equal(#want, #got)
  for i = 1, #want do
    local w, g = want[i], got[i]
    for _, f in ipairs({ "open", "high", "low", "close", "volume", "count", "start", "stop" }) do
      assert(w[f] == g[f], ("bar %d field %s: want %s, got %s"):format(i, f, tostring(w[f]), tostring(g[f])))
    end
  end
end

describe("asp.bars", function()
  it("matches a reference over 3,000 random events, with boundary ties and empty intervals", function()
    local rnd = lcg(4711)
    local events, t = {}, T0
    for i = 1, 3000 do
      local r = rnd(100)
      if r < 15 then
        -- same time
      elseif r < 95 then
        t = t + 0.5 * (1 + rnd(4))     -- often exactly on a 5 s boundary
      else
        t = t + 5 * (1 + rnd(4))       -- skips whole intervals
      end
      events[i] = { t, { 100 + rnd(21) - 10, rnd(5) } }
    end
    for _, origin in ipairs({ asp.time(0), T0 + 2 }) do
      local got, log, res = run_bars(events, { interval = 5, origin = origin ~= asp.time(0) and origin or nil })
      local want = ref_bars(events, origin, 5)
      same_bars(want, got)
      assert.is_true(#want > 600)
      -- Each bar came after its own events and before any event of a later bar.
      local last_bar_start = nil
      for _, line in ipairs(log) do
        local kind, at = line:match("^(%a+) (.*)$")
        at = tonumber(at)
        if kind == "bar" then
          last_bar_start = at
        elseif last_bar_start then
          assert.is_true(at >= last_bar_start + 5, line)
        end
      end
      assert.are.equal(got[#got].stop, res.last_time)
    end
  end)

  it("puts an event at exactly a bar's end in the next bar, and delivers the bar before it", function()
    local got, log = run_bars({
      { T0 + 1, { 10, 1 } }, { T0 + 4, { 12, 2 } }, { T0 + 5, { 11, 3 } }, { T0 + 9.999, { 13, 1 } },
    }, { interval = 5 })
    assert.are.same({ "ev 1", "ev 4", "bar 0", "ev 5", "ev 9.999", "bar 5" }, log)
    assert.are.same({ 10, 12, 10, 12, 3, 2 },
      { got[1].open, got[1].high, got[1].low, got[1].close, got[1].volume, got[1].count })
    assert.are.same({ 11, 13, 11, 13, 4, 2 },
      { got[2].open, got[2].high, got[2].low, got[2].close, got[2].volume, got[2].count })
    assert.are.same({ T0, T0 + 5, T0 + 5, T0 + 10 }, { got[1].start, got[1].stop, got[2].start, got[2].stop })
  end)

  it("closes a bar by the clock when no event comes, and makes no bar for empty intervals", function()
    local ticks = {}
    local got, log = run_bars({ { T0 + 1, { 10, 1 } }, { T0 + 27, { 20, 1 } } }, { interval = 5 })
    assert.are.same({ "ev 1", "bar 0", "ev 27", "bar 25" }, log)
    assert.are.equal(2, #got)
    -- The close is an ordinary item at the bar's end: at equal times it runs
    -- in the order items were scheduled, so the timer (started first) ticks first.
    local b = asp.bars{ interval = 5, callback = function(e) ticks[#ticks + 1] = "bar " .. h.at(e) end }
    asp.run({
      asp.process_stream{ past = { { T0 + 1, 1 } }, callback = function(t, p) b:add(t, p) end },
      asp.timer{ interval = 5, start_time = T0, end_time = 5,
        callback = function(t) ticks[#ticks + 1] = "tick " .. h.at(t) end },
    }, { start_time = T0 })
    assert.are.same({ "tick 5", "bar 5" }, ticks)
  end)

  it("leaves the partial last bar undelivered when a backtest ends before its end; flush delivers it", function()
    local got, _, res, b = run_bars({ { T0 + 1, { 10, 1 } }, { T0 + 7, { 11, 2 } } },
      { interval = 5 }, { live = false })
    assert.are.equal(1, #got)
    assert.are.equal(T0 + 7, res.last_time)
    assert.are.equal(1, res.dropped)
    assert.are.equal(11, b:current().close)
    local flushed
    b.callback = function(e, bar) flushed = { e, bar } end
    assert.is_true(b:flush())
    assert.are.same({ T0 + 10, T0 + 5, 11, 2, true },
      { flushed[1], flushed[2].start, flushed[2].close, flushed[2].volume, flushed[2].partial })
    assert.is_false(b:flush())
    assert.is_nil(b:current())
  end)

  it("counts ticks and no volume without a size", function()
    local got = {}
    local b = asp.bars{ interval = 60, callback = function(_, bar) got[#got + 1] = bar end }
    b:add(T0, 1)
    b:add(T0 + 1, 3)
    b:add(T0 + 60, 2)   -- outside a run: the next bar's first event closes the bar
    assert.are.same({ 1, 3, 1, 3, 0, 2 },
      { got[1].open, got[1].high, got[1].low, got[1].close, got[1].volume, got[1].count })
  end)

  it("aligns to origin, also for times before it", function()
    local got = {}
    local b = asp.bars{ interval = 10, origin = T0 + 3, callback = function(_, bar) got[#got + 1] = bar end }
    b:add(T0 - 8, 1)
    b:add(T0 + 2.9, 1)
    b:add(T0 + 3, 1)
    b:flush()
    assert.are.same({ T0 - 17, T0 - 7, T0 - 7, T0 + 3, T0 + 3, T0 + 13 },
      { got[1].start, got[1].stop, got[2].start, got[2].stop, got[3].start, got[3].stop })
  end)
end)

describe("asp.bars errors", function()
  it("names the option", function()
    local f = function() end
    assert.matches("asp.bars: option 'interval' must be a number of seconds > 0",
      pcall_err(asp.bars, { interval = 0, callback = f }))
    assert.matches("asp.bars: option 'callback' must be a function", pcall_err(asp.bars, { interval = 1 }))
    assert.matches("asp.bars: option 'origin' must be a Time",
      pcall_err(asp.bars, { interval = 1, callback = f, origin = 0 }))
    assert.are.equal("asp.bars: unknown option 'size'", pcall_err(asp.bars, { interval = 1, callback = f, size = 1 }))
  end)

  it("names the argument of add", function()
    local b = asp.bars{ interval = 1, callback = function() end }
    assert.matches("asp.bars: add: bad argument #1 't'", pcall_err(b.add, b, 1, 1))
    assert.are.equal("asp.bars: add: bad argument #2 'price' (a finite number expected, got nan)",
      pcall_err(b.add, b, T0, 0 / 0))
    assert.are.equal("asp.bars: add: bad argument #3 'size' (a finite number >= 0 expected, got -1)",
      pcall_err(b.add, b, T0, 1, -1))
    assert.matches("asp.bars: add: bad self", pcall_err(b.add, T0, 1))
  end)

  it("rejects an out-of-order add and an add into a bar already delivered, naming the times", function()
    local b = asp.bars{ interval = 10, callback = function() end }
    b:add(T0 + 5, 1)
    assert.are.equal("asp.bars: add: out-of-order time 2025-01-01T00:00:04.000000Z is earlier than "
      .. "the last added time 2025-01-01T00:00:05.000000Z", pcall_err(b.add, b, T0 + 4, 1))
    b:flush()
    assert.are.equal("asp.bars: add: time 2025-01-01T00:00:05.000000Z falls in a bar already closed at "
      .. "2025-01-01T00:00:10.000000Z", pcall_err(b.add, b, T0 + 5, 1))
    b:add(T0 + 10, 1)
  end)
end)
