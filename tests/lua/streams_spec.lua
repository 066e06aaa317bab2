-- lua-api.md, section "Streams".
local asp = require("asp")
local h = require("helpers")
local pcall_err = h.pcall_err
local T = asp.time
local T0 = h.T0

local at = h.at

-- Runs one stream over `past` from T0 and returns "value event_time now" lines.
local function replay(past, extra)
  local log = {}
  local opts = {
    past = past,
    callback = function(t, v) log[#log + 1] = tostring(v) .. " " .. at(t) .. " " .. at(asp.now()) end,
  }
  for k, v in pairs(extra or {}) do opts[k] = v end
  asp.run({ asp.process_stream(opts) }, { start_time = T0 })
  return log
end

describe("past sources", function()
  it("replay an array of {time, value} pairs in order, each when the clock reaches its time", function()
    assert.are.same({ "a 1 1", "b 2.5 2.5", "c 4 4" },
      replay({ { T0 + 1, "a" }, { T0 + 2.5, "b" }, { T0 + 4, "c" } }))
  end)

  it("replay an iterator function until it returns a nil time", function()
    local i = 0
    local function iter()
      i = i + 1
      if i > 3 then return nil end
      return T0 + i * 10, "v" .. i
    end
    assert.are.same({ "v1 10 10", "v2 20 20", "v3 30 30" }, replay(iter))
  end)

  it("take times as Time, ISO-8601 string or epoch seconds alike", function()
    local e = T0:epoch()
    assert.are.same({ "a 1 1", "b 2 2", "c 3.5 3.5", "d 4 4" }, replay({
      { T0 + 1, "a" },
      { "2025-01-01T00:00:02Z", "b" },
      { e + 3.5, "c" },
      { "2025-01-01T01:00:04+01:00", "d" },
    }))
  end)

  it("take times as strings or numbers from an iterator too", function()
    local items = { { "2025-01-01T00:00:01", "a" }, { T0:epoch() + 2, "b" } }
    local i = 0
    assert.are.same({ "a 1 1", "b 2 2" }, replay(function()
      i = i + 1
      if items[i] then return items[i][1], items[i][2] end
    end))
  end)

  it("pass any value, including nil, tables and false", function()
    local got = {}
    local tbl = {}
    asp.run({ asp.process_stream{
      past = { { T0, nil }, { T0, tbl }, { T0, false } },
      callback = function(_, v) got[#got + 1] = v == nil and "nil" or v end,
    } }, { start_time = T0 })
    assert.are.equal("nil", got[1])
    assert.are.equal(tbl, got[2])
    assert.are.equal(false, got[3])
  end)

  it("fail the run on an invalid time, naming the stream and the event", function()
    local err = pcall_err(asp.run, { asp.process_stream{
      name = "quotes",
      past = { { T0, 1 }, { "garbage", 2 } },
      callback = function() end,
    } }, { start_time = T0 })
    assert.matches("stream 'quotes': past event #2 has an invalid time 'garbage'", err, 1, true)
  end)

  it("fail the run on a past entry that is not a pair", function()
    local err = pcall_err(asp.run, { asp.process_stream{
      past = { { T0, 1 }, 42 }, callback = function() end,
    } }, { start_time = T0 })
    assert.matches("past[2] is a number ({time, value} pair expected)", err, 1, true)
  end)
end)

describe("delivery", function()
  it("is one at a time: a callback that sleeps delays its own stream and no other", function()
    local log = {}
    local a = asp.process_stream{
      past = { { T0 + 1, "a1" }, { T0 + 2, "a2" } },
      callback = function(t, v)
        log[#log + 1] = v .. " " .. at(t) .. " at " .. at(asp.now())
        if v == "a1" then asp.sleep(5) end
        log[#log + 1] = v .. " done at " .. at(asp.now())
      end,
    }
    local b = asp.process_stream{
      past = { { T0 + 2, "b1" }, { T0 + 3, "b2" } },
      callback = function(t, v) log[#log + 1] = v .. " " .. at(t) .. " at " .. at(asp.now()) end,
    }
    asp.run({ a, b }, { start_time = T0 })
    assert.are.same({
      "a1 1 at 1", "b1 2 at 2", "b2 3 at 3", "a1 done at 6", "a2 2 at 6", "a2 done at 6",
    }, log)
  end)

  it("delivers out-of-order events at once, with their own event_time, the clock never going back", function()
    assert.are.same({ "a 10 10", "b 5 10", "c 10 10", "d 7 10", "e 12 12" }, replay({
      { T0 + 10, "a" }, { T0 + 5, "b" }, { T0 + 10, "c" }, { T0 + 7, "d" }, { T0 + 12, "e" },
    }))
  end)

  it("delivers an out-of-order event before other items due now", function()
    local log = {}
    asp.run({
      asp.process_stream{
        past = { { T0 + 5, "a" }, { T0 + 1, "late" } },
        callback = function(_, v)
          log[#log + 1] = v
          if v == "a" then asp.call_later(nil, function() log[#log + 1] = "call" end) end
        end,
      },
    }, { start_time = T0 })
    assert.are.same({ "a", "late", "call" }, log)
  end)

  it("calls on_start when the stream's task starts, before its first event", function()
    local log = {}
    asp.run({
      function() asp.sleep(3) end,
      asp.process_stream{
        past = { { T0 + 1, "x" } },
        on_start = function() log[#log + 1] = "on_start at " .. at(asp.now()) end,
        callback = function(t, v) log[#log + 1] = v .. " " .. at(t) end,
      },
    }, { start_time = T0 })
    assert.are.same({ "on_start at 0", "x 1" }, log)
  end)

  it("holds the first event back while on_start sleeps", function()
    local log = {}
    asp.run({ asp.process_stream{
      past = { { T0 + 1, "a" } },
      on_start = function() asp.sleep(5); log[#log + 1] = "on_start done at " .. at(asp.now()) end,
      callback = function(t, v) log[#log + 1] = v .. " " .. at(t) .. " at " .. at(asp.now()) end,
    } }, { start_time = T0 })
    assert.are.same({ "on_start done at 5", "a 1 at 5" }, log)
  end)

  it("unpacks array values into the callback's arguments with unpack = true", function()
    local got = {}
    asp.run({ asp.process_stream{
      unpack = true,
      past = { { T0, { 1, "two", 3 } }, { T0 + 1, {} } },
      callback = function(t, ...) got[#got + 1] = { at(t), select("#", ...), ... } end,
    } }, { start_time = T0 })
    assert.are.same({ { "0", 3, 1, "two", 3 }, { "1", 0 } }, got)
  end)

  it("passes the array itself without unpack", function()
    local v1 = { 1, 2 }
    local got
    asp.run({ asp.process_stream{
      past = { { T0, v1 } },
      callback = function(_, v, extra) got = { v, extra } end,
    } }, { start_time = T0 })
    assert.are.equal(v1, got[1])
    assert.is_nil(got[2])
  end)

  it("fails the run when unpack is set and a value is not an array", function()
    local err = pcall_err(asp.run, { asp.process_stream{
      name = "s", unpack = true, past = { { T0, 5 } }, callback = function() end,
    } }, { start_time = T0 })
    assert.matches("stream 's': unpack is set but the value is a number (an array expected)", err, 1, true)
  end)

  it("names the stream in errors from its callback", function()
    local err = pcall_err(asp.run, { asp.process_stream{
      name = "trades", past = { { T0 + 2, 1 } }, callback = function() error("bad trade") end,
    } }, { start_time = T0 })
    assert.matches("^asp%.run: error at 2025%-01%-01T00:00:02%.000000Z in stream 'trades': .*bad trade$", err)
  end)

  it("names an unnamed stream by its start number", function()
    local err = pcall_err(asp.run, {
      asp.process_stream{ callback = function() end },
      asp.process_stream{ past = { { T0, 1 } }, callback = function() error("oops") end },
    }, { start_time = T0 })
    assert.matches(" in stream #2: ", err, 1, true)
  end)
end)

describe("on_live_start", function()
  it("runs once the past is exhausted, before the first future event", function()
    local log = {}
    asp.run({ asp.process_stream{
      past = { { T0 + 1, "p1" }, { T0 + 2, "p2" } },
      future = function(emit) emit("f1"); emit("f2") end,
      on_live_start = function() log[#log + 1] = "live" end,
      callback = function(_, v) log[#log + 1] = v end,
    } }, { start_time = T0 })
    assert.are.same({ "p1", "p2", "live", "f1", "f2" }, log)
  end)

  it("runs also when there is no future, after the last past event", function()
    local log = {}
    asp.run({ asp.process_stream{
      past = { { T0 + 1, "p1" } },
      on_live_start = function() log[#log + 1] = "live at " .. at(asp.now()) end,
      callback = function(_, v) log[#log + 1] = v end,
    } }, { start_time = T0 })
    assert.are.same({ "p1", "live at 1" }, log)
  end)

  it("runs at the start when the past is empty or absent", function()
    for _, past in ipairs({ {}, false }) do
      local log = {}
      asp.run({ asp.process_stream{
        past = past or nil,
        on_start = function() log[#log + 1] = "start" end,
        on_live_start = function() log[#log + 1] = "live" end,
        future = function(emit) emit("f") end,
        callback = function(_, v) log[#log + 1] = v end,
      } }, { start_time = T0 })
      assert.are.same({ "start", "live", "f" }, log)
    end
  end)

  it("runs once only", function()
    local n = 0
    asp.run({ asp.process_stream{
      past = { { T0, 1 } },
      future = function(emit) emit(2); emit(3) end,
      on_live_start = function() n = n + 1 end,
      callback = function() end,
    } }, { start_time = T0 })
    assert.are.equal(1, n)
  end)
end)

describe("a producer future", function()
  it("emit(value) delivers value with event_time = asp.now()", function()
    local got = {}
    local before = asp.wall()
    asp.run({ asp.process_stream{
      future = function(emit)
        got.emitted_at = asp.now()
        emit("x")
      end,
      callback = function(t, v) got.t, got.v, got.now = t, v, asp.now() end,
    } })
    assert.are.equal("x", got.v)
    assert.are.equal(got.emitted_at, got.t)
    assert.is_true(got.t >= before)
    assert.is_true(got.now >= got.t)
  end)

  it("emit(value, time) delivers value with that time, at once when it is past", function()
    local log = {}
    asp.run({ asp.process_stream{
      future = function(emit)
        emit("a", T0 + 1)
        emit("b", "2025-01-01T00:00:02Z")
        emit("c", T0:epoch() + 3)
      end,
      callback = function(t, v) log[#log + 1] = v .. " " .. at(t) end,
    } }, { start_time = T0 })
    assert.are.same({ "a 1", "b 2", "c 3" }, log)
  end)

  it("emit with a time in the future delivers it when the clock reaches it", function()
    local got
    asp.run({ asp.process_stream{
      future = function(emit) emit("soon", asp.now() + 0.03) end,
      callback = function(t) got = { t, asp.now(), asp.wall() } end,
    } })
    assert.are.equal(got[1], got[2])
    assert.is_true(got[3] >= got[1])
  end)

  it("may sleep in real time between emits; the stream ends when it returns", function()
    local log = {}
    local ended
    asp.run({ asp.process_stream{
      future = function(emit)
        emit("a")
        asp.sleep(0.05)
        emit("b")
        asp.sleep(0.05)
        ended = asp.now()
      end,
      callback = function(t, v) log[#log + 1] = { v, t, asp.wall() } end,
    } })
    assert.are.equal(2, #log)
    assert.are.equal("a", log[1][1])
    assert.are.equal("b", log[2][1])
    assert.are.equal(0.05, log[2][2] - log[1][2])
    -- Never early: "b" runs no sooner than its own time, 0.05 s after "a"'s.
    -- (The gap between the two wall readings can be shorter when "a" itself
    -- ran late, as on a loaded machine or under valgrind.)
    assert.is_true(log[2][3] >= log[2][2])
    assert.is_true(ended - log[2][2] == 0.05)
  end)

  it("queues events emitted while the callback sleeps, delivering them in order", function()
    local log = {}
    asp.run({ asp.process_stream{
      future = function(emit) for i = 1, 4 do emit(i) end end,
      callback = function(_, v)
        log[#log + 1] = v
        asp.sleep(0.005)
      end,
    } })
    assert.are.same({ 1, 2, 3, 4 }, log)
  end)

  it("starts after every item due before the past ran out, its clock caught up with the wall", function()
    local log, producer_now = {}, nil
    local wall_before = asp.wall()
    asp.run({
      asp.process_stream{
        past = { { T0 + 1, "past" } },
        future = function(emit)
          log[#log + 1] = "producer"
          producer_now = asp.now()
          emit("live")
        end,
        callback = function(_, v) log[#log + 1] = v end,
      },
      function()
        asp.call_later(T0 + 50, function() log[#log + 1] = "call at 50" end)
        asp.call_later(wall_before - 1, function() log[#log + 1] = "call a second ago" end)
      end,
    }, { start_time = T0 })
    assert.are.same({ "past", "call at 50", "call a second ago", "producer", "live" }, log)
    assert.is_true(producer_now >= wall_before)
  end)

  it("raises when emit is called after the run has ended", function()
    local saved
    asp.run({ asp.process_stream{ name = "s", future = function(emit) saved = emit end, callback = print } })
    assert.are.equal("emit: stream 's': the run has ended", pcall_err(saved, 1))
  end)

  it("raises on an invalid emit time", function()
    local err
    asp.run({ asp.process_stream{
      name = "s",
      future = function(emit) err = pcall_err(emit, 1, "never") end,
      callback = print,
    } })
    assert.are.equal("emit: stream 's': invalid time 'never'", err)
  end)
end)

describe("crossing from past to live", function()
  -- The seed's "Scheduling callbacks" example: greet one second after arrival.
  it("keeps the chronology of the seed's call_later example", function()
    local log = {}
    local greeted = {}
    local function greet(t, name)
      log[#log + 1] = (greeted[name] and "Hello again " .. name .. "!" or "Hello " .. name .. ".")
      greeted[name] = true
    end
    local names = { "Jane", "John", "Sarah", "Paul", "Jane" }
    local start = asp.wall() - 60
    asp.run({ asp.process_stream{
      past = { { start, names[1] }, { start + 1, names[2] } },
      future = function(emit)
        for i = 3, 5 do
          emit(names[i])
          asp.sleep(0.02)
        end
      end,
      on_live_start = function() log[#log + 1] = "** Running live **" end,
      callback = function(t, name)
        log[#log + 1] = name .. " arrived."
        asp.call_later(t + 0.02 * (t < start + 30 and 50 or 1), greet, name)
      end,
    } })
    assert.are.same({
      "Jane arrived.",
      "John arrived.",
      "** Running live **",
      "Hello Jane.",
      "Hello John.",
      "Sarah arrived.",
      "Paul arrived.",
      "Hello Sarah.",
      "Jane arrived.",
      "Hello Paul.",
      "Hello again Jane!",
    }, log)
  end)

  it("replays the past at the past's times and goes live at the wall clock", function()
    local log = {}
    local start = asp.wall() - 60
    asp.run({ asp.process_stream{
      past = { { start, "p1" }, { start + 1, "p2" } },
      future = function(emit) emit("f1") end,
      callback = function(t, v) log[#log + 1] = { v, t, asp.now(), asp.wall() } end,
    } })
    assert.are.equal(start, log[1][2])
    assert.are.equal(start, log[1][3])
    assert.are.equal(start + 1, log[2][3])
    assert.is_true(log[2][4] - log[2][3] > 50) -- replayed, not waited for
    assert.are.equal("f1", log[3][1])
    assert.are.equal(log[3][2], log[3][3])
    assert.is_true(log[3][2] >= log[2][4]) -- live: caught up with the wall clock
  end)
end)

describe("asp.process_stream options", function()
  it("requires a callback and rejects unknown or mistyped options", function()
    assert.are.equal("asp.process_stream: option 'callback' must be a function (got nil)",
      pcall_err(asp.process_stream, {}))
    assert.are.equal("asp.process_stream: unknown option 'calback'",
      pcall_err(asp.process_stream, { callback = print, calback = print }))
    assert.are.equal("asp.process_stream: option 'name' must be a string (got number)",
      pcall_err(asp.process_stream, { callback = print, name = 1 }))
    assert.are.equal("asp.process_stream: option 'on_live_start' must be a function (got string)",
      pcall_err(asp.process_stream, { callback = print, on_live_start = "x" }))
    assert.matches("^asp%.process_stream: option 'past' must be",
      pcall_err(asp.process_stream, { callback = print, past = 5 }))
    assert.matches("^asp%.process_stream: option 'future' must be a producer function",
      pcall_err(asp.process_stream, { callback = print, future = {} }))
    assert.matches("^asp%.process_stream: bad argument #1",
      pcall_err(asp.process_stream, nil))
  end)
end)
