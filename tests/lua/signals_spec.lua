-- Signals of the asp-lua command (engine/signals.c): SIGINT and SIGTERM stop a
-- run gracefully with status 130/143; a second one, or one outside a run, ends
-- the process at once; a closed standard output ends the run quietly.
local h = require("helpers")
local q = h.shell_quote

-- Starts asp-lua on the script in the background, waits until the script has
-- created `ready` (so the signal lands where the test wants it), sends each
-- signal in turn, and returns stderr and the exit status.
local function signal_run(script, ready, signals)
  local err, rc = os.tmpname(), os.tmpname()
  local kills = {}
  for _, sig in ipairs(signals) do
    kills[#kills + 1] = ("kill -%s $p; sleep 0.2"):format(sig)
  end
  local sh = ([[
%s %s >/dev/null 2>%s &
p=$!
i=0
while [ ! -e %s ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done
%s
# A watchdog, so that a signal that fails to end the process fails the test
# (status 137) instead of hanging it.
( sleep 20; kill -KILL $p 2>/dev/null ) &
w=$!
wait $p
echo $? > %s
kill $w 2>/dev/null
]]):format(q(h.ASP_LUA), q(script), q(err), q(ready), table.concat(kills, "\n"), q(rc))
  os.execute("sh -c " .. q(sh))
  local e, r = h.slurp(err), tonumber(h.slurp(rc):match("%d+"))
  os.remove(err)
  os.remove(rc)
  os.remove(ready)
  return e, r
end

local function ready_file()
  local p = os.tmpname()
  os.remove(p)
  return p
end

-- A run that ticks forever, creating `ready` at its first tick.
local function ticking(ready)
  return h.temp_script(([[
local asp = require("asp")
asp.run({ asp.timer{ interval = 0.01, callback = function()
  local f = io.open(%q, "w"); if f then f:close() end
end } })
]]):format(ready))
end

describe("signals", function()
  after_each(h.cleanup)

  it("SIGINT stops a run after its current item: status 130 and a message with the virtual time", function()
    local ready = ready_file()
    local err, rc = signal_run(ticking(ready), ready, { "INT" })
    assert.are.equal(130, rc)
    assert.matches("asp%.run: interrupted by SIGINT at %d%d%d%d%-%d%d%-%d%dT[%d:.]+Z after %d+ items", err)
  end)

  it("SIGTERM stops a run the same way with status 143", function()
    local ready = ready_file()
    local err, rc = signal_run(ticking(ready), ready, { "TERM" })
    assert.are.equal(143, rc)
    assert.matches("asp%.run: interrupted by SIGTERM at ", err)
  end)

  it("SIGINT ends a run that waits in real time for an item an hour away", function()
    local ready = ready_file()
    local script = h.temp_script(([[
local asp = require("asp")
asp.run({ function()
  local f = io.open(%q, "w"); f:close()
  asp.sleep(3600)
end })
]]):format(ready))
    local err, rc = signal_run(script, ready, { "INT" })
    assert.are.equal(130, rc)
    assert.matches("asp%.run: interrupted by SIGINT", err)
  end)

  it("a second SIGINT ends a callback that never returns", function()
    local ready = ready_file()
    local script = h.temp_script(([[
local asp = require("asp")
asp.run({ function()
  local f = io.open(%q, "w"); f:close()
  local x = 0
  while true do x = x + 1 end
end })
]]):format(ready))
    local _, rc = signal_run(script, ready, { "INT", "INT" })
    assert.are.equal(130, rc)
  end)

  it("SIGINT outside a run ends the process at once with status 130", function()
    local ready = ready_file()
    local script = h.temp_script(([[
local f = io.open(%q, "w"); f:close()
while true do end
]]):format(ready))
    local _, rc = signal_run(script, ready, { "INT" })
    assert.are.equal(130, rc)
  end)

  it("a reader that closes the pipe ends the run quietly with status 141", function()
    local script = h.temp_script([[
local asp = require("asp")
io.stdout:setvbuf("line")
asp.run({ asp.timer{ interval = 0.001, callback = function(t) print(tostring(t)) end } })
]])
    local err, rc = os.tmpname(), os.tmpname()
    os.execute(("sh -c %s"):format(q(([[
{ %s %s 2>%s; echo $? >%s; } | head -n 3 >/dev/null
]]):format(q(h.ASP_LUA), q(script), q(err), q(rc)))))
    local e, r = h.slurp(err), tonumber(h.slurp(rc):match("%d+"))
    os.remove(err)
    os.remove(rc)
    assert.are.equal(141, r)
    assert.are.equal("", e)
  end)
end)
