-- asp.csv: history files as past sources (docs/sources.md).
local asp = require("asp")
local u = require("sources_util")

-- Runs one stream over the source; returns the delivered {time string, value} pairs.
local function collect(src, extra)
  local got = {}
  local opts = { past = src, name = "s", callback = function(t, ...)
    got[#got + 1] = { tostring(t), select("#", ...) > 1 and { ... } or (...) }
  end }
  for k, v in pairs(extra or {}) do opts[k] = v end
  asp.run { asp.process_stream(opts) }
  return got
end

describe("asp.csv", function()
  it("delivers rows keyed by the header's names, numbers converted, the time column as event_time", function()
    local p = u.tmpfile("time,sym,price,qty\n2024-01-01T00:00:00Z,AAPL,100.5,3\n2024-01-01T00:00:01.25Z,MSFT,-2e3,0\n")
    local got = collect(asp.csv(p))
    assert.are.equal(2, #got)
    assert.are.equal("2024-01-01T00:00:00.000000Z", got[1][1])
    assert.are.same({ sym = "AAPL", price = 100.5, qty = 3 }, got[1][2])
    assert.are.equal("2024-01-01T00:00:01.250000Z", got[2][1])
    assert.are.same({ sym = "MSFT", price = -2000, qty = 0 }, got[2][2])
  end)

  it("types auto fields: decimal numbers become numbers, anything else stays text", function()
    local fields = { "inf", "nan", "Infinity", "e5", "x1", "0x10", " 12", "+3", "-.5", "1e3", "1.", "\195\169", "12ab" }
    local names = {}
    for i = 1, #fields do names[i] = "f" .. i end
    local p = u.tmpfile("time," .. table.concat(names, ",") .. "\n1," .. table.concat(fields, ",") .. "\n")
    local row = collect(asp.csv(p))[1][2]
    local want = { "inf", "nan", "Infinity", "e5", "x1", "0x10", 12, 3, -0.5, 1000, 1, "\195\169", "12ab" }
    for i = 1, #fields do
      assert.are.same(want[i], row["f" .. i], "field '" .. fields[i] .. "'")
    end
  end)

  it("follows RFC 4180 quoting: delimiters, newlines and doubled quotes inside quotes, CRLF", function()
    local p = u.tmpfile('time,text,n\r\n1,"a,b",1\r\n2,"line1\nline2",2\r\n3,"say ""hi""",3\r\n\r\n4,plain,4')
    local got = collect(asp.csv(p))
    assert.are.equal(4, #got)
    assert.are.equal("a,b", got[1][2].text)
    assert.are.equal("line1\nline2", got[2][2].text)
    assert.are.equal('say "hi"', got[3][2].text)
    assert.are.same({ text = "plain", n = 4 }, got[4][2])
    assert.are.equal("1970-01-01T00:00:04.000000Z", got[4][1])
  end)

  it("chooses and types columns, and passes them as arguments with unpack", function()
    local p = u.tmpfile("time,sym,price,qty,note\n2024-01-01,A,1.5,7,x\n2024-01-02,007,2,8,y\n")
    local got = collect(asp.csv(p, { columns = { "sym:string", "qty:integer", "price" } }))
    assert.are.same({ sym = "A", qty = 7, price = 1.5 }, got[1][2])
    assert.are.same({ sym = "007", qty = 8, price = 2 }, got[2][2])
    got = collect(asp.csv(p, { columns = { "sym:string", "qty:integer" }, unpack = true }), { unpack = true })
    assert.are.same({ "A", 7 }, got[1][2])
    local tc = collect(asp.csv(p, { columns = { "time:time" } }))
    assert.is_true(asp.is_time(tc[1][2].time))
  end)

  it("reads files without a header, with another delimiter and the time column by index", function()
    local p = u.tmpfile("x;1700000000123\ny;1700000000124\n")
    local got = collect(asp.csv(p, { header = false, delimiter = ";", time = 2, time_format = "ms" }))
    assert.are.equal("2023-11-14T22:13:20.123000Z", got[1][1])
    assert.are.same({ [1] = "x" }, got[1][2])
    got = collect(asp.csv(p, { names = { "sym", "ts" }, delimiter = ";", time = "ts", time_format = "ms" }))
    assert.are.same({ sym = "y" }, got[2][2])
  end)

  it("parses epoch times in s, ms, us and ns exactly, integer or fractional", function()
    local p = u.tmpfile("t,v\n1700000000.123456789,1\n")
    local t
    asp.run { asp.process_stream { past = asp.csv(p, { time_format = "s" }), callback = function(tt) t = tt end } }
    assert.are.equal(1700000000123456789LL, t:ns())
    p = u.tmpfile("t,v\n1700000000123456.5,1\n")
    asp.run { asp.process_stream { past = asp.csv(p, { time_format = "us" }), callback = function(tt) t = tt end } }
    assert.are.equal(1700000000123456500LL, t:ns())
    p = u.tmpfile("t,v\n1700000000123456789,1\n")
    asp.run { asp.process_stream { past = asp.csv(p, { time_format = "ns" }), callback = function(tt) t = tt end } }
    assert.are.equal(1700000000123456789LL, t:ns())
  end)

  it("reads gzip-compressed files transparently", function()
    local p = u.tmpfile("time,v\n1,10\n2,20\n3,30\n")
    local rc = os.execute("gzip -f '" .. p .. "'")
    assert.is_true(rc == 0 or rc == true, "gzip failed: " .. tostring(rc))
    local gz = p .. ".gz"
    assert.is_not_nil(io.open(gz, "rb"), "gzip made no file")
    local got = collect(asp.csv(gz))
    assert.are.equal(3, #got)
    assert.are.equal(30, got[3][2].v)
    os.remove(gz)
  end)

  it("reads a file bigger than its chunk buffer, with records across chunk edges", function()
    local parts = { "time,i,s\n" }
    for i = 1, 60000 do parts[#parts + 1] = ("%d,%d,\"x,%d\"\n"):format(i, i, i) end
    local p = u.tmpfile(table.concat(parts))
    local n, ok = 0, true
    asp.run { asp.process_stream { past = asp.csv(p), callback = function(t, v)
      n = n + 1
      if v.i ~= n or v.s ~= "x," .. n or t:epoch() ~= n then ok = false end
    end } }
    assert.are.equal(60000, n)
    assert.is_true(ok)
  end)

  describe("bad rows", function()
    it("a wrong field count names the file, the line and shows the text", function()
      local p = u.tmpfile("time,a,b\n1,2,3\n2,3\n")
      local msg = u.pcall_err(collect, asp.csv(p))
      assert.matches(p:gsub("%p", "%%%0") .. ": line 3: 2 fields where the header has 3 in: 2,3", msg)
    end)

    it("an unparsable number or time names the line, the column and the field", function()
      local p = u.tmpfile("time,sym,price\n1,A,1\n2,B,abc\n")
      local msg = u.pcall_err(collect, asp.csv(p, { columns = { "price:number" } }))
      assert.matches("line 3, column 5 %(field 3 'price'%): invalid number 'abc' in: 2,B,abc", msg)
      p = u.tmpfile("time,v\nyesterday,1\n")
      msg = u.pcall_err(asp.csv(p).next, asp.csv(p))
      assert.matches("line 2, column 1 %(field 1 'time'%): invalid time 'yesterday'", msg)
    end)

    it("an unterminated quote names where the quote opened", function()
      local p = u.tmpfile('time,v\n1,"abc\n2,3\n')
      local msg = u.pcall_err(collect, asp.csv(p))
      assert.matches("line 2, column 3: unterminated quoted field \"abc", msg)
    end)

    it("on_error = 'skip' counts bad rows instead, in asp.stats", function()
      local p = u.tmpfile("time,v\n1,1\nbad,2\n3\n4,4\n")
      local got = collect(asp.csv(p, { on_error = "skip" }))
      assert.are.equal(2, #got)
      local st = asp.stats().streams[1]
      assert.are.equal(2, st.skipped)
      assert.are.equal(2, st.delivered)
    end)
  end)

  it("delivers out-of-order rows at once and counts them; strict_order makes them an error", function()
    local p = u.tmpfile("time,v\n10,1\n5,2\n20,3\n")
    local got = collect(asp.csv(p))
    assert.are.same({ 1, 2, 3 }, { got[1][2].v, got[2][2].v, got[3][2].v })
    assert.are.equal(1, asp.stats().streams[1].out_of_order)
    local msg = u.pcall_err(collect, asp.csv(p, { strict_order = true }))
    assert.matches("line 3: time 1970%-01%-01T00:00:05.000000Z is earlier than the previous row's", msg)
  end)

  it("a missing file is an error that names it", function()
    local msg = u.pcall_err(asp.csv, "/nonexistent/quotes.csv")
    assert.are.equal("asp.csv: cannot open '/nonexistent/quotes.csv': No such file or directory", msg)
  end)

  it("follow = true replays the file, then delivers rows appended later, completing a partial last line", function()
    local p = u.tmpfile("time,v\n1,1\n2,2\n3,")
    local got = {}
    local live_at
    asp.run { asp.process_stream {
      past = asp.csv(p, { follow = true }),
      on_live_start = function() live_at = #got; u.append(p, "3\n4,4\n") end,
      callback = function(t, v)
        got[#got + 1] = v.v
        if #got == 4 then u.append(p, '5,"multi\nline"\n') end
        if #got == 5 then asp.stop() end
      end,
    } }
    -- The partial "3," waits in the parser until its line is complete.
    assert.are.equal(2, live_at)
    assert.are.same({ 1, 2, 3, 4, "multi\nline" }, got)
    assert.are.equal(5, asp.stats().streams[1].delivered)
  end)

  it("gives a new table per row by default, empty fields absent; reuse = true gives one table overwritten per row", function()
    local p = u.tmpfile("time,sym,bid,ask\n1,A,1.5,\n2,B,,2.5\n3,C,3,4\n")
    local kept = {}
    asp.run { asp.process_stream { past = asp.csv(p), callback = function(_, v) kept[#kept + 1] = v end } }
    assert.are.same({ { sym = "A", bid = 1.5 }, { sym = "B", ask = 2.5 }, { sym = "C", bid = 3, ask = 4 } }, kept)
    local keys = {}
    for k in pairs(kept[1]) do keys[#keys + 1] = k end
    table.sort(keys)
    assert.are.same({ "bid", "sym" }, keys)

    local seen, tables = {}, {}
    asp.run { asp.process_stream { past = asp.csv(p, { reuse = true }), callback = function(t, v)
      seen[#seen + 1] = { tostring(t), v.sym, v.bid, v.ask }
      tables[v] = true
    end } }
    assert.are.same({
      { "1970-01-01T00:00:01.000000Z", "A", 1.5, nil },
      { "1970-01-01T00:00:02.000000Z", "B", nil, 2.5 },
      { "1970-01-01T00:00:03.000000Z", "C", 3, 4 },
    }, seen)
    local n = 0
    for _ in pairs(tables) do n = n + 1 end
    assert.are.equal(1, n)
  end)

  it("reuse with unpack: the arguments are each row's own, a nil still ends them", function()
    local p = u.tmpfile("time,a,b,c\n1,1,2,3\n2,4,,6\n3,7,8,9\n")
    local got = collect(asp.csv(p, { unpack = true, reuse = true }), { unpack = true })
    assert.are.same({ 1, 2, 3 }, got[1][2])
    assert.are.equal(4, got[2][2])
    assert.are.same({ 7, 8, 9 }, got[3][2])
  end)
end)
