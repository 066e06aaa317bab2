-- asp-lua sweep: runs a script over a grid of parameters, locally in forked
-- worker processes or as a Slurm job array (docs/sweeps.md). engine/sweep.c
-- does the process calls; lua/asp/params.lua holds asp.params/asp.result.
local ffi = require("ffi")
local cffi = require("asp.cffi")
local params = require("asp.params")

local C = cffi.C
pcall(ffi.cdef, "char *strerror(int errnum);")
local format, concat = string.format, table.concat

local M = {}
local PROG = "asp-lua sweep"
local TAIL = { "status", "error", "wall_s" }   -- the columns after the result's
local FAILED = { error = true, timeout = true }
local DONE = setmetatable({}, { __tostring = function() return "(the sweep is over)" end })

local function fail(msg) error(PROG .. ": " .. msg, 0) end
local function warn(msg) io.stderr:write(PROG .. ": warning: " .. msg .. "\n") end
local function mono() return tonumber(C.asp_sweep_monotonic_ns()) / 1e9 end

-- -- Cells and rows --------------------------------------------------------

local numbuf = ffi.new("char[40]")
local function number_text(v)
  return ffi.string(numbuf, C.asp_format_number(v, numbuf))
end

-- A value as CSV shows it (before quoting); nil for a missing one.
local function cell(v)
  local t = type(v)
  if t == "number" then return number_text(v) end
  if t == "boolean" then return v and "true" or "false" end
  return v
end

local function csv_field(s)
  if s == nil then return "" end
  if s:find('[,"\r\n]') then return '"' .. s:gsub('"', '""') .. '"' end
  return s
end

local function json_string(s)
  return '"' .. s:gsub('[%c"\\]', function(c)
    if c == '"' then return '\\"' elseif c == "\\" then return "\\\\"
    elseif c == "\n" then return "\\n" elseif c == "\t" then return "\\t"
    elseif c == "\r" then return "\\r" end
    return format("\\u%04x", c:byte())
  end) .. '"'
end

local function json_value(v)
  local t = type(v)
  if v == nil then return "null" end
  if t == "number" then
    if v ~= v or v == 1 / 0 or v == -1 / 0 then return "null" end
    return number_text(v)
  end
  if t == "boolean" then return v and "true" or "false" end
  return json_string(v)
end

-- The text of one row (with its newline); values[i] goes to columns[i].
local function encode_row(fmt, columns, values)
  local parts = {}
  if fmt == "jsonl" then
    for i = 1, #columns do
      parts[i] = json_string(columns[i]) .. ":" .. json_value(values[i])
    end
    return "{" .. concat(parts, ",") .. "}\n"
  end
  for i = 1, #columns do parts[i] = csv_field(cell(values[i])) end
  return concat(parts, ",") .. "\n"
end

local function encode_header(fmt, columns)
  if fmt == "jsonl" then return "" end
  local parts = {}
  for i = 1, #columns do parts[i] = csv_field(columns[i]) end
  return concat(parts, ",") .. "\n"
end

local function format_of(path)
  if path and (path:match("%.jsonl$") or path:match("%.ndjson$")) then return "jsonl" end
  return "csv"
end

-- -- Reading results files back (--resume, --collect) -----------------------

