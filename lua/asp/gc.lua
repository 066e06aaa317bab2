-- The garbage collector's pace: a floor under the allocation between two
-- collection cycles.
--
-- LuaJIT starts a cycle when the heap reaches `pause`% of what the last one
-- left alive (200: twice). A replay keeps little alive (the engine's live
-- heap is a few hundred KB) while it allocates a table per CSV row or call,
-- so at 200 a cycle ran every few hundred KB, each one marking the whole
-- live heap again and sweeping the string table: ~7% of a CSV replay.
--
-- After each cycle the pause is set so that the next one starts at
-- max(2 x live, live + FLOOR): small heaps wait for FLOOR bytes of new
-- allocation, large ones keep LuaJIT's default. The cost in memory is at
-- most FLOOR beyond the default. A script that sets the pause itself
-- (collectgarbage("setpause", n)) keeps its own: the tuning then stops.
local ffi = require("ffi")

local M = {}

local FLOOR_KB = 1024
local DEFAULT_PAUSE = 200
local MAX_PAUSE = 100000 -- live heaps under ~8 KB: no bound from the floor beyond this

local last_set = nil  -- the pause this module set last; nil: not tuning
local arm

-- The pause for a live heap of live_kb.
function M.pause_for(live_kb)
  if live_kb <= 0 then return MAX_PAUSE end
  local p = math.floor(100 * (live_kb + FLOOR_KB) / live_kb)
  if p < DEFAULT_PAUSE then return DEFAULT_PAUSE end
  if p > MAX_PAUSE then return MAX_PAUSE end
  return p
end

local function retune()
  if last_set == nil then return end
  local p = M.pause_for(collectgarbage("count"))
  local before = collectgarbage("setpause", p)
  if before ~= last_set then
    -- Someone else set the pause since: theirs stands.
    collectgarbage("setpause", before)
    last_set = nil
    return
  end
  last_set = p
  arm()
end

-- A finalizer runs once per cycle that collects its object: the object of
-- each cycle arms the next.
function arm()
  ffi.gc(ffi.new("char[1]"), retune)
end

-- Starts the tuning, unless the pause is not LuaJIT's default any more (the
-- script chose one before it required asp).
function M.start()
  if last_set ~= nil then return end
  local current = collectgarbage("setpause", DEFAULT_PAUSE)
  collectgarbage("setpause", current)
  if current ~= DEFAULT_PAUSE then return end
  last_set = M.pause_for(collectgarbage("count"))
  collectgarbage("setpause", last_set)
  arm()
end

-- Whether the pace is being tuned (false once a script set its own).
function M.tuning()
  return last_set ~= nil
end

-- -- The string table in live runs -----------------------------------------
--
-- LuaJIT interns every string in one hash table, which doubles when it
-- holds as many strings as slots and halves at the end of a cycle that
-- left it a quarter full. A live feed makes strings at a steady rate (each
-- line, each capture of a match) that die young, so the table doubled in
-- every cycle and halved after it, and the doubling rehashes every string
-- in it at once: at 100,000 lines/s over TCP, stalls of 1 to 5 ms once per
-- cycle (perf: lj_str_resize), the whole of the latency's p99.
--
-- While a run has a live stream, RESERVE strings stay alive: the table then
-- never shrinks below 4 x RESERVE slots, room for the strings of a cycle
-- (at most ~FLOOR / 32 bytes, the smallest string), so it stops resizing.
-- The cost: ~1.3 MB (the strings and the table's slots). Measured
-- (bench/workloads/tcp.lua, 4 runs each): p99 480-670 us without, 80-130
-- us with 16,384; 32,768 did worse (200-690 us: a larger table to sweep).
local RESERVE = 16384
local reserve = nil

function M.hold_string_table()
  if reserve then return end
  reserve = {}
  for i = 1, RESERVE do reserve[i] = "asp string table reserve " .. i end
end

function M.release_string_table()
  reserve = nil
end

function M.holding_string_table()
  return reserve ~= nil
end

return M
