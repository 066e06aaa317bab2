-- Processing real time events: a live producer emits a name every `delay`
-- seconds (arg[1], default 0.2; the seed used 1). Virtual time is the wall
-- clock, and each event's time is the moment it was emitted.
--   build/asp-lua examples/future.lua [delay]
local asp = require("asp")
local ex = require("common")

local delay = ex.arg_number(1, 0.2)
local greeter = ex.Greeter()
asp.run({ asp.process_stream{ callback = greeter.greet, future = ex.live(ex.NAMES, delay) } })
