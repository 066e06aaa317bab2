-- asp.stdin { format = ..., ... }: standard input, a pipe, a terminal or a
-- file (engine/sources/stdin.c).
local C = require("asp.cffi").C
local live = require("asp.sources.live")

local err_buf = live.err_buf

return function(opts)
  return live.make("asp.stdin", "(standard input)", opts, nil, function(_, l)
    return C.asp_live_stdin(l, err_buf, 512)
  end)
end
