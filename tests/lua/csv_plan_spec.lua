-- asp.csv's rows converted in C by a plan (engine/sources/csv_plan.c): the
-- same keys, types and values as the per-field conversions, the same errors
-- with file, line and column when a row is not what its columns say.
local asp = require("asp")
local u = require("sources_util")

local function values(src, extra)
  local got = {}
  local opts = { past = src, callback = function(t, ...)
    got[#got + 1] = { tostring(t), select("#", ...) > 1 and { ... } or (...) }
  end }
  for k, v in pairs(extra or {}) do opts[k] = v end
  asp.run { asp.process_stream(opts) }
  return got
end

-- A deterministic generator (MINSTD).
local seed = 7
local function rnd(n)
  seed = (seed * 48271) % 2147483647
  return seed % n
end

describe("asp.csv rows converted in C", function()
  it("give each field the value of its text: numbers, strings (repeated, many, long), nil when empty", function()
    local lines, want = { "time,sym,x,y,s" }, {}
    for i = 1, 3000 do
      -- 300 symbols (ids run out at 255), some longer than 16 bytes (no id).
      local sym = i % 7 == 0 and ("a-longer-symbol-" .. rnd(50)) or ("S" .. rnd(300))
      local x = (rnd(2) == 0 and "-" or "") .. rnd(10000000) .. "." .. ("0"):rep(rnd(3)) .. rnd(100000)
      local y = i % 11 == 0 and "" or tostring(rnd(100000))
      local s = i % 13 == 0 and "12ab" or i % 17 == 0 and "" or i % 19 == 0 and "1.2.3" or ("1e" .. rnd(5))
      lines[#lines + 1] = table.concat({ i, sym, x, y, s }, ",")
      local num_s = tonumber(s)
      if s == "1.2.3" or s == "12ab" then num_s = s elseif s == "" then num_s = nil end
      want[i] = { sym = sym, x = tonumber(x), y = tonumber(y), s = num_s }
    end
    local got = values(asp.csv(u.tmpfile(table.concat(lines, "\n") .. "\n")))
    assert.are.equal(3000, #got)
    for i = 1, 3000 do
      if not (got[i][2].sym == want[i].sym and got[i][2].x == want[i].x and got[i][2].y == want[i].y
          and got[i][2].s == want[i].s) then
        assert.are.same(want[i], got[i][2], "line " .. (i + 1) .. ": " .. lines[i + 1])
      end
      assert.are.equal(os.date("!%Y-%m-%dT%H:%M:%S", i) .. ".000000Z", got[i][1])
    end
  end)

  it("keep typed columns, unpack and reuse as they were", function()
    local text = "time,a,b,c,d\n" ..
      "2024-01-01T00:00:00Z,1.5,42,2024-01-02T00:00:00Z,x\n" ..
      "2024-01-01T00:00:01Z,,,,\n" ..
      "2024-01-01T00:00:02Z,-0.25,-7,2024-01-02T00:00:00.5Z,x\n"
    local cols = { "a:number", "b:integer", "c:time", "d:string" }
    local got = values(asp.csv(u.tmpfile(text), { columns = cols }))
    assert.are.equal(1.5, got[1][2].a)
    assert.are.equal(42, got[1][2].b)
    assert.are.equal("2024-01-02T00:00:00.000000Z", tostring(got[1][2].c))
    assert.are.equal("x", got[1][2].d)
    assert.are.same({ d = "" }, got[2][2])
    assert.are.equal(-0.25, got[3][2].a)
    assert.are.equal("2024-01-02T00:00:00.500000Z", tostring(got[3][2].c))

    got = values(asp.csv(u.tmpfile(text), { columns = { "d:string", "a:number", "b:integer" }, unpack = true,
      reuse = true }), { unpack = true })
    assert.are.same({ "x", 1.5, 42 }, got[1][2])
    assert.are.equal("", got[2][2]) -- a nil ends the arguments
    assert.are.same({ "x", -0.25, -7 }, got[3][2])
  end)

  it("leave a bad row to the same error as before, with its line and column, after converted rows", function()
    local p = u.tmpfile("time,sym,price\n1,A,1\n2,A,2\n3,B,abc\n")
    local msg = u.pcall_err(values, asp.csv(p, { columns = { "price:number" } }))
    assert.matches("line 4, column 5 %(field 3 'price'%): invalid number 'abc' in: 3,B,abc", msg)
    p = u.tmpfile("time,sym,price\n1,A,1\n2,A,2\n3,B\n")
    msg = u.pcall_err(values, asp.csv(p))
    assert.matches(p:gsub("%p", "%%%0") .. ": line 4: 2 fields where the header has 3 in: 3,B", msg)
    p = u.tmpfile("time,sym,price\n1,A,1\nnoon,A,2\n")
    msg = u.pcall_err(values, asp.csv(p))
    assert.matches("line 3, column 1 %(field 1 'time'%): invalid time 'noon'", msg)
    p = u.tmpfile("time,n\n1,1\n2,x\n3,3\n4,4.5\n5,5\n")
    msg = u.pcall_err(values, asp.csv(p, { columns = { "n:integer" } }))
    assert.matches("line 3, column 3 %(field 2 'n'%): invalid integer 'x'", msg)

    p = u.tmpfile("time,n\n1,1\n2,x\n3\nnoon,4\n5,5\n")
    local got = values(asp.csv(p, { columns = { "n:number" }, on_error = "skip" }))
    assert.are.equal(2, #got)
    assert.are.equal(3, asp.stats().streams[1].skipped)
    assert.are.same({ n = 5 }, got[2][2])
  end)
end)
