-- A live example fed by a second process: the history of quotes is replayed
-- from the CSV file, then a subprocess (a second asp-lua) prints new quotes
-- as JSON lines, one every 50 ms, and the same callback goes on with them.
-- What the feeder prints while the history replays is kept and delivered
-- right after it.
--
--   asp-lua examples/live_feed.lua
local asp = require("asp")

local feeder = [[
local px = 190
for i = 1, 20 do
  px = px + (math.random() - 0.5)
  io.write(('{"sym":"AAPL","price":%.2f,"seq":%d}\n'):format(px, i))
  io.flush()
  os.execute("sleep 0.05")
end
]]

local last, n_past, n_live = nil, 0, 0
asp.run {
  asp.process_stream {
    name = "AAPL",
    past = asp.csv("examples/data/quotes.csv", { time_format = "s", columns = { "sym:string", "price:number" } }),
    future = asp.exec { arg[-1] or "asp-lua", "-e", feeder, format = "json" },
    on_live_start = function() print(("history done at %s: %d quotes"):format(tostring(asp.now()), n_past)) end,
    callback = function(t, q)
      if q.sym ~= "AAPL" then return end
      if q.seq then
        n_live = n_live + 1
        print(("live  %s  %.2f  (%+.2f)"):format(tostring(t), q.price, q.price - (last or q.price)))
      else
        n_past = n_past + 1
      end
      last = q.price
    end,
  },
}
print(("%d live quotes; the feeder exited, so the stream ended"):format(n_live))
