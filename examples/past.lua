-- Processing past events: the greeter over names one second apart, from
-- 2025-01-01. The past is replayed at once, the virtual clock following the
-- events' times.
--   build/asp-lua examples/past.lua
local asp = require("asp")
local ex = require("common")

local greeter = ex.Greeter()
local start_time = asp.time("2025-01-01")
local past = ex.timestamped(start_time, 1, ex.NAMES)
asp.run({ asp.process_stream{ callback = greeter.greet, past = past } }, { start_time = start_time })
