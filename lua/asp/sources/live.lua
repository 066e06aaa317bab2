-- The live sources' common Lua side: what asp.stdin, asp.tcp, asp.listen,
-- asp.udp, asp.tail and asp.exec (one file each in lua/asp/sources/) share.
--
-- Each is a native future source (metatable __asp_future) that
-- process_stream drives with four methods: _open() when the run starts (it
-- starts reading at once, so what arrives during the replay is buffered in
-- C), _arm(id, order) when the stream waits for input (C queues the stream's
-- item when a line arrives), _pull() when the item runs (the next (Time,
-- value); false when nothing is buffered; nil at the end) and _close() when
-- the run ends. Lines are decoded as raw strings, CSV or JSON.
--
-- A kind's file checks its arguments and calls M.make with the function
-- that opens its C side (engine/sources/<kind>.c) on the core's asp_live.
local ffi = require("ffi")
local cffi = require("asp.cffi")
local time = require("asp.time")
local sched = require("asp.sched")
local csv = require("asp.csv_decoder")

local C = cffi.C
local Time = time.ct
local ffi_string, type, tostring, error, pairs = ffi.string, type, tostring, error, pairs
local new_tab = require("table.new")

local M = {}

local err_buf = ffi.new("char[512]")
M.err_buf = err_buf -- where a kind's open function writes its error
local line = ffi.new("asp_line[1]")
local used_out = ffi.new("size_t[1]")
local NL = "\n"

local Source = {}
Source.__index = Source
local source_mt = { __index = Source, __asp_future = true, __tostring = function(s) return s.name end }

-- -- Decoding ------------------------------------------------------------------

-- Token types (engine/sources/json.h).
local J_FALSE, J_TRUE, J_NUMBER, J_STRING, J_ARRAY, J_OBJECT =
  C.ASP_JSON_FALSE, C.ASP_JSON_TRUE, C.ASP_JSON_NUMBER, C.ASP_JSON_STRING, C.ASP_JSON_ARRAY, C.ASP_JSON_OBJECT
-- What asp_live_pop returns (engine/sources/source.h).
local LINE, NONE, END = C.ASP_LIVE_LINE, C.ASP_LIVE_NONE, C.ASP_LIVE_END

local json_state
local function json_build(toks, i)
  local tk = toks[i]
  local ty = tk.type
  if ty == J_NUMBER then return tk.num, i + 1
  elseif ty == J_STRING then return ffi_string(tk.str, tk.len), i + 1
  elseif ty == J_ARRAY then
    local n = tk.n
    local a = new_tab(n, 0)
    i = i + 1
    for k = 1, n do a[k], i = json_build(toks, i) end
    return a, i
  elseif ty == J_OBJECT then
    local n = tk.n
    local o = new_tab(0, n)
    i = i + 1
    for _ = 1, n do
      local key = ffi_string(toks[i].str, toks[i].len)
      o[key], i = json_build(toks, i + 1)
    end
    return o, i
  elseif ty == J_TRUE then return true, i + 1
  elseif ty == J_FALSE then return false, i + 1
  end
  return nil, i + 1
end

