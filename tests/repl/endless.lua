-- A run too long to finish during a test: for the Ctrl-C pause.
local asp = require("asp")
local t0 = asp.time("2025-01-01T00:00:00Z")
count = 0
local i = 0
local function tick()
  i = i + 1
  if i > 1e9 then return nil end
  return t0 + i * 0.001, i
end
asp.run({ asp.process_stream{ name = "fast", past = tick, callback = function() count = count + 1 end } })
