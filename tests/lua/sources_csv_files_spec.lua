-- Issue #13 item 6: many files as one stream, asp.csv{paths} or asp.csv(glob)
-- (docs/sources.md, "Many files as one stream").
local asp = require("asp")
local h = require("helpers")
local pcall_err = h.pcall_err

local dir
local function file(name, text, gz)
  local p = dir .. "/" .. name
  h.write_file(p, text)
  if gz then
    assert(os.execute("gzip -f " .. p) == 0)
    p = p .. ".gz"
  end
  return p
end

-- Runs one stream over src; returns the delivered "time value" strings and the stream's stats.
local function collect(src)
  local got = {}
  asp.run { asp.process_stream { past = src, name = "s", callback = function(t, v)
    got[#got + 1] = t:format("%H:%M:%S.%f") .. " " .. tostring(v.px)
  end } }
  return got, asp.stats().streams[1]
end

local function run_err(src)
  return pcall_err(asp.run, { asp.process_stream { past = src, name = "s", callback = function() end } })
end

describe("asp.csv over many files", function()
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir) == 0)
  end)
  after_each(function()
    os.execute("rm -rf " .. dir)
    h.cleanup()
  end)

  it("reads a table of paths, plain and gzip, one after another as one stream", function()
    local a = file("a.csv", "time,px\n2024-01-01T00:00:01Z,1\n2024-01-01T00:00:02Z,2\n")
    local b = file("b.csv", "time,px\n2024-01-01T00:00:03Z,3\n", true)
    local got, st = collect(asp.csv { a, b })
    assert.same({ "00:00:01.000000 1", "00:00:02.000000 2", "00:00:03.000000 3" }, got)
    assert.equal(3, st.delivered)
  end)

  it("reads a glob's files sorted by name, and an empty file or a header alone in between", function()
    file("2024-03.csv", "time,px\n2024-01-01T00:00:05Z,5\n")
    file("2024-01.csv", "time,px\n2024-01-01T00:00:01Z,1\n")
    file("2024-02a.csv", "")
    file("2024-02b.csv", "time,px\n", true)
    file("2024-02c.csv", "time,px\n2024-01-01T00:00:03Z,3\n", true)
    file("other.csv", "time,px\n2024-01-01T00:00:09Z,9\n")
    local got = collect(asp.csv(dir .. "/2024-*.csv*"))
    assert.same({ "00:00:01.000000 1", "00:00:03.000000 3", "00:00:05.000000 5" }, got)
  end)

  it("counts rows out of order across a file boundary as inside a file", function()
    local a = file("a.csv", "time,px\n2024-01-01T00:00:01Z,1\n2024-01-01T00:00:04Z,2\n")
    local b = file("b.csv", "time,px\n2024-01-01T00:00:03Z,3\n2024-01-01T00:00:02Z,4\n")
    local got, st = collect(asp.csv { a, b })
    assert.equal(4, #got)
    assert.equal(2, st.out_of_order)
  end)

  it("strict_order: a first row earlier than the previous file's last is an error naming both files and the line", function()
    local a = file("a.csv", "time,px\n2024-01-01T00:00:01Z,1\n2024-01-01T00:00:04Z,2\n")
    local b = file("b.csv", "time,px\n2024-01-01T00:00:03Z,3\n", true)
    local msg = run_err(asp.csv({ a, b }, { strict_order = true }))
    assert.matches("asp.csv: " .. b:gsub("%p", "%%%0") .. ": line 2: time 2024%-01%-01T00:00:03.000000Z is earlier than "
      .. "the last row of " .. a:gsub("%p", "%%%0") .. ", 2024%-01%-01T00:00:04.000000Z %(strict_order%)", msg)
    -- Inside the second file the reader's own check names that file and line.
    local c = file("c.csv", "time,px\n2024-01-01T00:00:05Z,3\n2024-01-01T00:00:04.5Z,4\n")
    msg = run_err(asp.csv({ a, c }, { strict_order = true }))
    assert.matches("asp.csv: " .. c:gsub("%p", "%%%0") .. ": line 3: time .* is earlier than the previous row's", msg)
  end)

  it("names the file and line of a bad row in any file, and of the event in a callback error", function()
    local a = file("a.csv", "time,px\n2024-01-01T00:00:01Z,1\n")
    local b = file("b.csv", "time,px\n2024-01-01T00:00:02Z,2\n2024-01-01T00:00:03Z\n")
    local msg = run_err(asp.csv({ a, b }, { columns = { "px:number" } }))
    assert.matches("asp.csv: " .. b:gsub("%p", "%%%0") .. ": line 3: 1 fields where the header has 2", msg)
    msg = pcall_err(asp.run, { asp.process_stream { past = asp.csv { a, b }, name = "s", callback = function(_, v)
      if v.px == 2 then error("boom", 0) end
    end } })
    assert.matches("in stream 's' at " .. b:gsub("%p", "%%%0") .. ":2: boom", msg)
  end)

  it("refuses a file whose header differs from the first file's, naming both", function()
    local a = file("a.csv", "time,px\n2024-01-01T00:00:01Z,1\n")
    local b = file("b.csv", "time,price\n2024-01-01T00:00:02Z,2\n")
    local msg = run_err(asp.csv { a, b })
    assert.equal("asp.run: error at 2024-01-01T00:00:01.000000Z in stream 's' at " .. b .. ":2: asp.csv: " .. b
      .. ": its header (time, price) differs from that of " .. a .. " (time, px): every file of one stream has the columns of the first", msg)
    local c = file("c.csv", "2024-01-01T00:00:02Z,2,3\n")
    local d = file("d.csv", "2024-01-01T00:00:01Z,1\n")
    msg = run_err(asp.csv({ d, c }, { header = false }))
    assert.matches("its row %(1, 2, 3%) differs from that of .*d.csv %(1, 2%)", msg)
  end)

  it("counts skipped rows of every file", function()
    local a = file("a.csv", "time,px\n2024-01-01T00:00:01Z,x\n")
    local b = file("b.csv", "time,px\nbad,2\n2024-01-01T00:00:02Z,2\n")
    local src = asp.csv({ a, b }, { on_error = "skip", columns = { "px:number" } })
    local _, st = collect(src)
    assert.equal(1, st.delivered)
    assert.equal(2, st.skipped)
  end)

  it("takes a path without glob characters as one file", function()
    local a = file("a.csv", "time,px\n2024-01-01T00:00:01Z,1\n")
    assert.equal(nil, getmetatable(asp.csv(a)).__index.advance)
    assert.equal("function", type(getmetatable(asp.csv { a }).__index.advance))
  end)

  it("rejects an empty glob, missing files, follow, bad paths and bad options, naming them", function()
    local a = file("a.csv", "time,px\n2024-01-01T00:00:01Z,1\n")
    assert.equal("asp.csv: no file matches '" .. dir .. "/2024-*.csv.gz'", pcall_err(asp.csv, dir .. "/2024-*.csv.gz"))
    assert.equal("asp.csv: cannot open '" .. dir .. "/nope.csv': No such file or directory",
      pcall_err(asp.csv, { a, dir .. "/nope.csv" }))
    assert.equal("asp.csv: option 'follow' reads one file: give a single path, not a table of paths",
      pcall_err(asp.csv, { a }, { follow = true }))
    assert.equal("asp.csv: option 'follow' reads one file: give a single path, not a pattern ('" .. dir .. "/*.csv')",
      pcall_err(asp.csv, dir .. "/*.csv", { follow = true }))
    assert.equal("asp.csv: bad argument #1 (an empty table of paths: at least one file expected)", pcall_err(asp.csv, {}))
    assert.equal("asp.csv: bad argument #1 (paths[2] must be a file path, got number)", pcall_err(asp.csv, { a, 5 }))
    assert.equal("asp.csv: bad argument #1 (a table of paths is an array; it has the key x)", pcall_err(asp.csv, { a, x = 1 }))
    assert.equal("asp.csv: bad argument #2 (a table of options expected)", pcall_err(asp.csv, { a }, "x"))
    assert.equal("asp.csv: unknown option 'bogus'", pcall_err(asp.csv, { a }, { bogus = true }))
    assert(os.execute("mkdir " .. dir .. "/sub") == 0)
    assert.matches("^asp.csv: cannot open '.*/sub': is a directory", pcall_err(asp.csv, dir .. "/*"))
  end)

  it("counts every file in the progress, and takes it back when the stream ends", function()
    local a = file("a.csv", "time,px\n" .. ("2024-01-01T00:00:01Z,1\n"):rep(100))
    local b = file("b.csv", "time,px\n" .. ("2024-01-01T00:00:02Z,2\n"):rep(300))
    -- In a process of its own: other specs' readers may still be open here.
    local script = h.temp_script([[
      local asp, C = require("asp"), require("asp.cffi").C
      local seen = {}
      local src = asp.csv { arg[1], arg[2] }
      print(C.asp_csvfile_progress())
      asp.run { asp.process_stream { past = src, callback = function(_, v)
        local p = ("%.2f"):format(C.asp_csvfile_progress())
        if not seen[p] then seen[p] = true print(p) end
      end } }
      print(C.asp_csvfile_progress())
    ]])
    local out, err, rc = h.run_asp({ script, a, b })
    assert.equal(0, rc, out .. err)
    -- 0 before reading; a's whole chunk read (a is 1/4 of the bytes); all of it; none open at the end.
    assert.equal("0\n0.25\n1.00\n-1\n", out)
  end)

  it("time travel (.back) stays exact across file boundaries", function()
    local T0 = 1735689600
    local function iso(s) return asp.time(T0 + s):format("%Y-%m-%dT%H:%M:%S.%fZ") end
    local list = {}
    local function rows(name, from, n, gz)
      local out = { "time,bid,ask" }
      for i = 1, n do
        local t = (from + i) * 0.5
        local bid, ask = (from + i) % 97, (from + i) * 13 % 89
        out[#out + 1] = ("%s,%d,%d"):format(iso(t), bid, ask)
        list[#list + 1] = { t = t, v = bid * 3 + ask }
      end
      file(name, table.concat(out, "\n") .. "\n", gz)
    end
    rows("p1.csv", 0, 8000)
    rows("p2.csv", 8000, 8000, true)
    rows("p3.csv", 16000, 8000)
    local function expected(s)
      local n, sum = 0, 0
      for _, r in ipairs(list) do if r.t <= s then n, sum = n + 1, sum + r.v end end
      return ("S %d %d"):format(n, sum)
    end
    local lines, want = {}, {}
    for _, st in ipairs { { "until_", 3000 }, { "until_", 9000 }, { "back", 1000 }, { "until_", 5000.25 },
      { "back", 3999.5 }, { "until_", 11000 }, { "back", 4000 } } do
      lines[#lines + 1] = ('asp.debug.%s("%s")'):format(st[1], iso(st[2]))
      lines[#lines + 1] = "=state()"
      want[#want + 1] = expected(st[2])
    end
    local out, err, rc = h.run_asp({ "-i", "tests/repl/csv_files_strategy.lua", dir .. "/p*.csv*" },
      table.concat(lines, "\n") .. "\n")
    local states = {}
    for s in out:gmatch("S %d+ %d+") do states[#states + 1] = s end
    assert.equal(0, rc, out .. err)
    assert.same(want, states, out .. err)
  end)
end)
