-- The CSV decoder: the options of CSV decoding (spec), and the decoder that
-- turns parsed records into (Time, value), shared by the CSV file source
-- (lua/asp/sources/csv.lua) and the live sources' format = "csv"
-- (lua/asp/sources/live.lua).
--
-- The C side (engine/sources/csv.c) parses; here each record's fields
-- become Lua values, one FFI call or ffi.string per field, straight from
-- the C field buffer.
local ffi = require("ffi")
local cffi = require("asp.cffi")
local time = require("asp.time")

local C = cffi.C
local Time = time.ct
local ffi_string, tonumber, type, tostring, error = ffi.string, tonumber, type, tostring, error
local concat = table.concat
local new_tab = require("table.new")

local M = {}

local num_out = ffi.new("double[1]")
local int_out = ffi.new("int64_t[1]")
local ns_out = ffi.new("int64_t[1]")
local row_ns = ffi.new("int64_t[1]") -- the row's event time (ns_out is for time columns)

-- Time formats: ns per unit; 0 ISO-8601, -1 ISO-8601 or epoch seconds.
local TIME_FORMATS = { auto = -1, iso = 0, s = 1000000000, ms = 1000000, us = 1000, ns = 1 }
M.TIME_FORMATS = TIME_FORMATS

local TYPES = { auto = true, number = true, integer = true, string = true, time = true }

-- -- Options -------------------------------------------------------------------

local function opt_error(fname, msg)
  error(fname .. ": " .. msg, 4)
end

