-- asp.csv over many files: asp.csv{"a.csv", "b.csv.gz", …} or a glob,
-- asp.csv("data/2024-*.csv.gz") (sorted by name), read one after another
-- as one stream (docs/sources.md, "Many files as one stream").
--
-- A chain of single-file readers (asp.csv's Reader), opened one at a time:
-- its state is Lua values and the open reader's, which reads with pread at
-- an offset of its own, so a forked checkpoint (the REPL's .back) resumes
-- exactly, across file boundaries too. The chain has the Reader's contract
-- (__asp_past, next, skipped) and exposes the open file as path, f and row,
-- which the stream reads to name "file:line" in errors.
local ffi = require("ffi")
local C = require("asp.cffi").C

local ffi_string, type, tostring, error, pcall = ffi.string, type, tostring, error, pcall
local concat = table.concat

local M = {}

-- A path with one of these is a pattern; any other path is one file.
function M.is_glob(path)
  return path:find("[%*%?%[]") ~= nil
end

-- The files a pattern names, sorted by their bytes; nil and why if none.
local function expand(pattern)
  local count = ffi.new("int32_t[1]")
  local block = C.asp_glob(pattern, count)
  local n = count[0]
  if block == nil then
    if n == 0 then return nil, "no file matches '" .. pattern .. "'" end
    return nil, "cannot expand '" .. pattern .. "': " .. (n == -1 and "out of memory" or "a directory could not be read")
  end
  local paths, p = {}, block
  for i = 1, n do
    paths[i] = ffi_string(p)
    p = p + #paths[i] + 1
  end
  C.asp_glob_free(block)
  return paths
end

-- asp.csv's errors carry the position of their caller (this file): the
-- message alone is raised again at the position the chain's caller gets.
local function message(err)
  return (tostring(err):gsub("^[^\n]-:%d+: (asp%.csv:)", "%1"))
end

local Chain = {}
local chain_mt = { __index = Chain, __asp_past = true }

local err_buf = ffi.new("char[400]")

-- open(csv, what, opts, level): csv is asp.csv's single-file entry, what a
-- table of paths or a pattern; errors are raised at `level`.
function M.open(csv, what, opts, level)
  local F = "asp.csv"
  if opts ~= nil and type(opts) ~= "table" then error(F .. ": bad argument #2 (a table of options expected)", level) end
  local paths
  if type(what) == "table" then
    if #what == 0 then error(F .. ": bad argument #1 (an empty table of paths: at least one file expected)", level) end
    paths = {}
    for i = 1, #what do
      if type(what[i]) ~= "string" then
        error(F .. ": bad argument #1 (paths[" .. i .. "] must be a file path, got " .. type(what[i]) .. ")", level)
      end
      paths[i] = what[i]
    end
    for k in pairs(what) do
      if type(k) ~= "number" or k < 1 or k > #what or k % 1 ~= 0 then
        error(F .. ": bad argument #1 (a table of paths is an array; it has the key " .. tostring(k) .. ")", level)
      end
    end
  else
    local why
    paths, why = expand(what)
    if paths == nil then error(F .. ": " .. why, level) end
  end
  if opts and opts.follow then
    error(F .. ": option 'follow' reads one file: give a single path, not "
      .. (type(what) == "table" and "a table of paths" or "a pattern ('" .. what .. "')"), level)
  end

  -- The first reader checks the options; every other file is opened once
  -- now, so that a missing one fails here and not hours into a replay.
  local ok, first = pcall(csv, paths[1], opts)
  if not ok then error(message(first), level) end
  local sizes, total = { tonumber(C.asp_csvfile_size(first.f)) }, 0
  for i = 2, #paths do
    local f = C.asp_csvfile_open(paths[i], 44, err_buf, 400)
    if f == nil then error(F .. ": cannot open '" .. paths[i] .. "': " .. ffi_string(err_buf), level) end
    sizes[i] = tonumber(C.asp_csvfile_size(f))
    C.asp_csvfile_close(f)
    total = total + sizes[i]
  end

  -- Progress counts the files not open: those to come, then those read.
  -- acc is what this chain added; a finalizer takes it back if the chain
  -- is dropped unfinished (it refers to acc only, never to the chain).
  local acc = { size = 0, done = 0 }
  local function account(size, done)
    acc.size, acc.done = acc.size + size, acc.done + done
    C.asp_csvfile_progress_add(size, done)
  end
  account(total, 0)
  local anchor = ffi.gc(ffi.new("char[1]"), function()
    C.asp_csvfile_progress_add(-acc.size, -acc.done)
  end)

  return setmetatable({
    csv = csv, opts = opts, paths = paths, sizes = sizes, i = 1, cur = first,
    path = first.path, f = first.f, row = first.row,
    strict = first.spec.strict_order, header = first.spec.header,
    ref = nil, ref_path = nil, last_ns = nil, last_path = nil,
    skipped_before = 0, account = account, acc = acc, anchor = anchor, done = false,
  }, chain_mt)
end

-- The columns of the reader's file, as text for a message.
local function columns_of(dec)
  local names = {}
  for i = 1, dec.nfields do names[i] = tostring(dec.names[i] or i) end
  return concat(names, ", ")
end

-- Checks that the open file has the columns of the first one that had any.
local function check_columns(self, r)
  local dec = r.dec
  if dec.nfields == nil then return end -- an empty file: nothing to compare
  local ref = self.ref
  if ref == nil then
    self.ref, self.ref_path = dec, r.path
    return
  end
  local same = dec.nfields == ref.nfields
  if same and self.header then
    for i = 1, dec.nfields do
      if dec.names[i] ~= ref.names[i] then same = false break end
    end
  end
  if not same then
    error(("asp.csv: %s: its %s (%s) differs from that of %s (%s): every file of one stream has the columns of the first")
      :format(r.path, self.header and "header" or "row", columns_of(dec), self.ref_path, columns_of(ref)), 0)
  end
end

-- The next row as (Time, value); nil after the last file.
function Chain:next()
  local t, v = self.cur:next()
  if t then return t, v end
  return self:advance()
end

-- The open file ended: goes on with the next one (no loop: an empty file
-- takes a tail call).
function Chain:advance()
  if self.done then return nil end
  local r, i = self.cur, self.i
  check_columns(self, r)
  if r.last_ns ~= nil then self.last_ns, self.last_path = r.last_ns, r.path end
  self.skipped_before = self.skipped_before + r.dec.skipped
  self.account(self.sizes[i], self.sizes[i])
  i = i + 1
  if i > #self.paths then
    self.done, self.f = true, nil
    self.account(-self.acc.size, -self.acc.done)
    return nil
  end
  local ok, nr = pcall(self.csv, self.paths[i], self.opts)
  if not ok then error(message(nr), 0) end
  self.account(-self.sizes[i], 0)
  self.cur, self.i = nr, i
  self.path, self.f, self.row = nr.path, nr.f, nr.row
  local t, v = nr:next()
  if not t then return self:advance() end
  check_columns(self, nr)
  -- strict_order across the boundary: the reader checks its own rows from
  -- this one on; this one against the previous file's last is checked here.
  if self.strict and self.last_ns ~= nil and t.ns_ < self.last_ns then
    local Time = require("asp.time").ct
    error(("asp.csv: %s: line %d: time %s is earlier than the last row of %s, %s (strict_order)"):format(
      nr.path, tonumber(nr.row.line), tostring(t), self.last_path, tostring(Time(self.last_ns))), 0)
  end
  return t, v
end

function Chain:skipped()
  if self.done then return self.skipped_before end
  return self.skipped_before + self.cur.dec.skipped
end

return M
