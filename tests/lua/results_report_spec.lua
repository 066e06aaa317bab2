-- asp.report / asp-lua --report (docs/results.md): a self-contained page,
-- checked in headless Chromium (scripts/install-deps.sh installs it).
local asp = require("asp")
local ffi = require("ffi")
local h = require("helpers")
local q = h.shell_quote

local here = debug.getinfo(1, "S").source:match("^@(.*)$")
local root = here:match("^(.*)/tests/lua/[^/]*$") or "."

pcall(ffi.cdef, "int uncompress(uint8_t *dst, unsigned long *dstlen, const uint8_t *src, unsigned long srclen);")

-- The pixels of a PNG (8-bit RGB or RGBA, not interlaced), decoded with
-- zlib: returns width, height, channels and a function px(x, y) -> r, g, b.
local function decode_png(data)
  assert(data:sub(1, 8) == "\137PNG\r\n\026\n", "not a PNG")
  local function u32(s, i) local a, b, c, d = s:byte(i, i + 3); return ((a * 256 + b) * 256 + c) * 256 + d end
  local pos, idat, w, ht, ch = 9, {}, nil, nil, nil
  while pos < #data do
    local len, typ = u32(data, pos), data:sub(pos + 4, pos + 7)
    local body = data:sub(pos + 8, pos + 7 + len)
    if typ == "IHDR" then
      w, ht = u32(body, 1), u32(body, 5)
      local depth, ctype, interlace = body:byte(9), body:byte(10), body:byte(13)
      assert(depth == 8 and (ctype == 2 or ctype == 6) and interlace == 0, "unsupported PNG")
      ch = ctype == 6 and 4 or 3
    elseif typ == "IDAT" then
      idat[#idat + 1] = body
    end
    pos = pos + 12 + len
  end
  local z = table.concat(idat)
  local stride = w * ch
  local raw = ffi.new("uint8_t[?]", (stride + 1) * ht)
  local n = ffi.new("unsigned long[1]", (stride + 1) * ht)
  assert(ffi.C.uncompress(raw, n, ffi.cast("const uint8_t *", z), #z) == 0, "bad zlib data")
  local px = ffi.new("uint8_t[?]", stride * ht)
  for y = 0, ht - 1 do
    local f, src, row, prev = raw[y * (stride + 1)], y * (stride + 1) + 1, y * stride, (y - 1) * stride
    for i = 0, stride - 1 do
      local a = i >= ch and px[row + i - ch] or 0
      local b = y > 0 and px[prev + i] or 0
      local c = (i >= ch and y > 0) and px[prev + i - ch] or 0
      local x = raw[src + i]
      if f == 1 then x = x + a
      elseif f == 2 then x = x + b
      elseif f == 3 then x = x + math.floor((a + b) / 2)
      elseif f == 4 then
        local p = a + b - c
        local pa, pb, pc = math.abs(p - a), math.abs(p - b), math.abs(p - c)
        x = x + ((pa <= pb and pa <= pc) and a or (pb <= pc and b or c))
      end
      px[row + i] = x % 256
    end
  end
  return w, ht, ch, function(x, y)
    local o = y * stride + x * ch
    return px[o], px[o + 1], px[o + 2]
  end
end

-- Runs chromium headless with the arguments; fails the test, saying why,
-- when it cannot run.
local function chromium(args)
  local exe
  for _, name in ipairs({ "chromium", "chromium-browser" }) do
    if os.execute("command -v " .. name .. " >/dev/null 2>&1") == 0 then exe = name; break end
  end
  assert(exe, "chromium is not installed: run scripts/install-deps.sh (it installs the Debian package chromium)")
  local profile = os.tmpname()
  os.remove(profile)
  local cmd = ("%s --headless --no-sandbox --disable-gpu --user-data-dir=%s %s 2>%s"):format(
    exe, q(profile), args, q(profile .. ".err"))
  local p = io.popen(cmd)
  local out = p:read("*a")
  local ok = p:close()
  local err = h.slurp(profile .. ".err")
  os.execute("rm -rf " .. q(profile) .. " " .. q(profile .. ".err"))
  assert(ok == true or ok == 0, "chromium failed: " .. cmd .. "\n" .. err)
  return out, err
end

describe("asp.report", function()
  local dir
  before_each(function()
    dir = os.tmpname()
    os.remove(dir)
    os.execute("mkdir " .. q(dir))
  end)
  after_each(function() os.execute("rm -rf " .. q(dir)); h.cleanup() end)

  it("is one self-contained page: no scripts, no links, no fonts, no network", function()
    asp.record("spec.report", 1, h.T0)
    asp.record("spec.report", 2, h.T0 + 60)
    local path = asp.report(dir .. "/r.html")
    local page = h.slurp(path)
    assert.is_nil(page:find("<script", 1, true))
    assert.is_nil(page:find("<link", 1, true))
    assert.is_nil(page:find("url(", 1, true))
    assert.is_nil(page:find("@import", 1, true))
    assert.is_nil(page:find("src=", 1, true))
    assert.is_nil(page:find("https?://[^w]")) -- only the SVG namespace's www.w3.org
    assert.truthy(page:find('data-series="spec.report"', 1, true))
  end)

  it("reduces a 10 M-point series to a page under 2 MB, keeping a one-point spike", function()
    local script = h.temp_script(([[
      local asp = require("asp")
      local t0 = asp.time("2025-01-01")
      for i = 0, 9999999 do asp.record("equity", i == 5000000 and 1e6 or math.sin(i / 1e5), t0 + i * 0.001) end
      asp.report(%q)
    ]]):format(dir .. "/big.html"))
    local _, err, rc = h.run_asp({ script })
    assert.are.equal("", err)
    assert.are.equal(0, rc)
    local page = h.slurp(dir .. "/big.html")
    assert.is_true(#page < 2e6, #page .. " bytes")
    -- The spike's column reaches the top of the plot (y = 12 + 5% padding).
    local d = page:match('data%-series="equity".-<path class="line" d="([^"]+)"')
    local top = math.huge
    for y in d:gmatch("[ML]%d+ ([%d.]+)") do top = math.min(top, tonumber(y)) end
    assert.is_true(top < 25, "the spike is hidden: top " .. top)
    assert.truthy(page:find('data-drawdown="equity"', 1, true))
  end)

  it("renders the backtest example in headless Chromium: one chart per series, the stats, not blank", function()
    local report = dir .. "/report.html"
    local stats = dir .. "/stats.lua"
    -- The example, then asp.stats() as Lua, to compare with the page.
    local wrapper = h.temp_script(([[
      arg = { [0] = %q, %q, %q }
      dofile(%q)
      local s = require("asp").stats()
      local f = io.open(%q, "w")
      f:write(("return { events = %%d, items = %%d, delivered = %%d, virtual_span = %%.3f }"):format(
        s.events, s.items, s.streams[1].delivered, s.virtual_span))
      f:close()
    ]]):format(root .. "/examples/backtest.lua", root .. "/examples/data/quotes.csv", dir .. "/fills.csv",
      root .. "/examples/backtest.lua", stats))
    local _, err, rc = h.run_asp({ "--report", report, wrapper })
    assert.are.equal("", err)
    assert.are.equal(0, rc)
    local want = dofile(stats)

    local dom = chromium("--dump-dom " .. q("file://" .. report))
    local svgs = {}
    for attrs, body in dom:gmatch("<svg([^>]*)>(.-)</svg>") do
      local name = attrs:match('data%-series="([^"]+)"') or attrs:match('data%-drawdown="([^"]+)"')
      local d = body:match('<path class="[^"]+" d="([^"]*)"')
      assert.truthy(d and #d > 20, "an empty chart: " .. tostring(name))
      svgs[#svgs + 1] = (attrs:find("data-drawdown", 1, true) and "drawdown " or "") .. name
    end
    assert.are.same({ "equity", "drawdown equity", "position" }, svgs)
    local function stat(key) return tonumber(dom:match('data%-stat="' .. key .. '" data%-value="([^"]+)"')) end
    assert.are.equal(want.events, stat("events"))
    assert.are.equal(want.items, stat("items"))
    assert.are.equal(want.delivered, stat("delivered.1"))
    assert.are.equal(want.virtual_span, stat("virtual_span"))
    assert.truthy(dom:find("fills.csv", 1, true))

    local png = dir .. "/shot.png"
    chromium(("--screenshot=%s --window-size=1100,900 %s"):format(q(png), q("file://" .. report)))
    local w, ht, _, px = decode_png(h.slurp(png))
    assert.are.equal(1100, w)
    local colours, line = {}, 0
    for y = 0, ht - 1, 2 do
      for x = 0, w - 1, 2 do
        local r, g, b = px(x, y)
        colours[r * 65536 + g * 256 + b] = true
        -- The chart's line colour (#1f6fd1), anti-aliased.
        if math.abs(r - 31) < 40 and math.abs(g - 111) < 40 and math.abs(b - 209) < 40 then line = line + 1 end
      end
    end
    local n = 0
    for _ in pairs(colours) do n = n + 1 end
    assert.is_true(n > 1, "the screenshot is blank")
    assert.is_true(line > 50, "no chart line in the screenshot (" .. line .. " pixels of its colour)")
  end)
end)
