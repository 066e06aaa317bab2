-- The garbage collector's pace: how much is allocated between two
-- collection cycles, set after each cycle from what it left alive.
--
-- LuaJIT starts a cycle when the heap reaches `pause`% of what the last one
-- left alive (200: twice). The engine's own live heap is a few hundred KB.
--
-- Replay (throughput): a replay allocates a table per CSV row or call, so at
-- 200 a cycle ran every few hundred KB, each one marking the whole live heap
-- again and sweeping the string table: ~7% of a CSV replay. The next cycle
-- starts at max(2 x live, live + 1 MB): small heaps wait for 1 MB of new
-- allocation (more outgrew the L2 cache: 8 MB was slower than 1 MB), large
-- ones keep LuaJIT's default.
--
-- Live (latency): LuaJIT interns every string in one hash table, which
-- doubles when it holds as many strings as slots (rehashing every string at
-- once) and halves at the end of a cycle that left it a quarter full. A
-- live feed makes strings that die young (each line, each capture of a
-- match), so the longer the cycle, the larger the table grew and shrank
-- again, every cycle: at 100,000 lines/s over TCP, stalls of 1 to 7 ms in
-- lj_str_resize at the same line counts run after run, the whole of the
-- latency's p99. While a run has a live stream, the next cycle starts at
-- max(1.1 x live, live + 128 KB): short cycles keep the table small and in
-- cache. Measured (bench/workloads/tcp.lua; jumps of the latency by more
-- than 250 us in a run of 200,000 lines): 27-28 with 1 MB cycles, 1-7 with
-- these; p99 ~2.2 ms against 0.11-0.13 ms, and less CPU. Keeping 16,384
-- strings alive to pin the table's size instead made cycles longer and did
-- no better; 1.5 x live as the minimum let the benchmark's own 1.6 MB of
-- latencies stretch the cycles again (49-55 jumps). The price: a large live
-- heap is marked again every 10% of its size of allocation; a live script
-- with hundreds of MB of state may prefer its own pause.
--
-- A script that sets the pause itself (collectgarbage("setpause", n)) keeps
-- its own: the tuning then stops.
local ffi = require("ffi")

local M = {}

local DEFAULT_PAUSE = 200 -- LuaJIT's
local REPLAY_FLOOR_KB, REPLAY_MIN = 1024, 200
local LIVE_FLOOR_KB, LIVE_MIN = 128, 110
local MAX_PAUSE = 100000 -- tiny heaps: no bound from the floor beyond this

local last_set = nil    -- the pause this module set last; nil: not tuning
local live_pace = false -- a run with a live stream is on
local arm

-- The pause for a live heap of live_kb, in a replay or (live = true) while a
-- run has a live stream.
function M.pause_for(live_kb, live)
  if live_kb <= 0 then return MAX_PAUSE end
  local floor_kb, min = REPLAY_FLOOR_KB, REPLAY_MIN
  if live then floor_kb, min = LIVE_FLOOR_KB, LIVE_MIN end
  local p = math.floor(100 * (live_kb + floor_kb) / live_kb)
  if p < min then return min end
  if p > MAX_PAUSE then return MAX_PAUSE end
  return p
end

-- Sets the pause for the heap now; false when the script had set one of its
-- own since (the tuning then stops and the script's pause stands).
local function set_pause()
  local p = M.pause_for(collectgarbage("count"), live_pace)
  local before = collectgarbage("setpause", p)
  if before ~= last_set then
    collectgarbage("setpause", before)
    last_set = nil
    return false
  end
  last_set = p
  return true
end

local function retune()
  if last_set ~= nil and set_pause() then arm() end
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
  last_set = DEFAULT_PAUSE
  set_pause()
  arm()
end

-- Whether the pace is being tuned (false once a script set its own).
function M.tuning()
  return last_set ~= nil
end

-- A stream went live (on = true) or the run ended: the pace changes at once.
local function set_live(on)
  if live_pace == on then return end
  live_pace = on
  if last_set ~= nil then set_pause() end
end

function M.live_started() set_live(true) end
function M.live_ended() set_live(false) end

-- Whether the live pace is in force.
function M.live()
  return live_pace
end

return M
