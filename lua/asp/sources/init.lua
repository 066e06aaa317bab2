-- The native sources, by the name they have in `asp` (asp.csv, asp.tcp, ...):
-- each is the constructor returned by lua/asp/sources/<name>.lua. A new kind
-- of source is a new file here (and its C side in engine/sources/), plus
-- its name in this list.
local M = {}
for _, name in ipairs { "csv", "stdin", "tcp", "listen", "udp", "tail", "exec", "redis", "redis_writer" } do
  M[name] = require("asp.sources." .. name)
end
return M
