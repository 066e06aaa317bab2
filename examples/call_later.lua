-- Scheduling callbacks: each arrival is greeted `delay` seconds later with
-- asp.call_later (arg[1], default 0.2; live names arrive `delay` apart too).
-- Past arrivals a minute ago are replayed, their greetings at their own
-- virtual times; then the live ones follow in real time.
--   build/asp-lua examples/call_later.lua [delay]
local asp = require("asp")
local ex = require("common")

local delay = ex.arg_number(1, 0.2)
local greeter = ex.Greeter()

local function greet_later(event_time, name)
  ex.log(event_time, name .. " arrived.")
  asp.call_later(event_time + delay, greeter.greet, name)
end

asp.run({
  asp.process_stream{
    callback = greet_later,
    past = ex.timestamped(asp.now() - 60, 1, ex.sub(ex.NAMES, 1, 2)),
    future = ex.live(ex.sub(ex.NAMES, 3), delay),
    on_live_start = function() print("** Running live **") end,
  },
})
