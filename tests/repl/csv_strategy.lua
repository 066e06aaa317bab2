-- A backtest over CSV files for the time-travel tests (tests/lua/repl_csv_spec.lua,
-- tests/repl/csv.exp): a plain file, a gzip file and a file read with
-- follow = true, whose row "stop" ends the run. State is global for the prompt.
-- Usage: asp-lua -i csv_strategy.lua a.csv b.csv.gz f.csv
-- Without arguments it makes the files of csv_data.lua in a temporary
-- folder (DATA_DIR, removed by cleanup()) and want(seconds) gives what a
-- straight run has done by then.
local asp = require("asp")
if not arg[1] then
  local data = require("csv_data")
  DATA_DIR = os.tmpname()
  os.remove(DATA_DIR)
  assert(os.execute("mkdir " .. DATA_DIR) == 0)
  local paths, rows = data.make(DATA_DIR)
  arg[1], arg[2], arg[3] = paths[1], paths[2], paths[3]
  function want(seconds) return data.expected(rows, seconds) end
  function cleanup() os.execute("rm -rf " .. DATA_DIR) end
end
n = { a = 0, b = 0, f = 0 }
sum = 0
asp.debug.checkpoint_items = 5000   -- several checkpoints, so .back lands between them

local function count(name)
  return function(_, v)
    n[name] = n[name] + 1
    sum = sum + v.bid * 3 + v.ask
  end
end

-- One line that the tests compare with a straight run's figures.
function state()
  return ("S %d %d %d %d"):format(n.a, n.b, n.f, sum)
end

asp.run({
  asp.process_stream{ name = "a", past = asp.csv(arg[1]), callback = count("a") },
  asp.process_stream{ name = "b", past = asp.csv(arg[2]), callback = count("b") },
  asp.process_stream{ name = "f", past = asp.csv(arg[3], { follow = true, columns = { bid = "string", ask = "number" } }),
    callback = function(t, v)
      if v.bid == "stop" then return asp.stop() end
      n.f = n.f + 1
      sum = sum + tonumber(v.bid) * 3 + v.ask
    end },
}, { start_time = asp.time("2025-01-01T00:00:00Z") })
