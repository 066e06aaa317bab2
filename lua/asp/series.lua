-- asp.record / asp.series: numeric series in compact memory (16 bytes a
-- point in two C arrays, engine/series.c), and --record's long CSV.
local ffi = require("ffi")
local cffi = require("asp.cffi")
local sched = require("asp.sched")
local time = require("asp.time")

local C, S = cffi.C, cffi.S
local Time, is_time = time.ct, time.is_time
local type, error, tostring = type, error, tostring
local HUGE = math.huge

local M = {}
local store = {}    -- name -> { c = asp_series*, t = int64_t*, v = double*, n, cap }
local names = {}    -- in the order of their first point

local function new_series(name)
  local c = C.asp_series_new()
  if c == nil then error("asp.record: out of memory for series '" .. name .. "'", 3) end
  local s = { c = ffi.gc(c, C.asp_series_free), t = nil, v = nil, n = 0, cap = 0, name = name }
  store[name] = s
  names[#names + 1] = name
  return s
end

-- asp.record(name, value [, time]): value a finite number; time a Time, by
-- default asp.now(). Times of one series never go back.
function M.record(name, value, t)
  if type(name) ~= "string" then
    error("asp.record: bad argument #1 (a series name expected, got " .. type(name) .. ")", 2)
  end
  if type(value) ~= "number" or value ~= value or value == HUGE or value == -HUGE then
    error(("asp.record: series '%s': value %s is not a finite number"):format(name, tostring(value)), 2)
  end
  local ns
  if t == nil then
    ns = sched.is_running() and C.asp_sched_now(S) or C.asp_time_wall()
  elseif is_time(t) then
    ns = t.ns_
  else
    error(("asp.record: series '%s': bad argument #3 (a Time expected, got %s)"):format(name, type(t)), 2)
  end
  local s = store[name] or new_series(name)
  local n = s.n
  if n > 0 and ns < s.t[n - 1] then
    error(("asp.record: series '%s': time %s is before its last point %s"):format(
      name, time.format_ns(ns), time.format_ns(s.t[n - 1])), 2)
  end
  if n == s.cap then
    if C.asp_series_grow(s.c) ~= 0 then error("asp.record: out of memory for series '" .. name .. "'", 2) end
    s.t, s.v, s.cap = s.c.t, s.c.v, tonumber(s.c.cap)
  end
  s.t[n] = ns
  s.v[n] = value
  s.n = n + 1
  s.c.n = n + 1
end

-- asp.series(name) -> iterator of (Time, value); asp.series() -> the names.
function M.series(name)
  if name == nil then
    local t = {}
    for i = 1, #names do t[i] = names[i] end
    table.sort(t)
    return t
  end
  local s = store[name]
  if s == nil then
    error("asp.series: no series '" .. tostring(name) .. "' (recorded: " .. table.concat(M.series(), ", ") .. ")", 2)
  end
  local i, n = -1, s.n
  return function()
    i = i + 1
    if i >= n then return nil end
    return Time(s.t[i]), s.v[i]
  end
end

-- The raw store of a series (for the report): { t, v, n } or nil.
function M.get(name)
  return store[name]
end

-- Writes every series in long format (time,series,value), ordered by time
-- (ties by name), through an atomic writer.
function M.write_all(path)
  local writer = require("asp.writer")
  local w = writer.writer(path, { format = "csv", columns = { "time", "series", "value" } })
  local list = M.series()
  local k = #list
  local ss, pos = {}, {}
  for i = 1, k do ss[i], pos[i] = store[list[i]], 0 end
  local cw = w.cw
  while true do
    local best, bt = nil, nil
    for i = 1, k do
      local p = pos[i]
      if p < ss[i].n then
        local t = ss[i].t[p]
        if best == nil or t < bt then best, bt = i, t end
      end
    end
    if best == nil then break end
    local s, p = ss[best], pos[best]
    local name = list[best]
    if C.asp_writer_time(cw, 0, s.t[p], 0) ~= 0 or C.asp_writer_str(cw, 1, name, #name) ~= 0
      or C.asp_writer_num(cw, 2, s.v[p]) ~= 0 or C.asp_writer_end_row(cw) ~= 0 then
      writer.raise(w)
    end
    pos[best] = p + 1
    w.rows = w.rows + 1
  end
  w:close()
  return path
end

return M
