-- make test-redis: asp.redis on a real 3-master Redis Cluster (issue #16).
--
-- Starts three redis-server --cluster-enabled yes on free ports of
-- 127.0.0.1 (no persistence, temporary directories), joins them with
-- redis-cli --cluster create, writes 8 streams spread over the slots with
-- asp.redis_writer through one node (the others answer MOVED), runs 3
-- asp-lua workers in one consumer group per stream, kills one with SIGKILL
-- mid-run, and checks that when the survivors finish every entry of every
-- stream was processed and acknowledged (none pending). Always stops the
-- servers. Usage: asp-lua tests/redis/cluster.lua build/asp-lua
package.path = "tests/lua/?.lua;" .. package.path
local asp = require("asp")
local R = require("redis_util")

local ASP = arg[1] or "build/asp-lua"
local STREAMS, PER = 8, 300
local nodes = {}
local tmp = os.tmpname()
os.remove(tmp)
os.execute("mkdir " .. tmp)

local function sh(cmd)
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  p:close()
  return out
end

local function check(cond, msg)
  if not cond then error("FAIL: " .. msg, 2) end
end

local function main()
  for i = 1, 3 do
    nodes[i] = R.start(nil, "--cluster-enabled yes --cluster-config-file nodes.conf --cluster-node-timeout 2000")
  end
  local addrs = {}
  for i, n in ipairs(nodes) do addrs[i] = "127.0.0.1:" .. n.port end
  local out = sh("redis-cli --cluster create " .. table.concat(addrs, " ") .. " --cluster-replicas 0 --cluster-yes")
  check(out:find("All 16384 slots covered"), "redis-cli --cluster create: " .. out)
  for _ = 1, 500 do
    local ok = true
    for _, n in ipairs(nodes) do
      if not R.cli(n, "CLUSTER INFO"):find("cluster_state:ok") then ok = false end
    end
    if ok then break end
    os.execute("sleep 0.02")
  end
  local url = R.url(nodes[1])
  -- The streams' slots are spread over the three nodes.
  local owners = {}
  for s = 1, STREAMS do
    local moved = R.cli(nodes[1], "TYPE s" .. s):match("MOVED %d+ [%d.]+:(%d+)")
    owners[moved or tostring(nodes[1].port)] = true
  end
  local nowners = 0
  for _ in pairs(owners) do nowners = nowners + 1 end
  check(nowners == 3, "the 8 streams live on " .. nowners .. " node(s), not 3")

  -- Writing through node 1: the writer follows MOVED to each stream's node.
  for s = 1, STREAMS do
    local w = asp.redis_writer { url = url, stream = "s" .. s, max_pending = 64 }
    for n = 1, PER do w:add { n = n } end
    w:close()
    check(w:count() == PER, "s" .. s .. ": " .. w:count() .. " entries written")
  end
  -- The past through node 1 too.
  local got = 0
  asp.run { asp.process_stream { past = asp.redis { url = url, stream = "s5", count = 17 },
    callback = function(_, v) got = got + 1; check(v.n == got, "s5 in order") end } }
  check(got == PER, "the past of s5 through node 1: " .. got)

  -- Three workers in one group per stream; worker 1 is killed mid-run.
  local worker = tmp .. "/worker.lua"
  local f = io.open(worker, "w")
  f:write(([[
    local asp = require("asp")
    local name, out = arg[1], io.open(arg[2], "w")
    out:setvbuf("line")
    local tasks = {}
    for s = 1, %d do
      tasks[#tasks + 1] = asp.process_stream { name = "s" .. s,
        future = asp.redis { url = %q, stream = "s" .. s, group = "g", consumer = name, create = true,
          claim_idle = 0.5, count = 5 },
        callback = function(_, v)
          asp.sleep(0.01)
          out:write("s", s, " ", v.n, " ", v._id, "\n")
        end }
    end
    tasks[#tasks + 1] = function() asp.sleep(tonumber(arg[3])) asp.stop() end
    asp.run(tasks)
  ]]):format(STREAMS, url))
  f:close()
  local pids = {}
  for w = 1, 3 do
    pids[w] = tonumber(sh(("%s %s w%d %s/w%d.out %s >%s/w%d.err 2>&1 & echo $!"):format(ASP, worker, w, tmp, w,
      w == 1 and 30 or 6, tmp, w)))
  end
  os.execute("sleep 0.5")
  os.execute("kill -9 " .. pids[1])
  -- What it leaves: entries delivered to it and never acknowledged.
  local left = 0
  for s = 1, STREAMS do
    local out1 = sh(("redis-cli -c -p %d XPENDING s%d g - + 1000 w1"):format(nodes[1].port, s))
    for _ in out1:gmatch("%d+%-%d+") do left = left + 1 end
  end
  check(left > 0, "the killed worker left nothing pending: the test proves nothing")
  for w = 2, 3 do
    for _ = 1, 1500 do
      if sh("kill -0 " .. pids[w] .. " 2>/dev/null && echo alive"):find("alive") == nil then break end
      os.execute("sleep 0.01")
    end
  end
  local seen, by = {}, { 0, 0, 0 }
  for w = 1, 3 do
    for l in io.lines(tmp .. "/w" .. w .. ".out") do
      local s, n = l:match("^(s%d+) (%d+) ")
      seen[s .. " " .. n] = true
      by[w] = by[w] + 1
    end
    local err = io.open(tmp .. "/w" .. w .. ".err"):read("*a")
    if w > 1 then check(not err:find("error"), "worker " .. w .. ": " .. err) end
  end
  local missing = {}
  for s = 1, STREAMS do
    for n = 1, PER do
      if not seen["s" .. s .. " " .. n] then missing[#missing + 1] = "s" .. s .. " " .. n end
    end
  end
  check(#missing == 0, #missing .. " entries never processed, e.g. " .. tostring(missing[1]))
  check(by[1] > 0 and by[1] < STREAMS * PER, "the killed worker processed " .. by[1] .. " entries")
  -- At least once: an entry twice only if the killed worker's callback had
  -- run and its XACK not (one per stream at most).
  local total = by[1] + by[2] + by[3]
  check(total <= STREAMS * PER + STREAMS, total .. " entries processed for " .. STREAMS * PER)
  local pend = 0
  for s = 1, STREAMS do
    pend = pend + tonumber(sh(("redis-cli -c -p %d XPENDING s%d g"):format(nodes[1].port, s)):match("^(%d+)") or -1)
  end
  check(pend == 0, pend .. " entries still pending")
  print(("cluster: 3 masters, %d streams x %d entries over the slots of all 3; workers processed %d / %d / %d "
    .. "(worker 1 killed with SIGKILL, %d entries left pending, claimed by the others); every entry processed, none pending: ok"):format(
    STREAMS, PER, by[1], by[2], by[3], left))
end

local ok, err = pcall(main)
for _, n in ipairs(nodes) do R.stop(n) end
os.execute("rm -rf " .. tmp)
if not ok then
  io.stderr:write(tostring(err), "\n")
  print("test-redis: 0 passed, 1 failed")
  os.exit(1)
end
print("test-redis: 1 passed, 0 failed")
