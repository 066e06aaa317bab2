-- asp-lua --reload (docs/reload.md, "The handover point"): a runtime error
-- of the new code on a live line that arrives during the handover, after
-- the old instance stopped at P and before the new one is live. The old
-- instance is held at P and resumes from there: every line once, the error
-- printed with file:line, a later good save takes over.
--
-- The live source is stdin (a FIFO the test writes): a write is in the
-- pipe when it returns, so the order of events below is the test's.
local h = require("helpers")
local q = h.shell_quote

local function count(s, pat)
  local n = 0
  for _ in s:gmatch(pat) do n = n + 1 end
  return n
end

-- Version v: prints "v k n" for each numbered line. On "slow", the live
-- instance blocks until the test opens dir/release (its loop does not run:
-- nothing is read meanwhile); a rebuild replaying it says so on stderr. A
-- bad version waits at its start until the test opens dir/start, and its
-- callback raises an error on a number above `bad`.
local function strat(v, bad)
  return ([[
local asp = require("asp")
io.stdout:setvbuf("line")
local dir = arg[1]
local function wait(name) local f = assert(io.open(dir .. "/" .. name, "r")); f:read("*a"); f:close() end
if BAD then io.stderr:write("VER waiting\n"); wait("start") end
local n = 0
asp.run({ asp.process_stream{ future = asp.stdin(), callback = function(t, line)
  if line == "stop" then asp.stop() return end
  if line == "slow" then
    if asp.replaying() then io.stderr:write("VER replayed slow\n") return end
    print("VER blocked")
    wait("release")
    return
  end
  local k = tonumber(line)
  if BAD and k > BAD then error("too big: " .. k) end
  n = n + 1
  print(("VER %d %d"):format(k, n))
end } })
]]):gsub("VER", v):gsub("BAD", tostring(bad or false))
end

local function session()
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir " .. q(dir)) == 0)
  local s = { dir = dir, script = dir .. "/strat.lua", out = dir .. "/out", err = dir .. "/err",
              status = dir .. "/status", k = 0 }
  for _, f in ipairs({ "in", "start", "release" }) do
    assert(os.execute("mkfifo " .. q(dir .. "/" .. f)) == 0)
  end
  h.write_file(s.script, strat("v1"))
  os.execute(("(ASP_RELOAD_DEADLINE=120 %s --reload --stats %s %s <%s >%s 2>%s; echo $? >%s) &"):format(q(h.ASP_LUA), q(s.script),
    q(dir), q(dir .. "/in"), q(s.out), q(s.err), q(s.status)))
  local feed = assert(io.open(dir .. "/in", "w"))
  feed:setvbuf("no")
  function s.send(line) feed:write(line, "\n") end
  -- The next n numbers.
  function s.numbers(n)
    for _ = 1, n do
      s.k = s.k + 1
      s.send(s.k)
    end
  end
  function s.open(name) local f = assert(io.open(dir .. "/" .. name, "w")); f:write("go"); f:close() end
  local function read(path)
    local f = io.open(path, "rb")
    if not f then return "" end -- the shell has not made it yet
    local text = f:read("*a")
    f:close()
    return text
  end
  function s.o() return read(s.out) end
  function s.e() return read(s.err) end
  function s.wait_out(pat, what) h.wait_until(function() return s.o():find(pat) ~= nil end, 10, what or pat) end
  function s.wait_err(pat, n, what)
    h.wait_until(function() return count(s.e(), pat) >= (n or 1) end, 10, what or pat)
  end
  function s.finish()
    s.send("stop")
    feed:close()
    h.wait_until(function() return h.file_has(s.status, "%d") end, 10, "the end of the session")
    return tonumber(h.slurp(s.status):match("%d+"))
  end
  return s
end

-- `bad` is saved and waits at its start until the running version `old`
-- is blocked on "slow"; then it catches up and says ready; the next five numbers are
-- written meanwhile. When `old` goes on, it reads them and the ready at
-- once: they are before P, `old` delivers them, `bad` replays them after
-- "go P" and fails. (Were the ready later, `bad` would fail while catching
-- up: the same outcome.)
local function failed_handover(s, old, bad, nth)
  h.write_file(s.script, strat(bad, s.k))
  s.wait_err(bad .. " waiting", 1, bad .. " started")
  s.send("slow")
  s.wait_out(old .. " blocked\n", old .. " blocked")
  s.open("start")
  s.wait_err(bad .. " replayed slow", nth, bad .. " caught up")
  s.numbers(5)
  s.open("release")
  s.wait_err("reload: the new code failed %(exit status 1%); still running the old code", nth, bad .. " failed")
end

describe("asp-lua --reload, an error of the new code during the handover", function()
  it("leaves the old code running from P: every line once, the error with file:line, the next save takes over", function()
    local s = session()
    s.numbers(5)
    s.wait_out("v1 5 5\n", "v1 running")
    -- This process runs v1 (the session's first code).
    failed_handover(s, "v1", "v2", 1)
    s.numbers(5)
    s.wait_out("v1 15 15\n", "v1 resumed")
    h.write_file(s.script, strat("v3"))
    s.wait_err("now running the new code", 1, "v3 takes over")
    s.numbers(5)
    s.wait_out("v3 20 20\n", "v3 running")
    -- A follower runs v3: it is held at P, and resumed.
    failed_handover(s, "v3", "v4", 2)
    s.numbers(5)
    s.wait_out("v3 30 30\n", "v3 resumed")
    h.write_file(s.script, strat("v5"))
    s.wait_err("now running the new code", 2, "v5 takes over")
    s.numbers(5)
    s.wait_out("v5 35 35\n", "v5 running")
    local st = s.finish()
    local e, o = s.e(), s.o()
    assert.equal(0, st, e)
    assert.truthy(e:find("strat.lua:16: too big: 6", 1, true), e)
    assert.truthy(e:find("strat.lua:16: too big: 21", 1, true), e)
    assert.truthy(e:find("reloads: 2", 1, true), e)
    -- Every number once, by the version current at its arrival, with the
    -- state of a run over every line (n = k).
    local seen, order = {}, {}
    for v, k, n in o:gmatch("(v%d) (%d+) (%d+)\n") do
      k, n = tonumber(k), tonumber(n)
      assert.is_nil(seen[k], "line " .. k .. " processed twice\n" .. o)
      seen[k] = v
      assert.equal(k, n, o)
      if order[#order] ~= v then order[#order + 1] = v end
    end
    for k = 1, 35 do assert.truthy(seen[k], "line " .. k .. " never processed\n" .. o) end
    assert.same({ "v1", "v3", "v5" }, order)
    assert.equal("v1", seen[10])
    assert.equal("v3", seen[25])
    os.execute("rm -rf " .. q(s.dir))
  end)
end)
