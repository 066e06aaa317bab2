-- Bad input gets a clear error and loses nothing (issue #6, docs/errors.md).
-- What other specs already cover is referenced from docs/errors.md.
local asp = require("asp")
local h = require("helpers")
local u = require("sources_util")
local pcall_err = u.pcall_err

after_each(h.cleanup)

local function collect(src, opts)
  local got = {}
  local o = { future = src, callback = function(t, v) got[#got + 1] = v end }
  for k, v in pairs(opts or {}) do o[k] = v end
  local ok, err = pcall(asp.run, { asp.process_stream(o) })
  return got, not ok and tostring(err):gsub("\nstack traceback:.*", "") or nil
end

describe("lines longer than max_line", function()
  it("fail a live source with an error naming it and the limit, after the lines before it", function()
    local got, err = collect(asp.exec { "sh", "-c", "echo a; head -c 2000 /dev/zero | tr '\\0' x; echo; echo b",
      max_line = 1000, name = "long" })
    assert.are.same({ "a" }, got)
    assert.matches("long: a line is longer than 1000 bytes (max_line)", err, 1, true)
  end)

  it("deliver every line buffered before the failure first, even while the callback sleeps", function()
    -- The callback sleeps (in real time) on "a", so "b" and the long line
    -- arrive and the source fails while "b" waits in its buffer.
    local got = {}
    local src = asp.exec { "sh", "-c", "echo a; echo b; head -c 2000 /dev/zero | tr '\\0' x; echo",
      max_line = 1000, name = "long" }
    local ok, err = pcall(asp.run, { asp.process_stream {
      future = src,
      callback = function(t, v)
        got[#got + 1] = "start " .. v
        if v == "a" then asp.sleep(0.3) end
        got[#got + 1] = "end " .. v
      end,
    } })
    assert.is_false(ok)
    -- One at a time, and every line before the failure.
    assert.are.same({ "start a", "end a", "start b", "end b" }, got)
    assert.matches("long: a line is longer than 1000 bytes (max_line)", tostring(err), 1, true)
  end)
end)

describe("invalid UTF-8 and NUL bytes", function()
  it("pass byte-exact through raw lines", function()
    local got, err = collect(asp.exec { "sh", "-c", [[printf 'a\377b\n\000z\n\303\251\n']] })
    assert.is_nil(err)
    assert.are.same({ "a\255b", "\0z", "\195\169" }, got)
  end)

  it("pass byte-exact through CSV fields (asp.csv does not validate encodings)", function()
    local path = u.tmpfile("time,v\n1,a\255b\n2,c\0d\n")
    local got = {}
    asp.run { asp.process_stream { past = asp.csv(path), callback = function(t, v) got[#got + 1] = v.v end } }
    os.remove(path)
    assert.are.same({ "a\255b", "c\0d" }, got)
  end)

  it("in JSON: invalid UTF-8 and a raw NUL are invalid JSON naming the line; an escaped \\u0000 is a NUL in the string", function()
    local got, err = collect(asp.exec { "sh", "-c", [[printf '{"s":"a\\u0000b"}\n"\377"\n']], format = "json", name = "j" })
    assert.are.same({ { s = "a\0b" } }, got)
    assert.matches("^asp%.run: error at .- in stream #1: j: line 2: invalid JSON %(.-%): \"\255\"", err)
    got, err = collect(asp.exec { "sh", "-c", [[printf '{"s":1}\000\n']], format = "json", name = "j" })
    assert.are.same({}, got)
    assert.matches("j: line 1: invalid JSON", err, 1, true)
  end)
end)

describe("empty and truncated files", function()
  it("an empty CSV file, or one with only its header, is a stream without events, no error", function()
    for _, content in ipairs { "", "time,v\n" } do
      local path = u.tmpfile(content)
      local n, live = 0, false
      asp.run { asp.process_stream { past = asp.csv(path), on_live_start = function() live = true end,
        callback = function() n = n + 1 end } }
      os.remove(path)
      assert.are.equal(0, n)
      assert.is_true(live)
    end
  end)

  it("a truncated .gz delivers its complete rows, then fails naming the file", function()
    local plain = os.tmpname()
    local rows = { "time,v" }
    for i = 1, 20000 do rows[#rows + 1] = i .. ",x" .. i end
    h.write_file(plain, table.concat(rows, "\n") .. "\n")
    os.execute("gzip -c " .. plain .. " | head -c 3000 > " .. plain .. ".gz")
    local n, last = 0, nil
    local ok, err = pcall(asp.run, { asp.process_stream { past = asp.csv(plain .. ".gz"),
      callback = function(t, v) n = n + 1; last = v.v end } })
    os.remove(plain)
    os.remove(plain .. ".gz")
    assert.is_false(ok)
    assert.matches("truncated compressed file (unexpected end of the gzip data) at byte 3000", tostring(err), 1, true)
    assert.is_true(n > 0 and n < 20000)
    assert.are.equal("x" .. n, last) -- every row before the cut, in order
  end)
end)

describe("a callback that raises", function()
  it("stops the run with the stream, the virtual time and the file:line of the asp.csv row", function()
    local path = u.tmpfile("time,v\n1,a\n2,b\n3,c\n")
    local err = pcall_err(asp.run, { asp.process_stream { name = "q", past = asp.csv(path),
      callback = function(t, v) if v.v == "b" then error("bad row") end end } })
    assert.matches("^asp%.run: error at 1970%-01%-01T00:00:02%.000000Z in stream 'q' at " .. path:gsub("%p", "%%%0")
      .. ":3: .*bad row", err)
    os.remove(path)
  end)

  it("with on_error = 'log' is logged on stderr with the same context, and the stream goes on", function()
    local csv = u.tmpfile("time,v\n1,a\n2,b\n3,c\n")
    local script = h.temp_script(([[
      local asp = require("asp")
      local got = {}
      asp.run { asp.process_stream { name = "q", past = asp.csv(%q), on_error = "log",
        callback = function(t, v) if v.v == "b" then error("bad row") end got[#got + 1] = v.v end } }
      print(table.concat(got, ","), asp.stats().streams[1].errors, asp.stats().streams[1].delivered)
    ]]):format(csv))
    local out, err, rc = h.run_asp({ script })
    os.remove(csv)
    assert.are.equal(0, rc, err)
    assert.are.equal("a,c\t1\t2\n", out)
    assert.matches("asp.run: error at 1970-01-01T00:00:02.000000Z in stream 'q' at " .. csv
      .. ":3 (event at 1970-01-01T00:00:02.000000Z): ", err, 1, true)
    assert.matches("bad row (on_error = 'log': going on)", err, 1, true)
  end)

  it("on_error must be 'error' or 'log'", function()
    assert.are.equal("asp.process_stream: option 'on_error' must be 'error' or 'log' (got skip)",
      pcall_err(asp.process_stream, { callback = print, on_error = "skip" }))
  end)
end)

describe("wrong argument types to the sources and asp.stats", function()
  it("raise an error naming the function and the argument or option", function()
    local cases = {
      { "asp.csv: bad argument #1 (a file path expected, got number)", asp.csv, 5 },
      { "asp.csv: bad argument #2 (a table of options expected)", asp.csv, "x.csv", 5 },
      { "asp.csv: unknown option 'bogus'", asp.csv, "x.csv", { bogus = 1 } },
      { "asp.tcp: bad argument #1 (a table {host, port, ...} expected)", asp.tcp, 5 },
      { "asp.tcp: 'port' must be a port number (got x)", asp.tcp, { port = "x" } },
      { "asp.tcp: 'host' must be a string", asp.tcp, { host = 5, port = 1 } },
      { "asp.tcp: option 'reconnect' must be true or {initial = s, max = s}", asp.tcp, { port = 1, reconnect = "y" } },
      { "asp.tcp: option 'buffer' must be a number of bytes from 1 to 2^31-1 (got big)", asp.tcp, { port = 1, buffer = "big" } },
      { "asp.tcp: option 'max_line' must be a number of bytes from 1 to 2^31-1 (got -3)", asp.tcp, { port = 1, max_line = -3 } },
      { "asp.listen: bad argument #1 (a table {host, port, ...} expected)", asp.listen, "x" },
      { "asp.listen: 'port' must be a port number (got 70000)", asp.listen, { port = 70000 } },
      { "asp.udp: 'port' must be a port number (got -1)", asp.udp, { port = -1 } },
      { "asp.udp: bad argument #1 (a table {host, port, ...} expected)", asp.udp },
      { "asp.tail: bad argument #1 (a file path expected)", asp.tail, 5 },
      { "asp.tail: bad argument #2 (a table of options expected, got number)", asp.tail, "p", 5 },
      { "asp.exec: bad argument #1 (a table {cmd, args...} expected)", asp.exec, "ls" },
      { "asp.exec: bad argument #1 (a table {cmd, args...} expected)", asp.exec, {} },
      { "asp.exec: option 'format' must be 'lines', 'csv' or 'json' (got xml)", asp.exec, { "ls", format = "xml" } },
      { "asp.stdin: bad argument #1 (a table of options expected)", asp.stdin, 5 },
      { "asp.stdin: option 'name' must be a string (got number)", asp.stdin, { name = 1 } },
      { "asp.stdin: option 'on_error' must be 'error' or 'skip'", asp.stdin, { on_error = "x" } },
      { "asp.stdin: unknown option 'fromat'", asp.stdin, { fromat = "csv" } },
      { "asp.stats: bad argument #1 (no argument expected, got number)", asp.stats, 5 },
    }
    for _, c in ipairs(cases) do
      local msg = pcall_err(c[2], select(3, unpack(c)))
      assert.are.equal(c[1], (msg:gsub("^[^:]*%.lua:%d+: ", "")))
    end
  end)
end)
