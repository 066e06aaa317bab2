-- asp.writer: CSV and JSON-lines results files that are never half-written
-- (docs/results.md). The rows are buffered and formatted in C
-- (engine/writer.c); this module checks them and owns the writers' lives.
local ffi = require("ffi")
local cffi = require("asp.cffi")
local sched = require("asp.sched")
local time = require("asp.time")

local C, S = cffi.C, cffi.S
local is_time = time.is_time
local type, error, tostring, pairs, ffi_string = type, error, tostring, pairs, ffi.string

local M = {}
M.all = {}                 -- every writer made, in order (the report shows them)
local open_by_key = {}     -- resolved final path -> the open writer on it

local FORMATS = { csv = 0, jsonl = 1 }
local OPTIONS = { format = true, columns = true, append = true, flush = true, time = true }

local Writer = {}
Writer.__index = Writer

-- " at <virtual time>" inside a run, for error messages.
local function at()
  if sched.is_running() then return " at " .. time.format_ns(C.asp_sched_now(S)) end
  return ""
end

local function c_error(cw)
  return ffi_string(C.asp_writer_error(cw))
end

local reload_role = C.asp_reload_role()

local function forget(self)
  if open_by_key[self.key] == self then open_by_key[self.key] = nil end
  if reload_role ~= 0 and self.cw ~= nil then C.asp_reload_writer(self.cw, 0) end
  self.cw = nil
end

-- Ends a writer whose file failed (disk full, I/O error) and raises.
local function fail(self)
  local cw = self.cw
  local msg = c_error(cw)
  C.asp_writer_abort(cw, 0)
  forget(self)
  self.error = msg
  error("asp.writer: " .. msg .. at(), 3)
end

M.raise = fail

local function check_opts(path, opts)
  if type(path) ~= "string" or path == "" then
    error("asp.writer: bad argument #1 (a file path expected, got " .. type(path) .. ")", 3)
  end
  if type(opts) ~= "table" then
    error("asp.writer: bad argument #2 (a table of options with columns expected, got " .. type(opts) .. ")", 3)
  end
  for k in pairs(opts) do
    if not OPTIONS[k] then error("asp.writer: unknown option " .. tostring(k), 3) end
  end
  local fmt = opts.format or (path:match("%.jsonl$") or path:match("%.ndjson$")) and "jsonl" or "csv"
  if FORMATS[fmt] == nil then
    error("asp.writer: format must be 'csv' or 'jsonl' (got " .. tostring(fmt) .. ")", 3)
  end
  local cols = opts.columns
  if type(cols) ~= "table" or #cols == 0 then
    error("asp.writer: opts.columns must be a non-empty array of column names", 3)
  end
  local seen = {}
  for i = 1, #cols do
    local c = cols[i]
    if type(c) ~= "string" or c == "" then
      error(("asp.writer: columns[%d] must be a non-empty string (got %s)"):format(i, type(c)), 3)
    end
    if seen[c] then error("asp.writer: column '" .. c .. "' is given twice", 3) end
    seen[c] = true
  end
  local flush = opts.flush == nil and 1 or opts.flush
  if type(flush) ~= "number" or not (flush > 0) then
    error("asp.writer: opts.flush must be a number of seconds > 0", 3)
  end
  if opts.time ~= nil and opts.time ~= "iso" and opts.time ~= "ns" then
    error("asp.writer: opts.time must be 'iso' or 'ns' (got " .. tostring(opts.time) .. ")", 3)
  end
  if opts.append ~= nil and type(opts.append) ~= "boolean" then
    error("asp.writer: opts.append must be a boolean", 3)
  end
  return fmt, seen, flush
end

