-- Load writer: connects to 127.0.0.1:PORT and sends the lines "1" .. "COUNT",
-- as fast as possible (RATE 0) or RATE lines a second, then closes.
-- Each line is padded to WIDTH bytes with ",xxx..." when WIDTH is given.
-- Usage: asp-lua tests/load/writer.lua PORT COUNT [RATE] [WIDTH]
package.path = "tests/lua/?.lua;" .. package.path
local ffi = require("ffi")
local u = require("sources_util")
local asp = require("asp")
ffi.cdef "int usleep(unsigned int usec);"

local port, count, rate = tonumber(arg[1]), tonumber(arg[2]), tonumber(arg[3] or 0)
local width = tonumber(arg[4] or 0)
local fd = ffi.C.socket(2, 1, 0)
local a = ffi.new("struct asp_test_sockaddr_in")
a.family, a.port = 2, ffi.C.htons(port)
a.addr = ffi.abi("be") and 0x7f000001 or 0x0100007f
assert(ffi.C.connect(fd, a, 16) == 0, "writer: cannot connect to " .. port)

local batch = rate > 0 and math.max(1, math.floor(rate / 100)) or (width > 100 and 500 or 5000)
local t0 = asp.wall():epoch()
local i, buf = 0, {}
while i < count do
  local n = math.min(batch, count - i)
  for k = 1, n do
    local v = tostring(i + k)
    if width > #v + 1 then v = v .. "," .. ("x"):rep(width - #v - 1) end
    buf[k] = v
  end
  buf[n + 1] = nil
  i = i + n
  u.send_all(fd, table.concat(buf, "\n", 1, n) .. "\n")
  if rate > 0 then
    local ahead = t0 + i / rate - asp.wall():epoch()
    if ahead > 0 then ffi.C.usleep(math.floor(ahead * 1e6)) end
  end
end
u.close(fd)
