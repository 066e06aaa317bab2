-- The sweep of make test-slurm (tests/slurm/run.sh): a small moving-average
-- backtest; fast=13 fails on purpose.
local asp = require("asp")
local P = asp.params{ fast = 5, slow = 20 }
if P.fast == 13 then error("boom: fast=13 fails on purpose") end
local past, x = {}, 100
for i = 1, 200 do
  x = x + math.sin(i / 7) + ((i * 7919) % 13 - 6) / 10
  past[i] = { i, x }
end
local prices, pnl, pos, trades = {}, 0, 0, 0
local function mean(n)
  local s = 0
  for k = #prices - n + 1, #prices do s = s + prices[k] end
  return s / n
end
asp.run({ asp.process_stream{ past = past, callback = function(_, p)
  if #prices > 0 then pnl = pnl + pos * (p - prices[#prices]) end
  prices[#prices + 1] = p
  if #prices >= P.slow then
    local want = mean(P.fast) > mean(P.slow) and 1 or -1
    if want ~= pos then pos, trades = want, trades + 1 end
  end
end } }, { live = false })
asp.result{ pnl = pnl, trades = trades, last = prices[#prices] }
