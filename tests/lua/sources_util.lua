-- Helpers for the sources specs: temp files, error text without traceback,
-- and small blocking/non-blocking sockets through the FFI (127.0.0.1 only).
local ffi = require("ffi")
local M = {}

function M.tmpfile(content)
  local path = os.tmpname()
  local f = assert(io.open(path, "wb"))
  f:write(content or "")
  f:close()
  return path
end

function M.append(path, s)
  local f = assert(io.open(path, "ab"))
  f:write(s)
  f:close()
end

-- The error message of fn(...) without its traceback.
function M.pcall_err(fn, ...)
  local ok, err = pcall(fn, ...)
  assert(not ok, "expected an error")
  return (tostring(err):gsub("\nstack traceback:.*", ""))
end

ffi.cdef [[
  struct asp_test_sockaddr_in { uint16_t family; uint16_t port; uint32_t addr; char zero[8]; };
  int socket(int domain, int type, int protocol);
  int connect(int fd, const void *addr, uint32_t len);
  int bind(int fd, const void *addr, uint32_t len);
  int listen(int fd, int backlog);
  int accept(int fd, void *addr, void *len);
  int getsockname(int fd, void *addr, uint32_t *len);
  long send(int fd, const void *buf, size_t n, int flags);
  long sendto(int fd, const void *buf, size_t n, int flags, const void *addr, uint32_t len);
  int close(int fd);
  int setsockopt(int fd, int level, int name, const void *val, uint32_t len);
  int fcntl(int fd, int cmd, ...);
  uint16_t htons(uint16_t x);
  uint16_t ntohs(uint16_t x);
]]
local C = ffi.C
local AF_INET, SOCK_STREAM, SOCK_DGRAM = 2, 1, 2
local LOOPBACK = 0x0100007f -- 127.0.0.1 in network order on little-endian
if ffi.abi("be") then LOOPBACK = 0x7f000001 end

local function addr(port)
  local a = ffi.new("struct asp_test_sockaddr_in")
  a.family = AF_INET
  a.port = C.htons(port)
  a.addr = LOOPBACK
  return a
end

-- Connects to 127.0.0.1:port, sends s, closes (blocking).
function M.tcp_send(port, s)
  local fd = C.socket(AF_INET, SOCK_STREAM, 0)
  assert(fd >= 0, "socket")
  assert(C.connect(fd, addr(port), 16) == 0, "connect to " .. port)
  local off = 0
  while off < #s do
    local n = C.send(fd, ffi.cast("const char *", s) + off, #s - off, 0)
    assert(n > 0, "send")
    off = off + tonumber(n)
  end
  C.close(fd)
end

function M.udp_send(port, s)
  local fd = C.socket(AF_INET, SOCK_DGRAM, 0)
  assert(C.sendto(fd, s, #s, 0, addr(port), 16) == #s, "sendto")
  C.close(fd)
end

-- A non-blocking TCP server on a port the system chose: returns fd, port.
function M.tcp_server(port)
  local fd = C.socket(AF_INET, SOCK_STREAM, 0)
  C.setsockopt(fd, 1 --[[SOL_SOCKET]], 2 --[[SO_REUSEADDR]], ffi.new("int[1]", 1), 4)
  assert(C.bind(fd, addr(port or 0), 16) == 0, "bind")
  assert(C.listen(fd, 8) == 0, "listen")
  local a = ffi.new("struct asp_test_sockaddr_in")
  local len = ffi.new("uint32_t[1]", 16)
  assert(C.getsockname(fd, a, len) == 0)
  C.fcntl(fd, 4 --[[F_SETFL]], ffi.new("int", 0x800 --[[O_NONBLOCK]]))
  return fd, C.ntohs(a.port)
end

-- Accepts one connection if one is waiting; returns its fd or nil.
function M.try_accept(fd)
  local c = C.accept(fd, nil, nil)
  if c < 0 then return nil end
  return c
end

function M.send_all(fd, s)
  local off = 0
  while off < #s do
    local n = C.send(fd, ffi.cast("const char *", s) + off, #s - off, 0)
    if n > 0 then off = off + tonumber(n) end
  end
end

M.close = function(fd) C.close(fd) end

-- A free port: bind port 0, read it back, close.
function M.free_port()
  local fd, port = M.tcp_server()
  C.close(fd)
  return port
end

return M
