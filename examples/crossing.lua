-- Traveling through time: two names a minute ago, replayed at once, then the
-- same two names live, `delay` seconds apart (arg[1], default 0.2). Once the
-- virtual clock has caught up with the wall clock, the two stay equal.
--   build/asp-lua examples/crossing.lua [delay]      (make demo)
local asp = require("asp")
local ex = require("common")

local delay = ex.arg_number(1, 0.2)
local greeter = ex.Greeter()
local start_time = asp.now() - 60
asp.run({
  asp.process_stream{
    callback = greeter.greet,
    past = ex.timestamped(start_time, 1, ex.sub(ex.NAMES, 1, 2)),
    future = ex.live(ex.sub(ex.NAMES, 1, 2), delay),
  },
}, {
  -- The live moment: the replay is over and the clock has caught up.
  on_live = function() print("** Running live **") end,
})
