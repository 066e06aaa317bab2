-- asp.record / asp.series and asp-lua --record (docs/results.md).
local asp = require("asp")
local h = require("helpers")

local T0 = h.T0

describe("asp.record", function()
  after_each(h.cleanup)

  it("records at the virtual time by default, or at the Time given, and reads back in order", function()
    asp.run({ asp.process_stream{ past = h.events(T0, { 0, 1.5, 3 }), callback = function(t, v)
      asp.record("spec.a", v * 10)
    end } })
    asp.record("spec.a", 99, T0 + 10)
    local got = {}
    for t, v in asp.series("spec.a") do got[#got + 1] = h.at(t) .. "=" .. v end
    assert.are.same({ "0=10", "1.5=20", "3=30", "10=99" }, got)
    local names = asp.series()
    assert.is_truthy(table.concat(names, " "):find("spec.a", 1, true))
  end)

  it("rejects NaN, infinities and non-numbers, naming the series", function()
    assert.matches("series 'spec.bad': value nan is not a finite number", h.pcall_err(asp.record, "spec.bad", 0 / 0))
    assert.matches("series 'spec.bad': value inf is not a finite number", h.pcall_err(asp.record, "spec.bad", math.huge))
    assert.matches("series 'spec.bad': value x is not a finite number", h.pcall_err(asp.record, "spec.bad", "x"))
    assert.matches("bad argument #1", h.pcall_err(asp.record, 1, 1))
    assert.matches("series 'spec.bad': bad argument #3", h.pcall_err(asp.record, "spec.bad", 1, "2025"))
  end)

  it("rejects a time before the series' last point", function()
    asp.record("spec.back", 1, T0 + 5)
    assert.matches("series 'spec.back': time 2025%-01%-01T00:00:04.000000Z is before its last point",
      h.pcall_err(asp.record, "spec.back", 2, T0 + 4))
  end)

  it("names an unknown series", function()
    assert.matches("asp.series: no series 'spec.none'", h.pcall_err(asp.series, "spec.none"))
  end)

  it("keeps a point in 16 bytes: 2 M points grow the resident memory by < 20 bytes each", function()
    local N = 2000000
    local t = T0
    for i = 1, N do asp.record("spec.big", i * 0.5, t) end
    -- The resident memory is measured in a fresh process: in this one, what
    -- earlier specs freed blurs it.
    local out, err = h.run_asp({ "-e", ([[
      local asp = require("asp")
      local f = io.open("/proc/self/status"); local s = f:read("*a"); f:close()
      local before = tonumber(s:match("VmRSS:%%s*(%%d+)"))
      local t = asp.time("2025-01-01")
      for i = 1, %d do asp.record("big", i * 0.5, t) end
      f = io.open("/proc/self/status"); s = f:read("*a"); f:close()
      print((tonumber(s:match("VmRSS:%%s*(%%d+)")) - before) * 1024 / %d)
    ]]):format(N, N) })
    local per_point = tonumber(out)
    assert(per_point, err)
    -- 10 M points: 160 MB. Under AddressSanitizer realloc copies and the
    -- shadow memory counts too: there only the arrays' size is checked.
    local s = require("asp.series").get("spec.big")
    assert.is_true(s.cap * 16 <= 2 * 16 * N)
    if not h.ASP_LUA:find("/asan/", 1, true) then
      -- 16 bytes of arrays, plus the doubling's slack (a table per point would be > 40)
      assert.is_true(per_point < 24, ("%.1f bytes/point"):format(per_point))
    end
    local n = 0
    for _ in asp.series("spec.big") do n = n + 1 end
    assert.are.equal(N, n)
  end)

  it("--record writes every series in long format, ordered by time, through a temp file", function()
    local dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir " .. dir)
    local script = h.temp_script([[
      local asp = require("asp")
      asp.run({ asp.process_stream{ past = { { 0, 1 }, { 1, 2 } }, callback = function(t, v)
        asp.record("b", v); asp.record("a", v / 4)
      end } })
    ]])
    local out, err, rc = h.run_asp({ "--record", dir .. "/s.csv", script })
    assert.are.equal("", err)
    assert.are.equal(0, rc)
    assert.are.equal("time,series,value\n1970-01-01T00:00:00Z,a,0.25\n1970-01-01T00:00:00Z,b,1\n"
      .. "1970-01-01T00:00:01Z,a,0.5\n1970-01-01T00:00:01Z,b,2\n", h.slurp(dir .. "/s.csv"))
    local p = io.popen("ls -A " .. dir)
    assert.are.equal("s.csv\n", p:read("*a"))
    p:close()
    os.execute("rm -rf " .. dir)
    assert.are.equal("", out)
  end)
end)
