-- asp.listen { host = ..., port = ... }: a TCP server, bound and listening
-- when made (engine/sources/listen.c); src:port() is its port.
local C = require("asp.cffi").C
local live = require("asp.sources.live")

local err_buf = live.err_buf

return function(opts)
  return live.bound("asp.listen", opts, function(l, host, port)
    return C.asp_live_listen(l, host, port, err_buf, 512)
  end)
end
