-- A parameter sweep over one quotes file (docs/sweeps.md, "Loading once"):
-- asp.shared reads the file once (through asp.csv and asp.run) into two FFI
-- arrays; each combination replays them through the engine with a
-- moving-average crossover of `fast` and `slow` quotes and reports its PnL.
-- Run alone (asp-lua --param fast=5 --param slow=50 sweep.lua FILE) it loads
-- the file itself, as 64 separate runs each do.
--   asp-lua gen-quotes.lua q.csv 45        (about 1 M rows)
--   asp-lua sweep bench/workloads/sweep.lua --param fast=2:16:2 --param slow=20:160:20 -j 2 -- q.csv
local ffi = require("ffi")
local asp = require("asp")
local path = arg[1]

local data = asp.shared(function()
  local cap, n = 1024, 0
  local t = ffi.new("int64_t[?]", cap)
  local mid = ffi.new("double[?]", cap)
  asp.run({ asp.process_stream{ past = asp.csv(path, { time = "time", reuse = true }),
    callback = function(et, q)
      if n == cap then
        cap = cap * 2
        local t2, m2 = ffi.new("int64_t[?]", cap), ffi.new("double[?]", cap)
        ffi.copy(t2, t, n * 8)
        ffi.copy(m2, mid, n * 8)
        t, mid = t2, m2
      end
      t[n], mid[n] = et:ns(), (q.bid + q.ask) / 2
      n = n + 1
    end } }, { live = false })
  return { n = n, t = t, mid = mid }
end)

local P = asp.params{ fast = 5, slow = 50 }
local fast, slow = P.fast, P.slow
local n, mid, t = data.n, data.mid, data.t
local i = -1
local function replay()
  i = i + 1
  if i < n then return tonumber(t[i]) / 1e9, i end
end
local sf, ss, pos, pnl, trades, last = 0, 0, 0, 0, 0, nil
asp.run({ asp.process_stream{ past = replay, callback = function(_, k)
  local p = mid[k]
  if last then pnl = pnl + pos * (p - last) end
  last = p
  sf = sf + p - (k >= fast and mid[k - fast] or 0)
  ss = ss + p - (k >= slow and mid[k - slow] or 0)
  if k >= slow then
    local want = sf / fast > ss / slow and 1 or -1
    if want ~= pos then pos, trades = want, trades + 1 end
  end
end } }, { live = false })
asp.result{ pnl = pnl, trades = trades, rows = n }
