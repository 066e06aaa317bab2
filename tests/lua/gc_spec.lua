-- The collector's pace (lua/asp/gc.lua): small heaps wait for a floor of
-- new allocation between cycles, large ones keep LuaJIT's default, and a
-- script's own setting stands. Each case runs in a fresh asp-lua, since the
-- pace is the process's.
local h = require("helpers")

-- Runs code in a fresh asp-lua; returns its stdout, failing on an error.
local function run(code)
  local out, err, rc = h.run_asp({ "-e", code })
  assert.are.equal(0, rc, err)
  return out
end

-- The pause now, read without changing it.
local READ = [[
local function pause()
  local p = collectgarbage("setpause", 200)
  collectgarbage("setpause", p)
  return p
end
]]

describe("the collector's pace", function()
  it("gives a small heap a larger pause: the next cycle waits for about 1 MB", function()
    local out = run(READ .. [[
      local gc = require("asp.gc")
      require("asp")
      collectgarbage("collect")
      local live = collectgarbage("count")
      print(("%s %d %d %s"):format(tostring(gc.tuning()), pause(), gc.pause_for(live), live))
    ]])
    local tuning, p, want, live = out:match("^(%S+) (%d+) (%d+) (%S+)")
    assert.are.equal("true", tuning)
    live = tonumber(live)
    assert.is_true(live < 1024, "the engine's own heap is under 1 MB: " .. live)
    -- The finalizer of the cycle just run set it from the heap it saw
    -- (a few hundred bytes from what `count` says a moment later).
    p, want = tonumber(p), tonumber(want)
    assert.is_true(math.abs(p - want) <= want * 0.02, ("pause %d, expected about %d"):format(p, want))
    assert.is_true(p > 200)
  end)

  it("computes max(2 x live, live + 1 MB) in a replay, max(1.1 x live, live + 128 KB) live", function()
    local out = run([[
      local gc = require("asp.gc")
      print(gc.pause_for(100), gc.pause_for(1024), gc.pause_for(4096), gc.pause_for(1e6), gc.pause_for(0))
      print(gc.pause_for(100, true), gc.pause_for(1024, true), gc.pause_for(4096, true), gc.pause_for(1e6, true))
    ]])
    assert.are.equal("1124\t200\t200\t200\t100000\n228\t112\t110\t110\n", out)
  end)

  it("goes back to LuaJIT's default for a large live heap", function()
    local out = run(READ .. [[
      local gc = require("asp.gc")
      require("asp")
      local keep = {}
      for i = 1, 200000 do keep[i] = { i } end  -- ~20 MB alive
      collectgarbage("collect")
      print(pause(), #keep)
    ]])
    assert.are.equal("200\t200000\n", out)
  end)

  it("leaves the pause a script sets after loading asp", function()
    local out = run(READ .. [[
      local gc = require("asp.gc")
      require("asp")
      collectgarbage("setpause", 150)
      collectgarbage("collect")
      collectgarbage("collect")
      print(pause(), gc.tuning())
    ]])
    assert.are.equal("150\tfalse\n", out)
  end)

  it("does not start when the script chose a pause before loading asp", function()
    local out, err, rc = h.run_asp({ "-e", READ .. [[
      collectgarbage("setpause", 300)
      local gc = require("asp.gc")
      require("asp")
      local at_load = gc.tuning()
      collectgarbage("collect")
      print(pause(), at_load)
    ]] })
    assert.are.equal(0, rc, err)
    assert.are.equal("300\tfalse\n", out)
  end)

  it("keeps cycles short while a run has a live stream, and only then", function()
    local out = run(READ .. [[
      local asp = require("asp")
      local gc = require("asp.gc")
      local seen = {}
      -- The engine's heap is well under 1 MB: a replay's pause is above
      -- LuaJIT's 200 (cycles wait for 1 MB), a live one's below (128 KB).
      local function note(what)
        local p = pause()
        seen[#seen + 1] = what .. ":" .. tostring(gc.live()) .. ":" .. (p > 200 and ">200" or p < 200 and "<200" or "200")
      end
      local past_only = asp.process_stream{ past = { { 1, "a" } }, callback = function() note("past") end }
      asp.run({ past_only })
      local live = asp.process_stream{
        past = { { 1, "a" } },
        future = function(emit) emit("b") end,
        callback = function(t, v) note(v) end,
      }
      asp.run({ live })
      note("after")
      print(table.concat(seen, " "))
    ]])
    assert.are.equal("past:false:>200 a:false:>200 b:true:<200 after:false:>200\n", out)
  end)
end)
