-- asp-lua --reload (docs/reload.md), issue #18's remaining cases: asp.keep /
-- asp.kept across a reload, a script deleted while watched, a
-- truncate-then-write save, two saves in quick succession, writers at the
-- handover. (An error of the new code after "go P": reload_error_spec.)
local h = require("helpers")
local q = h.shell_quote

local function count(s, pat)
  local n = 0
  for _ in s:gmatch(pat) do n = n + 1 end
  return n
end

-- The header of every strategy: a live TCP source whose port goes to arg[1].
local HEAD = [[
local asp = require("asp")
io.stdout:setvbuf("line")
local src = asp.listen{ "127.0.0.1", 0 }
if src:port() > 0 then
  local f = assert(io.open(arg[1] .. ".tmp", "w")); f:write(src:port()); f:close()
  os.rename(arg[1] .. ".tmp", arg[1])
end
]]

-- A session: asp-lua --reload on dir/strat.lua, fed by the lines the test
-- appends to dir/in (tail -f into the TCP connection).
-- deadline: ASP_RELOAD_DEADLINE, seconds; a long one by default, so that a
-- loaded machine never gives a handover up where the test expects it done.
local function session(text, deadline)
  local dir = os.tmpname()
  os.remove(dir)
  assert(os.execute("mkdir " .. q(dir)) == 0)
  local s = { dir = dir, script = dir .. "/strat.lua", port = dir .. "/port", input = dir .. "/in",
              out = dir .. "/out", err = dir .. "/err", status = dir .. "/status" }
  h.write_file(s.script, HEAD .. text)
  h.write_file(s.input, "")
  os.execute(("(ASP_RELOAD_DEADLINE=%s %s --reload --stats %s %s >%s 2>%s; echo $? >%s) &"):format(
    deadline or 120, q(h.ASP_LUA), q(s.script), q(s.port), q(s.out), q(s.err), q(s.status)))
  h.wait_until(function() return h.file_has(s.port, "%d+") end, 10, "the port")
  local port = h.slurp(s.port):match("%d+")
  os.execute(("bash -c 'exec 3<>/dev/tcp/127.0.0.1/%s; exec tail -n +1 -f %s >&3' >/dev/null 2>&1 & echo $! >%s")
    :format(port, q(s.input), q(dir .. "/feeder")))
  function s.send(line)
    local f = assert(io.open(s.input, "ab"))
    f:write(line, "\n")
    f:close()
  end
  function s.save(t) h.write_file(s.script, HEAD .. t) end
  function s.o() return h.slurp(s.out) end
  function s.e() return h.slurp(s.err) end
  function s.wait_out(pat, what) h.wait_until(function() return s.o():find(pat) ~= nil end, 10, what or pat) end
  function s.wait_err(pat, n, what)
    h.wait_until(function() return count(s.e(), pat) >= (n or 1) end, 10, what or pat)
  end
  function s.finish()
    s.send("stop")
    h.wait_until(function() return h.file_has(s.status, "%d") end, 10, "the end of the session")
    os.execute("kill " .. h.slurp(dir .. "/feeder"):match("%d+") .. " 2>/dev/null")
    local st = tonumber(h.slurp(s.status):match("%d+"))
    return st
  end
  function s.remove() os.execute("rm -rf " .. q(dir)) end
  return s
end

