-- Issue #11 "No silent loss", the live sources' items: asp.tail behind by
-- more than a poll's worth, rotation faster than the poll, partial lines of
-- rotated files, FIFOs and directories. Real files, real subprocesses; waits
-- poll a condition with a deadline.
local asp = require("asp")
local u = require("sources_util")

local function deadline(seconds)
  return function()
    asp.sleep(asp.wall() + seconds)
    asp.stop()
  end
end

-- Waits (in a task) until cond() or `seconds` of wall time.
local function wait_for(cond, seconds)
  local limit = asp.wall() + seconds
  while not cond() and asp.wall() < limit do asp.sleep(0.01) end
end

local function stderr_of(fn)
  local path = os.tmpname()
  local saved = io.stderr
  -- warnings are written by C to fd 2: capture the fd itself
  local ffi = require("ffi")
  pcall(ffi.cdef, "int dup(int); int dup2(int, int); int open(const char *, int, ...);")
  local C = ffi.C
  local keep = C.dup(2)
  local fd = C.open(path, 1 + 64 + 512, ffi.new("int", 420)) -- O_WRONLY|O_CREAT|O_TRUNC
  C.dup2(fd, 2)
  u.close(fd)
  local ok, err = pcall(fn)
  C.dup2(keep, 2)
  u.close(keep)
  io.stderr = saved
  local f = io.open(path, "rb")
  local text = f:read("*a")
  f:close()
  os.remove(path)
  if not ok then error(err, 0) end
  return text
end

