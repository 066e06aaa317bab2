-- asp.redis_writer { url = ..., stream = ..., maxlen = n | minid = Time }:
-- out:add(fields) appends an entry (XADD) to a Redis Stream; pipelined on
-- the engine's loop (engine/sources/redis.c), at most max_pending commands
-- unanswered: add waits (running the loop) rather than dropping.
-- docs/sources.md, "Redis Streams: the writer".
local ffi = require("ffi")
local cffi = require("asp.cffi")
local time = require("asp.time")
local sched = require("asp.sched")

local C, S = cffi.C, cffi.S
local ffi_string, type, tostring, error, pairs = ffi.string, type, tostring, error, pairs
local is_time = time.is_time

local OPTIONS = {
  url = true, stream = true, maxlen = true, minid = true, approximate = true, max_pending = true,
  connect_timeout = true, name = true,
}
local err_buf = ffi.new("char[512]")
local num_buf = ffi.new("char[40]")

local W = {}
W.__index = W

local open_writers = setmetatable({}, { __mode = "k" })

local function at()
  if sched.is_running() then return " at " .. time.format_ns(C.asp_sched_now(S)) end
  return ""
end

local function fail(self, level)
  local msg = ffi_string(C.asp_redis_writer_error(self.w))
  error(self.name .. ": " .. msg .. at(), level + 1)
end

local function text(v)
  local ty = type(v)
  if ty == "string" then return v end
  if ty == "number" then return ffi_string(num_buf, C.asp_format_number(v, num_buf)) end
  if ty == "boolean" then return v and "true" or "false" end
  if is_time(v) then return tostring(v) end
  return nil
end

-- Appends one entry: fields is a table {name = value} (strings, numbers,
-- booleans, Times), sent in the order of the sorted names.
function W:add(fields)
  if self.w == nil then error(self.name .. ": closed" .. at(), 2) end
  if type(fields) ~= "table" then
    error(self.name .. ": add: a table of fields expected (got " .. type(fields) .. ")" .. at(), 2)
  end
  local names = {}
  for k in pairs(fields) do
    if type(k) ~= "string" then error(self.name .. ": add: field names must be strings (got " .. type(k) .. ")" .. at(), 2) end
    names[#names + 1] = k
  end
  if #names == 0 then error(self.name .. ": add: an entry needs at least one field" .. at(), 2) end
  table.sort(names)
  local args, n = self.args, self.nprefix
  for i = 1, #names do
    local k = names[i]
    local s = text(fields[k])
    if s == nil then
      error(self.name .. ": add: field '" .. k .. "' is a " .. type(fields[k]) .. " (strings, numbers, booleans, Times)" .. at(), 2)
    end
    args[n + 1], args[n + 2] = k, s
    n = n + 2
  end
  local argv = ffi.new("const char*[?]", n)
  local lens = ffi.new("size_t[?]", n)
  for i = 1, n do
    argv[i - 1] = args[i]
    lens[i - 1] = #args[i]
  end
  self.keep = args -- the strings stay alive while C reads them
  if C.asp_redis_writer_send(self.w, n, argv, lens) ~= 0 then fail(self, 2) end
  for i = self.nprefix + 1, n do args[i] = nil end
end

-- Waits until every entry added was answered.
function W:flush()
  if self.w == nil then return end
  if C.asp_redis_writer_flush(self.w) ~= 0 then fail(self, 2) end
end

-- Entries the server accepted.
function W:count()
  if self.w == nil then return self.done or 0 end
  return tonumber(C.asp_redis_writer_done(self.w))
end

-- Flushes, then disconnects.
function W:close()
  local w = self.w
  if w == nil then return end
  local ok = C.asp_redis_writer_flush(w) == 0
  local msg = not ok and ffi_string(C.asp_redis_writer_error(w))
  self.done = tonumber(C.asp_redis_writer_done(w))
  ffi.gc(w, nil)
  C.asp_redis_writer_close(w)
  self.w = nil
  open_writers[self] = nil
  if not ok then error(self.name .. ": " .. msg .. at(), 2) end
end

-- A run's end waits for what its writers added (an error if one failed).
sched.cleanups[#sched.cleanups + 1] = function()
  for wr in pairs(open_writers) do
    if wr.w ~= nil and C.asp_redis_writer_flush(wr.w) ~= 0 then
      return wr.name .. ": " .. ffi_string(C.asp_redis_writer_error(wr.w))
    end
  end
end

return function(opts)
  local F = "asp.redis_writer"
  if type(opts) ~= "table" then error(F .. ": bad argument #1 (a table of options expected)", 2) end
  for k in pairs(opts) do
    if not OPTIONS[k] then error(F .. ": unknown option '" .. tostring(k) .. "'", 2) end
  end
  local host, port, db, password = require("asp.redis_url")(F, opts.url, 3)
  local stream = opts.stream
  if type(stream) ~= "string" or stream == "" then error(F .. ": option 'stream' must be a stream's key (a string)", 2) end
  local prefix = { "XADD", stream }
  local mode = opts.approximate and "~" or "="
  if opts.maxlen ~= nil then
    local m = opts.maxlen
    if type(m) ~= "number" or m < 0 or m % 1 ~= 0 then error(F .. ": option 'maxlen' must be a count of entries", 2) end
    prefix[#prefix + 1], prefix[#prefix + 2], prefix[#prefix + 3] = "MAXLEN", mode, ("%d"):format(m)
  elseif opts.minid ~= nil then
    if not is_time(opts.minid) then error(F .. ": option 'minid' must be a Time", 2) end
    prefix[#prefix + 1], prefix[#prefix + 2], prefix[#prefix + 3] = "MINID", mode,
      (tostring(opts.minid.ns_ / 1000000LL):gsub("LL$", ""))
  end
  prefix[#prefix + 1] = "*"
  local mp = opts.max_pending or 1000
  if type(mp) ~= "number" or mp < 1 or mp % 1 ~= 0 then error(F .. ": option 'max_pending' must be a positive integer", 2) end
  local ct = opts.connect_timeout or 5
  local name = opts.name or (F .. " " .. stream)
  -- The stream's node (a Redis Cluster answers MOVED elsewhere): found with
  -- a synchronous connection, which follows the redirections.
  local probe = C.asp_redis_connect(host, port, db, password, math.floor(ct * 1000), err_buf, 512)
  if probe == nil then error(name .. ": " .. ffi_string(err_buf), 2) end
  local argv = ffi.new("const char*[2]", { "TYPE", stream })
  local rc = C.asp_redis_call(probe, 2, argv, nil)
  if rc < 0 then
    local msg = ffi_string(C.asp_redis_error(probe))
    C.asp_redis_free(probe)
    error(name .. ": " .. msg, 2)
  end
  port = C.asp_redis_node(probe, err_buf, 512)
  host = ffi_string(err_buf)
  C.asp_redis_free(probe)
  local w = C.asp_redis_writer_open(host, port, db, password, mp, math.floor(ct * 1000), err_buf, 512)
  if w == nil then error(name .. ": " .. ffi_string(err_buf), 2) end
  local self = setmetatable({ w = ffi.gc(w, C.asp_redis_writer_close), name = name, args = prefix,
    nprefix = #prefix }, W)
  open_writers[self] = true
  return self
end
