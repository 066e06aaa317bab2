-- asp-lua --reload, the Lua side (docs/reload.md): asp.replaying(),
-- asp.keep/asp.kept, print and io.write muted during a rebuild, and the
-- modules of the script's folder added to the watched files.
local cffi = require("asp.cffi")
local sched = require("asp.sched")
local serial = require("asp.serial")

local C = cffi.C
local M = {}

local role = C.asp_reload_role()

-- True while a --reload rebuild replays (the new code catching up).
function M.replaying()
  return C.asp_reload_replaying() ~= 0
end

-- -- print and io.write are muted during a rebuild --------------------------------

if role == 2 then
  -- The text read must be the one the coordinator saw stable.
  sched.run_starts[#sched.run_starts + 1] = function() C.asp_reload_torn() end
  local real_print, real_write, stdout = print, io.write, io.stdout
  print = function(...)
    if C.asp_reload_replaying() ~= 0 then return end
    return real_print(...)
  end
  io.write = function(...)
    if C.asp_reload_replaying() ~= 0 then return stdout end
    return real_write(...)
  end
end

-- -- Watching the script's modules -----------------------------------------------

if role == 1 then
  local function script_dir()
    local a0 = arg and arg[0]
    if type(a0) ~= "string" then return nil end
    return a0:match("^(.*)/[^/]*$") or "."
  end
  -- At each run's start every module loaded from the script's folder (or
  -- below it) is watched too.
  sched.run_starts[#sched.run_starts + 1] = function()
    local dir = script_dir()
    if not dir then return end
    for name in pairs(package.loaded) do
      if type(name) == "string" and not name:match("^asp") then
        local path = package.searchpath(name, package.path)
        if path and (path:sub(1, #dir + 1) == dir .. "/" or (dir == "." and not path:match("^/"))) then
          C.asp_reload_watch(path)
        end
      end
    end
  end
end

-- -- asp.keep / asp.kept -------------------------------------------------------------

local kept_here = {}   -- name -> serialised value (this process's view)

local function load_kept(text)
  local ok, t = pcall(serial.decode, text)
  return ok and type(t) == "table" and t or {}
end

local function kept_file() return "/proc/self/fd/" .. C.asp_reload_kept_fd() end

local function read_all()
  if C.asp_reload_kept_fd() < 0 then return nil end
  local f = io.open(kept_file(), "rb")
  if not f then return nil end
  local text = f:read("*a")
  f:close()
  return text ~= "" and load_kept(text) or {}
end

-- asp.keep(name, value): value survives a reload (numbers, strings,
-- booleans, Times, plain tables). During a rebuild it does nothing: the
-- running instance's value is the one that counts.
function M.keep(name, value)
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
    error("asp.keep: bad argument #1 (a name expected, got " .. tostring(name) .. ")", 2)
  end
  local ok, text = pcall(serial.encode, value, name, true)
  if not ok then error("asp.keep: cannot keep " .. text, 2) end
  if C.asp_reload_replaying() ~= 0 then return end
  kept_here[name] = text
  if C.asp_reload_kept_fd() >= 0 then
    local all = {}
    local current = read_all() or {}
    for k in pairs(current) do
      if kept_here[k] == nil then kept_here[k] = serial.encode(current[k], k, true) end
    end
    for k, v in pairs(kept_here) do all[#all + 1] = ("[%q]=%s,"):format(k, v) end
    local f = io.open(kept_file(), "wb")
    if f then
      f:write("{", table.concat(all), "}")
      f:close()
    end
  end
end

-- asp.kept(name): the value last kept under name by any instance of the
-- session (a copy), or nil.
function M.kept(name)
  local all = read_all()
  if all then return all[name] end
  local text = kept_here[name]
  return text and load_kept("{" .. text .. "}")[1] or nil
end

return M
