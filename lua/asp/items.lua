-- The kinds of scheduled item, each declared once, here or in the module
-- that owns it: what runs an item of the kind, and how one describes itself.
-- The dispatcher (sched.lua) runs items through `run`; asp.debug (.queue,
-- the status and break lines) and asp.stats() (items queued, by kind) read
-- the declarations. Adding a kind means one declare() call, nothing else.
local M = {}

-- kind -> run(payload, id): the dispatcher's table, indexed once per item.
M.run = {}
-- kind -> { run = …, describe = … }
M.kinds = {}

--[[
declare(kind, {
  run = function(payload, id) … end,      -- runs the item (the id is its own)
  describe = function(payload) … end,     -- returns a short text and, where
                                          -- it helps, the function (or the
                                          -- sleeping coroutine) it will run
})
]]
function M.declare(kind, d)
  if type(kind) ~= "string" or type(d) ~= "table" or type(d.run) ~= "function"
      or type(d.describe) ~= "function" then
    error("asp.items.declare: a kind name and {run = fn, describe = fn} expected", 2)
  end
  if M.kinds[kind] then error("asp.items.declare: kind '" .. kind .. "' is declared twice", 2) end
  M.kinds[kind] = d
  M.run[kind] = d.run
  return kind
end

-- The text (and function or coroutine) that describes an item.
function M.describe(kind, payload)
  local d = M.kinds[kind]
  if d == nil then return "item of kind " .. tostring(kind) end
  return d.describe(payload)
end

return M
