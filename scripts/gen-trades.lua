-- Generates a CSV of quotes and trades for backtests: time,kind,sym,price,qty
-- Usage: asp-lua scripts/gen-trades.lua OUT.csv [ROWS] [SEED]   (ROWS default 1e6)
-- Constant memory: rows are written as they are made, so any size works
-- (pipe through gzip for a .gz file: asp-lua scripts/gen-trades.lua /dev/stdout 1e8 | gzip > big.csv.gz).
local out, rows, seed = arg[1], tonumber(arg[2] or 1e6), tonumber(arg[3] or 42)
if not out then
  io.stderr:write("usage: asp-lua scripts/gen-trades.lua OUT.csv [ROWS] [SEED]\n")
  os.exit(2)
end
math.randomseed(seed)
local f = assert(io.open(out, "wb"))
f:setvbuf("full", 1048576)
local syms = { "AAPL", "MSFT", "GOOG", "AMZN", "NVDA" }
local px = { 190.0, 370.0, 140.0, 150.0, 480.0 }
local t = 1704110400 * 1000 -- 2024-01-01T12:00:00Z in ms
f:write("time,kind,sym,price,qty\n")
local buf, n = {}, 0
for _ = 1, rows do
  t = t + math.random(1, 50)
  local k = math.random(1, #syms)
  px[k] = math.max(1, px[k] + (math.random() - 0.5) * 0.2)
  local kind = math.random() < 0.2 and "trade" or "quote"
  n = n + 1
  buf[n] = ("%d.%03d,%s,%s,%.2f,%d\n"):format(math.floor(t / 1000), t % 1000, kind, syms[k], px[k], math.random(1, 500))
  if n == 4096 then
    f:write(table.concat(buf, "", 1, n))
    n = 0
  end
end
f:write(table.concat(buf, "", 1, n))
f:close()
