-- Loaded by busted before any spec (.busted: helper): after every spec, the
-- engine must hold no more item ids, libuv handles or registry references
-- than before it. A run that ends (or is stopped, or fails) gives back
-- everything it took; a spec that leaves a run paused must end it. Counted
-- against the state before each spec, so that one leak fails one spec.
local busted = require("busted") -- the API of the running busted, hooks included
local h = require("helpers")

local before, spec

busted.subscribe({ "test", "start" }, function(element)
  spec = element.name
end)

busted.before_each(function()
  before = h.leftovers()
end)

busted.after_each(function()
  local now = h.leftovers()
  local left = {}
  if now.ids > before.ids then left[#left + 1] = (now.ids - before.ids) .. " item id(s) taken" end
  if now.handles > before.handles then left[#left + 1] = (now.handles - before.handles) .. " libuv handle(s) open" end
  if now.refs > before.refs then left[#left + 1] = (now.refs - before.refs) .. " registry reference(s)" end
  if #left > 0 then
    error(("the spec %q left behind: %s"):format(spec or "?", table.concat(left, ", ")), 0)
  end
end)
