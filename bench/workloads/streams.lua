-- K streams, each from a Lua iterator, N events in all; the callback adds
-- the value to a sum. Events interleave round-robin (stream k's i-th event at
-- t0 + (i*K + k) us), so every event goes through the K-way merge.
-- usage: asp-lua streams.lua K N
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local asp = require("asp")
local common = require("common")

local K = tonumber(arg[1]) or 1
local N = tonumber(arg[2]) or 10000000
local per = math.floor(N / K)
local t0 = 1700000000

local sum = 0
local function callback(t, v)
  sum = sum + v
end

local tasks = {}
for k = 1, K do
  local i = 0
  tasks[k] = asp.process_stream{
    callback = callback,
    past = function()
      if i >= per then return nil end
      i = i + 1
      return t0 + (i * K + k) * 1e-6, 1
    end,
  }
end

local c0 = common.clock()
asp.run(tasks)
local dt = common.clock() - c0
assert(sum == per * K, "lost events: " .. sum .. " of " .. per * K)
common.report{ items = per * K, seconds = dt }
