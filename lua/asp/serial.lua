-- Values as Lua source that gives them back: what the REPL's .keep carries
-- across .back and asp.keep across a reload (the text goes through shared
-- memory or a file, from one process to another). Numbers, strings,
-- booleans, Times (when allowed) and plain tables of them, nested, without
-- metatables or cycles.
local time = require("asp.time")

local Time, is_time = time.ct, time.is_time
local M = {}

local function encode(v, where, times, seen, out)
  local tv = type(v)
  if tv == "number" then
    if v ~= v then out[#out + 1] = "0/0"
    elseif v == math.huge then out[#out + 1] = "1/0"
    elseif v == -math.huge then out[#out + 1] = "-1/0"
    else out[#out + 1] = ("%.17g"):format(v) end
  elseif tv == "string" then
    out[#out + 1] = ("%q"):format(v)
  elseif tv == "boolean" then
    out[#out + 1] = tostring(v)
  elseif times and is_time(v) then
    out[#out + 1] = "T(" .. tostring(v.ns_):gsub("[UL]+$", "") .. "LL)"
  elseif tv == "table" and getmetatable(v) == nil then
    if seen[v] then error(where .. " refers to itself (a cycle)", 0) end
    seen[v] = true
    out[#out + 1] = "{"
    for k, x in pairs(v) do
      local tk = type(k)
      if tk ~= "number" and tk ~= "string" and tk ~= "boolean" then
        error(where .. " has a key of type " .. tk, 0)
      end
      out[#out + 1] = "["
      encode(k, where, times, seen, out)
      out[#out + 1] = "]="
      encode(x, ("%s[%s]"):format(where, type(k) == "string" and ("%q"):format(k) or tostring(k)), times, seen, out)
      out[#out + 1] = ","
    end
    out[#out + 1] = "}"
    seen[v] = nil
  else
    error(where .. " is " .. (tv == "table" and "a table with a metatable" or ("a " .. tv)), 0)
  end
end

-- The text of v; raises "<where>… is a function" (and the like) naming the
-- part that cannot be kept. times: Times may be kept too.
function M.encode(v, where, times)
  local out = {}
  encode(v, where, times, {}, out)
  return table.concat(out)
end

-- The value of a text made by encode; raises on text that is not one.
function M.decode(text)
  local f = assert(loadstring("return " .. text, "=kept"))
  setfenv(f, { T = function(ns) return Time(ns) end })
  return f()
end

return M
