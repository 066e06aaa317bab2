-- call_later + sleep mix: one stream from a Lua iterator (an event every
-- microsecond); every event's callback schedules one call_later DELAY
-- seconds ahead, and every other call sleeps DELAY once more before it
-- returns. Items counted: events + calls + wake-ups. About DELAY/1us calls
-- are pending at any time, so DELAY sets the size of the heap.
-- usage: asp-lua calls.lua N [DELAY]
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local asp = require("asp")
local common = require("common")

local N = tonumber(arg[1]) or 2000000
local DELAY = tonumber(arg[2]) or 1e-4
local t0 = 1700000000

local calls, wakes, sum = 0, 0, 0
local function call(due, v)
  calls = calls + 1
  if calls % 2 == 0 then
    asp.sleep(DELAY)
    wakes = wakes + 1
  end
  sum = sum + v
end

local i = 0
local st = asp.process_stream{
  callback = function(t, v) asp.call_later(DELAY, call, v) end,
  past = function()
    if i >= N then return nil end
    i = i + 1
    return t0 + i * 1e-6, 1
  end,
}

local c0 = common.clock()
asp.run({ st })
local dt = common.clock() - c0
assert(calls == N and sum == N, "lost calls")
common.report{ items = N + calls + wakes, seconds = dt }