-- The records of a CSV text (RFC 4180), as arrays of fields; `whole` is the
-- length of the text up to the last complete record.
local function csv_records(text)
  local rows, pos, n, whole = {}, 1, #text, 0
  while pos <= n do
    local row, ok = {}, false
    while true do
      local field
      if text:sub(pos, pos) == '"' then
        local buf, p = {}, pos + 1
        while true do
          local q = text:find('"', p, true)
          if not q then p = nil break end
          buf[#buf + 1] = text:sub(p, q - 1)
          if text:sub(q + 1, q + 1) == '"' then
            buf[#buf + 1] = '"'
            p = q + 2
          else
            p = q + 1
            break
          end
        end
        if not p then break end
        field, pos = concat(buf), p
      else
        local e = text:find("[,\n]", pos) or n + 1
        field, pos = text:sub(pos, e - 1), e
      end
      row[#row + 1] = field
      local c = text:sub(pos, pos)
      if c == "," then
        pos = pos + 1
      elseif c == "\n" then
        pos, ok = pos + 1, true
        break
      else
        break -- the end of the text without a newline: a partial record
      end
    end
    if not ok then break end
    rows[#rows + 1] = row
    whole = pos - 1
  end
  return rows, whole
end

local ESC = { ['"'] = '"', ["\\"] = "\\", ["/"] = "/", b = "\b", f = "\f", n = "\n", r = "\r", t = "\t" }

local function utf8_char(cp)
  if cp < 0x80 then return string.char(cp) end
  if cp < 0x800 then return string.char(0xC0 + math.floor(cp / 64), 0x80 + cp % 64) end
  return string.char(0xE0 + math.floor(cp / 4096), 0x80 + math.floor(cp / 64) % 64, 0x80 + cp % 64)
end

-- A flat JSON object (one line of a .jsonl results file): its keys in
-- order, their values' raw text, and their text as a CSV cell shows it.
local function json_record(line)
  local keys, raw, text = {}, {}, {}
  local pos = line:match("^%s*{%s*()")
  if not pos then return nil end
  local function str()
    local buf, p = {}, pos + 1
    while true do
      local q = line:find('["\\]', p)
      if not q then return nil end
      buf[#buf + 1] = line:sub(p, q - 1)
      if line:sub(q, q) == '"' then pos = q + 1 return concat(buf) end
      local e = line:sub(q + 1, q + 1)
      if e == "u" then
        buf[#buf + 1] = utf8_char(tonumber(line:sub(q + 2, q + 5), 16) or 0xFFFD)
        p = q + 6
      else
        buf[#buf + 1] = ESC[e] or e
        p = q + 2
      end
    end
  end
  if line:sub(pos, pos) == "}" then return keys, raw, text end
  while true do
    if line:sub(pos, pos) ~= '"' then return nil end
    local k = str()
    if not k then return nil end
    pos = line:match("^%s*:%s*()", pos)
    if not pos then return nil end
    local start = pos
    local v
    if line:sub(pos, pos) == '"' then
      v = str()
      if not v then return nil end
    else
      local tok, after = line:match("^([^,}%s]+)()", pos)
      if not tok then return nil end
      v = tok ~= "null" and tok or nil
      pos = after
    end
    keys[#keys + 1], raw[k], text[k] = k, line:sub(start, pos - 1), v
    local sep
    sep, pos = line:match("^%s*([,}])%s*()", pos)
    if sep == "}" then return keys, raw, text end
    if sep ~= "," then return nil end
  end
end

-- Reads a results file: its columns, and calls each(cells) for each row
-- (cells: column -> text, or the raw JSON text with raw = true). Returns
-- the columns (nil for an empty file) and the length of its complete rows.
local function read_results(path, fmt, each, raw)
  local f = io.open(path, "rb")
  if not f then return nil, 0 end
  local text = f:read("*a")
  f:close()
  if text == "" then return nil, 0 end
  if fmt == "jsonl" then
    local columns, pos, whole = nil, 1, 0
    while true do
      local e = text:find("\n", pos, true)
      if not e then break end
      local keys, rawv, cells = json_record(text:sub(pos, e - 1))
      if not keys then fail(format("'%s': line is not a JSON object: %s", path, text:sub(pos, e - 1))) end
      columns = columns or keys
      each(raw and rawv or cells)
      pos, whole = e + 1, e
    end
    return columns, whole
  end
  local rows, whole = csv_records(text)
  local columns = rows[1]
  if not columns then return nil, 0 end
  for i = 2, #rows do
    local r, cells = rows[i], {}
    for c = 1, #columns do cells[columns[c]] = r[c] ~= "" and r[c] or nil end
    each(cells)
  end
  return columns, whole
end

-- -- The grid ------------------------------------------------------------------

local function decimals(s)
  local d = s:match("%.(%d+)")
  local e = tonumber(s:match("[eE]([-+]?%d+)$") or 0)
  return math.max(0, (d and #d or 0) - e)
end

-- "5,10,20", "50:200:50", "a,b", "1,5:10:5": the values of one --param.
local function parse_spec(arg)
  local name, spec = params.split(arg)
  local values = {}
  for item in (spec .. ","):gmatch("([^,]*),") do
    if item == "" then fail(format("--param '%s': an empty value in the list", arg)) end
    local a, b, c = item:match("^([^:]*):([^:]*):([^:]*)$")
    local na, nb, nc = a and params.value_of(a), b and params.value_of(b), c and params.value_of(c)
    if a and type(na) == "number" and type(nb) == "number" and type(nc) == "number" then
      if nc == 0 then fail(format("--param '%s': the step of %s is 0", arg, item)) end
      if (nb - na) * nc < 0 then
        fail(format("--param '%s': the step of %s has the wrong sign (from %s to %s needs a %s step)",
          arg, item, a, b, nb > na and "positive" or "negative"))
      end
      local count = math.floor((nb - na) / nc + 1e-9) + 1
      if count > 1e7 then fail(format("--param '%s': %s has %d values", arg, item, count)) end
      local d = math.max(decimals(a), decimals(c))
      for i = 0, count - 1 do
        local v = na + i * nc
        if d > 0 then v = tonumber(format("%." .. d .. "f", v)) end
        values[#values + 1] = v
      end
    elseif item:find(":") and type(params.value_of((item:gsub(":", "")))) == "number" then
      fail(format("--param '%s': %s is not a range (from:to:step, all three numbers)", arg, item))
    else
      values[#values + 1] = params.value_of(item)
    end
  end
  return name, values
end

-- The grid: names, values[k] per name, size; the last name varies fastest.
local function make_grid(specs)
  local g = { names = {}, values = {}, specs = specs, size = 1 }
  if #specs == 0 then fail("the grid is empty: give at least one --param name=a,b,c or name=from:to:step") end
  for i, arg in ipairs(specs) do
    local name, values = parse_spec(arg)
    for _, n in ipairs(g.names) do
      if n == name then fail(format("--param '%s': '%s' is given twice", arg, name)) end
    end
    g.names[i], g.values[i] = name, values
    g.size = g.size * #values
  end
  return g
end

-- The values of combination idx (0-based).
local function combination(g, idx)
  local out = {}
  for i = #g.names, 1, -1 do
    local vs = g.values[i]
    out[i] = vs[idx % #vs + 1]
    idx = math.floor(idx / #vs)
  end
  return out
end

local function key_of(cells) return concat(cells, "\0") end

local function describe(names, values)
  local parts = {}
  for i = 1, #names do parts[i] = names[i] .. "=" .. tostring(cell(values[i])) end
  return concat(parts, " ")
end

-- -- Results of one combination -----------------------------------------------

-- The record a combination's process sends: status, error, result fields.
local function encode_record(status, err, result)
  local parts = { "S" .. #status .. ":" .. status }
  if err then parts[#parts + 1] = "E" .. #err .. ":" .. err end
  for k, v in pairs(result or {}) do
    local t, s = type(v), nil
    if t == "number" then t, s = "n", format("%.17g", v)
    elseif t == "boolean" then t, s = "b", v and "1" or "0"
    else t, s = "s", v end
    parts[#parts + 1] = t .. #k .. ":" .. k .. #s .. ":" .. s
  end
  return concat(parts)
end

local SPECIAL = { nan = 0 / 0, inf = 1 / 0, ["-inf"] = -1 / 0, ["-nan"] = 0 / 0 }
local function decode_record(s)
  local rec, pos = { result = nil }, 1
  local function piece()
    local len, p = s:match("^(%d+):()", pos)
    len = tonumber(len)
    local v = s:sub(p, p + len - 1)
    pos = p + len
    return v
  end
  while pos <= #s do
    local t = s:sub(pos, pos)
    pos = pos + 1
    if t == "S" then rec.status = piece()
    elseif t == "E" then rec.error = piece()
    else
      local k, v = piece(), piece()
      if t == "n" then v = tonumber(v) or SPECIAL[v] elseif t == "b" then v = v == "1" end
      rec.result = rec.result or {}
      rec.result[k] = v
    end
  end
  return rec
end

-- The message of an error, without its traceback.
local function message_of(e)
  return (tostring(e):gsub("\nstack traceback:.*$", ""))
end

local function handler(e)
  if e == DONE then return e end
  return debug.traceback(tostring(e), 2)
end

-- What a script's run amounts to: status, error, result.
local function outcome(ok, err)
  if not ok then return "error", message_of(err), params.result end
  if params.result == nil then return "no_result", nil, nil end
  return "ok", nil, params.result
end

-- -- The results table --------------------------------------------------------

local Out = {}
Out.__index = Out

-- path nil: standard output.
local function open_out(path, g, resume)
  local self = setmetatable({ path = path, fmt = format_of(path), names = g.names, done = {},
    ndone = 0, pending = {}, warned = {}, fd = 1 }, Out)
  if not path then return self end
  local columns, whole = read_results(path, self.fmt, function(cells)
    local k = {}
    for i, n in ipairs(g.names) do k[i] = cells[n] or "" end
    self.done[key_of(k)] = true
    self.ndone = self.ndone + 1
  end)
  if columns then
    local ok = #columns >= #g.names + #TAIL
    for i, n in ipairs(g.names) do ok = ok and columns[i] == n end
    for i = 1, #TAIL do ok = ok and columns[#columns - #TAIL + i] == TAIL[i] end
    local want = concat(g.names, ",") .. ",<the result's fields>," .. concat(TAIL, ",")
    if not ok then
      fail(format("--out '%s' exists with other columns (%s; this sweep's are %s): remove it or choose another --out",
        path, concat(columns, ","), want))
    end
    if not resume then
      fail(format("--out '%s' exists (%d rows): --resume continues it, skipping the combinations it holds; or remove it",
        path, self.ndone))
    end
    self.columns = columns
    self.header_written = true
  end
  local err = ffi.new("char[512]")
  self.fd = C.asp_sweep_open_append(path, err, 512)
  if self.fd < 0 then fail(ffi.string(err)) end
  local size = io.open(path, "rb"):seek("end")
  if columns and whole < size then
    warn(format("'%s' ended with a partial row (the sweep was killed while writing it): cut", path))
    C.asp_sweep_truncate(self.fd, whole)
  end
  return self
end

function Out:write(text)
  if C.asp_sweep_write(self.fd, text, #text) ~= 0 then
    fail(format("cannot write '%s': %s", self.path or "(standard output)", ffi.string(C.strerror(ffi.errno()))))
  end
end

function Out:fix_columns(result)
  local fields = {}
  for k in pairs(result or {}) do fields[#fields + 1] = k end
  table.sort(fields)
  local cols = {}
  for _, n in ipairs(self.names) do cols[#cols + 1] = n end
  for _, f in ipairs(fields) do cols[#cols + 1] = f end
  for _, t in ipairs(TAIL) do cols[#cols + 1] = t end
  self.columns = cols
end

function Out:emit(row)
  local cols, values = self.columns, {}
  local known = {}
  for i, c in ipairs(cols) do values[i], known[c] = row[c], true end
  for k in pairs(row) do
    if not known[k] and not self.warned[k] and k:sub(1, 1) ~= "_" then
      self.warned[k] = true
      warn(format("result field '%s' (%s) is not a column of '%s' (its columns come from the first result): not written",
        k, row._what or "", self.path or "the results"))
    end
  end
  if not self.header_written then
    self.header_written = true
    self:write(encode_header(self.fmt, cols))
  end
  self:write(encode_row(self.fmt, cols, values))
end

-- row: column -> value, plus _what (the combination) and _has_result.
function Out:add(row)
  if not self.columns then
    if not row._has_result then
      self.pending[#self.pending + 1] = row
      if #self.pending < 1000 then return end
    end
    self:fix_columns(row._result)
    for _, p in ipairs(self.pending) do self:emit(p) end
    self.pending = {}
    if not row._has_result then return end
  end
  self:emit(row)
end

function Out:finish()
  if not self.columns then self:fix_columns(nil) end
  for _, p in ipairs(self.pending) do self:emit(p) end
  self.pending = {}
  if not self.header_written and self.path then
    self.header_written = true
    self:write(encode_header(self.fmt, self.columns))
  end
  if self.fd > 2 then C.asp_sweep_close(self.fd) end
end

local function make_row(names, values, status, err, result, wall)
  local row = { status = status, error = err, wall_s = tonumber(format("%.3f", wall)),
    _has_result = status == "ok", _result = result, _what = describe(names, values) }
  for k, v in pairs(result or {}) do row[k] = v end
  for i, n in ipairs(names) do row[n] = values[i] end
  return row
end

-- -- Running the combinations -------------------------------------------------

local child   -- in a combination's process: { fd = result pipe }

local function progress_line(st, final)
  if not st.show then return end
  local now = mono()
  if not final and now - (st.shown or 0) < 0.2 then return end
  st.shown = now
  local eta = ""
  if st.done > 0 and st.done < st.total then
    local s = (now - st.t0) / st.done * (st.total - st.done)
    eta = format(", ETA %dm%02ds", math.floor(s / 60), math.floor(s % 60))
  end
  io.stderr:write(format("\r%s: %d/%d done, %d failed, %d running%s\27[K%s", PROG, st.done, st.total,
    st.failed, st.running, eta, final and "\n" or ""))
end

-- Runs the combinations of `todo` (an array of indices) in plan.j
-- processes; returns in each combination's process (the script goes on
-- there), and raises DONE in the sweep's once all have ended.
local function run_all(plan)
  local g, out, todo = plan.grid, plan.out, plan.todo
  local running, nexti = {}, 1
  local st = { done = 0, failed = 0, running = 0, total = #todo, t0 = mono(), show = plan.progress }
  local fdbox = ffi.new("int[1]")
  local fds, ready = ffi.new("int[256]"), ffi.new("int[256]")
  local buf = ffi.new("char[65536]")
  local function finish(r)
    C.asp_sweep_close(r.fd)
    local how = ffi.new("int[1]")
    local code = C.asp_sweep_reap(r.pid, how)
    local wall = mono() - r.start
    local data = concat(r.chunks)
    local status, err, result
    if r.timed_out then
      status, err = "timeout", format("timed out after %s s", number_text(plan.timeout))
    elseif data ~= "" and code == 0 then
      local rec = decode_record(data)
      status, err, result = rec.status, rec.error, rec.result
    else
      status = "error"
      err = how[0] ~= 0 and format("the process was killed by signal %d without a result", how[0])
        or format("the process exited with status %d without a result", code)
    end
    if status == "no_result" then
      warn(describe(g.names, r.values) .. ": the script never called asp.result (the row has its status only)")
    end
    if FAILED[status] then st.failed = st.failed + 1 end
    st.done = st.done + 1
    out:add(make_row(g.names, r.values, status, err, result, wall))
  end
  while true do
    while #running < plan.j and nexti <= #todo do
      local idx = todo[nexti]
      nexti = nexti + 1
      local values = combination(g, idx)
      local pid = C.asp_sweep_fork(fdbox)
      if pid == 0 then
        if out.fd > 2 then C.asp_sweep_close(out.fd) end
        for _, r in ipairs(running) do C.asp_sweep_close(r.fd) end
        child = { fd = fdbox[0] }
        params.set_combination(g.names, values)
        return
      elseif pid < 0 then
        fail("cannot fork: " .. ffi.string(C.strerror(ffi.errno())))
      end
      running[#running + 1] = { pid = pid, fd = fdbox[0], values = values, start = mono(), chunks = {} }
    end
    st.running = #running
    progress_line(st)
    if #running == 0 then break end
    local wait_ms = 200
    for i, r in ipairs(running) do
      fds[i - 1] = r.fd
      if plan.timeout then
        local left = r.start + plan.timeout - mono()
        wait_ms = math.max(0, math.min(wait_ms, math.ceil(left * 1000)))
      end
    end
    C.asp_sweep_poll(fds, #running, wait_ms, ready)
    for i = #running, 1, -1 do
      local r = running[i]
      if ready[i - 1] ~= 0 then
        local n = C.asp_sweep_read(r.fd, buf, 65536)
        if n > 0 then
          r.chunks[#r.chunks + 1] = ffi.string(buf, n)
        else
          table.remove(running, i)
          finish(r)
        end
      elseif plan.timeout and not r.timed_out and mono() - r.start >= plan.timeout then
        r.timed_out = true
        C.asp_sweep_kill(r.pid)
      end
    end
  end
  out:finish()
  progress_line(st, true)
  plan.failed = st.failed
  error(DONE, 0)
end

-- In a combination's process, at the script's end: the record to the sweep.
local function child_finish(ok, err)
  local status, msg, result = outcome(ok, err)
  if not ok then
    io.stderr:write(format("%s: %s: %s\n", PROG, describe(params.names, (function()
      local v = {}
      for i, n in ipairs(params.names) do v[i] = params.given[n] end
      return v
    end)()), tostring(err)))
  end
  local rec = encode_record(status, msg, result)
  C.asp_sweep_write(child.fd, rec, #rec)
  C.asp_sweep_close(child.fd)
  io.stdout:flush()
  return 0
end

-- Loads and runs the script with the fork point armed; returns the exit status.
local function run_local(plan)
  local chunk, lerr = loadfile(plan.script)
  if not chunk then fail(lerr) end
  params.names = plan.grid.names
  params.check_grid = function(defaults)
    for i, n in ipairs(plan.grid.names) do
      if type(defaults[n]) == "number" then
        for _, v in ipairs(plan.grid.values[i]) do
          if type(v) ~= "number" then
            fail(format("--param %s: '%s' is not a number (the script's default is %s)", n, v, defaults[n]))
          end
        end
      end
    end
  end
  params.gate = function() run_all(plan) end
  local ok, err = xpcall(chunk, handler, unpack(plan.args))
  if not child and ok then
    -- The script never needed its parameters: its combinations fork now.
    ok, err = xpcall(params.pass_gate, handler)
  end
  if child then return child_finish(ok, err) end
  if err == DONE then return plan.failed > 0 and 1 or 0 end
  if not ok then
    local msg = tostring(err)
    if msg:sub(1, #PROG) ~= PROG then msg = PROG .. ": before the first combination: " .. msg end
    io.stderr:write(msg, "\n")
    return 1
  end
  return 0
end

-- -- Slurm ----------------------------------------------------------------------

local function shq(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

local function find_program(name)
  for dir in (os.getenv("PATH") or "/usr/local/bin:/usr/bin:/bin"):gmatch("[^:]+") do
    local p = dir .. "/" .. name
    local f = io.open(p, "rb")
    if f then f:close() return p end
  end
end

local function chunking(total, tasks)
  tasks = math.max(1, math.min(total, tasks))
  local size = math.ceil(total / tasks)
  return math.ceil(total / size), size
end

local function task_path(dir, i, fmt) return format("%s/task-%d.%s", dir, i, fmt) end

local function cwd()
  local p = io.popen("pwd")
  local d = p:read("*l")
  p:close()
  return d
end

local function slurm_script(o, g, dir, ntasks, exe)
  local limit = o.limit or math.min(ntasks, 16)
  local cmd = { shq(exe), "sweep", shq(o.script) }
  for _, s in ipairs(g.specs) do cmd[#cmd + 1] = "--param " .. shq(s) end
  cmd[#cmd + 1] = '--task "$SLURM_ARRAY_TASK_ID" --tasks ' .. ntasks
  cmd[#cmd + 1] = "--out " .. shq(dir .. "/task-") .. '"$SLURM_ARRAY_TASK_ID"' .. shq("." .. o.fmt)
  cmd[#cmd + 1] = '--resume --no-progress -j "${SLURM_CPUS_PER_TASK:-1}"'
  if o.timeout then cmd[#cmd + 1] = "--timeout " .. number_text(o.timeout) end
  if o.backtest then cmd[#cmd + 1] = "--backtest" end
  if #o.args > 0 then
    cmd[#cmd + 1] = "--"
    for _, a in ipairs(o.args) do cmd[#cmd + 1] = shq(a) end
  end
  return concat({
    "#!/bin/sh",
    "#SBATCH --job-name=asp-sweep",
    format("#SBATCH --array=0-%d%%%d", ntasks - 1, limit),
    format("#SBATCH --cpus-per-task=%d", o.j or 1),
    format("#SBATCH --output=%s/task-%%a.log", dir),
    "# Written by asp-lua sweep --slurm (docs/sweeps.md). Array task I runs",
    format("# chunk I of the %d combinations, as a local sweep does, into task-I.%s;", g.size, o.fmt),
    "# asp-lua sweep --collect " .. dir .. " merges them.",
    "cd " .. shq(cwd()) .. " || exit 1",
    "exec " .. concat(cmd, " "),
    "",
  }, "\n")
end

local function write_file(path, text)
  local f, err = io.open(path, "wb")
  if not f then fail(err) end
  f:write(text)
  f:close()
end

local function collect(dir, out)
  local info = {}
  local f = io.open(dir .. "/sweep.info", "rb")
  if not f then fail(format("'%s/sweep.info' not found: is '%s' the folder of a --slurm sweep?", dir, dir)) end
  for line in f:lines() do
    local k, v = line:match("^(%w+)=(.*)$")
    if k then info[k] = v end
  end
  f:close()
  local ntasks, size, total, fmt = tonumber(info.tasks), tonumber(info.chunk), tonumber(info.total), info.format
  local names = {}
  for n in (info.names or ""):gmatch("[^,]+") do names[#names + 1] = n end
  if not (ntasks and size and total and fmt) then fail("'" .. dir .. "/sweep.info' is incomplete") end
  if format_of(out) ~= fmt then
    fail(format("--out '%s': the tasks wrote %s files; collect them into a .%s file", out, fmt, fmt))
  end
  -- The result fields of every task, then the rows.
  local fieldset, fields = {}, {}
  for i = 0, ntasks - 1 do
    local cols = read_results(task_path(dir, i, fmt), fmt, function() end)
    for c = #names + 1, #(cols or {}) - #TAIL do
      local name = cols[c]
      if not fieldset[name] then fieldset[name] = true fields[#fields + 1] = name end
    end
  end
  table.sort(fields)
  local columns = {}
  for _, n in ipairs(names) do columns[#columns + 1] = n end
  for _, n in ipairs(fields) do columns[#columns + 1] = n end
  for _, n in ipairs(TAIL) do columns[#columns + 1] = n end
  local dirpart, base = out:match("^(.-)([^/]*)$")
  local tmp = dirpart .. "." .. base .. ".tmp"
  local o, err = io.open(tmp, "wb")
  if not o then fail(err) end
  o:write(encode_header(fmt, columns))
  local rows, failed, missing = 0, 0, {}
  for i = 0, ntasks - 1 do
    local want = math.min(total, (i + 1) * size) - i * size
    local got = 0
    read_results(task_path(dir, i, fmt), fmt, function(cells)
      got = got + 1
      if FAILED[cells.status] or FAILED[(cells.status or ""):gsub('"', "")] then failed = failed + 1 end
      local parts = {}
      for c, name in ipairs(columns) do
        if fmt == "jsonl" then
          parts[c] = json_string(name) .. ":" .. (cells[name] or "null")
        else
          parts[c] = csv_field(cells[name])
        end
      end
      o:write(fmt == "jsonl" and "{" .. concat(parts, ",") .. "}\n" or concat(parts, ",") .. "\n")
    end, fmt == "jsonl")
    rows = rows + got
    if got < want then
      missing[#missing + 1] = format("task %d: %d of its %d combinations (see %s/task-%d.log)", i, got, want, dir, i)
    end
  end
  o:close()
  local okr, rerr = os.rename(tmp, out)
  if not okr then fail(rerr) end
  for _, m in ipairs(missing) do io.stderr:write(PROG .. ": missing rows: " .. m .. "\n") end
  io.stderr:write(format("%s: collected %d of %d rows into %s (%d failed)\n", PROG, rows, total, out, failed))
  return (failed > 0 or #missing > 0) and 1 or 0
end

local function run_slurm(o, g)
  local out = o.out or "sweep." .. o.fmt
  local dir = o.dir or out .. ".slurm"
  if not dir:match("^/") then dir = cwd() .. "/" .. dir end
  local ntasks, size = chunking(g.size, o.tasks or 100)
  local exebuf = ffi.new("char[4096]")
  local exe = o.asp_lua or (C.asp_sweep_self_exe(exebuf, 4096) == 0 and ffi.string(exebuf)) or "asp-lua"
  local script = slurm_script(o, g, dir, ntasks, exe)
  if o.dry_run then
    io.stdout:write(script)
    return 0
  end
  local sbatch = find_program("sbatch")
  if not sbatch then
    fail("sbatch not found on PATH: --slurm submits the job array with Slurm's sbatch "
      .. "(Debian: apt-get install slurm-client; on a cluster, run from a login node)")
  end
  os.execute("mkdir -p " .. shq(dir))
  write_file(dir .. "/sweep.sbatch", script)
  write_file(dir .. "/sweep.info", format("tasks=%d\nchunk=%d\ntotal=%d\nformat=%s\nnames=%s\n",
    ntasks, size, g.size, o.fmt, concat(g.names, ",")))
  local cmd = format("%s --parsable%s %s %s > %s", shq(sbatch), o.wait and " --wait" or "",
    o.sbatch or "", shq(dir .. "/sweep.sbatch"), shq(dir .. "/job-id"))
  local rc = os.execute(cmd)
  local f = io.open(dir .. "/job-id", "rb")
  local job = f and (f:read("*l") or "") or ""
  if f then f:close() end
  if job == "" then fail(format("sbatch failed (status %s): %s", tostring(rc), cmd)) end
  io.stderr:write(format("%s: job %s: %d array tasks of up to %d combinations (%s)\n",
    PROG, job, ntasks, size, dir))
  if not o.wait then
    io.stdout:write(format("%s\nwhen it has ended: asp-lua sweep --collect %s --out %s\n", job, shq(dir), shq(out)))
    return 0
  end
  return collect(dir, out)
end

-- -- The command ----------------------------------------------------------------

local USAGE = [[
usage: asp-lua sweep script.lua --param name=SPEC ... [options] [-- script args]
       asp-lua sweep --collect DIR --out results.csv
  --param name=SPEC  SPEC: a,b,c (a list), from:to:step (inclusive), or both: 1,5:20:5
  -j N               N combinations at a time (default: the number of CPUs)
  --out FILE         append each row to FILE as it ends (.jsonl: JSON lines; else CSV);
                     default: standard output
  --resume           skip the combinations FILE already holds
  --timeout S        a combination still running after S seconds is killed ("timeout")
  --backtest         every asp.run is a backtest (as asp-lua --backtest)
  --progress | --no-progress   the progress line (default: when stderr is a terminal)
  --slurm            run as a Slurm job array instead (docs/sweeps.md), with:
    --sbatch "ARGS"  more sbatch options (partition, account, time...)
    --tasks K        at most K array tasks (default 100); --limit L: L at a time (default 16)
    --dir DIR        the job's folder, on a shared file system (default: OUT.slurm)
    --wait | --no-wait   wait for the job and collect (default) or return at once
    --dry-run        print the sbatch script only
  --collect DIR      merge the task files of a --slurm sweep into --out
]]

local function parse_args(argv)
  local o = { specs = {}, args = {}, wait = true }
  local i = 1
  local function value(a)
    i = i + 1
    if argv[i] == nil then fail("'" .. a .. "' needs an argument") end
    return argv[i]
  end
  local function number(a, min)
    local v = tonumber(value(a))
    if not v or v < min then fail(format("'%s %s': a number >= %s expected", a, argv[i], min)) end
    return v
  end
  while i <= #argv do
    local a = argv[i]
    if a == "--" then
      for k = i + 1, #argv do o.args[#o.args + 1] = argv[k] end
      break
    elseif a == "--param" then o.specs[#o.specs + 1] = value(a)
    elseif a == "-j" then o.j = math.floor(number(a, 1))
    elseif a:match("^%-j%d+$") then o.j = tonumber(a:sub(3))
    elseif a == "--out" then o.out = value(a)
    elseif a == "--resume" then o.resume = true
    elseif a == "--timeout" then o.timeout = number(a, 0)
    elseif a == "--backtest" then o.backtest = true
    elseif a == "--progress" then o.progress = true
    elseif a == "--no-progress" then o.progress = false
    elseif a == "--slurm" then o.slurm = true
    elseif a == "--sbatch" then o.sbatch = value(a)
    elseif a == "--tasks" then o.tasks = math.floor(number(a, 1))
    elseif a == "--limit" then o.limit = math.floor(number(a, 1))
    elseif a == "--dir" then o.dir = value(a)
    elseif a == "--wait" then o.wait = true
    elseif a == "--no-wait" then o.wait = false
    elseif a == "--dry-run" then o.dry_run = true
    elseif a == "--asp-lua" then o.asp_lua = value(a)
    elseif a == "--collect" then o.collect = value(a)
    elseif a == "--task" then o.task = math.floor(number(a, 0))
    elseif a == "-h" or a == "--help" then o.help = true
    elseif a:sub(1, 1) == "-" then fail("unknown option '" .. a .. "' (asp-lua sweep -h)")
    elseif o.script then fail("a second script '" .. a .. "' (script arguments go after --)")
    else o.script = a end
    i = i + 1
  end
  return o
end

local function main(...)
  local o = parse_args({ ... })
  if o.help then io.stdout:write(USAGE) return 0 end
  if o.collect then
    if not o.out then fail("--collect needs --out results.csv") end
    return collect(o.collect, o.out)
  end
  if not o.script then fail("no script (asp-lua sweep -h)") end
  o.fmt = format_of(o.out)
  if o.backtest then require("asp.sched").default_live = false end
  local g = make_grid(o.specs)
  if o.slurm then return run_slurm(o, g) end
  if o.resume and not o.out then fail("--resume needs --out") end
  local first, last = 0, g.size - 1
  if o.task then
    local ntasks, size = chunking(g.size, o.tasks or 1)
    if o.task >= ntasks then fail(format("--task %d: the grid has %d tasks", o.task, ntasks)) end
    first, last = o.task * size, math.min(g.size, (o.task + 1) * size) - 1
  end
  local out = open_out(o.out, g, o.resume)
  local todo = {}
  for idx = first, last do
    local vals = combination(g, idx)
    local cells = {}
    for k = 1, #vals do cells[k] = cell(vals[k]) end
    if not out.done[key_of(cells)] then todo[#todo + 1] = idx end
  end
  if o.resume and #todo < last - first + 1 then
    io.stderr:write(format("%s: --resume: %d of %d combinations are already in '%s'\n",
      PROG, last - first + 1 - #todo, last - first + 1, o.out))
  end
  if #todo == 0 then out:finish() return 0 end
  -- The script's folder first on package.path, as for asp-lua script.lua.
  local dir = o.script:match("^(.*/)") or "./"
  package.path = dir .. "?.lua;" .. dir .. "?/init.lua;" .. package.path
  _G.arg = { [0] = o.script, unpack(o.args) }
  local progress = o.progress
  if progress == nil then progress = C.asp_sweep_isatty(2) ~= 0 end
  return run_local({ grid = g, out = out, todo = todo, j = o.j or C.asp_sweep_cpus(),
    timeout = o.timeout, script = o.script, args = o.args, progress = progress })
end

-- asp-lua sweep ... (engine/main.c): the exit status. A usage error is
-- printed without a traceback.
function M.main(...)
  local ok, r = xpcall(main, function(e)
    if type(e) == "string" and (e:sub(1, #PROG) == PROG or e:find("^%-%-param")) then return e end
    return debug.traceback(e, 2)
  end, ...)
  if ok then return r end
  if tostring(r):sub(1, #PROG) ~= PROG then r = PROG .. ": " .. tostring(r) end
  io.stderr:write(tostring(r), "\n")
  return 1
end

-- asp-lua --param … --result row.csv script.lua: the script, then its row,
-- made exactly as a sweep makes it (engine/main.c).
function M.single(path, script, ...)
  local t0 = mono()
  local chunk, lerr = loadfile(script)
  local ok, err = false, lerr
  if chunk then ok, err = xpcall(chunk, handler, ...) end
  if not ok then io.stderr:write("asp-lua: " .. tostring(err) .. "\n") end
  local status, msg, result = outcome(ok, err)
  local values = {}
  for i, n in ipairs(params.names) do values[i] = params.given[n] end
  if status == "no_result" then
    warn(describe(params.names, values) .. ": the script never called asp.result (the row has its status only)")
  end
  local g = { names = params.names }
  local o = setmetatable({ names = g.names, fmt = format_of(path), pending = {}, warned = {} }, Out)
  o:fix_columns(result)
  local text = encode_header(o.fmt, o.columns)
  local row = make_row(g.names, values, status, msg, result, mono() - t0)
  local vals = {}
  for i, c in ipairs(o.columns) do vals[i] = row[c] end
  text = text .. encode_row(o.fmt, o.columns, vals)
  local dirpart, base = path:match("^(.-)([^/]*)$")
  local tmp = dirpart .. "." .. base .. ".tmp"
  local okw, werr = pcall(function()
    write_file(tmp, text)
    local okr, rerr = os.rename(tmp, path)
    if not okr then os.remove(tmp); fail(rerr) end
  end)
  if not okw then
    -- The script's own outcome stands; the row could not be kept: say so, fail.
    local m = tostring(werr)
    if m:sub(1, #PROG + 2) == PROG .. ": " then m = m:sub(#PROG + 3) end
    io.stderr:write(("asp-lua: --result: cannot write '%s': %s\n"):format(path, m))
    return 1
  end
  return ok and 0 or 1
end

-- For the specs.
M._parse_spec, M._make_grid, M._combination = parse_spec, make_grid, combination
M._csv_records, M._json_record = csv_records, json_record

return M
