-- asp.writer (docs/results.md): CSV and JSON lines, exact numbers, files that
-- are never half-written, append mode, and the errors of bad rows and disks.
local asp = require("asp")
local h = require("helpers")
local q = h.shell_quote

local T0 = h.T0

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir -p " .. q(d)) == 0)
  return d
end

local function ls(dir)
  local p = io.popen("ls -A " .. q(dir))
  local t = {}
  for l in p:lines() do t[#t + 1] = l end
  p:close()
  table.sort(t)
  return t
end

local function rmrf(d) os.execute("rm -rf " .. q(d)) end

-- Runs asp-lua on a script text; returns stdout, stderr, status.
local function run_script(text, ...)
  local path = h.temp_script(text)
  return h.run_asp({ path, ... })
end

describe("asp.writer: formats", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rmrf(dir); h.cleanup() end)

  it("writes CSV per RFC 4180: a header, fields quoted only when needed, quotes doubled", function()
    local w = asp.writer(dir .. "/a.csv", { columns = { "s", "n", "b" } })
    w:write({ "plain", 1, true })
    w:write({ s = 'a,"b"', n = 2.5, b = false })
    w:write({ "two\nlines", -3, true })
    w:close()
    assert.are.equal('s,n,b\nplain,1,true\n"a,""b""",2.5,false\n"two\nlines",-3,true\n', h.slurp(dir .. "/a.csv"))
  end)

  it("writes numbers that read back exactly, integers as integers", function()
    local w = asp.writer(dir .. "/n.csv", { columns = { "x" } })
    local xs = { 0, 1, -7, 2^53 - 1, 0.1, 1 / 3, -1e-300, 1e300, 123.456, math.pi, 5e-324, 2^60 }
    math.randomseed(7)
    for _ = 1, 2000 do xs[#xs + 1] = (math.random() - 0.5) * 10 ^ math.random(-20, 20) end
    for _, x in ipairs(xs) do w:write({ x }) end
    w:close()
    local lines = h.lines(h.slurp(dir .. "/n.csv"))
    assert.are.equal("x", lines[1])
    assert.are.equal("1", lines[3])
    assert.are.equal("9007199254740991", lines[5])
    assert.are.equal("0.1", lines[6])
    for i, x in ipairs(xs) do assert.are.equal(x, tonumber(lines[i + 1]), lines[i + 1]) end
  end)

  it("writes Times as ISO-8601 UTC with the digits they need, or as epoch ns with time = 'ns'", function()
    local w = asp.writer(dir .. "/t.csv", { columns = { "t" } })
    local n = asp.writer(dir .. "/n.csv", { columns = { "t" }, time = "ns" })
    for _, t in ipairs({ T0, T0 + 0.5, T0 + 1e-6, T0 + 1e-9 }) do w:write({ t }); n:write({ t }) end
    w:close(); n:close()
    assert.are.same({ "t", "2025-01-01T00:00:00Z", "2025-01-01T00:00:00.500Z", "2025-01-01T00:00:00.000001Z",
      "2025-01-01T00:00:00.000000001Z" }, h.lines(h.slurp(dir .. "/t.csv")))
    for i, l in ipairs(h.lines(h.slurp(dir .. "/t.csv"))) do
      if i > 1 then assert.are.equal(asp.time(l), asp.time(l)) end
    end
    assert.are.equal("1735689600000000001", h.lines(h.slurp(dir .. "/n.csv"))[5])
  end)

  it("writes JSON lines through jansson: escaped strings, null for NaN, Times as strings", function()
    local w = asp.writer(dir .. "/a.jsonl", { columns = { "t", "s", "x", "ok" } })
    w:write({ t = T0, s = 'q"\n\\é', x = 0.1, ok = true })
    w:write({ T0 + 1, "", 0 / 0, false })
    w:close()
    assert.are.equal('{"t":"2025-01-01T00:00:00Z","s":"q\\"\\n\\\\é","x":0.1,"ok":true}\n'
      .. '{"t":"2025-01-01T00:00:01Z","s":"","x":null,"ok":false}\n', h.slurp(dir .. "/a.jsonl"))
  end)

  it("rejects a string that is not UTF-8 in JSON lines, naming the column, and drops only that row", function()
    local w = asp.writer(dir .. "/a.jsonl", { columns = { "a", "s" } })
    w:write({ 1, "ok" })
    assert.matches("column 's': the string is not valid UTF%-8", h.pcall_err(w.write, w, { 2, "\255" }))
    w:write({ 3, "ok" })
    w:close()
    assert.are.equal('{"a":1,"s":"ok"}\n{"a":3,"s":"ok"}\n', h.slurp(dir .. "/a.jsonl"))
  end)
end)

describe("asp.writer: bad rows and misuse", function()
  local dir, w
  before_each(function()
    dir = tmpdir()
    w = asp.writer(dir .. "/a.csv", { columns = { "a", "b" } })
  end)
  after_each(function() w:close(); rmrf(dir) end)

  it("names an unknown column", function()
    assert.matches("row for '.*a.csv' has an unknown column 'c'", h.pcall_err(w.write, w, { a = 1, b = 2, c = 3 }))
  end)

  it("names a missing column, and writes nothing of that row", function()
    w:write({ a = 1, b = 2 })
    assert.matches("has no value for column 'b'", h.pcall_err(w.write, w, { a = 1 }))
    assert.matches("has no value for column 'b'", h.pcall_err(w.write, w, { 1 }))
    assert.matches("has more than 2 values", h.pcall_err(w.write, w, { 1, 2, 3 }))
    assert.matches("column 'a': a table cannot be written", h.pcall_err(w.write, w, { {}, 2 }))
    w:close()
    assert.are.equal("a,b\n1,2\n", h.slurp(dir .. "/a.csv"))
  end)

  it("refuses a write after close()", function()
    w:close()
    assert.matches("write to '.*a.csv' after close%(%)", h.pcall_err(w.write, w, { 1, 2 }))
  end)

  it("refuses a second writer on the same file, however it is spelled", function()
    assert.matches("is already open in another writer",
      h.pcall_err(asp.writer, dir .. "/./a.csv", { columns = { "x" } }))
  end)

  it("checks its options", function()
    assert.matches("opts.columns must be", h.pcall_err(asp.writer, dir .. "/b.csv", {}))
    assert.matches("format must be 'csv' or 'jsonl'", h.pcall_err(asp.writer, dir .. "/b.csv", { columns = { "a" }, format = "xml" }))
    assert.matches("unknown option colums", h.pcall_err(asp.writer, dir .. "/b.csv", { colums = { "a" } }))
    assert.matches("column 'a' is given twice", h.pcall_err(asp.writer, dir .. "/b.csv", { columns = { "a", "a" } }))
  end)

  it("says at asp.writer when the path cannot be written, naming it", function()
    assert.matches("cannot create a file in the folder of '/etc/hostname/x.csv': Not a directory",
      h.pcall_err(asp.writer, "/etc/hostname/x.csv", { columns = { "a" } }))
    assert.matches("'/nonexistent%-asp/x.csv': No such file or directory",
      h.pcall_err(asp.writer, "/nonexistent-asp/x.csv", { columns = { "a" } }))
    assert.matches("cannot write '.*': it is a directory", h.pcall_err(asp.writer, dir, { columns = { "a" } }))
  end)
end)

describe("asp.writer: never half-written", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rmrf(dir); h.cleanup() end)

  it("writes a replay's rows to a temp file beside the final one and renames it at the run's end", function()
    local path = dir .. "/out.csv"
    local w = asp.writer(path, { columns = { "t", "v" } })
    local seen
    asp.run({ asp.process_stream{ past = h.events(T0, { 0, 1, 2 }), callback = function(t, v)
      w:write({ t, v })
      seen = ls(dir)
    end } })
    assert.are.equal(1, #seen)
    assert.matches("^%.out%.csv%.tmp%-", seen[1])
    assert.are.same({ "out.csv" }, ls(dir))
    assert.are.equal("t,v\n2025-01-01T00:00:00Z,1\n2025-01-01T00:00:01Z,2\n2025-01-01T00:00:02Z,3\n", h.slurp(path))
    assert.matches("after close", h.pcall_err(w.write, w, { T0, 1 }))
  end)

  it("leaves no final file when the run fails, keeps the temp file and says so on stderr", function()
    local _, err, rc = run_script(([[
      local asp = require("asp")
      local w = asp.writer(%q, { columns = { "v" } })
      asp.run({ asp.process_stream{ past = { { 1, 1 }, { 2, 2 }, { 3, 3 } }, callback = function(t, v)
        if v == 3 then error("boom") end
        w:write({ v })
      end } })
    ]]):format(dir .. "/out.csv"))
    assert.are.equal(1, rc)
    local files = ls(dir)
    assert.are.equal(1, #files)
    assert.matches("^%.out%.csv%.tmp%-", files[1])
    assert.matches("asp.writer: the run did not finish: '.*out.csv' not written; its 2 rows so far are in '.*%.out%.csv%.tmp%-", err)
    assert.are.equal("v\n1\n2\n", h.slurp(dir .. "/" .. files[1]))
  end)

  it("leaves no final file when SIGINT interrupts a replay", function()
    local script = h.temp_script(([[
      local asp = require("asp")
      local w = asp.writer(%q, { columns = { "i", "x" } })
      local i = 0
      asp.run({ asp.process_stream{ past = function() i = i + 1; return i, i end, callback = function(t, v)
        w:write({ v, v / 7 })
        if v == 100000 then io.open(%q, "w"):close() end
      end } })
    ]]):format(dir .. "/out.csv", dir .. "/ready"))
    local sh = ([[%s %s 2>%s & p=$!; i=0; while [ ! -e %s ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
      kill -INT $p; wait $p; echo $? > %s]]):format(q(h.ASP_LUA), q(script), q(dir .. "/err"), q(dir .. "/ready"), q(dir .. "/rc"))
    os.execute("sh -c " .. q(sh))
    assert.are.equal("130", h.slurp(dir .. "/rc"):match("%d+"))
    local err = h.slurp(dir .. "/err")
    assert.matches("interrupted by SIGINT", err)
    assert.matches("'.*out.csv' not written; its %d+ rows so far are in", err)
    for _, f in ipairs(ls(dir)) do assert.are_not.equal("out.csv", f) end
  end)

  it("raises a full disk at the write, naming the file and the virtual time (a 64 KB tmpfs)", function()
    local script = h.temp_script(([[
      local asp = require("asp")
      local w = asp.writer(%q, { columns = { "i", "s" } })
      local i = 0
      asp.run({ asp.process_stream{ past = function() i = i + 1; if i <= 100000 then return i, i end end,
        callback = function(t, v) w:write({ v, ("x"):rep(100) }) end } })
    ]]):format("/mnt/full/out.csv"))
    local sh = ([[mkdir -p /mnt/full && mount -t tmpfs -o size=64k tmpfs /mnt/full && %s %s; echo "rc=$?"; ls -A /mnt/full]])
      :format(q(h.ASP_LUA), q(script))
    local p = io.popen("unshare -m sh -c " .. q(sh) .. " 2>&1")
    local out = p:read("*a")
    p:close()
    assert.matches("asp.writer: cannot write '/mnt/full/out.csv': No space left on device at 1970%-01%-01T00:", out)
    assert.matches("rc=1\n$", out) -- and nothing is left in the folder: the temp file is removed
  end)

  it("raises a full disk in append mode (/dev/full) at the write, naming the file", function()
    local w = asp.writer("/dev/full", { columns = { "s" }, append = true })
    local err = h.pcall_err(function()
      for _ = 1, 10000 do w:write({ ("x"):rep(100) }) end
    end)
    assert.matches("cannot write '/dev/full': No space left on device", err)
    assert.matches("after close", h.pcall_err(w.write, w, { "x" }))
  end)
end)

describe("asp.writer: append mode", function()
  local dir
  before_each(function() dir = tmpdir() end)
  after_each(function() rmrf(dir); h.cleanup() end)

  it("appends to the final file, with the header only when the file is empty", function()
    local path = dir .. "/log.csv"
    for k = 1, 2 do
      local w = asp.writer(path, { columns = { "k" }, append = true })
      w:write({ k })
      w:close()
    end
    assert.are.equal("k\n1\n2\n", h.slurp(path))
    assert.are.same({ "log.csv" }, ls(dir))
  end)

  it("is the mode of a writer made while the run is live, and flushes every `flush` seconds", function()
    local path = dir .. "/live.csv"
    local sizes = {}
    asp.run({ function() asp.sleep(0.01) end }, { on_live = function() asp.spawn(function()
      local w = asp.writer(path, { columns = { "i" }, flush = 0.05 })
      assert.is_true(w.append)
      for i = 1, 3 do
        w:write({ i })
        asp.sleep(0.08)
        w:write({ i })  -- the write after the interval flushes
        sizes[i] = #h.slurp(path)
      end
    end) end })
    assert.is_true(sizes[1] > 0 and sizes[2] > sizes[1] and sizes[3] > sizes[2])
    assert.are.equal("i\n1\n1\n2\n2\n3\n3\n", h.slurp(path))
  end)

  it("flushes appended rows when SIGTERM ends a live run", function()
    local path = dir .. "/live.csv"
    local script = h.temp_script(([[
      local asp = require("asp")
      asp.run({ function()
        local w = asp.writer(%q, { columns = { "i" }, flush = 3600, append = true })
        for i = 1, 5 do w:write({ i }) end
        io.open(%q, "w"):close()
        asp.sleep(60)
      end })
    ]]):format(path, dir .. "/ready"))
    local sh = ([[%s %s 2>/dev/null & p=$!; i=0; while [ ! -e %s ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
      kill -TERM $p; wait $p; echo $? > %s]]):format(q(h.ASP_LUA), q(script), q(dir .. "/ready"), q(dir .. "/rc"))
    os.execute("sh -c " .. q(sh))
    assert.are.equal("143", h.slurp(dir .. "/rc"):match("%d+"))
    assert.are.equal("i\n1\n2\n3\n4\n5\n", h.slurp(path))
  end)
end)

describe("an append-mode writer that goes quiet", function()
  it("still reaches the file within its flush interval, with no row to trigger it", function()
    local path = os.tmpname()
    os.remove(path)
    local seen_at
    asp.run({ function()
      local w = asp.writer(path, { append = true, flush = 0.2, columns = { "n" } })
      w:write{ n = 1 }
      local t0 = asp.wall()
      -- live: the run waits in real time; nothing else is written
      while asp.wall() - t0 < 3 do
        asp.sleep(0.05)
        local f = io.open(path)
        local text = f and f:read("*a") or ""
        if f then f:close() end
        if text:find("\n1\n", 1, true) then seen_at = asp.wall() - t0; break end
      end
      w:close()
    end })
    os.remove(path)
    assert.is_number(seen_at, "the row never reached the file while the writer was quiet")
    assert.is_true(seen_at >= 0.15 and seen_at < 1.5, "reached the file after " .. tostring(seen_at) .. " s")
  end)
end)

describe("a writer made in a replay that goes live", function()
  it("has its replayed rows under the final name at the live moment, then appends", function()
    local path = os.tmpname()
    os.remove(path)
    local seen, w
    asp.run({ asp.process_stream{
      past = { { asp.now() - 2, 1 }, { asp.now() - 1, 2 } },
      future = function(emit) asp.sleep(0.02); emit(3); asp.sleep(0.05); emit(4) end,
      callback = function(_, v)
        if v == 1 then w = asp.writer(path, { columns = { "v" }, flush = 10 }) end
        w:write{ v = v }
        if v == 3 then
          local f = io.open(path)
          seen = f and f:read("*a")
          if f then f:close() end
        end
      end } })
    local f = assert(io.open(path))
    local all = f:read("*a")
    f:close()
    os.remove(path)
    assert.are.equal("v\n1\n2\n", seen)       -- committed when the run went live
    assert.are.equal("v\n1\n2\n3\n4\n", all)  -- then appended, and closed with the run
  end)
end)
