-- The live journal on a disk that fills up (tests/repl/repl.exp, scenario
-- journal_full, run by tests/repl/full_disk.sh with TMPDIR on a small tmpfs
-- of its own). Three short live lines are journaled; then the feeder waits
-- until the test has filled the disk ($TMPDIR/full appears) and sends three
-- lines of 5000 bytes, which cannot be journaled.
local asp = require("asp")
local t0 = asp.time("2025-01-01T00:00:00Z")
live_count = 0
local feeder = asp.exec{ "sh", "-c", [[
  for i in 1 2 3; do echo "line$i"; done
  while [ ! -e "$0/full" ]; do sleep 0.05; done
  for i in 4 5 6; do printf "line$i %05000d\n" 0; done]], os.getenv("TMPDIR") }
asp.run({
  asp.process_stream{
    name = "feed",
    past = { { t0, "p1" } },
    future = feeder,
    callback = function(t, v)
      if t > t0 then live_count = live_count + 1 end
    end,
  },
})
