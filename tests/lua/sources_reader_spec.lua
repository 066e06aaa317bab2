-- The file reader under asp.csv (engine/sources/reader.c): gzip members,
-- bytes after them, files that are not regular, and a followed file that is
-- truncated. Time travel over these files: repl_csv_spec.lua.
local asp = require("asp")
local h = require("helpers")

local function tmp(suffix)
  local p = os.tmpname()
  os.remove(p)
  return p .. (suffix or "")
end

local function gzip_of(path, text)
  h.write_file(path, text)
  assert(os.execute("gzip -f " .. path) == 0)
  return path .. ".gz"
end

local function collect(path, opts)
  local got = {}
  asp.run({ asp.process_stream{ past = asp.csv(path, opts), callback = function(_, v) got[#got + 1] = v.v end } })
  return got
end

describe("asp.csv's file reader", function()
  it("reads a .gz file of several gzip members (cat a.gz b.gz) as one stream", function()
    local a = gzip_of(tmp(), "time,v\n1,10\n2,20\n")
    local b = gzip_of(tmp(), "3,30\n4,40\n")
    local both = tmp(".gz")
    assert(os.execute(("cat %s %s > %s"):format(a, b, both)) == 0)
    local ok, got = pcall(collect, both)
    os.remove(a); os.remove(b); os.remove(both)
    assert(ok, got)
    assert.same({ 10, 20, 30, 40 }, got)
  end)

  it("rejects bytes after the gzip data that are not gzip, naming their offset", function()
    local a = gzip_of(tmp(), "time,v\n1,10\n2,20\n")
    local size = #h.slurp(a)
    local f = assert(io.open(a, "ab"))
    f:write("3,30\n")
    f:close()
    local got = {}
    local err = h.pcall_err(asp.run, { asp.process_stream{ past = asp.csv(a),
      callback = function(_, v) got[#got + 1] = v.v end } })
    os.remove(a)
    assert.matches("from byte " .. size .. " on, are not gzip data", err, 1, true)
    assert.matches(a, err, 1, true)
    assert.same({ 10, 20 }, got) -- the rows before them, and nothing made up
  end)

  it("refuses a FIFO at once (it would block in open) and a directory, saying what it is", function()
    local fifo = tmp()
    assert(os.execute("mkfifo " .. fifo) == 0)
    local err = h.pcall_err(asp.csv, fifo)
    os.remove(fifo)
    assert.matches("cannot open '" .. fifo .. "': is a FIFO", err, 1, true)
    err = h.pcall_err(asp.csv, "/tmp")
    assert.matches("cannot open '/tmp': is a directory", err, 1, true)
  end)

  it("follow = true: a truncated file is read again from its start, with a warning, its header skipped", function()
    local path = tmp(".csv")
    h.write_file(path, "time,v\n1,1\n2,2\n3,3\n")
    local script = h.temp_script(([[
      local asp = require("asp")
      local path = %q
      local seen = {}
      asp.run({ asp.process_stream{ past = asp.csv(path, { follow = true }), callback = function(_, v)
        seen[#seen + 1] = v.v
        if v.v == 3 then
          -- copytruncate, then the writer starts the file again
          local f = assert(io.open(path, "w"))
          f:write("time,v\n4,4\n5,5\n")
          f:close()
        elseif v.v == 5 then
          asp.stop()
        end
      end } })
      print(table.concat(seen, " "))
    ]]):format(path))
    local out, err, rc = h.run_asp({ script })
    os.remove(path)
    h.cleanup()
    assert.equals(0, rc, err)
    assert.equals("1 2 3 4 5\n", out)
    assert.matches("asp.csv: " .. path .. ": warning: the file was truncated", err, 1, true)
  end)
end)
