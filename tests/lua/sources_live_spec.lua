-- Live sources: stdin, tcp, listen, udp, tail, exec (docs/sources.md).
-- Real subprocesses, real sockets on 127.0.0.1 with ports the system chose,
-- real files. No assertion depends on speed: waits have generous deadlines.
local asp = require("asp")
local u = require("sources_util")

-- A past of n events, one per ms, from 2024-01-01.
local function past(n)
  local t0 = asp.time("2024-01-01")
  local i = 0
  return function()
    i = i + 1
    if i > n then return nil end
    return t0 + i * 0.001, i
  end
end

-- Stops the run after `seconds` of wall time, so that a broken source fails
-- the spec instead of hanging it.
local function deadline(seconds)
  return function()
    asp.sleep(asp.wall() + seconds) -- a Time: wall-clock seconds from now, whatever the replay's clock
    asp.stop()
  end
end

describe("asp.exec", function()
  it("delivers a subprocess's lines in order, and its exit ends the stream", function()
    local got, live = {}, false
    asp.run { asp.process_stream {
      future = asp.exec { "sh", "-c", "for i in 1 2 3 4 5; do echo line$i; done" },
      on_live_start = function() live = true end,
      callback = function(t, v) got[#got + 1] = v end,
    } }
    assert.is_true(live)
    assert.are.same({ "line1", "line2", "line3", "line4", "line5" }, got)
  end)

  it("keeps what arrives during the replay and delivers it after the past, in order, nothing lost", function()
    local got, past_n, order_ok = {}, 0, true
    asp.run { asp.process_stream {
      past = past(300000),
      future = asp.exec { "sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo $i; i=$((i+1)); done" },
      callback = function(t, v)
        if type(v) == "number" then
          past_n = past_n + 1
          if #got > 0 then order_ok = false end
        else
          if tonumber(v) ~= #got then order_ok = false end
          got[#got + 1] = v
        end
      end,
    } }
    assert.are.equal(300000, past_n)
    assert.are.equal(2000, #got)
    assert.is_true(order_ok)
  end)

  it("with a small buffer, pauses reading instead of dropping (the writer waits)", function()
    local n, ok = 0, true
    asp.run { asp.process_stream {
      past = past(50000),
      future = asp.exec { "sh", "-c", "i=0; while [ $i -lt 20000 ]; do echo $i; i=$((i+1)); done", buffer = 1024 },
      callback = function(t, v)
        if type(v) == "string" then
          if tonumber(v) ~= n then ok = false end
          n = n + 1
        end
      end,
    } }
    assert.are.equal(20000, n)
    assert.is_true(ok)
  end)

  it("decodes JSON lines with jansson, the time from a field or the arrival", function()
    local got = {}
    asp.run { asp.process_stream {
      future = asp.exec { "sh", "-c",
        [[echo '{"sym":"A","px":1.5,"tags":["x",{"k":true}],"t":"2024-01-01T00:00:01Z"}'; echo '{"sym":"B","px":null,"t":1704067202.5}']],
        format = "json", time = "t" },
      callback = function(t, v) got[#got + 1] = { tostring(t), v } end,
    } }
    assert.are.equal("2024-01-01T00:00:01.000000Z", got[1][1])
    assert.are.same({ sym = "A", px = 1.5, tags = { "x", { k = true } }, t = "2024-01-01T00:00:01Z" }, got[1][2])
    assert.are.equal("2024-01-01T00:00:02.500000Z", got[2][1])
    assert.are.same({ sym = "B", t = 1704067202.5 }, got[2][2])
  end)

  it("an invalid JSON line is an error naming the source, the line and the text", function()
    local msg = u.pcall_err(asp.run, { asp.process_stream {
      future = asp.exec { "sh", "-c", [[echo '{"a":1}'; echo '{"a":']], format = "json" },
      callback = function() end } })
    assert.matches("asp.exec sh %-c .*: line 2: invalid JSON %(column %d+: .*%): {\"a\":", msg)
  end)

  it("decodes CSV lines with the asp.csv options; without a time column event_time is the arrival", function()
    local got = {}
    local before = asp.wall()
    asp.run { asp.process_stream {
      future = asp.exec { "sh", "-c", [[printf 'sym,px\nA,1.5\n"B,C",2\n']], format = "csv", header = true },
      callback = function(t, v) got[#got + 1] = { t, v } end,
    } }
    assert.are.equal(2, #got)
    assert.are.same({ sym = "A", px = 1.5 }, got[1][2])
    assert.are.same({ sym = "B,C", px = 2 }, got[2][2])
    assert.is_true(got[1][1] >= before and got[1][1] <= asp.wall())
  end)

  it("a command that cannot start is an error that names it", function()
    local msg = u.pcall_err(asp.run, { asp.process_stream {
      future = asp.exec { "/nonexistent/cmd", "x" }, callback = function() end } })
    assert.matches("asp.exec /nonexistent/cmd x: cannot run '/nonexistent/cmd': no such file or directory", msg)
  end)
end)

describe("asp.listen", function()
  it("accepts many clients into one stream; input sent during the replay is delivered after it", function()
    local src = asp.listen { host = "127.0.0.1", port = 0 }
    local port = src:port()
    assert.is_true(port > 0)
    local got, past_n, late = {}, 0, false
    asp.run {
      asp.process_stream {
        past = past(200000),
        future = src,
        callback = function(t, v)
          if type(v) == "number" then
            past_n = past_n + 1
            if #got > 0 then late = true end
            if v == 1000 then
              -- Two clients write while the past is still replaying.
              u.tcp_send(port, "a1\na2\na3\n")
              u.tcp_send(port, "b1\nb2")
            end
          else
            got[#got + 1] = v
            if #got == 5 then asp.stop() end
          end
        end,
      },
      deadline(30),
    }
    assert.are.equal(200000, past_n)
    assert.is_false(late)
    table.sort(got)
    assert.are.same({ "a1", "a2", "a3", "b1", "b2" }, got)
  end)
end)

describe("asp.tcp", function()
  it("connects as a client and delivers what the server sends; the peer closing ends the stream", function()
    local server, port = u.tcp_server()
    local got = {}
    local conn
    asp.run {
      asp.process_stream { future = asp.tcp { host = "127.0.0.1", port = port },
        callback = function(t, v) got[#got + 1] = v end },
      function()
        for _ = 1, 1000 do
          conn = u.try_accept(server)
          if conn then break end
          asp.sleep(0.01)
        end
        assert(conn, "no connection came")
        u.send_all(conn, "hello\nworld\n")
        u.close(conn)
      end,
    }
    u.close(server)
    assert.are.same({ "hello", "world" }, got)
  end)

  it("a refused connection is an error that names the source", function()
    local port = u.free_port()
    local msg = u.pcall_err(asp.run, { asp.process_stream {
      future = asp.tcp { host = "127.0.0.1", port = port }, callback = function() end } })
    assert.matches("asp.tcp 127.0.0.1:" .. port .. ": cannot connect: connection refused", msg)
  end)

  it("with reconnect, retries until the server is there", function()
    local port = u.free_port()
    local got = {}
    asp.run {
      asp.process_stream { future = asp.tcp { host = "127.0.0.1", port = port, reconnect = { initial = 0.02, max = 0.1 } },
        callback = function(t, v) got[#got + 1] = v; asp.stop() end },
      function()
        asp.sleep(0.2) -- some attempts are refused first
        local fd = u.tcp_server(port)
        local conn
        for _ = 1, 1000 do
          conn = u.try_accept(fd)
          if conn then break end
          asp.sleep(0.01)
        end
        assert(conn, "no reconnection came")
        u.send_all(conn, "back\n")
        asp.sleep(5)
        u.close(conn)
        u.close(fd)
      end,
      deadline(30),
    }
    assert.are.same({ "back" }, got)
  end)
end)

describe("asp.udp", function()
  it("delivers datagrams' lines; a datagram's last line needs no newline", function()
    local src = asp.udp { host = "127.0.0.1", port = 0 }
    local port = src:port()
    local got = {}
    asp.run {
      asp.process_stream { future = src, callback = function(t, v)
        got[#got + 1] = v
        if #got == 3 then asp.stop() end
      end },
      function()
        u.udp_send(port, "x1\nx2\n")
        u.udp_send(port, "x3")
      end,
      deadline(30),
    }
    assert.are.same({ "x1", "x2", "x3" }, got)
  end)
end)

describe("asp.tail", function()
  it("delivers lines appended after the run starts, and survives truncation and rotation", function()
    local p = u.tmpfile("old line, not delivered\n")
    local got = {}
    asp.run {
      asp.process_stream { future = asp.tail(p), callback = function(t, v)
        got[#got + 1] = v
        if v == "two" then
          -- Truncate, then write again from the start.
          local f = io.open(p, "wb"); f:close()
          asp.call_later(0.1, function() u.append(p, "three\n") end)
        elseif v == "three" then
          -- Rotate: move the file away and create a new one.
          os.rename(p, p .. ".1")
          u.append(p, "four\n")
        elseif v == "four" then
          asp.stop()
        end
      end },
      function() u.append(p, "one\ntwo\n") end,
      deadline(30),
    }
    os.remove(p .. ".1")
    os.remove(p)
    assert.are.same({ "one", "two", "three", "four" }, got)
  end)

  it("a missing file is an error that names it", function()
    local msg = u.pcall_err(asp.run, { asp.process_stream {
      future = asp.tail("/nonexistent/log"), callback = function() end } })
    assert.matches("asp.tail /nonexistent/log: cannot open: No such file or directory", msg)
  end)
end)

describe("asp.stdin", function()
  local function run_with_stdin(input, script)
    local path = u.tmpfile(script)
    local out = io.popen("printf '" .. input .. "' | " .. os.getenv("ASP_LUA") .. " " .. path .. " 2>&1")
    local s = out:read("*a")
    out:close()
    os.remove(path)
    return s
  end

  it("reads lines from a pipe until its end", function()
    local s = run_with_stdin("a\\nb\\nc", [[
      local asp = require("asp")
      asp.run { asp.process_stream { future = asp.stdin(), callback = function(t, v) io.write(v, ";") end } }
      io.write("end\n")
    ]])
    assert.are.equal("a;b;c;end\n", s)
  end)
end)

describe("asp.stats", function()
  it("counts per stream and for the run", function()
    asp.run {
      asp.process_stream { name = "p", past = { { 10, 1 }, { 5, 2 }, { 20, 3 } }, callback = function() end },
      asp.process_stream { name = "q", past = { { 1, 1 } }, callback = function() end },
    }
    local s = asp.stats()
    assert.are.equal(2, #s.streams)
    assert.are.same({ name = "p", delivered = 3, out_of_order = 1, skipped = 0 }, s.streams[1])
    assert.are.same({ name = "q", delivered = 1, out_of_order = 0, skipped = 0 }, s.streams[2])
    assert.are.equal(6, s.items) -- 2 starts and 4 events
    assert.are.equal(19, s.virtual_span)
    assert.is_true(s.wall_time >= 0)
  end)
end)

describe("live on_error = 'skip'", function()
  it("counts bad CSV and JSON lines in the stream's skipped and goes on", function()
    local got = {}
    asp.run {
      asp.process_stream { name = "c", future = asp.exec { "sh", "-c", [[printf 'a,1\nb\nc,x\ne,3\n']],
        format = "csv", names = { "s", "n" }, columns = { "s:string", "n:number" }, on_error = "skip" },
        callback = function(t, v) got[#got + 1] = v.s end },
    }
    -- "b" has one field, "c,x" a bad number.
    assert.are.same({ "a", "e" }, got)
    assert.are.same({ name = "c", delivered = 2, out_of_order = 0, skipped = 2, exit_status = 0 }, asp.stats().streams[1])
    got = {}
    asp.run {
      asp.process_stream { name = "j", future = asp.exec { "sh", "-c", [[printf '{"a":1}\nnope\n{"a":2}\n']],
        format = "json", on_error = "skip" },
        callback = function(t, v) got[#got + 1] = v.a end },
    }
    assert.are.same({ 1, 2 }, got)
    assert.are.same({ name = "j", delivered = 2, out_of_order = 0, skipped = 1, exit_status = 0 }, asp.stats().streams[1])
  end)
end)
