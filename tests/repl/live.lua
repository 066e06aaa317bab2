-- Time travel into a live period (tests/repl/repl.exp, scenario
-- back_into_live): two past events, then five lines from a subprocess that
-- arrive live, 0.1 s apart. The log keeps each value with its event time, so
-- a replay that read the live input again (the process has long exited) or
-- read the wall clock again would not give back the same log.
local asp = require("asp")
local t0 = asp.time("2025-01-01T00:00:00Z")
log = {}
live_count = 0
local feeder = asp.exec{ "sh", "-c", "for i in 1 2 3 4 5; do echo $i; sleep 0.1; done" }
asp.run({
  asp.process_stream{
    name = "mixed",
    past = { { t0, "p1" }, { t0 + 1, "p2" } },
    future = feeder,
    callback = function(t, v)
      log[#log + 1] = tostring(v) .. "@" .. tostring(t)
      if t > t0 + 1 then live_count = live_count + 1 end
    end,
  },
})
