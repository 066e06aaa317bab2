-- asp-lua --stats / --progress and the sources examples, run as subprocesses.
local u = require("sources_util")

local function run(cmdline)
  local errf = os.tmpname()
  local p = io.popen(cmdline .. " 2>" .. errf)
  local out = p:read("*a")
  local ok = p:close()
  local f = io.open(errf, "rb")
  local err = f:read("*a")
  f:close()
  os.remove(errf)
  return out, err, ok
end

local ASP = os.getenv("ASP_LUA")

describe("asp-lua options", function()
  it("--stats prints the last run's statistics on stderr at exit", function()
    local script = u.tmpfile([[
      local asp = require("asp")
      asp.run { asp.process_stream { name = "ticks", past = { { 1, "a" }, { 3, "b" }, { 2, "c" } }, callback = function() end } }
    ]])
    local _, err = run(ASP .. " --stats " .. script)
    os.remove(script)
    assert.matches("asp stats: 4 items in [%d.]+ s wall, 2.000 s virtual", err)
    assert.matches("ticks%s+delivered 3, out of order 1, skipped 0", err)
  end)

  it("--progress shows the virtual time and items of a long replay on stderr, --no-progress nothing", function()
    -- Every 1024th event waits 0.1 s of wall clock: the replay lasts over 2 s
    -- whatever the machine's speed, so a progress line (every 0.5 s) must come.
    local script = u.tmpfile([[
      local asp = require("asp")
      local i = 0
      asp.run { asp.process_stream {
        past = function() i = i + 1; if i <= 25 * 1024 then return 1700000000 + i, i end end,
        callback = function(t, v)
          if v % 1024 == 0 then local w = asp.wall(); while asp.wall() - w < 0.1 do end end
        end } }
    ]])
    local _, err = run(ASP .. " --progress " .. script)
    assert.matches("%[asp%] 2023%-11%-1%dT[%d:.]+Z  %d+ items  %d+/s", err)
    _, err = run(ASP .. " --no-progress " .. script)
    os.remove(script)
    assert.are.equal("", err)
  end)
end)

describe("sources examples", function()
  it("backtest.lua runs the crossover over the sample file", function()
    local out, err, ok = run("cd " .. os.getenv("PWD") .. " && " .. ASP .. " examples/backtest.lua")
    assert.is_truthy(ok, err)
    for _, sym in ipairs { "AAPL", "AMZN", "GOOG", "MSFT", "NVDA" } do
      assert.matches(sym .. "%s+trades%s+%d+%s+P&L%s+%-?[%d.]+", out)
    end
    assert.matches("2000 rows in", out)
  end)

  it("live_feed.lua replays the history, then takes the feeder's 20 quotes", function()
    local out, err, ok = run("cd " .. os.getenv("PWD") .. " && " .. ASP .. " examples/live_feed.lua")
    assert.is_truthy(ok, err)
    assert.matches("history done at 2024%-01%-01T12:00:49[%d.]+Z: %d+ quotes", out)
    local n = 0
    for _ in out:gmatch("\nlive  ") do n = n + 1 end
    assert.are.equal(20, n)
    assert.matches("20 live quotes; the feeder exited", out)
  end)
end)
