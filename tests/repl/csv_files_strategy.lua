-- Time travel across the files of one asp.csv stream (tests/lua/sources_csv_files_spec.lua):
-- asp.csv(pattern) over a plain file, a gzip file and a plain file again.
-- State is global for the prompt. Usage: asp-lua -i csv_files_strategy.lua 'dir/*.csv*'
local asp = require("asp")
n, sum = 0, 0
asp.debug.checkpoint_items = 3000   -- several checkpoints per file, so .back lands inside and across files

function state()
  return ("S %d %d"):format(n, sum)
end

asp.run({
  asp.process_stream{ name = "all", past = asp.csv(arg[1]), callback = function(_, v)
    n = n + 1
    sum = sum + v.bid * 3 + v.ask
  end },
}, { start_time = asp.time("2025-01-01T00:00:00Z") })
