-- asp-lua --reload (docs/reload.md): a live stream of numbered lines at a
-- steady rate, the script edited twice while it runs (once with a syntax
-- error in between), and the handover's promise checked on the output.
local h = require("helpers")

local function strategy(version, broken)
  return ([[
local asp = require("asp")
io.stdout:setvbuf("line")
local portfile = arg[1]
local src = asp.listen{ "127.0.0.1", 0 }
if src:port() > 0 then
  local f = assert(io.open(portfile .. ".tmp", "w")); f:write(src:port()); f:close()
  os.rename(portfile .. ".tmp", portfile)
end
local n, sum = 0, 0
asp.run({ asp.process_stream{ future = src, callback = function(t, line)
  local k = tonumber(line)
  if k == -1 then asp.stop() return end
  n = n + 1
  sum = sum + k
  print(("VERSION %d %d %d %s"):format(k, n, sum, tostring(asp.replaying())))
end } })
BROKEN
]]):gsub("VERSION", version):gsub("BROKEN", broken and "local x = = 1" or "")
end

local function count(s, pat)
  local n = 0
  for _ in s:gmatch(pat) do n = n + 1 end
  return n
end

describe("asp-lua --reload", function()
  it("hands a live stream over at a journal position: every line once, by the code current at its arrival", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. h.shell_quote(dir)) == 0)
    local script, portfile = dir .. "/strat.lua", dir .. "/port"
    local out, err, status = dir .. "/out", dir .. "/err", dir .. "/status"
    local N = 400
    h.write_file(script, strategy("v1"))
    os.execute(("(ASP_RELOAD_DEADLINE=120 %s --reload --stats %s %s >%s 2>%s; echo $? >%s) &"):format(h.shell_quote(h.ASP_LUA),
      h.shell_quote(script), h.shell_quote(portfile), h.shell_quote(out), h.shell_quote(err), h.shell_quote(status)))
    h.wait_until(function() return h.file_has(portfile, "%d+") end, 10, "the port")
    local port = h.slurp(portfile):match("%d+")
    -- The feeder: one line every 10 ms, then -1 (the script stops).
    os.execute(("bash -c 'exec 3<>/dev/tcp/127.0.0.1/%s; for i in $(seq 1 %d); do echo $i >&3; sleep 0.01; done; echo -1 >&3; sleep 1' &")
      :format(port, N))
    local function lines_out() return count(h.slurp(out), "\n") end
    h.wait_until(function() return lines_out() >= 50 end, 10, "50 lines from v1")
    h.write_file(script, strategy("v2", true))
    h.wait_until(function() return h.file_has(err, "the new code failed") end, 10, "the syntax error")
    h.write_file(script, strategy("v2"))
    h.wait_until(function() return count(h.slurp(err), "now running the new code") == 1 end, 10, "the first reload")
    local at = lines_out()
    h.wait_until(function() return lines_out() >= at + 50 end, 10, "50 lines from v2")
    h.write_file(script, strategy("v3"))
    h.wait_until(function() return count(h.slurp(err), "now running the new code") == 2 end, 10, "the second reload")
    h.wait_until(function() return h.file_has(status, "%d") end, 20, "the end of the session")
    local e = h.slurp(err)
    assert.equal("0", h.slurp(status):match("%d+"), e)
    assert.equal(3, count(e, "reload: strat%.lua changed; rebuilding …"), e)
    assert.truthy(e:find("strat.lua:17:", 1, true), e)          -- the syntax error, file:line
    assert.equal(2, count(e, "reload: caught up in [%d.]+ s %([%d,]+ past events, [%d,]+ live lines%); now running the new code"), e)
    assert.truthy(e:find("reloads: 2", 1, true), e)
    -- Every number exactly once, printed once, versions in order of arrival,
    -- and the state (n, sum) that of a fresh run of that code over the same
    -- inputs: nothing was printed during a rebuild (replaying false).
    local seen, last_v, versions = {}, 0, {}
    for v, k, n, sum, rep in h.slurp(out):gmatch("v(%d) (%d+) (%d+) (%d+) (%a+)\n") do
      v, k, n, sum = tonumber(v), tonumber(k), tonumber(n), tonumber(sum)
      assert.is_nil(seen[k], "line " .. k .. " processed twice")
      seen[k] = true
      assert.truthy(v >= last_v, "line " .. k .. " processed by v" .. v .. " after v" .. last_v)
      last_v = v
      versions[v] = (versions[v] or 0) + 1
      assert.equal(k, n)
      assert.equal(k * (k + 1) / 2, sum)
      assert.equal("false", rep)
    end
    for k = 1, N do assert.truthy(seen[k], "line " .. k .. " never processed") end
    assert.truthy(versions[1] and versions[2] and versions[3])
    os.execute("rm -rf " .. h.shell_quote(dir))
  end)
end)
