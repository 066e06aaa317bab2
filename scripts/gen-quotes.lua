-- Writes a deterministic quotes file for the benchmarks: a header
-- "time,symbol,bid,ask", then rows in time order, e.g.
--   2024-01-02T09:30:00.000137Z,MSFT,374.51,374.53
-- until the file holds at least MB megabytes (10^6 bytes). The same
-- arguments always give the same bytes (a fixed LCG, no wall clock).
-- usage: asp-lua scripts/gen-quotes.lua OUT MB
local out_path, mb = arg[1], tonumber(arg[2])
if not out_path or not mb then
  io.stderr:write("usage: asp-lua scripts/gen-quotes.lua OUT MB\n")
  os.exit(2)
end
local limit = mb * 1e6
local floor, format, concat = math.floor, string.format, table.concat

-- MINSTD (Park-Miller): every product stays below 2^53, so it is exact in
-- doubles and deterministic on every platform.
local seed = 12345
local function rand(n)
  seed = (seed * 48271) % 2147483647
  return seed % n
end

local symbols = { "AAPL", "MSFT", "AMZN", "GOOG", "META", "NVDA", "TSLA", "BRK.B",
  "JPM", "V", "XOM", "UNH", "JNJ", "WMT", "PG", "MA" }
local nsym = #symbols
local price = {}
for i = 1, nsym do price[i] = 5000 + rand(50000) end -- cents

-- Time: whole seconds since 2024-01-02T00:00:00Z plus microseconds.
local day_prefix = "2024-01-02T"
local sec, usec = 9 * 3600 + 30 * 60, 0
local sec_text
local function second_text(s)
  return format("%s%02d:%02d:%02d", day_prefix, floor(s / 3600), floor(s / 60) % 60, s % 60)
end
sec_text = second_text(sec)

local f = assert(io.open(out_path, "wb"))
local header = "time,symbol,bid,ask\n"
f:write(header)
local written = #header
local buf, nbuf = {}, 0
while written < limit do
  usec = usec + 1 + rand(200)
  if usec >= 1000000 then
    sec = sec + floor(usec / 1000000)
    usec = usec % 1000000
    sec_text = second_text(sec)
  end
  local s = rand(nsym) + 1
  local p = price[s] + rand(21) - 10
  if p < 100 then p = 100 end
  price[s] = p
  local spread = 1 + rand(5)
  local line = format("%s.%06dZ,%s,%d.%02d,%d.%02d\n", sec_text, usec, symbols[s],
    floor(p / 100), p % 100, floor((p + spread) / 100), (p + spread) % 100)
  nbuf = nbuf + 1
  buf[nbuf] = line
  written = written + #line
  if nbuf == 4096 then
    f:write(concat(buf, "", 1, nbuf))
    nbuf = 0
  end
end
f:write(concat(buf, "", 1, nbuf))
f:close()