-- One JSON document as a Lua value, or nil and the parser's message
-- (asp.redis decodes a field of each entry with it).
-- A time field's value (an ISO or epoch string, or a number of epoch
-- seconds) into out[0] as ns, read with the source's time_format unit;
-- false when it is none.
function M.field_ns(x, unit, out)
  if type(x) == "string" then
    return C.asp_parse_time(x, #x, unit, out) ~= 0
  elseif type(x) == "number" then
    local s = tostring(x)
    return C.asp_parse_time(s, #s, unit < 0 and 1000000000 or unit, out) ~= 0
  end
  return false
end

function M.json_value(data, len)
  if json_state == nil then json_state = ffi.gc(C.asp_json_new(), C.asp_json_free) end
  if C.asp_json_decode(json_state, data, len) < 0 then
    return nil, ffi_string(C.asp_json_error(json_state))
  end
  return (json_build(C.asp_json_tokens(json_state), 0))
end

local function show(data, len)
  local s = ffi_string(data, len < 200 and len or 200)
  return len > 200 and s .. "..." or s
end

-- Returns (Time, value), or false for a skipped or partial record.
local function decode(self, data, len, arrival)
  local fmt = self.format
  if fmt == "lines" then
    return Time(arrival), ffi_string(data, len)
  elseif fmt == "json" then
    if json_state == nil then json_state = ffi.gc(C.asp_json_new(), C.asp_json_free) end
    self.lineno = self.lineno + 1
    if C.asp_json_decode(json_state, data, len) < 0 then
      return self:reject(("line %d: invalid JSON (%s): %s"):format(self.lineno,
        ffi_string(C.asp_json_error(json_state)), show(data, len)))
    end
    local v = json_build(C.asp_json_tokens(json_state), 0)
    local t = Time(arrival)
    local tf = self.time
    if tf then
      local x = type(v) == "table" and v[tf] or nil
      if not M.field_ns(x, self.unit, self.ns_out) then
        return self:reject(("line %d: field '%s' is not a time: %s"):format(self.lineno, tf, show(data, len)))
      end
      t = Time(self.ns_out[0])
    end
    return t, v
  else -- csv: the line and its newline go through the push parser
    local p = self.parser
    self.lineno = self.lineno + 1
    local rc = C.asp_csv_feed(p, data, len, used_out)
    if rc == 1 and used_out[0] < len then
      -- A lone CR ends a CSV record (as in files), but live lines end at
      -- LF: the rest of the line would be lost, so the line is refused.
      return self:reject(("line %d: a CR inside the line ends its CSV record early (live lines end at LF): %s"):format(
        self.lineno, show(data, len)))
    end
    if rc == 0 then rc = C.asp_csv_feed(p, NL, 1, used_out) end
    if rc == 0 then return false end -- a quoted field goes on on the next line
    if rc < 0 then
      local msg = self.name .. ": " .. ffi_string(C.asp_csv_error(p))
      self.parser = ffi.gc(C.asp_csv_new(self.spec.delimiter:byte()), C.asp_csv_free)
      self.row = C.asp_csv_record(self.parser)
      return self:reject(msg)
    end
    local t, v = self.dec:take(self.row, arrival)
    if t == nil then return false end -- the header
    return t, v
  end
end

function Source:reject(msg)
  if self.skip then
    self.skipped_n = self.skipped_n + 1
    return false
  end
  if msg:sub(1, #self.name) ~= self.name then msg = self.name .. ": " .. msg end
  error(msg, 0)
end

-- Faults counted by the source (docs/errors.md), for asp.stats(): only the
-- non-zero ones, so that a clean run's entries stay as they were.
local counts_out = ffi.new("int64_t[3]")
function Source:counts()
  if self.l ~= nil then
    C.asp_live_counts(self.l, counts_out)
    self.last_counts = { tonumber(counts_out[0]), tonumber(counts_out[1]), tonumber(counts_out[2]) }
  end
  local c, t = self.last_counts, {}
  if c then
    if c[1] > 0 then t.cut_lines = c[1] end
    if c[2] > 0 then t.accept_waits = c[2] end
    if c[3] > 0 then t.dropped_connections = c[3] end
  end
  return t
end

function Source:skipped()
  return (self.dec and self.dec.skipped or 0) + self.skipped_n
end

-- -- The native future protocol ------------------------------------------------

local FAIL = "live_fail"
require("asp.items").declare(FAIL, {
  run = function(src, id)
    sched.free_item(id)
    src.fail_id = nil
    -- Lines that came before the failure are delivered first: the stream's
    -- own pull raises the error once they are drained. Only a source with
    -- nothing left to deliver fails the run at once.
    if C.asp_live_buffered(src.l) > 0 then return end
    error(src.name .. ": " .. ffi_string(C.asp_live_error(src.l)), 0)
  end,
  describe = function(src) return "failure of " .. (src.describe and src:describe() or src.name or "a live source") end,
})

function Source:_open()
  if self.opened then
    error(self.name .. ": already used (a live source serves one stream of one run)", 0)
  end
  self.opened = true
  if self.l == nil then
    local l = C.asp_live_new(self.buffer, self.max_line)
    if l == nil then error(self.name .. ": out of memory", 0) end
    self.l = l
    C.asp_live_set_name(l, self.name)
    self:set_drop_cut(l)
    local rc
    if C.asp_reload_role() == 2 then
      -- A --reload follower: the journal is its live input (docs/reload.md).
      rc = C.asp_reload_phantom(l)
      if rc == 0 then C.asp_live_begin(l) end
    else
      rc = self.start(self, l)
    end
    if rc ~= 0 then
      C.asp_live_close(l)
      self.l = nil
      error(self.name .. ": " .. ffi_string(err_buf), 0)
    end
  else
    C.asp_live_begin(self.l)
  end
  M.arm_failure(self)
end

-- The item that fails a source's stream (queued by C when the source fails),
-- and its end with the source's core handle: for every kind (redis too).
function M.arm_failure(self)
  self.fail_id = sched.new_item(FAIL, self)
  C.asp_live_set_fail_item(self.l, self.fail_id)
end

function M.close_core(self)
  if self.l ~= nil then
    C.asp_live_set_fail_item(self.l, -1)
    C.asp_live_close(self.l)
    self.l = nil
  end
  if self.fail_id then
    sched.free_item(self.fail_id)
    self.fail_id = nil
  end
end

-- A CSV or JSON line cut by a peer's close is dropped (warned, counted),
-- never decoded: it may parse with its last field cut short, or fail and
-- end the run.
function Source:set_drop_cut(l)
  if self.format ~= "lines" then C.asp_live_set_drop_cut(l, self.format == "csv" and 1 or 2) end
end

function Source:_arm(id, order)
  return C.asp_live_arm(self.l, id, order)
end

-- No loop here (a skipped or partial record takes a tail call): a loop
-- made every trace through it abort ("inner loop in root trace"), so the
-- dispatcher ran each live line in the interpreter (~3 us a line).
function Source:_pull()
  local l = self.l
  local rc = C.asp_live_pop(l, line)
  if rc == LINE then
    local t, v = decode(self, line[0].data, line[0].len, line[0].arrival)
    if t then return t, v end
    return self:_pull()
  elseif rc == NONE then
    return false
  elseif rc == END then
    if self.on_end then self:on_end() end
    return nil
  end
  error(self.name .. ": " .. ffi_string(C.asp_live_error(l)), 0)
end

function Source:_close()
  if self.l ~= nil then
    self:counts() -- kept for asp.stats() after the run
    ffi.gc(self.l, nil)
  end
  M.close_core(self)
end

-- The port a listen or udp source is bound to (the one the system chose
-- for port 0).
function Source:port()
  if self.l == nil then return nil end
  return C.asp_live_port(self.l)
end

-- -- What the kinds' constructors share ----------------------------------------

local COMMON = {
  format = true, buffer = true, max_line = true, name = true,
  header = true, names = true, delimiter = true, time = true, time_format = true,
  columns = true, on_error = true, unpack = true,
}

function M.make(fname, label, opts, extra, start)
  opts = opts or {}
  if type(opts) ~= "table" then error(fname .. ": bad argument #1 (a table of options expected)", 3) end
  for k in pairs(opts) do
    if type(k) ~= "number" and not COMMON[k] and not (extra and extra[k]) then
      error(fname .. ": unknown option '" .. tostring(k) .. "'", 3)
    end
  end
  for _, k in ipairs { "buffer", "max_line" } do
    local v = opts[k]
    if v ~= nil and (type(v) ~= "number" or v < 1 or v > 0x7fffffff or v % 1 ~= 0) then
      error(fname .. ": option '" .. k .. "' must be a number of bytes from 1 to 2^31-1 (got " .. tostring(v) .. ")", 3)
    end
  end
  if opts.name ~= nil and type(opts.name) ~= "string" then
    error(fname .. ": option 'name' must be a string (got " .. type(opts.name) .. ")", 3)
  end
  local fmt = opts.format or "lines"
  if fmt ~= "lines" and fmt ~= "csv" and fmt ~= "json" then
    error(fname .. ": option 'format' must be 'lines', 'csv' or 'json' (got " .. tostring(fmt) .. ")", 3)
  end
  local self = setmetatable({
    name = opts.name or (fname .. " " .. label), format = fmt, start = start,
    buffer = opts.buffer or 0, max_line = opts.max_line or 0, opts = opts,
    lineno = 0, skipped_n = 0, skip = opts.on_error == "skip",
    ns_out = ffi.new("int64_t[1]"),
  }, source_mt)
  if opts.on_error ~= nil and opts.on_error ~= "skip" and opts.on_error ~= "error" then
    error(fname .. ": option 'on_error' must be 'error' or 'skip'", 3)
  end
  if fmt == "csv" then
    local spec = csv.spec(fname, opts, false)
    self.spec = spec
    self.dec = csv.decoder(spec, self.name, opts.unpack)
    self.parser = ffi.gc(C.asp_csv_new(spec.delimiter:byte()), C.asp_csv_free)
    self.row = C.asp_csv_record(self.parser)
  elseif fmt == "json" then
    local tf = opts.time_format or "auto"
    if csv.TIME_FORMATS[tf] == nil then error(fname .. ": bad option 'time_format' " .. tostring(tf), 3) end
    self.unit = csv.TIME_FORMATS[tf]
    self.time = opts.time
  end
  return self
end

function M.host_port(fname, opts)
  if type(opts) ~= "table" then error(fname .. ": bad argument #1 (a table {host, port, ...} expected)", 3) end
  local host = opts.host or opts[1] or "127.0.0.1"
  local port = opts.port or opts[2]
  if type(host) ~= "string" then error(fname .. ": 'host' must be a string", 3) end
  if type(port) ~= "number" or port < 0 or port > 65535 or port % 1 ~= 0 then
    error(fname .. ": 'port' must be a port number (got " .. tostring(port) .. ")", 3)
  end
  return host, port
end

-- A server binds and listens at once, so that its port is known (port 0:
-- see :port()) and clients may connect before the run; it reads when the
-- run starts. It never ends by itself: asp.stop() ends the run.
function M.bound(fname, opts, fn)
  local host, port = M.host_port(fname, opts)
  local self = M.make(fname, host .. ":" .. port, opts, { host = true, port = true })
  local l = C.asp_live_new(self.buffer, self.max_line)
  if l == nil then error(fname .. ": out of memory", 3) end
  local rc
  if C.asp_reload_role() == 2 then rc = C.asp_reload_phantom(l) else rc = fn(l, host, port) end
  if rc ~= 0 then
    C.asp_live_close(l)
    error(self.name .. ": " .. ffi_string(err_buf), 3)
  end
  self.l = ffi.gc(l, C.asp_live_close)
  self.name = opts.name or (fname .. " " .. host .. ":" .. C.asp_live_port(l))
  C.asp_live_set_name(l, self.name)
  self:set_drop_cut(l)
  return self
end

return M