-- Version `v` of a strategy printing "v line n" for each line; `extra` runs
-- in the callback before the print (k: the line's number, n, t).
local function strat(v, extra, top)
  return (top or "") .. ([[
local n = 0
asp.run({ asp.process_stream{ future = src, callback = function(t, line)
  if line == "stop" then asp.stop() return end
  local k = tonumber(line)
  n = n + 1
  EXTRA
  print(("VER %d %d"):format(k, n))
end } })
]]):gsub("VER", function() return v end):gsub("EXTRA", function() return extra or "" end)
end

describe("asp-lua --reload, more", function()
  it("asp.keep / asp.kept carry numbers, strings, booleans, Times and nested tables over a reload", function()
    local s = session(strat("v1", [[
  asp.keep("state", { n = n, s = "str" .. k, b = true, f = false, x = 0.25, t = t,
                      nested = { a = { 1, 2, { k = k } }, ["key with space"] = "y" } })
  asp.keep("count", n)
  asp.keep("name", "v1")
  asp.keep("flag", false)
  io.stdout:write("T ", tostring(t), "\n")
]]))
    for k = 1, 3 do s.send(k) end
    s.wait_out("v1 3 3\n", "v1 at line 3")
    local t3 = s.o():match("T ([^\n]+)\nv1 3 3\n")
    assert.truthy(t3, s.o())
    s.save(strat("v2", [[
  if not asp.replaying() and not printed then
    printed = true
    local st = asp.kept("state")
    print(("KEPT %s %s %s %s %s %s %s %s %s %s %s %s"):format(type(st), st.n, st.s, tostring(st.b),
      tostring(st.f), st.x, tostring(asp.is_time(st.t)), tostring(st.t), st.nested.a[1] + st.nested.a[2],
      st.nested.a[3].k, st.nested["key with space"], tostring(asp.kept("count"))))
    print("NAME", asp.kept("name"), tostring(asp.kept("flag")), tostring(asp.kept("nothing")))
    local ok, err = pcall(asp.keep, "cb", { inner = { fn = function() end } })
    print("BAD", tostring(ok), err)
    ok, err = pcall(asp.keep, "fn", print)
    print("BAD2", tostring(ok), err)
  end
]], "local printed\n"))
    s.wait_err("now running the new code", 1, "the reload")
    s.send(4)
    s.wait_out("v2 4 4\n", "v2 at line 4")
    local o = s.o()
    assert.truthy(o:find("KEPT table 3 str3 true false 0.25 true " .. t3 .. " 3 3 y 3\n", 1, true), o)
    assert.truthy(o:find("NAME\tv1\tfalse\tnil\n", 1, true), o)
    -- A bad value is an error naming the key (and the part of it).
    assert.truthy(o:find('BAD\tfalse\t[^\n]*asp.keep: cannot keep cb%["inner"%]%["fn"%] is a function'), o)
    assert.truthy(o:find("BAD2\tfalse\t[^\n]*asp.keep: cannot keep fn is a function"), o)
    assert.equal(0, s.finish(), s.e())
    s.remove()
  end)

  it("a script deleted while watched: warns, keeps running, picks it up when it comes back", function()
    local s = session(strat("v1"))
    s.send(1)
    s.wait_out("v1 1 1\n")
    os.remove(s.script)
    s.wait_err("reload: strat%.lua was deleted; still running the old code, watching for it again", 1)
    s.send(2)
    s.wait_out("v1 2 2\n", "v1 still running")
    s.save(strat("v2"))
    s.wait_err("now running the new code", 1, "the script back")
    s.send(3)
    s.wait_out("v2 3 3\n", "v2 after the script came back")
    assert.equal(0, s.finish(), s.e())
    local e = s.e()
    assert.equal(1, count(e, "was deleted"), e)
    assert.falsy(e:find("failed", 1, true), e)
    s.remove()
  end)

  it("a truncate-then-write save: the empty file is waited for, the written text is rebuilt once", function()
    local s = session(strat("v1"))
    s.send(1)
    s.wait_out("v1 1 1\n")
    assert(io.open(s.script, "w")):close() -- the editor truncated it, and writes later
    s.wait_err("reload: strat%.lua is empty; still running the old code, waiting for it to be written", 1)
    s.send(2)
    s.wait_out("v1 2 2\n", "v1 still running")
    s.save(strat("v2"))
    s.wait_err("now running the new code", 1, "the written text")
    s.send(3)
    s.wait_out("v2 3 3\n", "v2 running")
    assert.equal(0, s.finish(), s.e())
    local e = s.e()
    assert.equal(1, count(e, "changed; rebuilding"), e)
    assert.falsy(e:find("failed", 1, true), e)
    assert.truthy(e:find("reloads: 1", 1, true), e)
    s.remove()
  end)

  it("an old code that does not reach the handover point in time: the handover is given up, it goes on", function()
    -- On "hold" (the n-th) the live code's callback sleeps until the test
    -- says go: its later lines wait behind it, so it cannot stop at P.
    -- A rebuild replays the holds without waiting.
    local HOLD = [[
  if line == "hold" then
    holds = holds + 1
    while not asp.replaying() and not io.open(arg[1] .. ".go" .. holds) do asp.sleep(0.02) end
    return
  end
]]
    local function v(name) return strat(name, HOLD, "local holds = 0\n") end
    local s = session(v("v1"), 1)
    -- The coordinator runs v1, then a follower runs v3.
    local k, n = 0, 0
    for round, names in ipairs({ { "v1", "v2", "v3" }, { "v3", "v4", "v5" } }) do
      local old, given_up, next_ = names[1], names[2], names[3]
      k, n = k + 1, n + 1
      s.send(k)
      s.wait_out(("%s %d %d\n"):format(old, k, n), old .. " running")
      s.send("hold")
      n = n + 1
      k, n = k + 1, n + 1
      s.send(k)
      s.save(v(given_up))
      s.wait_err("reload: the old code did not reach the handover point within %d s", round, "the deadline")
      assert(io.open(s.port .. ".go" .. round, "w")):close()
      s.wait_out(("%s %d %d\n"):format(old, k, n), old .. " going on")
      k, n = k + 1, n + 1
      s.send(k)
      s.wait_out(("%s %d %d\n"):format(old, k, n), old .. " live after the handover was given up")
      s.save(v(next_))
      s.wait_err("now running the new code", round, "the next save")
      k, n = k + 1, n + 1
      s.send(k)
      s.wait_out(("%s %d %d\n"):format(next_, k, n), next_ .. " running")
    end
    assert.equal(0, s.finish(), s.e())
    local e, o = s.e(), s.o()
    assert.falsy(e:find("failed", 1, true), e)
    assert.truthy(e:find("reloads: 2", 1, true), e)
    assert.equal("v1 1 1\nv1 2 3\nv1 3 4\nv3 4 5\nv3 5 6\nv3 6 8\nv3 7 9\nv5 8 10\n", o)
    s.remove()
  end)

  it("two saves in quick succession: the later wins, one rebuild at a time", function()
    local s = session(strat("v1"))
    s.send(1)
    s.wait_out("v1 1 1\n")
    -- v2's rebuild never ends (it spins on each line it replays):
    -- v3 is saved while it rebuilds.
    s.save(strat("v2", [[
  if asp.replaying() then
    assert(io.open(arg[1] .. ".spinning", "w")):close()
    while not io.open(arg[1] .. ".never") do end
  end
]]))
    s.wait_err("strat%.lua changed; rebuilding", 1)
    -- (v3 is saved once v2 has read its text: a save while a rebuild reads
    -- the file is the half-written case, not this one.)
    h.wait_until(function() return io.open(s.port .. ".spinning") ~= nil end, 10, "v2 rebuilding")
    s.save(strat("v3"))
    s.wait_err("strat%.lua changed; rebuilding", 2, "the second save")
    s.wait_err("now running the new code", 1, "the reload")
    s.send(2)
    s.wait_out("v3 2 2\n", "v3 running")
    assert.equal(0, s.finish(), s.e())
    local e, o = s.e(), s.o()
    assert.equal(1, count(e, "now running the new code"), e)
    assert.falsy(e:find("failed", 1, true), e)
    assert.falsy(o:find("v2", 1, true), o)
    assert.truthy(e:find("reloads: 1", 1, true), e)
    s.remove()
  end)

  it("the old instance commits its writers at the handover: an appended file has every row once, in order", function()
    -- flush = 3600: v1's rows stay in its buffer until it commits them.
    local W = [[
  w:write{ k = k, v = VERSION }
]]
    local top = [[
local w = asp.writer(arg[1] .. ".csv", { columns = { "k", "v" }, append = true, flush = 3600 })
]]
    local s = session(strat("v1", W:gsub("VERSION", "1"), top))
    for k = 1, 3 do s.send(k) end
    s.wait_out("v1 3 3\n")
    s.save(strat("v2", W:gsub("VERSION", "2"), top))
    s.wait_err("now running the new code", 1, "the first reload")
    for k = 4, 5 do s.send(k) end
    s.wait_out("v2 5 5\n")
    s.save(strat("v3", W:gsub("VERSION", "3"), top))
    s.wait_err("now running the new code", 2, "the second reload")
    s.send(6)
    s.wait_out("v3 6 6\n")
    assert.equal(0, s.finish(), s.e())
    assert.equal("k,v\n1,1\n2,1\n3,1\n4,2\n5,2\n6,3\n", h.slurp(s.port .. ".csv"))
    s.remove()
  end)

  it("a writer without the append option: a rebuild appends to the old code's file, never replaces it", function()
    local W = [[
  w:write{ k = k, v = VERSION }
]]
    local top = [[
local w = asp.writer(arg[1] .. ".csv", { columns = { "k", "v" } })
]]
    local s = session(strat("v1", W:gsub("VERSION", "1"), top))
    for k = 1, 3 do s.send(k) end
    s.wait_out("v1 3 3\n")
    s.save(strat("v2", W:gsub("VERSION", "2"), top))
    s.wait_err("now running the new code", 1, "the reload")
    for k = 4, 5 do s.send(k) end
    s.wait_out("v2 5 5\n")
    assert.equal(0, s.finish(), s.e())
    assert.equal("k,v\n1,1\n2,1\n3,1\n4,2\n5,2\n", h.slurp(s.port .. ".csv"))
    s.remove()
  end)

  it("refuses an ASP_RELOAD_DEADLINE that is not a number of seconds above 0, naming it", function()
    local script = h.temp_script('print("ran")')
    for _, bad in ipairs({ "abc", "0", "-1", "3s", "1e9" }) do
      local o, e, rc = h.run_asp({ "--reload", script }, nil, { ASP_RELOAD_DEADLINE = bad })
      assert.are_not.equal(0, rc, bad)
      assert.equal("", o, bad)
      assert.truthy(e:find("ASP_RELOAD_DEADLINE is '" .. bad .. "'", 1, true), e)
    end
  end)
end)
