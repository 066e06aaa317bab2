-- The writer side of tcp.lua: sends N lines "<seq> <sent_ns>\n" to
-- 127.0.0.1:PORT at RATE lines/s (in batches every 100 us), where sent_ns is
-- the wall clock (CLOCK_REALTIME) in integer nanoseconds read just before the
-- write() of the batch that holds the line. Prints "SENT <n>" at the end.
-- MODE connect: connects to a listening reader; listen: accepts one reader.
-- usage: luajit|asp-lua tcp_writer.lua MODE PORT N RATE
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } tw_timespec;
int clock_gettime(int clk, tw_timespec *ts);
typedef struct { uint16_t family; uint16_t port; uint32_t addr; char zero[8]; } tw_sockaddr_in;
int socket(int domain, int type, int protocol);
int connect(int fd, const tw_sockaddr_in *addr, uint32_t len);
int bind(int fd, const tw_sockaddr_in *addr, uint32_t len);
int listen(int fd, int backlog);
int accept(int fd, void *addr, void *len);
int setsockopt(int fd, int level, int name, const void *val, uint32_t len);
long write(int fd, const void *buf, size_t n);
int close(int fd);
int usleep(unsigned us);
int clock_nanosleep(int clk, int flags, const tw_timespec *req, tw_timespec *rem);
]]
local C = ffi.C
local mode, port, N, RATE = arg[1], tonumber(arg[2]), tonumber(arg[3]), tonumber(arg[4])
local ts = ffi.new("tw_timespec")
local function now_us(clk)
  C.clock_gettime(clk, ts)
  return tonumber(ts.tv_sec) * 1e6 + tonumber(ts.tv_nsec) / 1e3
end

local addr = ffi.new("tw_sockaddr_in")
addr.family = 2 -- AF_INET
addr.port = bit.bor(bit.rshift(port, 8), bit.lshift(bit.band(port, 255), 8))
addr.addr = 0x0100007f -- 127.0.0.1, network order on little-endian
local fd = C.socket(2, 1, 0) -- SOCK_STREAM
assert(fd >= 0, "socket")
local one = ffi.new("int[1]", 1)
C.setsockopt(fd, 6, 1, one, 4) -- TCP_NODELAY
if mode == "listen" then
  C.setsockopt(fd, 1, 2, one, 4) -- SO_REUSEADDR
  assert(C.bind(fd, addr, ffi.sizeof(addr)) == 0, "bind")
  assert(C.listen(fd, 1) == 0, "listen")
  local c = C.accept(fd, nil, nil)
  assert(c >= 0, "accept")
  C.close(fd)
  fd = c
  C.setsockopt(fd, 6, 1, one, 4)
else
  local ok = false
  for _ = 1, 500 do -- the reader may still be starting
    if C.connect(fd, addr, ffi.sizeof(addr)) == 0 then ok = true break end
    C.usleep(10000)
  end
  assert(ok, "connect")
end

-- Sleeps until the monotonic clock reaches due_us (absolute: a late wake-up
-- does not shift the batches after it). The writer sleeps, as a feed does:
-- spinning, it took a whole core of two from the reader it measures.
local wake = ffi.new("tw_timespec")
local function sleep_until_us(due_us)
  wake.tv_sec = math.floor(due_us / 1e6)
  wake.tv_nsec = math.floor((due_us % 1e6) * 1e3)
  C.clock_nanosleep(1, 1, wake, nil) -- CLOCK_MONOTONIC, TIMER_ABSTIME
end

local BATCH_US = 100
local per_batch = RATE * BATCH_US / 1e6
local t0 = now_us(1)
local sent = 0
while sent < N do
  local due = t0 + (sent / per_batch) * BATCH_US
  if now_us(1) < due then sleep_until_us(due) end
  local k = math.min(per_batch, N - sent)
  C.clock_gettime(0, ts) -- CLOCK_REALTIME, comparable with asp.wall()
  local stamp = string.format("%d%09d", tonumber(ts.tv_sec), tonumber(ts.tv_nsec))
  local parts = {}
  for j = 1, k do parts[j] = (sent + j) .. " " .. stamp .. "\n" end
  local s = table.concat(parts)
  assert(C.write(fd, s, #s) == #s, "write")
  sent = sent + k
end
C.close(fd)
io.write("SENT ", sent, "\n")
