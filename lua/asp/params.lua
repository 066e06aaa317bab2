-- asp.params, asp.result and asp.shared (docs/api.md, "Parameters and
-- results"; docs/sweeps.md). A single run fills asp.params from
-- `asp-lua --param name=value`; a sweep (lua/asp/sweep.lua) sets `gate`, the
-- function that forks the combinations at the first moment the script needs
-- its parameters: reading asp.params, declaring them, asp.result or asp.run.
local type, pairs, error, tostring, rawget, rawset = type, pairs, error, tostring, rawget, rawset

local M = {}

M.gate = nil       -- the sweep's fork point, until it has been passed
M.forked = false   -- true in a combination's process
M.given = {}       -- name -> value given (--param), in a single run or a combination
M.names = {}       -- the names given, in order
M.declared = nil   -- name -> default, once the script called asp.params{…}
M.result = nil     -- the result row so far (asp.result), or nil
M.in_shared = 0    -- asp.shared blocks running (their asp.run does not fork)

-- Reserved for the columns a sweep adds after the result's fields.
M.RESERVED = { status = true, error = true, wall_s = true }

local function pass_gate()
  local g = M.gate
  if g then
    M.gate = nil
    g()
  end
end
M.pass_gate = pass_gate

-- "5", "-0.5", "1e3", ".5" are numbers; everything else ("0x10", "inf",
-- "5 ", "abc") is a string.
function M.value_of(s)
  if s:match("^[-+]?%d+%.?%d*$") or s:match("^[-+]?%.%d+$")
      or s:match("^[-+]?%d+%.?%d*[eE][-+]?%d+$") or s:match("^[-+]?%.%d+[eE][-+]?%d+$") then
    return tonumber(s)
  end
  return s
end

-- Splits "name=value"; raises an error naming a malformed one.
function M.split(arg)
  local name, value = arg:match("^([^=]*)=(.*)$")
  if not name then
    error(("--param '%s': expected name=value"):format(arg), 0)
  end
  if not name:match("^[%a_][%w_]*$") then
    error(("--param '%s': the name must be a Lua identifier (letters, digits, _)"):format(arg), 0)
  end
  if M.RESERVED[name] then
    error(("--param '%s': '%s' is a column of the result table, not a parameter name"):format(arg, name), 0)
  end
  if value == "" then
    error(("--param '%s': the value is empty"):format(arg), 0)
  end
  return name, value
end

local params = {}
local params_mt = {}

-- Sets a parameter's value (a single run's --param, a combination's values).
local function set(name, value)
  M.given[name] = value
  rawset(params, name, value)
end

-- asp-lua --param name=value (engine/main.c): 0, or 1 after printing why.
function M.add(arg)
  local ok, err = pcall(M.set_given, arg)
  if ok then return 0 end
  io.stderr:write("asp-lua: ", tostring(err), "\n")
  return 1
end

function M.set_given(arg)
  local name, value = M.split(arg)
  if M.given[name] ~= nil then
    error(("--param '%s': '%s' is given twice"):format(arg, name), 0)
  end
  M.names[#M.names + 1] = name
  set(name, M.value_of(value))
end

-- A combination's process: its values (called by the sweep after the fork).
function M.set_combination(names, values)
  M.forked = true
  M.names = names
  for i = 1, #names do set(names[i], values[i]) end
end

function params_mt.__index(t, k)
  if M.gate and M.in_shared > 0 then
    error("asp.params: read inside asp.shared: what the combinations share cannot depend on their parameters", 2)
  end
  pass_gate()
  local v = rawget(t, k)
  if v ~= nil then return v end
  if M.declared and type(k) == "string" and M.declared[k] == nil then
    error(("asp.params: '%s' is not declared (the script's asp.params{…} declares %s)"):format(
      k, M.list(M.declared)), 2)
  end
  return nil
end

function M.list(set_)
  local names = {}
  for k in pairs(set_) do names[#names + 1] = tostring(k) end
  table.sort(names)
  return #names > 0 and table.concat(names, ", ") or "nothing"
end

-- asp.params{fast = 20, slow = 50}: declares the parameters with their
-- defaults. A --param the script does not declare is then an error (checked
-- before any combination of a sweep starts), a number default takes only
-- numbers, and reading an undeclared name is an error. Returns asp.params.
function params_mt.__call(t, defaults)
  if type(defaults) ~= "table" then
    error("asp.params: bad argument #1 (a table of names and default values expected, got "
      .. type(defaults) .. ")", 2)
  end
  for k, v in pairs(defaults) do
    if type(k) ~= "string" or not k:match("^[%a_][%w_]*$") then
      error("asp.params: the names must be identifiers (got " .. tostring(k) .. ")", 2)
    end
    local tv = type(v)
    if tv ~= "number" and tv ~= "string" and tv ~= "boolean" then
      error(("asp.params: the default of '%s' must be a number, a string or a boolean (got %s)"):format(k, tv), 2)
    end
  end
  for _, name in ipairs(M.names) do
    if defaults[name] == nil then
      error(("asp.params: unknown --param '%s' (the script declares %s)"):format(name, M.list(defaults)), 2)
    end
  end
  -- A sweep's grid is checked here, in the sweep's process, before it forks.
  if M.check_grid then M.check_grid(defaults) end
  pass_gate()
  for k, v in pairs(defaults) do
    local given = M.given[k]
    if given ~= nil and type(v) == "number" and type(given) ~= "number" then
      error(("asp.params: --param %s=%s: a number expected (the default is %s)"):format(
        k, tostring(given), tostring(v)), 2)
    end
    if rawget(t, k) == nil then rawset(t, k, v) end
  end
  M.declared = defaults
  return t
end

params_mt.__metatable = false
M.params = setmetatable(params, params_mt)

local function check_field(k, v)
  if type(k) ~= "string" or not k:match("^[%a_][%w_]*$") then
    error("asp.result: field names must be identifiers (got " .. tostring(k) .. ")", 3)
  end
  if M.RESERVED[k] then
    error(("asp.result: '%s' is a column the sweep adds (status, error, wall_s): choose another name"):format(k), 3)
  end
  if M.given[k] ~= nil then
    error(("asp.result: '%s' is also a parameter's name"):format(k), 3)
  end
  local tv = type(v)
  if tv ~= "number" and tv ~= "string" and tv ~= "boolean" then
    error(("asp.result: field '%s' is a %s (numbers, strings and booleans only)"):format(k, tv), 3)
  end
end

-- asp.result{pnl = …, trades = …}: merges the fields into the run's result
-- row (a field given again takes the new value). asp.result() returns a copy
-- of the row so far, or nil.
function M.set_result(fields)
  pass_gate()
  if fields == nil then
    if not M.result then return nil end
    local copy = {}
    for k, v in pairs(M.result) do copy[k] = v end
    return copy
  end
  if type(fields) ~= "table" then
    error("asp.result: bad argument #1 (a table of fields expected, got " .. type(fields) .. ")", 2)
  end
  for k, v in pairs(fields) do check_field(k, v) end
  local r = M.result or {}
  for k, v in pairs(fields) do r[k] = v end
  M.result = r
end

-- asp.shared(fn): fn() once. In a sweep, where it is called before the
-- script needs its parameters, that once is in the sweep's process, before
-- the combinations fork: they inherit what it returned, copy-on-write.
local warned_late = false
function M.shared(fn)
  if type(fn) ~= "function" then
    error("asp.shared: bad argument #1 (a function expected, got " .. type(fn) .. ")", 2)
  end
  if M.forked and not warned_late then
    warned_late = true
    io.stderr:write("asp-lua sweep: warning: asp.shared is called after the script needed its "
      .. "parameters (asp.params, asp.result, asp.run): it runs once per combination\n")
  end
  if not M.gate then return fn() end
  -- In the sweep's process, before the fork: its asp.run loads, it does not fork.
  M.in_shared = M.in_shared + 1
  local r = { n = 0 }
  local function keep(ok, ...)
    r.n = select("#", ...)
    for i = 1, r.n do r[i] = (select(i, ...)) end
    return ok
  end
  local ok = keep(xpcall(fn, debug.traceback))
  M.in_shared = M.in_shared - 1
  if not ok then error(r[1], 0) end
  return unpack(r, 1, r.n)
end

-- asp.run, passing the sweep's fork point first.
function M.wrap_run(run)
  return function(...)
    if M.gate and M.in_shared == 0 then pass_gate() end
    return run(...)
  end
end

return M