describe("asp.tail: no silent loss", function()
  it("finishes a rotated file that is megabytes behind before it reads the new one (1,009 lines of 20 KB)", function()
    local p = u.tmpfile("")
    local n, last, bad = 0, nil, 0
    local big = string.rep("x", 20000)
    local src = asp.tail(p)
    asp.run {
      asp.process_stream { future = src, callback = function(t, v)
        n = n + 1
        last = v
        if v ~= "end" and #v ~= 20000 + #tostring(n) then bad = bad + 1 end
        if v == "end" then asp.stop() end
      end },
      function()
        asp.sleep(0.05)
        -- 20 MB at once, then the rotation, before any poll: the old file is
        -- far behind when the rotation is seen.
        local f = assert(io.open(p, "ab"))
        for i = 1, 1009 do f:write(big, i, "\n") end
        f:close()
        os.rename(p, p .. ".1")
        u.append(p, "end\n")
      end,
      deadline(60),
    }
    os.remove(p .. ".1")
    os.remove(p)
    assert.are.equal(1010, n)
    assert.are.equal("end", last)
    assert.are.equal(0, bad)
  end)

  it("with buffer = 4 MiB and 200,010 lines of 50 bytes behind, loses none at the rotation", function()
    local p = u.tmpfile("")
    local n = 0
    local line = string.rep("y", 49) .. "\n"
    asp.run {
      asp.process_stream { future = asp.tail(p, { buffer = 4 * 1024 * 1024 }), callback = function(t, v)
        n = n + 1
        if v == "end" then asp.stop() end
      end },
      function()
        asp.sleep(0.05)
        local f = assert(io.open(p, "ab"))
        f:write(string.rep(line, 200010))
        f:close()
        os.rename(p, p .. ".1")
        u.append(p, "end\n")
      end,
      deadline(60),
    }
    os.remove(p .. ".1")
    os.remove(p)
    assert.are.equal(200011, n)
  end)

  it("never delivers the cut last line of a rotated file: dropped after the grace, with a warning, counted in cut_lines", function()
    local p = u.tmpfile("")
    local got = {}
    local src = asp.tail(p, { name = "log" })
    local err = stderr_of(function()
      asp.run {
        asp.process_stream { name = "s", future = src, callback = function(t, v) got[#got + 1] = v end },
        function()
          asp.sleep(0.05)
          u.append(p, "a\nb\ncu")
          wait_for(function() return #got >= 2 end, 10)
          os.rename(p, p .. ".1")
          u.append(p .. ".1", "t") -- the writer goes on in the old file a little
          u.append(p, "c\n")
          wait_for(function() return #got >= 3 end, 10)
          u.append(p .. ".1", "\nlate\nnever")
          -- the grace (1 s of quiet) ends the old file
          wait_for(function() return #got >= 5 and src:counts().cut_lines end, 10)
          asp.stop()
        end,
        deadline(30),
      }
    end)
    os.remove(p .. ".1")
    os.remove(p)
    table.sort(got)
    assert.are.same({ "a", "b", "c", "cut", "late" }, got)
    assert.matches("log: warning: the rotated file ended in the middle of a line: dropped its 5 bytes: never", err, 1, true)
    assert.are.equal(1, asp.stats().streams[1].cut_lines)
  end)

  it("a file rotated every 5 ms by another process loses no line (inotify)", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir))
    local p = dir .. "/log"
    u.append(p, "")
    local n, seen = 0, {}
    asp.run {
      asp.process_stream { future = asp.tail(p), callback = function(t, v)
        if not seen[v] then n = n + 1 end
        seen[v] = true
      end },
      function()
        asp.sleep(0.05)
        -- Each file is renamed away 5 ms after asp-lua has opened it (far
        -- faster than the 20 ms poll). The writer waits for that open: a file
        -- made and renamed away before asp-lua could open it at all is the
        -- documented impossible case, and on a loaded machine it would happen.
        local pid = io.open("/proc/self/stat"):read("*n")
        os.execute(("sh -c 'i=0; while [ $i -lt 200 ]; do j=0; while [ $j -lt 10 ]; do echo $i.$j >> %s; j=$((j+1)); done; " ..
          "k=0; until ls -l /proc/%d/fd 2>/dev/null | grep -q -- \"%s$\" || [ $k -ge 2000 ]; do sleep 0.001; k=$((k+1)); done; " ..
          "sleep 0.005; mv %s %s.1; i=$((i+1)); done; touch %s.done' &"):format(p, pid, p, p, p, p))
        wait_for(function() return n >= 2000 and io.open(p .. ".done") end, 30)
        asp.stop()
      end,
      deadline(60),
    }
    os.execute("rm -rf " .. dir)
    assert.are.equal(2000, n)
  end)

  it("copytruncate, then a rewrite 5 ms later, by another process: every line, each once (inotify sees the truncation)", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir))
    local p = dir .. "/log"
    u.append(p, "")
    local n, seen, dup = 0, {}, 0
    local prog = dir .. "/read"
    asp.run {
      asp.process_stream { future = asp.tail(p), callback = function(t, v)
        if seen[v] then dup = dup + 1 else n = n + 1 end
        seen[v] = true
        local f = io.open(prog, "w"); f:write(n); f:close()
      end },
      function()
        asp.sleep(0.05)
        -- The writer copies and truncates once asp-lua has read the lines
        -- (lines that exist only in the copy are the documented impossible
        -- case, and a loaded machine makes them), then rewrites 5 ms later:
        -- far within one 20 ms poll, so only inotify sees the truncation.
        os.execute(("sh -c 'i=0; while [ $i -lt 100 ]; do j=0; while [ $j -lt 10 ]; do echo $i.$j >> %s; j=$((j+1)); done; " ..
          "k=0; until [ \"$(cat %s 2>/dev/null)\" = $(( (i+1)*10 )) ] || [ $k -ge 2000 ]; do sleep 0.001; k=$((k+1)); done; " ..
          "sleep 0.005; cp %s %s.1; : > %s; sleep 0.005; i=$((i+1)); done; touch %s.done' &"):format(p, prog, p, p, p, p))
        wait_for(function() return n >= 1000 and io.open(p .. ".done") end, 30)
        asp.stop()
      end,
      deadline(60),
    }
    os.execute("rm -rf " .. dir)
    assert.are.equal(1000, n)
    assert.are.equal(0, dup)
  end)

  it("rejects a directory and a FIFO without blocking (a FIFO without a writer blocked open() forever)", function()
    local msg = u.pcall_err(asp.run, { asp.process_stream { future = asp.tail("/tmp"), callback = function() end } })
    assert.matches("asp.tail /tmp: cannot follow: not a regular file (a directory)", msg, 1, true)
    local fifo = os.tmpname()
    os.remove(fifo)
    assert(os.execute("mkfifo " .. fifo))
    local t0 = asp.wall()
    msg = u.pcall_err(asp.run, { asp.process_stream { future = asp.tail(fifo), callback = function() end } })
    os.remove(fifo)
    assert.matches("cannot follow: not a regular file (a FIFO", msg, 1, true)
    assert.is_true(asp.wall() - t0 < 5)
  end)
end)

-- Cases that need asp-lua's stderr and exit status: a subprocess.
local h = require("helpers")
local HEAD = [[
package.path = "tests/lua/?.lua;" .. package.path
local asp = require("asp")
local u = require("sources_util")
local ffi = require("ffi")
local function accept(fd)
  local c
  while not c do
    c = u.try_accept(fd)
    if not c then asp.sleep(0.005) end
  end
  return c
end
local function reset(c)
  local lg = ffi.new("int[2]", 1, 0)
  assert(ffi.C.setsockopt(c, 1, 13, lg, 8) == 0) -- SOL_SOCKET, SO_LINGER {on, 0 s}
  u.close(c)
end
]]
local function run(body, ...)
  return h.run_asp({ h.temp_script(HEAD .. body), ... })
end

describe("a TCP feed that ends mid-line", function()
  after_each(h.cleanup)

  it("a reset that comes right after the data drops the cut line (libuv reported it as an orderly end)", function()
    local out, err, rc = run([[
      local fd, port = u.tcp_server()
      local got = {}
      asp.run {
        asp.process_stream { name = "s", future = asp.tcp { port = port, name = "feed" }, callback = function(t, v) got[#got + 1] = v end },
        function()
          local c = accept(fd)
          asp.sleep(0.05) -- the client's connect completes; then data and reset come together
          u.send_all(c, "one\ntwo\ncu")
          reset(c)
        end,
      }
      print(table.concat(got, "|"), asp.stats().streams[1].cut_lines)
    ]])
    assert.are.equal(0, rc, err)
    assert.are.equal("one|two\t1\n", out)
    assert.matches("feed: warning: connection lost (connection reset by peer) in the middle of a line: dropped its 2 bytes: cu", err, 1, true)
  end)

  it("the same on asp.listen, and the server goes on with its next client", function()
    local out, err, rc = run([[
      local src = asp.listen { port = 0, name = "srv" }
      local got = {}
      asp.run {
        asp.process_stream { future = src, callback = function(t, v) got[#got + 1] = v; if v == "next" then asp.stop() end end },
        function()
          local c = ffi.C.socket(2, 1, 0)
          local a = ffi.new("struct asp_test_sockaddr_in")
          a.family = 2; a.port = ffi.C.htons(src:port()); a.addr = ffi.abi("be") and 0x7f000001 or 0x0100007f
          assert(ffi.C.connect(c, a, 16) == 0)
          u.send_all(c, "a\nhalf")
          reset(c)
          asp.sleep(0.05)
          u.tcp_send(src:port(), "next\n")
        end,
      }
      print(table.concat(got, "|"))
    ]])
    assert.are.equal(0, rc, err)
    assert.are.equal("a|next\n", out)
    assert.matches("srv: warning: connection lost (connection reset by peer) in the middle of a line: dropped its 4 bytes: half", err, 1, true)
  end)

  it("with format = 'csv', a cut line at an orderly close is warned and counted; the stream reconnects and the run goes on", function()
    local out, err, rc = run([[
      local fd, port = u.tcp_server()
      local got = {}
      asp.run {
        asp.process_stream { name = "s", future = asp.tcp { port = port, name = "feed", format = "csv", names = { "a", "b" },
            columns = { "a:integer", "b:integer" }, reconnect = { initial = 0.01, max = 0.05 } },
          callback = function(t, v) got[#got + 1] = v.a .. ":" .. v.b; if v.a == 9 then asp.stop() end end },
        function()
          local c = accept(fd); u.send_all(c, "1,2\n3,\"x"); u.close(c)  -- an open quote, cut
          c = accept(fd); u.send_all(c, "5,6\n7,"); u.close(c)          -- a missing field, cut
          c = accept(fd); u.send_all(c, "9,10\n"); u.close(c)
        end,
        function() asp.sleep(asp.wall() + 20); asp.stop() end, -- fails rather than hangs

      }
      local s = asp.stats().streams[1]
      print(table.concat(got, "|"), s.cut_lines)
    ]])
    assert.are.equal(0, rc, err)
    assert.are.equal("1:2|5:6|9:10\t2\n", out)
    assert.matches("feed: warning: the peer closed the connection in the middle of a line: dropped its 4 bytes (format = 'csv'): 3,\"x", err, 1, true)
    assert.matches("feed: warning: the peer closed the connection in the middle of a line: dropped its 2 bytes (format = 'csv'): 7,", err, 1, true)
  end)
end)

describe("asp.exec: the child's whole process group", function()
  after_each(h.cleanup)

  -- The pids asp-lua printed (the child's and its children's); how many live.
  local function alive(out)
    local n = 0
    for pid in out:gmatch("%d+") do
      -- a zombie (not reaped by this container's init) counts as ended
      local f = io.open("/proc/" .. pid .. "/stat")
      local st = f and f:read("*l")
      if f then f:close() end
      if st and st:match("%) (%a)") ~= "Z" then n = n + 1 end
    end
    return n
  end

  it("is ended when the run stops: no grandchild survives asp.stop", function()
    local out, err, rc = run([[
      local got = {}
      asp.run { asp.process_stream { future = asp.exec { "sh", "-c", "sleep 30 & echo $!; sleep 30 & echo $!; echo $$; wait" },
        callback = function(t, v) got[#got + 1] = v; if #got == 3 then asp.stop() end end } }
      print(table.concat(got, " "))
    ]])
    assert.are.equal(0, rc, err)
    assert.matches("^%d+ %d+ %d+\n$", out)
    assert.are.equal(0, alive(out))
  end)

  it("and its grandchildren left behind after the child exited are ended with the run", function()
    local out, err, rc = run([[
      local got = {}
      asp.run { asp.process_stream { future = asp.exec { "sh", "-c", "sleep 30 >/dev/null & echo $!" },
        callback = function(t, v) got[#got + 1] = v end } }
      print(table.concat(got, " "))
    ]])
    assert.are.equal(0, rc, err)
    assert.matches("^%d+\n$", out)
    assert.are.equal(0, alive(out))
  end)
end)

describe("SIGHUP", function()
  after_each(h.cleanup)

  it("is handled like SIGTERM: the output to a file is flushed, the exec child ended, status 129", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir))
    local ready, outf, pidf = dir .. "/ready", dir .. "/out", dir .. "/pid"
    local script = h.temp_script(([[
      local asp = require("asp")
      for i = 1, 1000 do print("line " .. i) end
      asp.run {
        asp.process_stream { future = asp.exec { "sh", "-c", "echo $$; exec sleep 30" }, callback = function(t, v)
          local f = io.open(%q, "w"); f:write(v); f:close()
          f = io.open(%q, "w"); f:close()
        end },
      }
    ]]):format(pidf, ready))
    os.execute(("sh -c '%s %s >%s 2>/dev/null & p=$!; i=0; " ..
      "while [ ! -e %s ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i+1)); done; kill -HUP $p; " ..
      "( sleep 20; kill -KILL $p 2>/dev/null ) & w=$!; wait $p; echo $? >%s; kill $w 2>/dev/null'"):format(
      h.ASP_LUA, script, outf, ready, dir .. "/rc"))
    local rc = tonumber(h.slurp(dir .. "/rc"):match("%d+"))
    local lines = select(2, h.slurp(outf):gsub("\n", ""))
    local child = tonumber(h.slurp(pidf))
    local alive = os.execute("kill -0 " .. child .. " 2>/dev/null")
    os.execute("rm -rf " .. dir)
    assert.are.equal(129, rc)
    assert.are.equal(1000, lines)
    assert.is_false(alive == 0 or alive == true)
  end)
end)

describe("asp.listen when descriptors run out", function()
  after_each(h.cleanup)

  it("leaves waiting clients in the backlog, warns once per burst, counts it, and accepts them when descriptors free up (ulimit -n 24, 60 clients)", function()
    local ffi = require("ffi")
    local C = ffi.C
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir))
    local portf = dir .. "/port"
    local script = h.temp_script(([[
      local asp = require("asp")
      local src = asp.listen { port = 0, name = "srv" }
      local f = io.open(%q .. ".tmp", "w"); f:write(src:port()); f:close()
      os.rename(%q .. ".tmp", %q)
      local n = 0
      asp.run {
        asp.process_stream { name = "s", future = src, callback = function(t, v)
          n = n + 1
          if n == 60 then asp.stop() end
        end },
        function() asp.sleep(asp.wall() + 30); asp.stop() end,
      }
      print(n, asp.stats().streams[1].accept_waits)
    ]]):format(portf, portf, portf))
    os.execute(("sh -c 'ulimit -n 24 && %s %s >%s/out 2>%s/err; echo $? >%s/rc' &"):format(
      h.shell_quote(h.ASP_LUA), script, dir, dir, dir))
    h.wait_until(function() return h.file_has(portf, "%d") end, 20, "the listener's port")
    local port = tonumber(h.slurp(portf))
    -- 60 clients connected at once (the kernel completes each handshake
    -- into the backlog), then each sends its line and closes.
    local fds = {}
    for i = 1, 60 do
      local fd = C.socket(2, 1, 0)
      local a = ffi.new("struct asp_test_sockaddr_in")
      a.family = 2; a.port = C.htons(port); a.addr = ffi.abi("be") and 0x7f000001 or 0x0100007f
      assert(C.connect(fd, a, 16) == 0, "connect " .. i)
      fds[i] = fd
    end
    for i = 1, 60 do
      u.send_all(fds[i], "client " .. i .. "\n")
      u.close(fds[i])
    end
    h.wait_until(function() return h.file_has(dir .. "/rc", "%d+\n") end, 40, "asp-lua's exit status")
    local out, err = h.slurp(dir .. "/out"), h.slurp(dir .. "/err")
    local rc = tonumber(h.slurp(dir .. "/rc"):match("%d+"))
    os.execute("rm -rf " .. dir)
    assert.are.equal(0, rc, err)
    local n, waits = out:match("^(%d+)\t(%d+)\n$")
    assert.are.equal("60", n, out .. err)
    assert.is_true(tonumber(waits) >= 1)
    assert.matches("srv: warning: cannot accept a connection (Too many open files): it waits in the kernel's backlog", err, 1, true)
  end)
end)

describe("asp.listen: unfinished lines", function()
  after_each(h.cleanup)

  it("are bounded by buffer in all: 30 clients holding 1 MB each without a newline do not take 30 MB; the largest holders are closed, warned, counted", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir))
    local client = h.temp_script(([[
      package.path = "tests/lua/?.lua;" .. package.path
      local u = require("sources_util")
      local ffi = require("ffi")
      local C = ffi.C
      local port = tonumber(arg[1])
      local mb = string.rep("x", 1000000)
      local fds = {}
      local function connect()
        local fd = C.socket(2, 1, 0)
        local a = ffi.new("struct asp_test_sockaddr_in")
        a.family = 2; a.port = C.htons(port); a.addr = ffi.abi("be") and 0x7f000001 or 0x0100007f
        assert(C.connect(fd, a, 16) == 0)
        return fd
      end
      local function send(fd, s) -- MSG_NOSIGNAL: a closed connection is no SIGPIPE
        local off = 0
        while off < #s do
          local n = C.send(fd, ffi.cast("const char *", s) + off, #s - off, 0x4000)
          if n <= 0 then return end
          off = off + tonumber(n)
        end
      end
      for i = 1, 30 do fds[i] = connect(); send(fds[i], "a line\n" .. mb) end
      local fd = connect(); send(fd, "ok\n"); u.close(fd)
      local limit = os.time() + 30
      -- until the server is done (or the test's directory is gone)
      while not io.open(%q) and io.open(%q) and os.time() < limit do os.execute("sleep 0.05") end
    ]]):format(dir .. "/done", dir))
    local out, err, rc = run(([[
      local src = asp.listen { port = 0, name = "srv", max_line = 2000000 }
      os.execute(%q .. " " .. src:port() .. " &")
      -- Bytes on their way to the server's port, from /proc/net/tcp (not
      -- yet sent by the client, or received and not yet read by asp-lua):
      -- 0 once asp-lua has read (or closed) everything.
      local function queued(port)
        local total = 0
        for l in io.lines("/proc/net/tcp") do
          local lp, rp, tx, rx = l:match("^%%s*%%d+: %%x+:(%%x+) %%x+:(%%x+) %%x+ (%%x+):(%%x+)")
          if lp and tonumber(lp, 16) == port then total = total + tonumber(rx, 16) end
          if rp and tonumber(rp, 16) == port then total = total + tonumber(tx, 16) end
        end
        return total
      end
      local n, ok = 0, false
      asp.run {
        asp.process_stream { name = "s", future = src, callback = function(t, v)
          n = n + 1
          if v == "ok" then ok = true end
        end },
        function()
          local limit = asp.wall() + 30
          while not (ok and queued(src:port()) == 0) and asp.wall() < limit do asp.sleep(0.01) end
          asp.stop()
        end,
      }
      local f = io.open(%q, "w"); f:close()
      local hwm = io.open("/proc/self/status"):read("*a"):match("VmHWM:%%s*(%%d+)")
      print(n, asp.stats().streams[1].dropped_connections, hwm)
    ]]):format(h.shell_quote(h.ASP_LUA) .. " " .. client, dir .. "/done"))
    os.execute("rm -rf " .. dir)
    assert.are.equal(0, rc, err)
    local n, dropped, hwm = out:match("^(%d+)\t(%d+)\t(%d+)\n$")
    assert.is_truthy(n, out .. err)
    assert.are.equal("31", n, err) -- every complete line
    assert.is_true(tonumber(dropped) >= 1)
    -- (Under AddressSanitizer freed blocks stay in its quarantine: the peak
    -- says nothing there.)
    if not h.ASP_LUA:find("asan", 1, true) then
      assert.is_true(tonumber(hwm) < 24000, "peak RSS " .. hwm .. " kB")
    end
    assert.matches("srv: warning: the unfinished lines of all connections hold more than buffer = 1048576 bytes", err, 1, true)
  end)

  it("one line over max_line closes that connection, not the run", function()
    local out, err, rc = run([[
      local src = asp.listen { port = 0, name = "srv", max_line = 10 }
      local got = {}
      asp.run {
        asp.process_stream { future = src, callback = function(t, v) got[#got + 1] = v; if v == "next" then asp.stop() end end },
        function()
          u.tcp_send(src:port(), "short\n" .. string.rep("z", 50) .. "\nafter\n")
          asp.sleep(0.1)
          u.tcp_send(src:port(), "next\n")
        end,
        function() asp.sleep(asp.wall() + 20); asp.stop() end,
      }
      print(table.concat(got, "|"), asp.stats().streams[1].dropped_connections)
    ]])
    assert.are.equal(0, rc, err)
    assert.are.equal("short|next\t1\n", out)
    assert.matches("srv: warning: a line is longer than 10 bytes (max_line): closed that connection", err, 1, true)
  end)
end)

describe("a live CSV line with a CR inside", function()
  it("is refused with its line number (skip counts it), never cut silently", function()
    local got = {}
    local err = h.pcall_err(asp.run, { asp.process_stream{ callback = function(_, v) got[#got + 1] = v.a end,
      future = asp.exec{ "printf", "a,b\\n1,2\\nx\\ry,3\\n4,5\\n", format = "csv", header = true } } })
    assert.matches("line 3: a CR inside the line ends its CSV record early", err, 1, true)
    assert.same({ 1 }, got)
    got = {}
    local src = asp.exec{ "printf", "a,b\\n1,2\\nx\\ry,3\\n4,5\\n", format = "csv", header = true, on_error = "skip" }
    asp.run({ asp.process_stream{ future = src, callback = function(_, v) got[#got + 1] = v.a end } })
    assert.same({ 1, 4 }, got)
    assert.are.equal(1, src:skipped())
  end)
end)
