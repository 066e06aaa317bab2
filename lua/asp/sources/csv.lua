-- asp.csv: CSV files as past sources (and, with follow = true, as the live
-- future too). The C side (engine/sources/reader.c) reads and parses the
-- file; lua/asp/csv_decoder.lua turns its records into (Time, value).
--
-- With follow = true the reader is also its stream's future: the native
-- future protocol (_open, _arm, _pull, _close; lua/asp/sources/live.lua)
-- over the follow-mode watch (engine/sources/watch.c), which wakes the
-- stream when the file may have grown.
local ffi = require("ffi")
local cffi = require("asp.cffi")
local time = require("asp.time")
local decoder = require("asp.csv_decoder")

local C = cffi.C
local Time = time.ct
local ffi_string, tonumber, type, tostring, error = ffi.string, tonumber, type, tostring, error
local decoder_take = decoder.take

local Reader = {}
Reader.__index = Reader
local past_mt = { __index = Reader, __asp_past = true }
local follow_mt = { __index = Reader, __asp_past = true, __asp_future = true }

local OPTIONS = {
  header = true, names = true, delimiter = true, time = true, time_format = true,
  columns = true, on_error = true, strict_order = true, follow = true, unpack = true,
  reuse = true,
}

local err_buf = ffi.new("char[400]")

local function csv(path, opts)
  local F = "asp.csv"
  -- Many files as one stream: a table of paths or a glob (lua/asp/csv_files.lua).
  if type(path) == "table" or (type(path) == "string" and require("asp.csv_files").is_glob(path)) then
    local chain = require("asp.csv_files").open(csv, path, opts, 3) -- (not a tail call: level 3 is the caller)
    return chain
  end
  if type(path) ~= "string" then
    error(F .. ": bad argument #1 (a file path expected, got " .. type(path) .. ")", 2)
  end
  opts = opts or {}
  if type(opts) ~= "table" then error(F .. ": bad argument #2 (a table of options expected)", 2) end
  for k in pairs(opts) do
    if not OPTIONS[k] then error(F .. ": unknown option '" .. tostring(k) .. "'", 2) end
  end
  local spec = decoder.spec(F, opts, true)
  spec.require_time = true
  spec.reuse = opts.reuse and true or false
  spec.c_plan = true -- rows converted in the parser's call (engine/sources/csv_plan.c)
  if spec.time == false then error(F .. ": a file needs a time column (option 'time')", 2) end
  local f = C.asp_csvfile_open(path, spec.delimiter:byte(), err_buf, 400)
  if f == nil then
    error(F .. ": cannot open '" .. path .. "': " .. ffi_string(err_buf), 2)
  end
  f = ffi.gc(f, C.asp_csvfile_close)
  C.asp_csvfile_set_follow(f, opts.follow and 1 or 0)
  C.asp_csvfile_set_header(f, spec.header and 1 or 0)
  local self = setmetatable({
    path = path, f = f, row = C.asp_csvfile_record(f), spec = spec,
    dec = decoder.decoder(spec, "asp.csv: " .. path, opts.unpack),
    follow = opts.follow and true or false, last_ns = nil,
    out_of_order = 0, done = false,
  }, opts.follow and follow_mt or past_mt)
  return self
end

function Reader:skipped()
  return self.dec.skipped
end

local function finish(self)
  self.done = true
  if self.dec.skipped > 0 then
    io.stderr:write(("asp.csv: %s: skipped %d bad row%s\n"):format(self.path, self.dec.skipped,
      self.dec.skipped == 1 and "" or "s"))
  end
  if not self.follow then
    ffi.gc(self.f, nil)
    C.asp_csvfile_close(self.f)
    self.f = nil
  end
end

-- Checks the order of event times (strict_order makes going back an error).
local function check_order(self, t)
  local ns = t.ns_
  local last = self.last_ns
  if last ~= nil and ns < last and self.spec.strict_order then
    error(("asp.csv: %s: line %d: time %s is earlier than the previous row's %s (strict_order)"):format(
      self.path, tonumber(self.row.line), tostring(t), tostring(Time(last))), 0)
  end
  self.last_ns = ns
end

local function use_plan(self, plan)
  self.c_plan = plan -- kept alive with the reader while the file uses it
  self.vals, self.tns = C.asp_csv_plan_values(plan), C.asp_csv_plan_time(plan)
  C.asp_csvfile_set_plan(self.f, plan)
end

-- The next row as (Time, value); nil at the end of the file. follow: the
-- argument says to wait (returns false) rather than end at the end.
function Reader:next(live)
  if self.done and not live then return nil end
  local f = self.f
  if f == nil then return nil end
  local follow = (live or self.follow) and 1 or 0
  -- No loop here (a header or a skipped row takes a tail call), so that the
  -- JIT compiles the caller's loop and this path as one trace.
  local rc = C.asp_csvfile_next(f, follow)
  if rc == 2 then
    -- Converted by the plan in C: the decoder reads its values.
    local dec = self.dec
    local v = dec.fill_fast(dec, self.row, self.vals)
    if v ~= false then
      local t = Time(self.tns[0])
      if self.spec.strict_order then check_order(self, t) end
      return t, v
    end
    return self:next(live)
  elseif rc == 1 then
    local dec = self.dec
    local t, v = decoder_take(dec, self.row, nil)
    -- The header (or the first row) built the decoder and its plan: later
    -- rows are converted in C.
    if self.vals == nil and dec.c_plan ~= nil then use_plan(self, dec.c_plan) end
    if t then
      if self.spec.strict_order then check_order(self, t) end
      return t, v
    end
    return self:next(live)
  elseif rc == 0 then
    if live then return false end
    finish(self)
    return nil
  end
  error("asp.csv: " .. self.path .. ": " .. ffi_string(C.asp_csvfile_error(f)), 0)
end

-- -- follow = true: the same reader is the stream's live future. -------------

-- The watch (engine/sources/watch.c): wakes the stream when the file may
-- have grown; the reader reads it.
local watch_err = ffi.new("char[512]")
local function watch(path)
  local l = C.asp_live_new(0, 0)
  if l == nil then error("asp.csv: out of memory", 0) end
  if C.asp_live_watch(l, path, watch_err, 512) ~= 0 then
    C.asp_live_close(l)
    error("asp.csv: " .. path .. ": " .. ffi_string(watch_err), 0)
  end
  return l
end

function Reader:_open() end

-- Arming first looks for a row already there (the watch only reports
-- changes of the file's size after the stream last read it).
function Reader:_arm(id, order)
  if self.watch == nil then self.watch = watch(self.path) end
  local t, v = self:next(true)
  if t then
    self.pend_t, self.pend_v = t, v
    return C.asp_live_arm_ready(self.watch, id, order)
  end
  return C.asp_live_arm(self.watch, id, order)
end

function Reader:_pull()
  local t, v = self.pend_t, self.pend_v
  if t then
    self.pend_t, self.pend_v = nil, nil
    return t, v
  end
  t, v = self:next(true)
  if t == false then return false end
  return t, v
end

function Reader:_close()
  if self.watch ~= nil then
    C.asp_live_close(self.watch)
    self.watch = nil
  end
  if self.f ~= nil then
    ffi.gc(self.f, nil)
    C.asp_csvfile_close(self.f)
    self.f = nil
  end
end

return csv
