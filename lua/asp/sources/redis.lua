-- asp.redis { url = "redis://host:port/db", stream = "quotes", ... }: a Redis
-- Stream as a past source (XRANGE, a page at a time), and with follow = true
-- or a consumer group as a live one (engine/sources/redis.c); docs/sources.md,
-- "Redis Streams".
--
-- The past is read through a synchronous connection: reading history
-- blocks, as asp.csv blocks reading its file. The live part is a native
-- future source (the protocol of lua/asp/sources/live.lua) whose C side
-- runs on the engine's loop; it reads after the last id the past gave, so
-- the handoff neither skips nor repeats an entry.
local ffi = require("ffi")
local cffi = require("asp.cffi")
local time = require("asp.time")
local sched = require("asp.sched")
local live = require("asp.sources.live")
local csv = require("asp.csv_decoder")
local parse_url = require("asp.redis_url")

local C = cffi.C
local Time = time.ct
local ffi_string, tonumber, tostring, type, error, pairs = ffi.string, tonumber, tostring, type, error, pairs
local find, sub, byte = string.find, string.sub, string.byte

local LINE, NONE, END = C.ASP_LIVE_LINE, C.ASP_LIVE_NONE, C.ASP_LIVE_END
local err_buf = ffi.new("char[512]")
local len_out = ffi.new("size_t[1]")
local num_out = ffi.new("double[1]")
local line = ffi.new("asp_line[1]")
local NL = "\n"

local R = {}
R.__index = R
local past_mt = { __index = R, __asp_past = true, __tostring = function(s) return s.name end }
local both_mt = { __index = R, __asp_past = true, __asp_future = true, __tostring = function(s) return s.name end }

local OPTIONS = {
  url = true, stream = true, from = true, to = true, follow = true, time = true, time_format = true,
  format = true, field = true, names = true, columns = true, delimiter = true, on_error = true,
  count = true, group = true, consumer = true, create = true, claim_idle = true, reconnect = true,
  connect_timeout = true, name = true, buffer = true,
}

-- An entry id, or the first/last ms of a Time, as XRANGE takes it.
local function range_id(F, name, v)
  if v == nil then return nil end
  if time.is_time(v) then
    return (tostring(v.ns_ / 1000000LL):gsub("LL$", ""))
  end
  if type(v) == "string" and (v == "-" or v == "+" or v == "$" or v == "0" or v:match("^%d+$") or v:match("^%d+%-%d+$")) then
    return v
  end
  error(F .. ": option '" .. name .. "' must be a Time or an entry id like '1700000000000-0', '0', '-', '+' or '$' (got " .. tostring(v) .. ")", 3)
end

local function connect(self, level)
  local r = C.asp_redis_connect(self.host, self.port, self.db, self.password, self.retry_ms, err_buf, 512)
  if r == nil then error(self.name .. ": " .. ffi_string(err_buf), level + 1) end
  return ffi.gc(r, C.asp_redis_free)
end

