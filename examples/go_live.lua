-- Going live safely: a strategy warms up on an hour of history (a moving
-- average of prices), then trades live. Orders are armed only in on_live,
-- the run's live moment: no replayed price, however late it runs, can send
-- one. A stream's on_live_start would be too early: it runs when that
-- stream's history ends, while other history may still be due.
--   build/asp-lua examples/go_live.lua [live_ticks] [delay]
local asp = require("asp")
local ex = require("common")

local live_ticks = ex.arg_number(1, 5)
local delay = ex.arg_number(2, 0.1)

-- An hour of history, one price a minute, and a live feed after it.
local now = asp.now()
local history = {}
for i = 1, 60 do history[i] = { now - 3600 + 60 * (i - 1), 100 + math.sin(i / 5) } end
local function feed(emit)
  for i = 1, live_ticks do
    asp.sleep(delay)
    emit(100 + math.sin((60 + i) / 5))
  end
end

local window, sum, armed, warmed = {}, 0, false, 0
local function on_price(t, price)
  window[#window + 1] = price
  sum = sum + price
  if #window > 10 then sum = sum - table.remove(window, 1) end
  if not armed then
    warmed = warmed + 1
    return
  end
  local side = price > sum / #window and "SELL" or "BUY"
  ex.log(t, ("order %s at %.4f (average %.4f)"):format(side, price, sum / #window))
end

asp.run({ asp.process_stream{ name = "prices", past = history, future = feed, callback = on_price } }, {
  on_live = function()
    armed = true
    ex.log(asp.now(), ("live: warmed up on %d prices, orders armed"):format(warmed))
  end,
})
