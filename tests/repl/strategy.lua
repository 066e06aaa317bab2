-- A small strategy for the REPL tests (tests/repl/repl.exp): one stream of
-- 200 quotes a second apart and a timer every 10 s; its state is global so
-- that the prompt can see it.
local asp = require("asp")
local t0 = asp.time("2025-01-01T00:00:00Z")
state = { n = 0, cash = 0, last = "-" }
ticks = 0
local quotes = {}
for i = 1, 200 do quotes[i] = { t0 + i, (i * 37) % 101 } end
asp.run({
  asp.process_stream{ name = "quotes", past = quotes, callback = function(t, v)
    state.n = state.n + 1
    state.cash = state.cash + v
    state.last = tostring(t)
  end },
  asp.timer{ interval = 10, start_time = t0, end_time = 250, callback = function()
    ticks = ticks + 1
  end },
}, { start_time = t0 })