-- asp.writer(path, {format =, columns =, append =, flush =, time =}) -> writer
function M.writer(path, opts)
  local fmt, colset, flush = check_opts(path, opts)
  local cols = {}
  for i = 1, #opts.columns do cols[i] = opts.columns[i] end
  local append = opts.append
  -- A --reload rebuild takes over the old code's files: it appends to them
  -- (its catch-up writes nothing; after the handover its rows follow the
  -- old code's), never replaces them with a file of its own.
  if append == nil then append = sched.is_live() or C.asp_reload_replaying() ~= 0 end
  local err = ffi.new("char[512]")
  local cw = C.asp_writer_open(path, FORMATS[fmt], append and 1 or 0, err, 512)
  if cw == nil then error("asp.writer: " .. ffi_string(err), 2) end
  local key = ffi_string(C.asp_writer_key(cw))
  if open_by_key[key] then
    C.asp_writer_abort(cw, 0)
    C.asp_writer_free(cw)
    error("asp.writer: '" .. path .. "' is already open in another writer", 2)
  end
  for i = 1, #cols do
    if C.asp_writer_column(cw, i - 1, cols[i], #cols[i]) ~= 0 then
      C.asp_writer_abort(cw, 0)
      C.asp_writer_free(cw)
      error("asp.writer: column name '" .. cols[i] .. "' cannot be written (not UTF-8?)", 2)
    end
  end
  C.asp_writer_set_flush(cw, flush * 1e9)
  local self = setmetatable({
    path = path, key = key, format = fmt, columns = cols, ncol = #cols, colset = colset,
    append = append, as_ns = opts.time == "ns" and 1 or 0, rows = 0,
  }, Writer)
  -- A writer dropped unclosed outside a run: its rows stay in the temp file.
  self.cw = ffi.gc(cw, function(c)
    local temp = C.asp_writer_temp(c)
    if temp ~= nil and self.cw ~= nil then
      io.stderr:write(("asp.writer: '%s' was never closed: '%s' not written; its rows are in '%s'\n")
        :format(path, path, ffi_string(temp)))
    end
    if reload_role ~= 0 then C.asp_reload_writer(c, 0) end
    C.asp_writer_free(c)
  end)
  open_by_key[key] = self
  M.all[#M.all + 1] = self
  -- --reload: the instance commits its writers when it stops at the
  -- handover. An appended file's header is decided at the first row a
  -- rebuild really writes (after the handover: the old rows are there).
  if reload_role ~= 0 then C.asp_reload_writer(cw, 1) end
  if append and C.asp_reload_replaying() ~= 0 then
    self.header_due = true
  elseif C.asp_writer_header(cw) ~= 0 then
    fail(self)
  end
  if not append and sched.is_running() then
    -- A replay that goes live: what was written so far is committed under
    -- the final name, and the file is appended to from then on, flushed
    -- every `flush` seconds (docs/results.md).
    sched.at_live(function()
      if self.cw ~= nil and not self.append then
        if C.asp_writer_go_live(self.cw) ~= 0 then fail(self) end
        self.append = true
      end
    end)
  end
  return self
end

local function bad_value(self, cw, i, v, name)
  C.asp_writer_cancel_row(cw)
  if v == nil then
    error("asp.writer: row for '" .. self.path .. "' has no value for column '" .. name .. "'" .. at(), 3)
  end
  error(("asp.writer: row for '%s', column '%s': a %s cannot be written (number, string, boolean or Time)%s")
    :format(self.path, name, type(v), at()), 3)
end

-- w:write(row): row keyed by column name, or the values in column order.
function Writer:write(row)
  -- A --reload rebuild writes nothing: the old code wrote these rows.
  if C.asp_reload_replaying() ~= 0 then return end
  local cw = self.cw
  if cw == nil then
    error("asp.writer: write to '" .. self.path .. "' after close()" .. (self.error and " (it failed: " .. self.error .. ")" or ""), 2)
  end
  if type(row) ~= "table" then
    error("asp.writer: bad argument to write (a table expected, got " .. type(row) .. ")", 2)
  end
  if self.header_due then
    -- The first row after a --reload handover: the old code committed its
    -- file at the handover (a rename, maybe), so the path is opened again.
    self.header_due = nil
    if C.asp_writer_reopen(cw) ~= 0 or C.asp_writer_header(cw) ~= 0 then fail(self) end
  end
  local cols, n = self.columns, self.ncol
  local positional = row[1] ~= nil
  if positional then
    if row[n + 1] ~= nil then
      error(("asp.writer: row for '%s' has more than %d values (one per column)%s"):format(self.path, n, at()), 2)
    end
  else
    local colset = self.colset
    for k in pairs(row) do
      if not colset[k] then
        error(("asp.writer: row for '%s' has an unknown column '%s'%s"):format(self.path, tostring(k), at()), 2)
      end
    end
  end
  for i = 1, n do
    local v
    if positional then v = row[i] else v = row[cols[i]] end
    local tv, r = type(v), nil
    if tv == "number" then
      r = C.asp_writer_num(cw, i - 1, v)
    elseif tv == "string" then
      r = C.asp_writer_str(cw, i - 1, v, #v)
    elseif tv == "boolean" then
      r = C.asp_writer_bool(cw, i - 1, v and 1 or 0)
    elseif is_time(v) then
      r = C.asp_writer_time(cw, i - 1, v.ns_, self.as_ns)
    else
      bad_value(self, cw, i, v, cols[i])
    end
    if r ~= 0 then
      if r == -2 then
        error(("asp.writer: row for '%s', column '%s': the string is not valid UTF-8 (JSON lines need UTF-8)%s")
          :format(self.path, cols[i], at()), 2)
      end
      fail(self)
    end
  end
  if C.asp_writer_end_row(cw) ~= 0 then fail(self) end
  self.rows = self.rows + 1
end

-- Flushes the rows buffered so far to the file (the temp file in a replay).
function Writer:flush()
  local cw = self.cw
  if cw == nil then error("asp.writer: flush of '" .. self.path .. "' after close()", 2) end
  if C.asp_writer_flush(cw, self.append and 1 or 0) ~= 0 then fail(self) end
end

-- w:close(): the rows are on disk under the final name (renamed, fsynced).
-- A second close() does nothing.
function Writer:close()
  local cw = self.cw
  if cw == nil then return end
  if C.asp_writer_commit(cw) ~= 0 then fail(self) end
  forget(self)
end

-- Where the rows are now: the final file, or the temp file while open.
function Writer:current_path()
  local cw = self.cw
  if cw ~= nil then
    local temp = C.asp_writer_temp(cw)
    if temp ~= nil then return ffi_string(temp) end
  end
  return self.path
end

-- At a run's end every open writer ends with it: committed when the run
-- succeeded; after an error or an interrupt, appended files are flushed and
-- a replay's temp file is kept (and named on stderr) while the final name is
-- left untouched.
sched.cleanups[#sched.cleanups + 1] = function()
  local first_error
  for _, self in pairs(open_by_key) do
    local cw = self.cw
    if sched.run_failed and not self.append then
      C.asp_writer_abort(cw, 1)
      local temp = C.asp_writer_temp(cw)
      io.stderr:write(("asp.writer: the run did not finish: '%s' not written; its %d rows so far are in '%s'\n")
        :format(self.path, self.rows, temp ~= nil and ffi_string(temp) or "?"))
    elseif C.asp_writer_commit(cw) ~= 0 then
      self.error = c_error(cw)
      local msg = "asp.writer: " .. self.error .. " (at the end of the run)"
      -- A failed run raises its own error: say this one here.
      if sched.run_failed then io.stderr:write(msg, "\n") end
      first_error = first_error or msg
    end
    forget(self)
  end
  return first_error
end

return M
