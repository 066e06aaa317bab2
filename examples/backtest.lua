-- A backtest over a CSV of quotes and trades: a moving-average crossover on
-- each symbol's quotes, filled at the next quote, marked to the last trade.
--
--   asp-lua examples/backtest.lua [file.csv[.gz]] [fills.csv]   (default examples/data/quotes.csv)
--   asp-lua --report report.html examples/backtest.lua   the same, with a report (docs/results.md)
-- It records the series "equity" (the P&L of all books marked to their last
-- price) and "position", and writes its fills to a CSV (default
-- $TMPDIR/backtest-fills.csv, so that running it leaves nothing behind here).
--   big files: asp-lua scripts/gen-trades.lua /tmp/big.csv 10000000
local asp = require("asp")

local path = arg[1] or "examples/data/quotes.csv"
local fills_path = arg[2] or (os.getenv("TMPDIR") or "/tmp") .. "/backtest-fills.csv"
local fills = asp.writer(fills_path, { columns = { "time", "sym", "qty", "price" } })
local equity, position = 0, 0 -- sum over books of cash + position * last, and of positions
local FAST, SLOW = 5, 20

local books = {}
local function book(sym)
  local b = books[sym]
  if not b then
    b = { prices = {}, n = 0, position = 0, cash = 0, last = nil, trades = 0 }
    books[sym] = b
  end
  return b
end

local function mean(p, n, k)
  local s = 0
  for i = n - k + 1, n do s = s + p[(i - 1) % SLOW + 1] end
  return s / k
end

local function on_row(t, row)
  local b = book(row.sym)
  equity = equity + b.position * (row.price - (b.last or row.price))
  b.last = row.price
  if row.kind ~= "quote" then return end
  b.n = b.n + 1
  b.prices[(b.n - 1) % SLOW + 1] = row.price
  if b.n < SLOW then return end
  local want = mean(b.prices, b.n, FAST) > mean(b.prices, b.n, SLOW) and 1 or 0
  if want ~= b.position then
    fills:write({ t, row.sym, want - b.position, row.price })
    position = position + want - b.position
    b.cash = b.cash - (want - b.position) * row.price
    b.position = want
    b.trades = b.trades + 1
  end
  asp.record("equity", equity)
  asp.record("position", position)
end

asp.run {
  asp.process_stream {
    name = "quotes",
    past = asp.csv(path, { time_format = "s", columns = { "kind:string", "sym:string", "price:number" } }),
    callback = on_row,
  },
}

local syms = {}
for sym in pairs(books) do syms[#syms + 1] = sym end
table.sort(syms)
for _, sym in ipairs(syms) do
  local b = books[sym]
  print(("%-5s trades %4d  P&L %9.2f"):format(sym, b.trades, b.cash + b.position * (b.last or 0)))
end
local s = asp.stats()
print(("%d rows in %.3f s (virtual span %.0f s)"):format(s.streams[1].delivered, s.wall_time, s.virtual_span))