-- Checks the decoding options common to files and live sources; returns the
-- spec the decoder is built from once the header (if any) is known.
function M.spec(fname, opts, file_default_header)
  local spec = {}
  local d = opts.delimiter
  if d == nil then d = "," end
  if type(d) ~= "string" or #d ~= 1 or d == '"' or d == "\n" or d == "\r" then
    opt_error(fname, "option 'delimiter' must be one character other than a quote or newline (got " .. tostring(d) .. ")")
  end
  spec.delimiter = d
  local header = opts.header
  if header == nil then header = file_default_header and opts.names == nil end
  spec.header = header and true or false
  if opts.names ~= nil then
    if type(opts.names) ~= "table" then opt_error(fname, "option 'names' must be an array of column names") end
    spec.names = opts.names
  end
  local tf = opts.time_format
  if tf == nil then tf = "auto" end
  if TIME_FORMATS[tf] == nil then
    opt_error(fname, "option 'time_format' must be one of auto, iso, s, ms, us, ns (got " .. tostring(tf) .. ")")
  end
  spec.unit = TIME_FORMATS[tf]
  local tc = opts.time
  if tc ~= nil and tc ~= false and type(tc) ~= "string" and type(tc) ~= "number" then
    opt_error(fname, "option 'time' must be a column name or a 1-based index (got " .. type(tc) .. ")")
  end
  spec.time = tc
  local cols = opts.columns
  if cols ~= nil then
    if type(cols) ~= "table" then opt_error(fname, "option 'columns' must be a table") end
    local list = {}
    for i = 1, #cols do
      local c = cols[i]
      local name, ty = c, "auto"
      if type(c) == "string" and c:find(":", 1, true) then
        name, ty = c:match("^(.*):([%a]+)$")
      elseif type(c) == "table" then
        name, ty = c[1], c[2] or "auto"
      end
      if name == nil or not TYPES[ty] then
        opt_error(fname, "columns[" .. i .. "]: " .. tostring(c) .. " (a name, 'name:type' or {name, type} with type number, integer, string, time or auto)")
      end
      list[#list + 1] = { name = tonumber(name) or name, type = ty }
    end
    for k, v in pairs(cols) do
      if type(k) ~= "number" then
        if not TYPES[v] then opt_error(fname, "columns." .. tostring(k) .. " = " .. tostring(v) .. " (a type: number, integer, string, time or auto)") end
        list[#list + 1] = { name = k, type = v }
      end
    end
    spec.columns = list
  end
  local oe = opts.on_error
  if oe ~= nil and oe ~= "error" and oe ~= "skip" then
    opt_error(fname, "option 'on_error' must be 'error' or 'skip' (got " .. tostring(oe) .. ")")
  end
  spec.skip = oe == "skip"
  spec.strict_order = opts.strict_order and true or false
  return spec
end

-- -- Decoding ------------------------------------------------------------------

-- A decoder turns records into (Time, value). Its plan is built from the
-- first record (the header when there is one).
local Decoder = {}
Decoder.__index = Decoder

function M.decoder(spec, where, unpack_values)
  return setmetatable({ spec = spec, where = where, unpack = unpack_values,
    plan = nil, names = nil, nfields = nil, tindex = nil, skipped = 0 }, Decoder)
end

-- The row's text, for messages: the fields joined again, cut at 200 bytes
-- (without copying more than that of a huge row).
local function row_text(self, row)
  local t, n = {}, 0
  for i = 0, row.nfields - 1 do
    local len = row.stop[i] - row.start[i]
    t[#t + 1] = ffi_string(row.data + row.start[i], len < 201 and len or 201)
    n = n + len + 1
    if n > 201 then break end
  end
  local s = concat(t, self.spec.delimiter)
  if #s > 200 then s = s:sub(1, 200) .. "..." end
  return s
end

-- A field's text for a message, quoted: at most its first 64 bytes (a bad
-- 10 MB field is not echoed whole).
local SHOW_MAX = 64
local function show_field(p, len)
  if len <= SHOW_MAX then return "'" .. ffi_string(p, len) .. "'" end
  return ("'%s…' (%d bytes)"):format(ffi_string(p, SHOW_MAX), len)
end
M.show_field = show_field

local function bad(self, row, i, what)
  local col = ""
  if i then
    local name = self.names and self.names[i + 1]
    col = (", column %d (field %d%s)"):format(row.col[i], i + 1,
      name and (" '" .. tostring(name) .. "'") or "")
  end
  return ("%s: line %d%s: %s in: %s"):format(self.where, tonumber(row.line), col, what, row_text(self, row))
end

-- Builds the plan from the names (header, opts.names or 1..n).
function Decoder:build(names, nfields)
  local spec = self.spec
  self.names, self.nfields = names, nfields
  local index = {}
  local dups = {}
  for i = 1, nfields do
    local n = names[i]
    if n ~= nil then
      if index[n] == nil then index[n] = i
      else dups[#dups + 1] = ("'%s' (columns %d and %d)"):format(tostring(n), index[n], i) end
    end
  end
  -- Two columns of one name: a row's v.a would be the last, columns = {"a"}
  -- the first; neither silently.
  if #dups > 0 then
    error(("%s: duplicate column name%s in the %s: %s (every column needs a name of its own)"):format(self.where,
      #dups == 1 and "" or "s", spec.header and "header" or "option 'names'", concat(dups, ", ")), 0)
  end
  for i = 1, nfields do index[i] = index[i] or i end
  local function col_of(name, what)
    local i = type(name) == "number" and name or index[name]
    if i == nil or i < 1 or i > nfields then
      error(("%s: %s: no column %s (columns: %s)"):format(self.where, what, tostring(name),
        concat(names, ", ")), 0)
    end
    return i
  end
  local tc = spec.time
  if tc == nil and spec.require_time then
    tc = index["time"] and "time" or 1
  end
  if tc ~= nil and tc ~= false then self.tindex = col_of(tc, "option 'time'") - 1 end
  local plan = {}
  if spec.columns then
    for k, c in ipairs(spec.columns) do
      local i = col_of(c.name, "option 'columns'")
      plan[#plan + 1] = { i - 1, self.unpack and k or names[i] or i, c.type }
    end
  else
    for i = 1, nfields do
      if i - 1 ~= self.tindex then
        plan[#plan + 1] = { i - 1, names[i] or i, "auto" }
      end
    end
    if self.unpack then
      for k = 1, #plan do plan[k][2] = k end
    end
  end
  self.plan = plan
  self.nplan = #plan
  self.fill = self:compile(false)
  if spec.c_plan and self.tindex then self:make_c_plan() end
end

-- Compiles the plan into a function with one straight block per column: no
-- inner loop, so the JIT compiles the whole row path into one trace.
--
-- Keyed rows (the default) are built by one table constructor at the end,
-- `{["bid"] = x1, …}`: LuaJIT makes it from a template with the keys already
-- in place (TDUP), where filling a new_tab key by key inserts each key
-- (lj_tab_newkey, ~3x slower per row). An empty field leaves its local nil,
-- which is the same to Lua as an absent key. Arrays (unpack) are filled
-- element by element, so that a nil ends the array where the docs say.
local FIELD = {
  -- A field that starts with a letter is no number (not even inf or nan
  -- for asp_parse_number): a string without the call.
  auto = [[
  s = start[%d]; len = stop[%d] - s
  if len > 0 then
    local c = bor(data[s], 32)
    if (c < 97 or c > 122) and parse_number(data + s, len, num_out) ~= 0 then %s = num_out[0]
    else %s = ffi_string(data + s, len) end
  end
]],
  string = [[
  s = start[%d]; len = stop[%d] - s
  %s = ffi_string(data + s, len)
]],
  number = [[
  s = start[%d]; len = stop[%d] - s
  if len > 0 then
    if parse_number(data + s, len, num_out) == 0 then
      return self:reject(row, %d, "invalid number " .. show_field(data + s, len))
    end
    %s = num_out[0]
  end
]],
  integer = [[
  s = start[%d]; len = stop[%d] - s
  if len > 0 then
    if parse_integer(data + s, len, int_out) == 0 then
      return self:reject(row, %d, "invalid integer " .. show_field(data + s, len))
    end
    %s = tonumber(int_out[0])
  end
]],
  time = [[
  s = start[%d]; len = stop[%d] - s
  if len > 0 then
    if parse_time(data + s, len, unit, ns_out) == 0 then
      return self:reject(row, %d, "invalid time " .. show_field(data + s, len))
    end
    %s = Time(ns_out[0])
  end
]],
}

-- The same columns read from a row that a C plan (engine/sources/csv_plan.c)
-- converted in the parser's call: kind 1 a number, 2 a string (by its id in
-- the column's table S<k>, or made from the field when it has none yet), 0
-- an empty field (nil). Integer and time columns keep the blocks above.
local FAST = {
  auto = [[
  kd = vals[%d].kind
  if kd == 1 then %s = vals[%d].num
  elseif kd == 2 then %s = S%d[vals[%d].sid] or text(S%d, vals[%d].sid, data, start[%d], stop[%d]) end
]],
  number = [[
  if vals[%d].kind == 1 then %s = vals[%d].num end
]],
  string = [[
  %s = S%d[vals[%d].sid] or text(S%d, vals[%d].sid, data, start[%d], stop[%d])
]],
}

-- A string a plan gave id sid (0: none), kept in S for the rows after.
local function text(S, sid, data, s, e)
  local x = ffi_string(data + s, e - s)
  if sid > 0 then S[sid] = x end
  return x
end

-- Clears a reused array after its first nil.
local function cut_array(v, n)
  for k = 1, n do
    if v[k] == nil then
      for j = k + 1, n do v[j] = nil end
      return
    end
  end
end

-- Above this many columns a row is filled key by key (a function has at
-- most 200 locals).
local MAX_LOCALS = 150

-- Above this many columns no code is generated: a loop over the plan fills
-- the row. Generated code grows with the columns, and past ~65,000 it
-- exceeds what one Lua function may hold ("more than 65476 local
-- variables"; 10^6 columns took 15 s and 1.1 GB to compile). The loop has
-- no limit but the record's (16 MiB).
local MAX_COMPILED = 1000

local bor = bit.bor
local parse_number, parse_integer, parse_time = C.asp_parse_number, C.asp_parse_integer, C.asp_parse_time

local function fill_loop(self, row)
  local data, start, stop = row.data, row.start, row.stop
  local plan, n, unit = self.plan, self.nplan, self.spec.unit
  local v = self.unpack and new_tab(n, 0) or new_tab(0, n)
  for k = 1, n do
    local p = plan[k]
    local i, ty = p[1], p[3]
    local s = start[i]
    local len = stop[i] - s
    local x
    if ty == "string" then
      x = ffi_string(data + s, len)
    elseif len > 0 then
      if ty == "auto" then
        local c = bor(data[s], 32)
        if (c < 97 or c > 122) and parse_number(data + s, len, num_out) ~= 0 then x = num_out[0]
        else x = ffi_string(data + s, len) end
      elseif ty == "number" then
        if parse_number(data + s, len, num_out) == 0 then
          return self:reject(row, i, "invalid number " .. show_field(data + s, len))
        end
        x = num_out[0]
      elseif ty == "integer" then
        if parse_integer(data + s, len, int_out) == 0 then
          return self:reject(row, i, "invalid integer " .. show_field(data + s, len))
        end
        x = tonumber(int_out[0])
      else
        if parse_time(data + s, len, unit, ns_out) == 0 then
          return self:reject(row, i, "invalid time " .. show_field(data + s, len))
        end
        x = Time(ns_out[0])
      end
    end
    v[p[2]] = x
  end
  return v
end

-- fast: the function reads the values of a C plan (fill_fast(self, row,
-- vals)) where it can, instead of converting the fields.
function Decoder:compile(fast)
  if self.nplan > MAX_COMPILED then return fill_loop end
  local src = { [[
local C, ffi_string, new_tab, Time, num_out, int_out, ns_out, unit, tonumber, cut_array, bor, show_field, text, strs = ...
local parse_number, parse_integer, parse_time = C.asp_parse_number, C.asp_parse_integer, C.asp_parse_time
]] }
  local n = self.nplan
  if fast then
    for k = 1, n do
      local ty = self.plan[k][3]
      if ty == "auto" or ty == "string" then src[#src + 1] = ("local S%d = strs[%d]\n"):format(k, k) end
    end
  end
  src[#src + 1] = [[
return function(self, row, vals)
  local data, start, stop = row.data, row.start, row.stop
  local s, len, kd
]]
  local reuse = self.spec.reuse and n <= MAX_LOCALS
  local locals = reuse or (not self.unpack and n <= MAX_LOCALS)
  local keys = {}
  if reuse then
    -- reuse = true: every row is the same table, overwritten by the next one.
    self.row_v = self.unpack and new_tab(n, 0) or new_tab(0, n)
  end
  if locals then
    for k = 1, n do src[#src + 1] = ("  local x%d\n"):format(k) end
  else
    src[#src + 1] = self.unpack and ("  local v = new_tab(%d, 0)\n"):format(n) or ("  local v = new_tab(0, %d)\n"):format(n)
  end
  for k = 1, n do
    local p = self.plan[k]
    local i, key, ty = p[1], p[2], p[3]
    local kq = type(key) == "number" and tostring(key) or ("%q"):format(key)
    keys[k] = kq
    local dst = locals and ("x" .. k) or ("v[" .. kq .. "]")
    local kk = k - 1
    if fast and ty == "auto" then
      src[#src + 1] = FAST.auto:format(kk, dst, kk, dst, k, kk, k, kk, i, i)
    elseif fast and ty == "number" then
      src[#src + 1] = FAST.number:format(kk, dst, kk)
    elseif fast and ty == "string" then
      src[#src + 1] = FAST.string:format(dst, k, kk, k, kk, i, i)
    elseif ty == "auto" then
      src[#src + 1] = FIELD.auto:format(i, i, dst, dst)
    elseif ty == "string" then
      src[#src + 1] = FIELD.string:format(i, i, dst)
    else
      src[#src + 1] = FIELD[ty]:format(i, i, i, dst)
    end
  end
  if reuse then
    src[#src + 1] = "  local v = self.row_v\n"
    local maybe_nil = {}
    for k = 1, n do
      src[#src + 1] = ("  v[%s] = x%d\n"):format(keys[k], k)
      if self.plan[k][3] ~= "string" then maybe_nil[#maybe_nil + 1] = ("x%d == nil"):format(k) end
    end
    if self.unpack and #maybe_nil > 0 then
      -- As with a new array, a nil ends it: clear what follows the first one.
      src[#src + 1] = "  if " .. table.concat(maybe_nil, " or ") .. " then cut_array(v, " .. n .. ") end\n"
    end
    src[#src + 1] = "  return v\nend\n"
  elseif locals then
    local fields = {}
    for k = 1, n do fields[k] = ("[%s] = x%d"):format(keys[k], k) end
    src[#src + 1] = "  return { " .. table.concat(fields, ", ") .. " }\nend\n"
  else
    src[#src + 1] = "  return v\nend\n"
  end
  local chunk = assert(loadstring(table.concat(src), "=asp.csv row decoder"))
  return chunk(C, ffi_string, new_tab, Time, num_out, int_out, ns_out, self.spec.unit, tonumber, cut_array, bit.bor,
    show_field, text, self.strs)
end

-- The C plan of a file's rows (spec.c_plan, set by lua/asp/sources/csv.lua):
-- which field each column is and how C converts it; fill_fast reads its
-- values. The reader hands c_plan to asp_csvfile_set_plan.
local PLAN_TYPES = { auto = C.ASP_PLAN_AUTO, number = C.ASP_PLAN_NUMBER, string = C.ASP_PLAN_STRING }

function Decoder:make_c_plan()
  local n = self.nplan
  if n > MAX_COMPILED then return end -- fill_loop's rows: no generated code to read the values
  local plan = C.asp_csv_plan_new(self.nfields, self.tindex, self.spec.unit, n)
  if plan == nil then return end -- out of memory: rows take the Lua conversions
  plan = ffi.gc(plan, C.asp_csv_plan_free)
  self.strs = {}
  for k = 1, n do
    local p = self.plan[k]
    C.asp_csv_plan_column(plan, k - 1, p[1], PLAN_TYPES[p[3]] or C.ASP_PLAN_LUA)
    self.strs[k] = {}
  end
  self.c_plan = plan
  self.fill_fast = self:compile(true)
end

-- Takes a record: the header (returns nil, nil), or a row. Returns
-- (Time or nil, value) or raises/counts a bad row (returns false).
function Decoder:take(row, arrival)
  local nf = row.nfields
  if self.plan == nil then
    local spec = self.spec
    if spec.header then
      local names = {}
      for i = 0, nf - 1 do names[i + 1] = ffi_string(row.data + row.start[i], row.stop[i] - row.start[i]) end
      self:build(names, nf)
      return nil
    end
    self:build(spec.names or {}, spec.names and #spec.names or nf)
  end
  if nf ~= self.nfields then
    return self:reject(row, nil, ("%d fields where the header has %d"):format(nf, self.nfields))
  end
  local data, start, stop = row.data, row.start, row.stop
  local ti = self.tindex
  if ti then
    local s = start[ti]
    if C.asp_parse_time(data + s, stop[ti] - s, self.spec.unit, row_ns) == 0 then
      return self:reject(row, ti, "invalid time " .. show_field(data + s, stop[ti] - s))
    end
  end
  local v = self:fill(row)
  if v == false then return false end
  -- The Time is made last, next to the return: made before fill's FFI
  -- calls, the JIT kept it allocated (CNEW) instead of sinking it.
  if ti then return Time(row_ns[0]), v end
  if arrival then return Time(arrival), v end
  return nil, v
end

-- Called as an upvalue on the hot path (sources/csv.lua): no lookup through
-- the metatable.
M.take = Decoder.take

function Decoder:reject(row, i, what)
  local msg = bad(self, row, i, what)
  if self.spec.skip then
    self.skipped = self.skipped + 1
    return false
  end
  error(msg, 0)
end

return M
