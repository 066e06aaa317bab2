-- Helpers shared by the specs (in the spirit of Neovim's test helpers).
local asp = require("asp")

local M = {}

-- The message of the error that f(...) raises, without its traceback.
-- Fails the test when f does not raise.
function M.pcall_err(f, ...)
  local ok, err = pcall(f, ...)
  if ok then error("expected an error, but the call succeeded", 2) end
  err = tostring(err)
  return (err:gsub("\nstack traceback:.*$", ""))
end

-- The full message (with traceback) of the error that f(...) raises.
function M.pcall_full(f, ...)
  local ok, err = pcall(f, ...)
  if ok then error("expected an error, but the call succeeded", 2) end
  return tostring(err)
end

-- Strips a "file:line: " position from the front of a message.
function M.strip_pos(msg)
  return (msg:gsub("^[^:\n]+:%d+: ", ""))
end

-- A recorder: rec(...) appends its arguments, turned into a string, to rec.log.
function M.recorder()
  local log = {}
  return setmetatable({ log = log }, {
    __call = function(_, ...)
      local parts = {}
      for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
      log[#log + 1] = table.concat(parts, " ")
    end,
  })
end

-- Events {time, value} at base + offsets[i] seconds, value values[i] (or i).
function M.events(base, offsets, values)
  local t = {}
  for i, off in ipairs(offsets) do
    t[i] = { base + off, values and values[i] or i }
  end
  return t
end

M.T0 = asp.time("2025-01-01T00:00:00Z")

-- Seconds since T0 as a string, for readable logs.
function M.at(t) return tostring(t - M.T0) end

-- -- Subprocesses ------------------------------------------------------------

local function shell_quote(s)
  return "'" .. tostring(s):gsub("'", "'\\''") .. "'"
end
M.shell_quote = shell_quote

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("*a")
  f:close()
  return s
end
M.slurp = slurp

function M.write_file(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

-- A temporary Lua script holding `text`; removed by M.cleanup().
local temps = {}
function M.temp_script(text)
  local path = os.tmpname()
  os.remove(path)
  path = path .. ".lua"
  M.write_file(path, text)
  temps[#temps + 1] = path
  return path
end

function M.cleanup()
  for i = #temps, 1, -1 do
    os.remove(temps[i])
    temps[i] = nil
  end
end

M.ASP_LUA = os.getenv("ASP_LUA") or "build/asp-lua"

-- Runs asp-lua with the given arguments (a list, each quoted) and optional
-- standard input; returns stdout, stderr and the exit status.
-- env: extra environment variables for the command ({NAME = value}).
function M.run_asp(args, stdin, env)
  local out, err, rc = os.tmpname(), os.tmpname(), os.tmpname()
  local cmd = { shell_quote(M.ASP_LUA) }
  if env then
    local names = {}
    for k in pairs(env) do names[#names + 1] = k end
    table.sort(names)
    for i = #names, 1, -1 do table.insert(cmd, 1, names[i] .. "=" .. shell_quote(env[names[i]])) end
  end
  for i = 1, #args do cmd[#cmd + 1] = shell_quote(args[i]) end
  local input = "/dev/null"
  local inpath
  if stdin then
    inpath = os.tmpname()
    M.write_file(inpath, stdin)
    input = inpath
  end
  local line = ("%s <%s >%s 2>%s; echo $? >%s"):format(
    table.concat(cmd, " "), shell_quote(input), shell_quote(out), shell_quote(err), shell_quote(rc))
  os.execute(line)
  local o, e, r = slurp(out), slurp(err), tonumber(slurp(rc):match("%d+"))
  os.remove(out)
  os.remove(err)
  os.remove(rc)
  if inpath then os.remove(inpath) end
  return o, e, r
end

-- -- Waiting on a condition ----------------------------------------------------

local ffi = require("ffi")
pcall(ffi.cdef, "int poll(void *fds, unsigned long nfds, int timeout);")

-- Waits until cond() is true, polling every 10 ms of real time, outside a
-- run (the process blocks). Fails (an error naming `what`) after `timeout`
-- seconds (default 10): a condition that never comes fails the spec rather
-- than hanging it.
function M.wait_until(cond, timeout, what)
  local limit = asp.wall() + (timeout or 10)
  while not cond() do
    if asp.wall() >= limit then
      error(("timed out after %g s waiting for %s"):format(timeout or 10, what or "a condition"), 2)
    end
    ffi.C.poll(nil, 0, 10)
  end
end

-- The same inside a task of a live run: polls with asp.sleep(0.005), so
-- that the run goes on (its live sources deliver) while the task waits.
function M.await(cond, timeout, what)
  local limit = asp.wall() + (timeout or 10)
  while not cond() do
    if asp.wall() >= limit then
      error(("timed out after %g s waiting for %s"):format(timeout or 10, what or "a condition"), 2)
    end
    asp.sleep(0.005)
  end
end

-- Whether the file at path exists and its text matches pattern (for
-- wait_until: a file a subprocess writes may exist before its text is whole).
function M.file_has(path, pattern)
  local f = io.open(path, "rb")
  if not f then return false end
  local text = f:read("*a")
  f:close()
  return text:match(pattern) ~= nil
end

-- -- Leaks -------------------------------------------------------------------------

-- What a run may leave behind: item ids taken and not released, libuv
-- handles open on the scheduler's loop (besides its own timer and wake-up),
-- and references in the Lua registry (luaL_ref: an integer key whose value
-- is not a number; free slots hold the next free slot's number).
function M.leftovers()
  local C = ffi.C
  local S = C.asp_engine_sched()
  local refs = 0
  for k, v in pairs(debug.getregistry()) do
    if type(k) == "number" and k >= 1 and type(v) ~= "number" then refs = refs + 1 end
  end
  return { ids = tonumber(C.asp_sched_ids_taken(S)), handles = tonumber(C.asp_sched_handles(S)), refs = refs }
end

function M.lines(s)
  local t = {}
  for l in s:gmatch("([^\n]*)\n") do t[#t + 1] = l end
  return t
end

return M
