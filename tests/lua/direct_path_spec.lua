-- The replay's direct path (engine/sched.h, asp_sched_fast; lua/asp/stream.lua,
-- deliver): a stream whose next event is still the run's earliest item runs
-- it itself, without the queue. Nothing a script can see may differ: each
-- scenario runs twice, the second time with the direct path kept closed (each
-- callback first queues a call due now, which is below the stream's next
-- event), and both runs must give the same log.
local asp = require("asp")
local h = require("helpers")
local T0 = h.T0
local at = h.at

-- A small deterministic generator (Park-Miller), so that runs are repeatable.
local function lcg(seed)
  local s = seed
  return function(n)
    s = (s * 16807) % 2147483647
    return s % n
  end
end

local noops, noops_queued = 0, 0
local function noop() noops = noops + 1 end

-- Runs streams made by make(note) and returns the log. With closed, every
-- stream callback queues a no-op call due now first (it keeps the direct
-- path closed); the items the log shows leave those calls out.
local function run_logged(make, opts, closed)
  local log = {}
  noops, noops_queued = 0, 0
  local function note(what)
    local st = asp.stats()
    local counts = {}
    for i, s in ipairs(st.streams) do counts[i] = s.delivered .. "/" .. s.out_of_order end
    log[#log + 1] = ("%s @%s items=%d events=%d streams=%s"):format(what, at(asp.now()), st.items - noops,
      st.events, table.concat(counts, ","))
  end
  local function wrap(cb)
    return function(t, v)
      if closed then
        noops_queued = noops_queued + 1
        asp.call_later(0, noop)
      end
      return cb(t, v)
    end
  end
  local r = asp.run(make(note, wrap), opts)
  log[#log + 1] = ("end @%s items=%d events=%d dropped=%d stopped=%s"):format(at(r.last_time),
    r.items - noops, r.events, r.dropped - (noops_queued - noops), tostring(r.stopped))
  return log
end

local function same_both_ways(make, opts)
  local direct = run_logged(make, opts, false)
  local closed = run_logged(make, opts, true)
  assert.are.same(closed, direct)
  return direct
end

describe("the replay's direct path", function()
  it("gives the order, clock and counters of the queue with bursts, ties, late events, calls and sleeps", function()
    local make = function(note, wrap)
      local r = lcg(7)
      local function past(name, n, step)
        local ev, t = {}, 0
        for i = 1, n do
          -- Mostly forward in bursts, sometimes a tie, sometimes late (out of order).
          local k = r(20)
          if k < 14 then t = t + step elseif k < 17 then t = t + 0 elseif k < 19 then t = t - step * 2 else t = t + 50 * step end
          ev[i] = { T0 + 1 + t, name .. i }
        end
        return ev
      end
      local function callback(t, v)
        note(v .. " t=" .. at(t))
        local k = r(100)
        if k < 8 then
          asp.call_later(r(3) * 0.5, function(due) note("call " .. v .. " due=" .. at(due)) end)
        elseif k < 10 then
          asp.sleep(0.25)
          note("woke " .. v)
        elseif k < 11 then
          asp.call_later(0, function() note("call0 " .. v) end)
        end
      end
      return {
        asp.process_stream{ name = "a", past = past("a", 3000, 0.001), callback = wrap(callback) },
        asp.process_stream{ name = "b", past = past("b", 300, 0.01), callback = wrap(callback) },
        asp.process_stream{ name = "c", past = past("c", 1500, 0.002), callback = wrap(callback) },
        asp.timer{ interval = 0.7, start_time = T0, end_time = 4, callback = function(t) note("tick " .. at(t)) end },
      }
    end
    local log = same_both_ways(make, { start_time = T0, live = false })
    assert.is_true(#log > 4800)
  end)

  it("crosses every 1024th item (take's periodic work) with the same counts", function()
    local make = function(note, wrap)
      local i = 0
      return { asp.process_stream{
        past = function()
          if i >= 5000 then return nil end
          i = i + 1
          return T0 + i * 1e-3, i
        end,
        callback = wrap(function(_, v) if v % 97 == 0 or (v >= 1020 and v <= 1030) then note("e" .. v) end end),
      } }
    end
    same_both_ways(make, { start_time = T0, live = false })
  end)

  it("stops after the callback that called asp.stop(), in the middle of a burst", function()
    local delivered = 0
    local make = function(note, wrap)
      delivered = 0
      return { asp.process_stream{
        past = h.events(T0, (function() local o = {} for i = 1, 3000 do o[i] = i * 1e-3 end return o end)()),
        callback = wrap(function(_, v)
          delivered = delivered + 1
          if v == 1500 then note("stop at " .. v); asp.stop() end
        end),
      } }
    end
    local log = same_both_ways(make, { start_time = T0, live = false })
    assert.are.equal(1500, delivered)
    assert.are.equal("end @1.5 items=1501 events=1500 dropped=1 stopped=true", log[#log])
  end)

  it("ends at end_time in the middle of a burst", function()
    local last
    local make = function(note, wrap)
      local i = 0
      return { asp.process_stream{
        past = function()
          if i >= 3000 then return nil end
          i = i + 1
          return T0 + i * 1e-3, i
        end,
        callback = wrap(function(_, v) last = v; if v % 500 == 0 then note("e" .. v) end end),
      } }
    end
    same_both_ways(make, { start_time = T0, end_time = T0 + 2, live = false })
    assert.are.equal(2000, last)
  end)

  it("runs a call queued by a burst's callback between the burst's events", function()
    local log = {}
    local events = {}
    for i = 1, 10 do events[i] = { T0 + i, i } end
    asp.run({ asp.process_stream{ past = events, callback = function(_, v)
      log[#log + 1] = "e" .. v .. "@" .. at(asp.now())
      if v == 3 then asp.call_later(0.5, function() log[#log + 1] = "call@" .. at(asp.now()) end) end
      if v == 5 then asp.sleep(2.5); log[#log + 1] = "woke@" .. at(asp.now()) end
    end } }, { start_time = T0, live = false })
    assert.are.same({ "e1@1", "e2@2", "e3@3", "call@3.5", "e4@4", "e5@5", "woke@7.5", "e6@7.5", "e7@7.5",
      "e8@8", "e9@9", "e10@10" }, log)
  end)
end)
