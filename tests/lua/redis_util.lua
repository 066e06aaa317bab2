-- redis-server for the specs (docs/testing.md): each started on 127.0.0.1 on
-- a free port, without persistence (--save '', --appendonly no), in a
-- temporary directory, in the foreground of a background shell job (no
-- daemonize), and always stopped by the spec (stop in a finally).
local su = require("sources_util")

local M = {}

local function q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function read(path)
  local f = io.open(path)
  if not f then return "" end
  local s = f:read("*a")
  f:close()
  return s
end

-- Output of redis-cli against srv (args already shell words); stdin text optional.
function M.cli(srv, args, input)
  local cmd = ("redis-cli -p %d %s"):format(srv.port, args)
  if input then
    local f = os.tmpname()
    local fh = io.open(f, "w")
    fh:write(input)
    fh:close()
    cmd = cmd .. " <" .. f
    local p = io.popen(cmd .. " 2>&1")
    local out = p:read("*a")
    p:close()
    os.remove(f)
    return out
  end
  local p = io.popen(cmd .. " 2>&1")
  local out = p:read("*a")
  p:close()
  return out
end

local function ping(port)
  local p = io.popen(("redis-cli -p %d PING 2>/dev/null"):format(port))
  local out = p:read("*a")
  p:close()
  return out:match("PONG") ~= nil
end

-- Starts (or, with srv, restarts on the same port) a server; fails saying
-- why when it cannot start within 5 s. extra: more redis-server options.
function M.start(srv, extra)
  if os.execute("command -v redis-server >/dev/null 2>&1") ~= 0 then
    error("redis-server is not installed (scripts/install-deps.sh installs it)", 2)
  end
  if not srv then
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. q(dir)))
    srv = { port = su.free_port(), dir = dir }
  end
  srv.extra = extra or srv.extra or ""
  os.execute(("redis-server --port %d --bind 127.0.0.1 --save '' --appendonly no --dir %s --daemonize no "
    .. "--logfile %s/redis.log %s >/dev/null 2>&1 & echo $! > %s/pid"):format(srv.port, q(srv.dir), q(srv.dir), srv.extra,
    q(srv.dir)))
  srv.pid = tonumber(read(srv.dir .. "/pid"))
  for _ = 1, 500 do
    if ping(srv.port) then return srv end
    os.execute("sleep 0.01")
  end
  M.stop(srv)
  error("redis-server did not start on port " .. srv.port .. ": " .. read(srv.dir .. "/redis.log"), 2)
end

-- Stops the server and waits until it is gone.
function M.stop(srv, keep_dir)
  if srv and srv.pid then
    os.execute("kill -9 " .. srv.pid .. " 2>/dev/null")
    for _ = 1, 500 do
      -- Gone, or a zombie (its parent shell is gone; init reaps it).
      local st = read("/proc/" .. srv.pid .. "/stat")
      if st == "" or st:match("^%d+ %b() Z") then break end
      os.execute("sleep 0.01")
    end
    srv.pid = nil
  end
  if srv and srv.dir and not keep_dir then os.execute("rm -rf " .. q(srv.dir)) end
end

function M.url(srv) return "redis://127.0.0.1:" .. srv.port .. "/0" end

-- XADDs through one redis-cli: lines of "field value ..." pairs.
function M.add(srv, stream, entries)
  local lines = {}
  for i, e in ipairs(entries) do lines[i] = "XADD " .. stream .. " * " .. e end
  return M.cli(srv, "", table.concat(lines, "\n") .. "\n")
end

return M