local function call(self, level, ...)
  local args = { ... }
  local argv = ffi.new("const char*[?]", #args, args)
  local rc = C.asp_redis_call(self.r, #args, argv, nil)
  local text = ffi_string(C.asp_redis_error(self.r))
  if rc < 0 then error(self.name .. ": " .. text, level + 1) end
  return rc == 0, text
end

local function drop_conn(self)
  if self.r ~= nil then
    ffi.gc(self.r, nil)
    C.asp_redis_free(self.r)
    self.r = nil
  end
end

local function redis(opts)
  local F = "asp.redis"
  if type(opts) ~= "table" then error(F .. ": bad argument #1 (a table of options expected)", 2) end
  for k in pairs(opts) do
    if not OPTIONS[k] then error(F .. ": unknown option '" .. tostring(k) .. "'", 2) end
  end
  local host, port, db, password = parse_url(F, opts.url)
  local stream = opts.stream
  if type(stream) ~= "string" or stream == "" then error(F .. ": option 'stream' must be a stream's key (a string)", 2) end
  local fmt = opts.format or "fields"
  if fmt ~= "fields" and fmt ~= "json" and fmt ~= "csv" then
    error(F .. ": option 'format' must be 'fields', 'json' or 'csv' (got " .. tostring(fmt) .. ")", 2)
  end
  if opts.on_error ~= nil and opts.on_error ~= "skip" and opts.on_error ~= "error" then
    error(F .. ": option 'on_error' must be 'error' or 'skip'", 2)
  end
  local group, consumer = opts.group, opts.consumer
  if group ~= nil and (type(group) ~= "string" or group == "") then error(F .. ": option 'group' must be a string", 2) end
  if group and (type(consumer) ~= "string" or consumer == "") then
    error(F .. ": option 'consumer' must name this consumer of group '" .. group .. "' (a string)", 2)
  end
  if consumer ~= nil and not group then error(F .. ": option 'consumer' needs a 'group'", 2) end
  if group and opts.to ~= nil then error(F .. ": a consumer group reads live: option 'to' does not apply", 2) end
  if opts.follow and opts.to ~= nil then error(F .. ": options 'follow' and 'to' exclude each other", 2) end
  local count = opts.count or 1000
  if type(count) ~= "number" or count < 1 or count > 1000000 or count % 1 ~= 0 then
    error(F .. ": option 'count' must be an integer from 1 to 1000000 (entries per read)", 2)
  end
  local ct = opts.connect_timeout or 5
  if type(ct) ~= "number" or ct < 0 then error(F .. ": option 'connect_timeout' must be seconds (>= 0)", 2) end
  local rec = opts.reconnect
  local r0, r1 = 100, 5000
  if rec == false then r0, r1 = 0, 0
  elseif type(rec) == "table" then
    r0 = math.max(1, math.floor((rec.initial or 0.1) * 1000))
    r1 = math.floor((rec.max or 5) * 1000)
  elseif rec ~= nil and rec ~= true then
    error(F .. ": option 'reconnect' must be true, false or {initial = s, max = s}", 2)
  end
  local ci = opts.claim_idle
  if ci ~= nil and (type(ci) ~= "number" or ci < 0) then error(F .. ": option 'claim_idle' must be seconds (>= 0)", 2) end
  local field = opts.field or "data"
  if type(field) ~= "string" then error(F .. ": option 'field' must be a field name", 2) end
  local tf = opts.time
  if tf ~= nil and type(tf) ~= "string" and not (fmt == "csv" and type(tf) == "number") then
    error(F .. ": option 'time' must be a field name (got " .. type(tf) .. ")", 2)
  end
  local tfmt = opts.time_format or "auto"
  if csv.TIME_FORMATS[tfmt] == nil then
    error(F .. ": option 'time_format' must be one of auto, iso, s, ms, us, ns (got " .. tostring(tfmt) .. ")", 2)
  end
  local live_mode = opts.follow or group ~= nil
  local self = setmetatable({
    name = opts.name or (F .. " " .. stream), stream = stream, host = host, port = port, db = db,
    password = password, format = fmt, field = field, time = tf, unit = csv.TIME_FORMATS[tfmt],
    skip = opts.on_error == "skip", skipped_n = 0, count = count, group = group, consumer = consumer,
    retry_ms = math.floor(ct * 1000), r0 = r0, r1 = r1, claim_idle_ms = ci and math.floor(ci * 1000) or -1,
    buffer = opts.buffer or 0, ns_out = ffi.new("int64_t[1]"),
    start = range_id(F, "from", opts.from) or "-", stop = range_id(F, "to", opts.to) or "+",
    last_id = nil, pi = 0, pn = 0, past_done = group ~= nil, follow = live_mode,
  }, live_mode and both_mt or past_mt)
  if fmt == "csv" then
    local spec = csv.spec(F, opts, false)
    if opts.time == nil then spec.time = false end
    self.spec = spec
    self.dec = csv.decoder(spec, self.name, false)
    self.parser = ffi.gc(C.asp_csv_new(spec.delimiter:byte()), C.asp_csv_free)
    self.row = C.asp_csv_record(self.parser)
  end
  -- Connected here, so that an unreachable server, a wrong type or a
  -- missing group is an error at the line that made the source.
  self.r = connect(self, 2)
  local ok, ty = call(self, 2, "TYPE", stream)
  if ok and ty ~= "stream" and ty ~= "none" then
    drop_conn(self)
    error(self.name .. ": WRONGTYPE: the key '" .. stream .. "' holds a " .. ty .. ", not a stream", 2)
  end
  -- In a Redis Cluster the connection followed MOVED to the stream's node:
  -- the live part connects there.
  self.port = C.asp_redis_node(self.r, err_buf, 512)
  self.host = ffi_string(err_buf)
  if self.start == "$" then
    -- "$": only what comes after now; its id is fixed here, so that a
    -- reconnection reads after it too.
    local n = C.asp_redis_range(self.r, stream, "+", "-", 1, 1)
    self.last_id = n > 0 and ffi_string(C.asp_redis_entry(self.r, 0, len_out), len_out[0]):match("^[^\n]*") or "0-0"
    self.past_done = true
  end
  if group then
    if opts.create then
      local from = opts.from == nil and "0" or (self.start == "-" and "0" or self.last_id or self.start)
      local done, msg = call(self, 2, "XGROUP", "CREATE", stream, group, from, "MKSTREAM")
      if not done and not msg:match("^BUSYGROUP") then
        drop_conn(self)
        error(self.name .. ": XGROUP CREATE " .. group .. ": " .. msg, 2)
      end
    end
    drop_conn(self)
  elseif self.past_done then
    drop_conn(self)
  end
  return self
end

-- -- Entries ---------------------------------------------------------------------

function R:reject(id, msg)
  if self.skip then
    self.skipped_n = self.skipped_n + 1
    return false
  end
  error(("%s: stream '%s', entry %s: %s"):format(self.name, self.stream, id, msg), 0)
end

local function show(s)
  return #s > 200 and s:sub(1, 200) .. "..." or s
end

local function field_time(self, id, x)
  if not live.field_ns(x, self.unit, self.ns_out) then
    if x == nil then return self:reject(id, "no field '" .. self.time .. "' (the time)") end
    return self:reject(id, "field '" .. self.time .. "' is not a time: " .. show(tostring(x)))
  end
  return Time(self.ns_out[0])
end

-- A record (redis.h) as (Time, value); false for a skipped or deleted entry.
-- self.cur_id is its id either way.
function R:decode(data, len)
  local s = ffi_string(data, len)
  local nl = find(s, NL, 1, true)
  local id = sub(s, 1, nl - 1)
  self.cur_id = id
  local n, pos = #s, nl + 1
  if pos >= n then return false end -- deleted (a group's pending entry): nothing to process
  local fmt, tf = self.format, self.time
  local v, t, payload
  if fmt == "fields" then v = {} end
  while pos < n do
    local c = find(s, ":", pos, true)
    local kl = tonumber(sub(s, pos, c - 1))
    local k = sub(s, c + 1, c + kl)
    pos = c + kl + 1
    c = find(s, ":", pos, true)
    local vl = tonumber(sub(s, pos, c - 1))
    local x = sub(s, c + 1, c + vl)
    pos = c + vl + 1
    if fmt == "fields" then
      if k == tf then
        t = field_time(self, id, x)
        if t == false then return false end
      else
        local b = byte(x, 1)
        if vl > 0 and (b < 97 or b > 122) and C.asp_parse_number(x, vl, num_out) ~= 0 then x = num_out[0] end
        v[k] = x
      end
    elseif k == self.field then
      payload = x
    end
  end
  if fmt == "fields" then
    if tf and not t then return self:reject(id, "no field '" .. tf .. "' (the time)") end
    v._id = id
  elseif payload == nil then
    return self:reject(id, "no field '" .. self.field .. "' (its " .. fmt .. " document)")
  elseif fmt == "json" then
    local err
    v, err = live.json_value(payload, #payload)
    if err then return self:reject(id, "invalid JSON (" .. err .. "): " .. show(payload)) end
    if tf then
      t = field_time(self, id, type(v) == "table" and v[tf] or nil)
      if t == false then return false end
    end
    if type(v) == "table" and v._id == nil then v._id = id end
  else -- csv: one record in the field
    local p = self.parser
    local rc = C.asp_csv_feed(p, payload, #payload, len_out)
    if rc == 0 then rc = C.asp_csv_feed(p, NL, 1, len_out) end
    if rc ~= 1 then
      local msg = rc < 0 and ffi_string(C.asp_csv_error(p)) or "an unterminated quoted field"
      self.parser = ffi.gc(C.asp_csv_new(self.spec.delimiter:byte()), C.asp_csv_free)
      self.row = C.asp_csv_record(self.parser)
      return self:reject(id, "CSV: " .. msg)
    end
    self.dec.where = self.name .. ": stream '" .. self.stream .. "', entry " .. id
    C.asp_parse_time(id, find(id, "-", 1, true) - 1, 1000000, self.ns_out)
    local tt
    tt, v = self.dec:take(self.row, self.ns_out[0])
    if tt == nil or tt == false or v == false then return false end
    if type(v) == "table" then v._id = id end
    t = tt
  end
  if not t then
    -- The id's milliseconds.
    C.asp_parse_time(id, find(id, "-", 1, true) - 1, 1000000, self.ns_out)
    t = Time(self.ns_out[0])
  end
  return t, v
end

-- The id of the entry being delivered (or last delivered).
function R:id()
  return self.cur_id
end

function R:skipped()
  return (self.dec and self.dec.skipped or 0) + self.skipped_n
end

-- -- The past ---------------------------------------------------------------------

local function finish_past(self)
  self.past_done = true
  drop_conn(self)
  local n = self:skipped()
  if n > 0 then
    io.stderr:write(("%s: skipped %d bad entr%s\n"):format(self.name, n, n == 1 and "y" or "ies"))
  end
end

-- The next entry of the history as (Time, value); nil at its end (or, in
-- follow mode, at the end of what the stream held when it got there).
function R:next()
  if self.past_done then return nil end
  local i = self.pi
  if i >= self.pn then
    local start = self.last_id and ("(" .. self.last_id) or self.start
    local n = C.asp_redis_range(self.r, self.stream, start, self.stop, self.count, 0)
    if n == -2 and self.r0 > 0 then
      -- The server went away: connect again (the bounded retry of
      -- connect_timeout) and read on after the last id read.
      io.stderr:write(self.name .. ": warning: " .. ffi_string(C.asp_redis_error(self.r)) .. ", reconnecting\n")
      drop_conn(self)
      self.r = connect(self, 1)
      return self:next()
    end
    if n < 0 then
      local msg = ffi_string(C.asp_redis_error(self.r))
      finish_past(self)
      error(self.name .. ": stream '" .. self.stream .. "': " .. msg, 0)
    end
    self.pn = n
    if n == 0 then
      finish_past(self)
      return nil
    end
    i = 0
  end
  self.pi = i + 1
  local data = C.asp_redis_entry(self.r, i, len_out)
  local t, v = self:decode(data, len_out[0])
  self.last_id = self.cur_id
  if not t then return self:next() end
  return t, v
end

-- -- Live: the native future protocol --------------------------------------------

function R:_open()
  if self.opened then
    error(self.name .. ": already used (a live source serves one stream of one run)", 0)
  end
  self.opened = true
end

local function open_live(self)
  local l = C.asp_live_new(self.buffer, 0)
  if l == nil then error(self.name .. ": out of memory", 0) end
  self.l = l
  C.asp_live_set_name(l, self.name)
  local rc = C.asp_live_redis(l, self.host, self.port, self.db, self.password, self.stream,
    self.group and "0-0" or self.last_id or (self.start ~= "-" and self.start) or "0-0", self.group, self.consumer, self.count,
    self.claim_idle_ms, self.r0, self.r1, self.retry_ms, err_buf, 512)
  if rc ~= 0 then
    C.asp_live_close(l)
    self.l = nil
    error(self.name .. ": " .. ffi_string(err_buf), 0)
  end
  live.arm_failure(self)
end

-- The entry whose callback returned is acknowledged (groups).
local function ack(self)
  local id = self.ack_id
  if id then
    self.ack_id = nil
    C.asp_live_redis_ack(self.l, id, #id)
  end
end

function R:_arm(id, order)
  if self.l == nil then
    if self.r ~= nil then finish_past(self) end
    open_live(self)
  end
  ack(self)
  return C.asp_live_arm(self.l, id, order)
end

function R:_pull()
  local l = self.l
  ack(self)
  local rc = C.asp_live_pop(l, line)
  if rc == LINE then
    local fresh = C.asp_live_redis_fresh(l) ~= 0
    local t, v = self:decode(line[0].data, line[0].len)
    if self.group and fresh then self.ack_id = self.cur_id end
    self.last_id = self.cur_id
    if t then return t, v end
    return self:_pull() -- skipped or deleted: acknowledged with the next
  elseif rc == NONE then
    return false
  elseif rc == END then
    return nil
  end
  error(self.name .. ": " .. ffi_string(C.asp_live_error(l)), 0)
end

function R:_close()
  if self.l ~= nil then
    -- The last entry's callback returned unless the run failed.
    if not sched.run_failed then ack(self) end
    self.ack_id = nil
  end
  live.close_core(self)
  drop_conn(self)
end

return redis
