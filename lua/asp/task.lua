-- What every task (a process_stream or a timer) has in common: it is made
-- by its module, started once, and described in error messages.
local sched = require("asp.sched")

local M = {}

-- Makes a task class: `start(task)` runs when the task's start item is due.
function M.class(start)
  local methods = {}
  local mt = { __index = methods }
  sched.task_mt[mt] = start
  -- A task runs once: a second asp.run, spawn or call_later of it is an error.
  function methods:claim(where)
    if self.claimed then
      error(where .. ": " .. self:describe() .. " was already started (a task runs once; make a new one)", 3)
    end
    self.claimed = true
  end
  -- The ns of the task's first event, when it has one (streams override).
  function methods:prepare() return nil end
  return methods, mt
end

-- Checks an options table against the allowed keys, so that a misspelt
-- option is an error rather than silently ignored.
function M.check_options(fname, opts, allowed)
  if type(opts) ~= "table" then
    error(fname .. ": bad argument #1 (a table of options expected, got " .. type(opts) .. ")", 3)
  end
  for k in pairs(opts) do
    if not allowed[k] then
      error(fname .. ": unknown option '" .. tostring(k) .. "'", 3)
    end
  end
end

function M.check_function(fname, opts, key, required)
  local v = opts[key]
  if v == nil and not required then return end
  if type(v) ~= "function" then
    error(("%s: option '%s' must be a function (got %s)"):format(fname, key, type(v)), 3)
  end
end

return M
