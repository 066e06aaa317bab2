-- Trades and quotes: the position, the cash and the mark-to-market P&L of a
-- book, after each event of two merged streams. Quotes mark the position at
-- the mid price; trades move the position and the cash.
--
-- The output is the same on every run: both streams are past data, replayed
-- from the first quote, so the clock follows the events' own times. Two
-- things to notice:
--   - at 09:30:03 a quote and a trade have the same time: the quote comes
--     first, because the quotes stream was started first (ties between
--     streams are broken by start order, whatever else happened before);
--   - the trade stamped 09:30:04.5 is reported late (after the one at 09:30:05):
--     it is delivered at once, with its own event time, and the clock does
--     not go back.
--   build/asp-lua examples/pnl.lua
local asp = require("asp")
local ex = require("common")

-- time, bid, ask
local quotes = {
  { "2025-03-03T09:30:00", { 99.50, 99.60 } },
  { "2025-03-03T09:30:02", { 99.70, 99.80 } },
  { "2025-03-03T09:30:03", { 99.90, 100.00 } },
  { "2025-03-03T09:30:06", { 99.40, 99.50 } },
  { "2025-03-03T09:30:08", { 100.20, 100.30 } },
}

-- time, side, quantity, price
local trades = {
  { "2025-03-03T09:30:01", { "buy", 100, 99.60 } },
  { "2025-03-03T09:30:03", { "buy", 50, 100.00 } },
  { "2025-03-03T09:30:05", { "sell", 120, 99.85 } },
  { "2025-03-03T09:30:04.5", { "sell", 30, 99.95 } },
  { "2025-03-03T09:30:07", { "buy", 40, 99.50 } },
}

local book = { position = 0, cash = 0, mark = nil }

local function show(event_time, what)
  local pnl = book.cash + book.position * (book.mark or 0)
  print(("%s %s %-22s pos %5d  cash %10.2f  pnl %8.2f"):format(
    ex.format(asp.now()), ex.format(event_time), what, book.position, book.cash, pnl))
end

local function on_quote(event_time, bid, ask)
  book.mark = (bid + ask) / 2
  show(event_time, ("quote %.2f/%.2f"):format(bid, ask))
end

local function on_trade(event_time, side, qty, price)
  local signed = side == "buy" and qty or -qty
  book.position = book.position + signed
  book.cash = book.cash - signed * price
  if book.mark == nil then book.mark = price end
  show(event_time, ("%s %d @ %.2f"):format(side, qty, price))
end

print("virtual         event           what                   position, cash and P&L")
asp.run({
  asp.process_stream{ name = "quotes", past = quotes, callback = on_quote, unpack = true },
  asp.process_stream{ name = "trades", past = trades, callback = on_trade, unpack = true },
})
print(("final: position %d, cash %.2f, P&L %.2f at mid %.2f"):format(
  book.position, book.cash, book.cash + book.position * book.mark, book.mark))
