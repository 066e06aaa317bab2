-- lua-api.md, section "The clock rule".
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

describe("the clock rule", function()
  it("runs every kind of item in the order of its due time", function()
    local log = {}
    local function note(what) return function() log[#log + 1] = what .. "@" .. at(asp.now()) end end
    asp.run({
      asp.process_stream{ past = { { T0 + 4, "e4" }, { T0 + 7, "e7" } },
        callback = function(_, v) log[#log + 1] = v .. "@" .. at(asp.now()) end },
      asp.timer{ interval = 3, start_time = T0, end_time = 6, callback = function(t) log[#log + 1] = "tick@" .. at(t) end },
      function()
        asp.call_later(5, note("call"))
        asp.sleep(2)
        note("wake")()
        asp.spawn(asp.process_stream{ past = { { T0 + 1, "late" } },
          callback = function(t, v) log[#log + 1] = v .. "(" .. at(t) .. ")@" .. at(asp.now()) end })
      end,
    }, { start_time = T0 })
    assert.are.same({ "wake@2", "late(1)@2", "tick@3", "e4@4", "call@5", "tick@6", "e7@7" }, log)
  end)

  it("delivers equal-time events of several streams in the order the streams started", function()
    local log = {}
    local function stream(name)
      return asp.process_stream{ past = { { T0 + 1, name }, { T0 + 2, name } },
        callback = function(_, v) log[#log + 1] = v end }
    end
    asp.run({ stream("c"), stream("a"), stream("b") }, { start_time = T0 })
    assert.are.same({ "c", "a", "b", "c", "a", "b" }, log)
  end)

  it("keeps the start order at a tie whatever the order the events were queued in", function()
    -- a's event at 5 is queued at 1 (after its first event), b's at the start:
    -- ordering ties by queueing (as the seed does) would put b first.
    local log = {}
    asp.run({
      asp.process_stream{ name = "a", past = { { T0 + 1, "a1" }, { T0 + 5, "a5" } },
        callback = function(_, v) log[#log + 1] = v end },
      asp.process_stream{ name = "b", past = { { T0 + 5, "b5" } },
        callback = function(_, v) log[#log + 1] = v end },
    }, { start_time = T0 })
    assert.are.same({ "a1", "a5", "b5" }, log)
  end)

  it("holds an overdue event back until its own stream's sleeping callback returns", function()
    local log = {}
    asp.run({
      asp.process_stream{ past = { { T0 + 1, "a1" }, { T0 + 2, "a2" } },
        callback = function(_, v) log[#log + 1] = v; if v == "a1" then asp.sleep(4) end end },
      asp.process_stream{ past = { { T0 + 5, "b5" } },
        callback = function(_, v) log[#log + 1] = v end },
    }, { start_time = T0 })
    -- a1's callback wakes at 5, where b5 is due too: b5, a stream event,
    -- runs before the wake-up; a2 is queued only once a1's callback returned.
    assert.are.same({ "a1", "b5", "a2" }, log)
  end)

  it("runs stream events before every other item due at the same time", function()
    local log = {}
    asp.run({
      function()
        asp.call_later(T0 + 3, function() log[#log + 1] = "call" end)
        asp.spawn(asp.timer{ interval = 3, end_time = 3, callback = function() log[#log + 1] = "tick" end })
        asp.sleep(3)
        log[#log + 1] = "wake"
      end,
      asp.process_stream{ past = { { T0 + 3, "event" } }, callback = function(_, v) log[#log + 1] = v end },
    }, { start_time = T0 })
    assert.are.same({ "event", "call", "wake", "tick" }, log) -- the tick was queued when the timer started, after the sleep
  end)

  it("runs the other items due at the same time in the order they were scheduled", function()
    local log = {}
    asp.run({
      function()
        asp.call_later(T0 + 3, function() log[#log + 1] = "call1" end)
        asp.sleep(1)
        asp.call_later(T0 + 3, function() log[#log + 1] = "call queued at 1" end)
      end,
      function()
        asp.call_later(T0 + 3, function() log[#log + 1] = "call2" end)
        asp.sleep(3)
        log[#log + 1] = "wake queued at 0"
      end,
    }, { start_time = T0 })
    assert.are.same({ "call1", "call2", "wake queued at 0", "call queued at 1" }, log)
  end)

  it("merges K streams by time, ties broken by stream start order", function()
    local K, N = 16, 200
    local rand = lcg(12345)
    local tasks, expected, got = {}, {}, {}
    for k = 1, K do
      local past, t = {}, 0
      for i = 1, N do
        t = t + rand(4) -- 0 to 3 seconds: many ties, within and across streams
        past[i] = { T0 + t, { k = k, i = i, t = t } }
        expected[#expected + 1] = past[i][2]
      end
      tasks[k] = asp.process_stream{ past = past, callback = function(et, v)
        got[#got + 1] = ("%d/%d t=%s now=%s"):format(v.k, v.i, at(et), at(asp.now()))
      end }
    end
    asp.run(tasks, { start_time = T0 })
    table.sort(expected, function(a, b)
      if a.t ~= b.t then return a.t < b.t end
      if a.k ~= b.k then return a.k < b.k end
      return a.i < b.i
    end)
    for j, v in ipairs(expected) do
      expected[j] = ("%d/%d t=%d now=%d"):format(v.k, v.i, v.t, v.t)
    end
    assert.are.equal(K * N, #got)
    assert.are.same(expected, got)
  end)

  it("replays deterministically: the same inputs give the same callbacks in the same order with the same now()", function()
    local function script()
      local log = {}
      local function rec(...) log[#log + 1] = table.concat({ ... }, " ") end
      local rand = lcg(777)
      local function past(n)
        local p, t = {}, T0
        for i = 1, n do
          t = t + rand(5) * 0.25 - 0.25 -- sometimes out of order
          p[i] = { t, i }
        end
        return p
      end
      asp.run({
        asp.process_stream{ name = "s1", past = past(40), callback = function(t, v)
          rec("s1", v, at(t), at(asp.now()))
          if v % 7 == 0 then asp.sleep(0.6) end
          if v % 5 == 0 then asp.call_later(0.25, function(d) rec("call", v, at(d), at(asp.now())) end) end
        end },
        asp.process_stream{ name = "s2", past = past(40), callback = function(t, v)
          rec("s2", v, at(t), at(asp.now()))
          if v % 3 == 0 then asp.sleep(0) end
        end },
        asp.timer{ interval = 0.75, start_time = T0, end_time = 8, callback = function(t)
          rec("tick", at(t), at(asp.now()))
          asp.sleep(0.3)
          rec("tock", at(t), at(asp.now()))
        end },
        function()
          for i = 1, 5 do
            asp.sleep(1.25)
            rec("task", i, at(asp.now()))
          end
        end,
      }, { start_time = T0 })
      return log
    end
    local first, second = script(), script()
    assert.is_true(#first > 100)
    assert.are.same(first, second)
    -- and the clock never went back within the run
    local last = -math.huge
    for _, line in ipairs(first) do
      local now = tonumber(line:match("(%S+)$"))
      assert.is_true(now >= last, line)
      last = now
    end
  end)

  it("replays deterministically across processes too", function()
    local path = h.temp_script([[
      local asp = require("asp")
      local T0 = asp.time("2025-01-01")
      local out = {}
      local function s(name, off)
        local p = {}
        for i = 1, 50 do p[i] = { T0 + (i * off) % 7, i } end
        return asp.process_stream{ name = name, past = p, callback = function(t, v)
          out[#out + 1] = name .. " " .. v .. " " .. tostring(t) .. " " .. tostring(asp.now())
          if v % 4 == 0 then asp.sleep(0.5) end
        end }
      end
      asp.run({ s("a", 0.3), s("b", 0.7), s("c", 1.1) })
      io.write(table.concat(out, "\n"), "\n")
    ]])
    local o1, e1, r1 = h.run_asp({ path })
    local o2, _, r2 = h.run_asp({ path })
    h.cleanup()
    assert.are.equal("", e1)
    assert.are.equal(0, r1)
    assert.are.equal(0, r2)
    assert.are.equal(150, #h.lines(o1))
    assert.are.equal(o1, o2)
  end)
  it("late items keep their own due times: they run in time order, before anything due later", function()
    local log = {}
    local function note(what) return function(t) log[#log + 1] = what .. "(" .. at(t) .. ")@" .. at(asp.now()) end end
    asp.run({
      asp.process_stream{ past = { { T0 + 1, "a1" }, { T0 + 2, "a2" }, { T0 + 4, "a4" } },
        callback = function(t, v)
          if v == "a1" then
            asp.sleep(9)                           -- wakes at 10: a2 and a4 are late
            asp.call_later(T0 + 3, note("call"))   -- late, due 3
            asp.call_later(T0 + 1.5, note("call")) -- late, due 1.5
            asp.call_later(0, note("now"))          -- due now, 10
            asp.call_later(-8, function(due)       -- late, due 2 (a number in the past)
              asp.sleep(T0)                         -- a past Time: due now, behind what is due
              log[#log + 1] = "woke(" .. at(due) .. ")@" .. at(asp.now())
            end)
          end
          log[#log + 1] = v .. "(" .. at(t) .. ")@" .. at(asp.now())
        end },
      asp.process_stream{ past = { { T0 + 12, "b12" } },
        callback = function(t, v) log[#log + 1] = v .. "(" .. at(t) .. ")@" .. at(asp.now()) end },
    }, { start_time = T0 })
    assert.are.same({
      "a1(1)@10",
      "call(1.5)@10",
      "a2(2)@10",   -- the event first at equal due (2)
      "call(3)@10",
      "a4(4)@10",
      "now(10)@10",
      "woke(2)@10",
      "b12(12)@12",
    }, log)
  end)
  it("a timer's start_time counts for the clock's start, like a stream's first past event", function()
    local log = {}
    asp.run({
      asp.timer{ interval = 1, start_time = T0, end_time = 2, callback = function(t)
        log[#log + 1] = at(t) .. "@" .. at(asp.now())
      end },
      asp.process_stream{ past = { { T0 + 1.5, "e" } }, callback = function(t)
        log[#log + 1] = "e" .. at(t) .. "@" .. at(asp.now())
      end },
    })
    assert.are.same({ "1@1", "e1.5@1.5", "2@2" }, log)
  end)
end)
