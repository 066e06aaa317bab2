-- asp.tail(path [, opts]): a followed file, from its end when the run
-- starts, through truncation and rotation (engine/sources/tail.c).
local C = require("asp.cffi").C
local live = require("asp.sources.live")

local err_buf = live.err_buf
local type, error = type, error

return function(path, opts)
  if type(path) ~= "string" then error("asp.tail: bad argument #1 (a file path expected)", 2) end
  if opts ~= nil and type(opts) ~= "table" then
    error("asp.tail: bad argument #2 (a table of options expected, got " .. type(opts) .. ")", 2)
  end
  return live.make("asp.tail", path, opts, nil, function(_, l)
    return C.asp_live_tail(l, path, -1, err_buf, 512)
  end)
end
