-- asp.tcp { host = ..., port = ..., reconnect = ... }: a TCP client
-- (engine/sources/tcp.c).
local C = require("asp.cffi").C
local live = require("asp.sources.live")

local err_buf = live.err_buf
local type, error = type, error

return function(opts)
  local host, port = live.host_port("asp.tcp", opts)
  local rec = opts.reconnect
  local r0, r1 = 0, 0
  if rec == true then r0, r1 = 100, 5000
  elseif type(rec) == "table" then
    r0 = math.floor((rec.initial or 0.1) * 1000)
    r1 = math.floor((rec.max or 5) * 1000)
  elseif rec ~= nil and rec ~= false then
    error("asp.tcp: option 'reconnect' must be true or {initial = s, max = s}", 2)
  end
  if rec and r0 < 1 then r0 = 1 end
  return live.make("asp.tcp", host .. ":" .. port, opts, { host = true, port = true, reconnect = true }, function(_, l)
    return C.asp_live_tcp(l, host, port, r0, r1, err_buf, 512)
  end)
end
