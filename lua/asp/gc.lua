-- The garbage collector's pace: how much is allocated between two
-- collection cycles, set after each cycle from what it left alive. A script
-- that sets its own pause keeps it. Why these numbers, measured:
-- docs/performance.md, "The collector's pace (lua/asp/gc.lua)".
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
