-- The reload bench (docs/reload.md): 1 M past events, then live lines from
-- asp.listen. Usage: asp-lua --reload bench/reload/strategy.lua PORTFILE
local asp = require("asp")
local portfile = arg[1]
local src = asp.listen{ "127.0.0.1", 0 }
if src:port() > 0 then
  local f = assert(io.open(portfile .. ".tmp", "w")); f:write(src:port()); f:close()
  os.rename(portfile .. ".tmp", portfile)
end
local t0 = asp.time("2025-01-01T00:00:00Z")
local i = 0
local function past()
  i = i + 1
  if i > 1000000 then return nil end
  return t0 + i * 0.001, i
end
local sum, lines = 0, 0
asp.run({
  asp.process_stream{ past = past, callback = function(t, v) sum = sum + v end },
  asp.process_stream{ future = src, callback = function(t, line)
    if line == "stop" then asp.stop() return end
    lines = lines + 1
  end },
})
