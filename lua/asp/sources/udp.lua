-- asp.udp { host = ..., port = ... }: datagrams on a bound UDP socket
-- (engine/sources/udp.c); src:port() is its port.
local C = require("asp.cffi").C
local live = require("asp.sources.live")

local err_buf = live.err_buf

return function(opts)
  return live.bound("asp.udp", opts, function(l, host, port)
    return C.asp_live_udp(l, host, port, err_buf, 512)
  end)
end
