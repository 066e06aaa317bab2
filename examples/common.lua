-- What the examples share, as in the seed's README: the names, the log line
-- (wall clock, virtual clock, event time, message), the greeter, and the
-- past and live sources. Examples load it with require("common"): asp-lua
-- puts the folder of the script it runs first on package.path.
local asp = require("asp")

local M = {}

-- Print each line at once, even into a pipe, so that live output shows live.
io.stdout:setvbuf("line")

M.NAMES = { "Jane", "John", "Sarah", "Paul", "Jane" }

-- A Time as HH:MM:SS.ffffff (UTC; t:format(fmt, "Europe/London") for a zone).
function M.format(t)
  return t:format("%H:%M:%S.%f")
end

-- wall clock, virtual clock, event time, message.
function M.log(event_time, msg)
  print(M.format(asp.wall()) .. " " .. M.format(asp.now()) .. " " .. M.format(event_time) .. " " .. msg)
end

-- The past: values[i] at start + (i-1)*delay, as {time, value} pairs.
function M.timestamped(start, delay, values)
  local past = {}
  for i, v in ipairs(values) do past[i] = { start + (i - 1) * delay, v } end
  return past
end

-- The live source: a producer that emits the values `delay` seconds apart.
function M.live(values, delay)
  return function(emit)
    for _, v in ipairs(values) do
      emit(v)
      asp.sleep(delay)
    end
  end
end

-- Slices of an array: sub(t, i, j) is {t[i], ..., t[j]}.
function M.sub(t, i, j)
  return { unpack(t, i, j or #t) }
end

-- Greets each name once, then again.
function M.Greeter()
  local greeted = {}
  local g = {}
  function g.greet(event_time, name)
    if not greeted[name] then
      M.log(event_time, "Hello " .. name .. ".")
      greeted[name] = true
    else
      M.log(event_time, "Hello again " .. name .. "!")
    end
  end
  return g
end

-- A number from the command line, or the default.
function M.arg_number(i, default)
  local v = arg and arg[i]
  if v == nil then return default end
  local n = tonumber(v)
  if not n or n < 0 then error(("argument #%d: a number of seconds >= 0 expected, got '%s'"):format(i, v), 0) end
  return n
end

return M
