-- Executing arbitrary tasks: a timer every second from a minute ago, ending
-- five seconds after its start. Its start counts for the clock's start, so
-- the run begins a minute ago and fast-forwards: each tick runs at its own
-- time, and each callback's sleep (arg[1] seconds, default 1) passes in
-- virtual time, at once. Each tick runs in a task of its own, so a sleep
-- longer than the interval would overlap the next tick, not delay it.
--   build/asp-lua examples/timer.lua [sleep]
local asp = require("asp")
local ex = require("common")

local nap = ex.arg_number(1, 1)

local function say_hello(tick_time)
  ex.log(tick_time, ("sleeping for %g second%s"):format(nap, nap == 1 and "" or "s"))
  asp.sleep(nap)
  ex.log(tick_time, "hello")
end

asp.run({
  asp.timer{
    interval = 1,
    callback = say_hello,
    start_time = asp.now() - 60,
    end_time = 5,
  },
})
