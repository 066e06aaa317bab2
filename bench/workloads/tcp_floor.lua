-- The machine's floor for tcp.lua: the same writer and measurement, read by
-- bench/reference/tcp_reader (plain C, blocking read(), no event loop, no
-- Lua). make bench builds it as build/bench/tcp_reader.
-- usage: asp-lua tcp_floor.lua [N] [RATE]
local N = tonumber(arg[1]) or 200000
local RATE = tonumber(arg[2]) or 100000
local dir = arg[0]:gsub("[^/]*$", "")
local reader = os.getenv("BENCH_TCP_READER") or "build/bench/tcp_reader"
local p = io.popen(("%s %s %stcp_writer.lua %d %d"):format(reader, os.getenv("ASP_LUA") or "asp-lua", dir, N, RATE), "r")
io.write(p:read("*a"))
p:close()
