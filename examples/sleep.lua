-- Pausing execution: each arrival is greeted after asp.sleep(pause). In the
-- past the pause is replayed at once; live, it is waited for, and the next
-- arrival waits for the callback (a stream delivers one event at a time).
--   build/asp-lua examples/sleep.lua [delay [pause]]   (defaults 0.2 and 1;
--   the seed used 1 and 5)
local asp = require("asp")
local ex = require("common")

local delay = ex.arg_number(1, 0.2)
local pause = ex.arg_number(2, 1)
local greeter = ex.Greeter()

local function sleep_and_greet(event_time, name)
  ex.log(event_time, name .. " arrived.")
  asp.sleep(pause)
  greeter.greet(event_time + pause, name)
end

asp.run({
  asp.process_stream{
    callback = sleep_and_greet,
    on_live_start = function() print("** Running live **") end,
    past = ex.timestamped(asp.now() - 60, 1, ex.sub(ex.NAMES, 1, 2)),
    future = ex.live(ex.sub(ex.NAMES, 3), delay),
  },
})
