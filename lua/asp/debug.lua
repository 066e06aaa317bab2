-- asp.debug: drive a paused run and look inside it. Every REPL command
-- (.step, .back, ...) is one of these functions, so scripts and tests can
-- use them too; see docs/repl.md.
--
-- Running commands return a Report: a table with the outcome and the
-- status fields, whose tostring is the line the REPL prints.
local ffi = require("ffi")
local sched = require("asp.sched")
local serial = require("asp.serial")
local item_kinds = require("asp.items")
local stream = require("asp.stream")
local time = require("asp.time")
local cffi = require("asp.cffi")

local C, S = cffi.C, cffi.S
local Time = time.ct
local format_ns = time.format_ns
local INT64_MAX = 0x7fffffffffffffffLL
local TARGET_ITEMS, TARGET_TIME = 0, 1

local D = {}

-- Checkpoint policy: one at the start of every running command, and while
-- running one every `checkpoint_items` items or `checkpoint_seconds` of
-- virtual time (nil: not by time). See docs/repl.md for their cost.
D.checkpoint_items = 100000
D.checkpoint_seconds = nil

local breaks, watches = {}, {}
local busy = false
local last_cp_items, last_cp_ns = -1, nil
local last_ns = nil          -- the clock when the run last paused (kept after it ends)
local command_start = nil    -- items when the last running command began (.back with no argument)

local up_ids, up_dues = ffi.new("int32_t[?]", 256), ffi.new("int64_t[?]", 256)

-- -- Reports -------------------------------------------------------------------

local Report = {}
Report.__index = Report
Report.__tostring = function(r) return r.text end
local function report(t) return setmetatable(t, Report) end

local function items() return tonumber(C.asp_sched_items(S)) end

-- The next k queued items as { {id, due}... }.
local function upcoming(k)
  if k > 256 then k = 256 end
  local n = C.asp_sched_upcoming(S, k, up_ids, up_dues)
  local out = {}
  for i = 0, n - 1 do out[#out + 1] = { id = up_ids[i], due = up_dues[i] } end
  return out
end

local function next_due()
  local u = upcoming(1)
  return u[1] and u[1].due
end

-- "path:line" where fn is defined (debug.getinfo short_src:linedefined),
-- "[C]" for a C function, or nil when fn is no function.
local function fn_where(fn)
  if type(fn) ~= "function" then return nil end
  local info = debug.getinfo(fn, "S")
  if info.what == "C" then return "[C]" end
  return info.short_src .. ":" .. info.linedefined
end

local function with_where(text, fn)
  local w = fn_where(fn)
  return w and (text .. " (" .. w .. ")") or text
end

-- The innermost function of a sleeping coroutine that is not the engine's
-- own (the one that called asp.sleep, or called what did).
local function sleeping_in(co)
  for level = 0, 50 do
    local info = debug.getinfo(co, level, "Sf")
    if not info then return nil end
    if info.what ~= "C" and not info.short_src:match("^lua/asp/") and info.short_src ~= "[C]" then
      return info.func
    end
  end
end

-- An item as `.queue` and the status line show it: its kind's own
-- description (lua/asp/items.lua) and where its function is defined.
local function describe_item(id)
  local k, p = sched.item(id)
  if k == nil then return "an item no longer queued" end
  local text, where = item_kinds.describe(k, p)
  if type(where) == "thread" then where = sleeping_in(where) end
  return with_where(text, where)
end

local function stream_name(st)
  return st.name or ("#" .. tostring(st.order))
end

-- One line: the clock, the streams and the next item.
local function status_line()
  if not sched.is_running() then
    return ("no run (last clock %s)"):format(last_ns and format_ns(last_ns) or "-")
  end
  local parts = { format_ns(C.asp_sched_now(S)) .. ", " .. items() .. " items" }
  local ss = {}
  for _, st in ipairs(stream.run_streams) do ss[#ss + 1] = stream_name(st) .. " " .. st.delivered end
  parts[#parts + 1] = "streams: " .. (#ss > 0 and table.concat(ss, ", ") or "none started")
  local u = upcoming(1)[1]
  if u then
    parts[#parts + 1] = "next: " .. describe_item(u.id) .. " at " .. format_ns(u.due)
  else
    parts[#parts + 1] = "next: nothing queued"
  end
  return table.concat(parts, " | ")
end
D.status = status_line

-- -- Pretty printing -------------------------------------------------------------

local function is_ident(k)
  return type(k) == "string" and k:match("^[%a_][%w_]*$") ~= nil
end

local function key_less(a, b)
  local ta, tb = type(a), type(b)
  if ta ~= tb then return ta < tb end
  if ta == "number" or ta == "string" then return a < b end
  return tostring(a) < tostring(b)
end

local function fmt(v, depth, seen, indent)
  local tv = type(v)
  if tv == "string" then return ("%q"):format(v):gsub("\\\n", "\\n") end
  if tv ~= "table" then return tostring(v) end
  local mt = getmetatable(v)
  if mt and mt.__tostring then return tostring(v) end
  if seen[v] then return "<cycle>" end
  if depth <= 0 then return "{...}" end
  seen[v] = true
  local parts, n = {}, #v
  local MAX = 40
  for i = 1, math.min(n, MAX) do parts[#parts + 1] = fmt(v[i], depth - 1, seen, indent .. "  ") end
  local keys = {}
  for k in pairs(v) do
    if not (type(k) == "number" and k >= 1 and k <= n and k % 1 == 0) then keys[#keys + 1] = k end
  end
  table.sort(keys, key_less)
  for i = 1, #keys do
    if #parts >= MAX then break end
    local k = keys[i]
    local ks = is_ident(k) and k or ("[" .. fmt(k, 1, seen, indent) .. "]")
    parts[#parts + 1] = ks .. " = " .. fmt(v[k], depth - 1, seen, indent .. "  ")
  end
  if n + #keys > MAX then parts[#parts + 1] = "... (" .. (n + #keys - MAX) .. " more)" end
  seen[v] = nil
  if #parts == 0 then return "{}" end
  local one = "{ " .. table.concat(parts, ", ") .. " }"
  if #one <= 72 and not one:find("\n") then return one end
  return "{\n" .. indent .. "  " .. table.concat(parts, ",\n" .. indent .. "  ") .. "\n" .. indent .. "}"
end

-- The text of a value as the REPL prints it: tables expanded `depth` levels.
function D.format(v, depth)
  return fmt(v, depth or 3, {}, "")
end

-- -- Checkpoints -----------------------------------------------------------------

-- Raised in a checkpoint process resumed by .back: unwinds the command it
-- was taken in, so that the process goes to the target instead.
local Resumed = {}
Resumed.__index = Resumed

local target_kind, target_value = ffi.new("int32_t[1]"), ffi.new("int64_t[1]")

local restore_kept   -- below, with .keep

local function take_checkpoint()
  local n, ns = items(), C.asp_sched_now(S)
  last_cp_items, last_cp_ns = n, ns
  local r = C.asp_checkpoint_take(n, ns)
  if r ~= 1 then return end
  -- This process was a checkpoint and is now the foreground. It leaves a
  -- fresh checkpoint in its place, so that this point stays reachable.
  local resumed
  repeat
    C.asp_checkpoint_target(target_kind, target_value)
    resumed = setmetatable({ kind = target_kind[0], target = target_value[0] }, Resumed)
  until C.asp_checkpoint_take(n, ns) ~= 1
  restore_kept()
  error(resumed, 0)
end

local function maybe_checkpoint(force)
  if C.asp_checkpoint_enabled() == 0 then return end
  local n = items()
  if n == last_cp_items then return end
  if not force then
    local due_items = n - last_cp_items >= D.checkpoint_items
    local due_time = D.checkpoint_seconds ~= nil and last_cp_ns ~= nil
      and C.asp_sched_now(S) - last_cp_ns >= C.asp_time_from_seconds(D.checkpoint_seconds)
    if not (due_items or due_time) then return end
  end
  take_checkpoint()
end

-- -- Breakpoints and watches -------------------------------------------------------

local function compile(expr, what)
  if type(expr) == "function" then return expr, "<function>" end
  if type(expr) ~= "string" or expr:match("^%s*$") then
    error("asp.debug." .. what .. ": a Lua expression (string) or a function expected", 3)
  end
  local fn, err = loadstring("return " .. expr, "=" .. what)
  if not fn then error("asp.debug." .. what .. ": " .. err, 3) end
  return fn, expr
end

-- After an item: prints changed watches; returns the text of a break hit.
local function check_after_item()
  for i = 1, #watches do
    local w = watches[i]
    local ok, v = pcall(w.fn)
    local s = ok and D.format(v, 2) or ("error: " .. tostring(v))
    if s ~= w.last then
      C.asp_progress_done()   -- never on the same line as the progress
      io.write(("[watch %d] %s %s = %s\n"):format(i, format_ns(C.asp_sched_now(S)), w.expr, s))
      w.last = s
    end
  end
  for i = 1, #breaks do
    local b = breaks[i]
    local ok, v = pcall(b.fn)
    if not ok then return ("break %d (%s) raised: %s"):format(i, b.expr, tostring(v)) end
    if v then return ("break %d (%s)"):format(i, b.expr) end
  end
end

local function refresh_watches()
  for i = 1, #watches do
    local ok, v = pcall(watches[i].fn)
    watches[i].last = ok and D.format(v, 2) or ("error: " .. tostring(v))
  end
end

-- -- Running -----------------------------------------------------------------------

local function need_run(fname)
  if not sched.is_running() then
    error("asp.debug." .. fname .. ": no run is paused (start one with asp.run in the REPL, "
      .. "or set asp.debug.interactive(true) before asp.run)", 3)
  end
  if busy then error("asp.debug." .. fname .. ": the run is already being driven", 3) end
end

-- Drives the run. opts: items = at most that many, until_ns = none due
-- after it, stop = function() -> true to pause after an item, quiet = no
-- watches or breaks. Returns the outcome and the text of a break hit.
local function drive_steps(opts)
  local target = opts.items and items() + opts.items
  local checks = not opts.quiet and (#breaks > 0 or #watches > 0)
  local per_item = checks or opts.stop ~= nil
  maybe_checkpoint(true)
  while true do
    local budget = -1
    if target then
      budget = target - items()
      if budget <= 0 then return "paused" end
    end
    if C.asp_checkpoint_enabled() ~= 0 then
      local left = math.max(1, D.checkpoint_items - (items() - last_cp_items))
      if budget < 0 or left < budget then budget = left end
    end
    if per_item then budget = 1 end
    local ok, r = pcall(sched.resume, budget, opts.until_ns)
    last_ns = C.asp_sched_now(S)
    if not ok then error(r, 0) end
    if r ~= "paused" then return r end
    if checks then
      local hit = check_after_item()
      if hit then return "break", hit end
    end
    if opts.stop and opts.stop() then return "paused" end
    if opts.until_ns then
      local due = next_due()
      if due == nil or due > opts.until_ns then return "paused" end
    end
    maybe_checkpoint(false)
  end
end

-- Ctrl-C pauses the run for the whole command: also when it comes between
-- two budgets (at a checkpoint), not only while the scheduler runs.
local function drive(opts)
  C.asp_repl_driving(1)
  local ok, r, hit = pcall(drive_steps, opts)
  C.asp_repl_driving(0)
  if not ok then error(r, 0) end
  return r, hit
end

-- Goes on to where a resumed checkpoint was sent: silently, watches then
-- re-read so that only later changes print.
local function go_to(kind, value)
  if kind == TARGET_ITEMS then
    drive({ items = tonumber(value) - items(), quiet = true })
  else
    drive({ until_ns = value, quiet = true })
  end
  refresh_watches()
  return "back"
end

local OUTCOME = {
  paused = "paused", interrupted = "interrupted (Ctrl-C)", finished = "run finished",
  back = "back", ["break"] = "break",
}

-- Runs a command that drives the run, and reports where it stopped.
local function command(fname, opts)
  need_run(fname)
  busy = true
  command_start = items()
  local ok, outcome, hit = pcall(drive, opts)
  if not ok and getmetatable(outcome) == Resumed then
    ok, outcome = pcall(go_to, outcome.kind, outcome.target)
    hit = nil
  end
  busy = false
  if not ok then
    if getmetatable(outcome) == Resumed then error("asp.debug: resumed twice", 0) end
    error(outcome, 0)
  end
  local text = OUTCOME[outcome] .. (hit and (": " .. hit:gsub("^break ", "")) or "")
  local short = outcome == "finished" and opts.until_ns and last_ns and last_ns < opts.until_ns
  if short then
    -- Asked for more than the run has: say so rather than end quietly.
    text = ("the run ended at %s before reaching %s"):format(format_ns(last_ns), format_ns(opts.until_ns))
  elseif outcome == "finished" then
    text = text .. " at " .. (last_ns and format_ns(last_ns) or "-")
  else
    text = text .. ": " .. status_line()
  end
  return report({ outcome = outcome, hit = hit, text = text, items = items(),
    clock = last_ns and Time(last_ns), ended_before = short or nil })
end

-- -- Time arguments ------------------------------------------------------------

local UNIT_SECONDS = { d = 86400, h = 3600, m = 60, s = 1 }
local NS_PER_DAY = 86400LL * 1000000000LL
local MAX_SECONDS = 9.2e9   -- |clock| stays within int64 nanoseconds (years 1678..2262)

-- "+5m", "-1h30m", "+90s", "+2d", "+60", "-1.5" -> seconds (a number), or nil.
local function parse_offset(x)
  local sign, body = x:match("^%s*([+-])%s*(.-)%s*$")
  if not sign or body == "" then return nil end
  local n = body:match("^%d*%.?%d+[eE][+-]?%d+$") or body:match("^%d*%.?%d*$")
  local total
  if n and body ~= "." then
    total = tonumber(body)
  else
    total = 0
    local rest = body
    while rest ~= "" do
      local num, unit, tail = rest:match("^(%d*%.?%d+)([dhms])(.*)$")
      if not num then return nil end
      total = total + tonumber(num) * UNIT_SECONDS[unit]
      rest = tail
    end
  end
  if total == nil then return nil end
  return sign == "-" and -total or total
end

-- "10:00", "10:00:30", "10:00:30.25": that time of day (UTC) on the date of
-- the clock, as nanoseconds; nil when x is not one.
local function parse_time_of_day(x, now_ns)
  local h, m, rest = x:match("^%s*(%d%d?):(%d%d)(.-)%s*$")
  if not h then return nil end
  local sec = 0
  if rest ~= "" then
    local s_ = rest:match("^:(%d%d%.?%d*)$")
    if not s_ then return nil end
    sec = tonumber(s_)
  end
  h, m = tonumber(h), tonumber(m)
  if h > 23 or m > 59 or not sec or sec >= 60 then return false end
  local day = now_ns - ((now_ns % NS_PER_DAY) + NS_PER_DAY) % NS_PER_DAY
  return day + C.asp_time_from_seconds(h * 3600 + m * 60 + sec)
end

local TIME_FORMS = "an ISO-8601 time, a time of day like 10:00 or 10:00:30 (UTC, on the clock's date), "
  .. "a Time, or an offset from the clock like +60, +90s, +5m, +1h30m, +2d (- for back)"

-- Converts a time argument: a Time, an ISO string, a time of day, an offset
-- ("+5m", "-30", a number of seconds) relative to the clock.
local function to_ns(x, fname, now_ns)
  if time.is_time(x) then return x.ns_ end
  local secs
  if type(x) == "number" then
    secs = x
  elseif type(x) == "string" then
    secs = parse_offset(x)
    if secs == nil then
      local tod = parse_time_of_day(x, now_ns)
      if tod then return tod end
      if tod == false then
        error(("asp.debug.%s: bad time of day '%s' (hours 0-23, minutes and seconds 0-59)"):format(fname, x), 3)
      end
      local ns = time.parse_ns(x)
      if ns then return ns end
    end
  end
  if secs == nil then
    error(("asp.debug.%s: bad time '%s' (%s expected)"):format(fname, tostring(x), TIME_FORMS), 3)
  end
  if secs ~= secs or math.abs(tonumber(now_ns) / 1e9 + secs) >= MAX_SECONDS then
    error(("asp.debug.%s: time offset '%s' is out of range (the clock %s plus %s s is beyond the years 1678-2262)")
      :format(fname, tostring(x), format_ns(now_ns), tostring(secs)), 3)
  end
  return now_ns + C.asp_time_from_seconds(secs)
end
D._to_ns = to_ns  -- for tests

function D.step(n)
  n = n == nil and 1 or tonumber(n)
  if not n or n < 1 or n % 1 ~= 0 then error("asp.debug.step: a whole number of items >= 1 expected", 2) end
  return command("step", { items = n })
end

-- Runs until the next event of the named stream (any stream when nil).
function D.next(name)
  need_run("next")
  local found
  if name ~= nil then
    for _, st in ipairs(stream.run_streams) do
      if st.name == name or tostring(st.order) == tostring(name) then found = st end
    end
    if not found then error("asp.debug.next: no stream named " .. tostring(name), 2) end
  end
  local before = {}
  for _, st in ipairs(stream.run_streams) do before[st] = st.delivered end
  return command("next", { stop = function()
    if found then return found.delivered > before[found] end
    for _, st in ipairs(stream.run_streams) do
      if st.delivered > (before[st] or 0) then return true end
    end
    return false
  end })
end

-- Runs every item due at or before t (ISO time, Time, "+seconds").
function D.until_(t)
  need_run("until")
  return command("until", { until_ns = to_ns(t, "until", C.asp_sched_now(S)) })
end
D["until"] = D.until_

function D.continue()
  return command("continue", {})
end

-- Travels back: to a time (ISO, Time, "-seconds"), to "#n" (after n items)
-- or, with no argument, to where the last running command began.
function D.back(t)
  if C.asp_checkpoint_enabled() == 0 then
    error("asp.debug.back: time travel needs the REPL session (asp-lua -i): checkpoints are its processes", 2)
  end
  local now_ns = sched.is_running() and C.asp_sched_now(S) or last_ns
  local kind, value
  if t == nil or t == "" then
    if command_start == nil then error("asp.debug.back: nothing ran yet", 2) end
    kind, value = TARGET_ITEMS, command_start
  elseif type(t) == "string" and t:match("^#%d+$") then
    kind, value = TARGET_ITEMS, tonumber(t:sub(2))
  else
    if now_ns == nil then error("asp.debug.back: no run yet", 2) end
    kind, value = TARGET_TIME, to_ns(t, "back", now_ns)
    if type(t) == "number" and t > 0 then
      error("asp.debug.back: a number is seconds back from the clock and must be <= 0 (got " .. t .. ")", 2)
    end
  end
  local ahead = kind == TARGET_ITEMS and value > items() or kind == TARGET_TIME and now_ns and value > now_ns
  if ahead then
    local target = kind == TARGET_ITEMS and ("#" .. tostring(value)) or format_ns(value)
    if not sched.is_running() then
      error(("asp.debug.back: the run ended at %s (%d items) before reaching %s"):format(
        now_ns and format_ns(now_ns) or "-", items(), target), 2)
    end
    error(("asp.debug.back: %s is ahead of the clock (%s, %d items): .until or .step go forward"):format(
      target, format_ns(now_ns), items()), 2)
  end
  local lost_items, lost_ns = ffi.new("int64_t[1]"), ffi.new("int64_t[1]")
  if C.asp_checkpoint_journal_lost(lost_items, lost_ns) ~= 0
    and (kind == TARGET_ITEMS and value > lost_items[0] or kind == TARGET_TIME and value > lost_ns[0]) then
    error(("asp.debug.back: cannot travel to %s: the live journal could not be written after %s (%d items), "
      .. "so what arrived live since is lost; .back to that point or earlier works"):format(
      kind == TARGET_ITEMS and ("#" .. tostring(value)) or format_ns(value), format_ns(lost_ns[0]),
      tonumber(lost_items[0])), 2)
  end
  local i = C.asp_checkpoint_find(kind, value)
  if i < 0 then error("asp.debug.back: no checkpoint at or before that point (the run's start is the earliest)", 2) end
  local id, ci, cn = ffi.new("int32_t[1]"), ffi.new("int64_t[1]"), ffi.new("int64_t[1]")
  C.asp_checkpoint_get(i, id, ci, cn)
  C.asp_checkpoint_restore(id[0], kind, value)
  -- Every checkpoint at or before the target was gone or did not answer
  -- (each said so on stderr): this process is still the foreground.
  error("asp.debug.back: no checkpoint at or before that point could be resumed; the session stays where it is", 2)
end

-- -- .reload --------------------------------------------------------------------------

-- Re-runs the edited script in a fresh process (a new Lua state, the same
-- command line) from the start to the current virtual time, the session's
-- journal included, and pauses there. The checkpoints are of the old code:
-- they end. A script that does not compile leaves the session as it is.
function D.reload()
  if C.asp_checkpoint_enabled() == 0 then
    error("asp.debug.reload: needs the REPL session (asp-lua -i script.lua)", 2)
  end
  local script = arg and arg[0]
  if type(script) ~= "string" or script == "" or script == "-" then
    error("asp.debug.reload: no script to reload (asp-lua -i script.lua)", 2)
  end
  local ok, err = loadfile(script)
  if not ok then error("asp.debug.reload: " .. tostring(err) .. "; the session stays as it is", 2) end
  local at = -1
  if sched.is_running() then
    if items() > 0 then at = C.asp_sched_now(S) end
  elseif last_ns then
    at = last_ns
  end
  C.asp_repl_reload(at)
  pcall(ffi.cdef, "char *strerror(int errnum);")
  error("asp.debug.reload: cannot start asp-lua again (" .. ffi.string(ffi.C.strerror(ffi.errno())) .. ")", 2)
end

-- In the process a .reload started, once the script ran (paused at its
-- start): on to the old process's clock (at: nanoseconds as text, or "-1").
function D.reloaded(at)
  local ns = loadstring("return " .. at .. "LL")()
  if ns < 0 then return nil end
  local r = command("until", { until_ns = ns })
  r.text = "reloaded: " .. r.text
  return r
end

-- -- Inspecting ----------------------------------------------------------------------

function D.where()
  local r = { clock = nil, wall = Time(C.asp_time_wall()), streams = {} }
  if not sched.is_running() then
    r.mode = "no run"
    r.text = status_line()
    return report(r)
  end
  r.clock = Time(C.asp_sched_now(S))
  r.items = items()
  local due = next_due()
  r.mode = (due ~= nil and due > C.asp_time_wall()) and "live" or "replay"
  local lines = {
    ("clock %s   wall %s   mode %s   items %d"):format(tostring(r.clock), tostring(r.wall), r.mode, r.items),
  }
  local nexts = {}
  for _, u in ipairs(upcoming(256)) do
    local k, p = sched.item(u.id)
    if k == "stream" and nexts[p] == nil then nexts[p] = u.due end
  end
  for _, st in ipairs(stream.run_streams) do
    local nx = nexts[st]
    r.streams[#r.streams + 1] = { name = stream_name(st), events = st.delivered, next = nx and Time(nx) }
    lines[#lines + 1] = ("  stream %-12s %8d events   next %s"):format(stream_name(st), st.delivered,
      nx and format_ns(nx) or (st.past_done and "(live: waiting)" or "-"))
  end
  r.text = table.concat(lines, "\n")
  return report(r)
end

function D.queue(k)
  need_run("queue")
  k = tonumber(k) or 10
  local r = { items = {} }
  local lines = {}
  for i, u in ipairs(upcoming(k)) do
    local d = describe_item(u.id)
    r.items[i] = { due = Time(u.due), what = d }
    lines[#lines + 1] = ("%3d. %s  %s"):format(i, format_ns(u.due), d)
  end
  r.text = #lines > 0 and table.concat(lines, "\n") or "(nothing queued)"
  return report(r)
end

-- .break expr: pause after the item that makes expr true; "off" clears.
function D.break_(expr)
  if expr == "off" or expr == false then
    breaks = {}
    return report({ text = "breakpoints cleared" })
  end
  if expr == nil or expr == "" then
    local lines = {}
    for i, b in ipairs(breaks) do lines[#lines + 1] = ("break %d: %s"):format(i, b.expr) end
    return report({ text = #lines > 0 and table.concat(lines, "\n") or "(no breakpoints)" })
  end
  local fn, text = compile(expr, "break")
  breaks[#breaks + 1] = { fn = fn, expr = text }
  return report({ text = ("break %d: %s"):format(#breaks, text) })
end
D["break"] = D.break_

-- .watch expr: print each change of its value with the virtual time.
function D.watch(expr)
  if expr == "off" or expr == false then
    watches = {}
    return report({ text = "watches cleared" })
  end
  if expr == nil or expr == "" then
    local lines = {}
    for i, w in ipairs(watches) do lines[#lines + 1] = ("watch %d: %s = %s"):format(i, w.expr, w.last) end
    return report({ text = #lines > 0 and table.concat(lines, "\n") or "(no watches)" })
  end
  local fn, text = compile(expr, "watch")
  local w = { fn = fn, expr = text }
  watches[#watches + 1] = w
  local ok, v = pcall(fn)
  w.last = ok and D.format(v, 2) or ("error: " .. tostring(v))
  return report({ text = ("watch %d: %s = %s"):format(#watches, text, w.last) })
end

function D.checkpoints()
  local r = { list = {} }
  if C.asp_checkpoint_enabled() == 0 then
    r.text = "checkpoints are off (time travel needs the REPL session)"
    return report(r)
  end
  local id, ci, cn = ffi.new("int32_t[1]"), ffi.new("int64_t[1]"), ffi.new("int64_t[1]")
  local lines = {}
  for i = 0, C.asp_checkpoint_count() - 1 do
    C.asp_checkpoint_get(i, id, ci, cn)
    local pid = C.asp_checkpoint_pid(i)
    r.list[#r.list + 1] = { id = id[0], items = tonumber(ci[0]), clock = Time(cn[0]), pid = pid }
    lines[#lines + 1] = ("  #%-4d %s  after %d items  pid %d"):format(id[0], format_ns(cn[0]), tonumber(ci[0]), pid)
  end
  r.text = ("%d checkpoints (one per %d items%s, at most a bounded number: older ones thinned)\n"):format(
    #r.list, D.checkpoint_items,
    D.checkpoint_seconds and (" or " .. D.checkpoint_seconds .. " s") or "") .. table.concat(lines, "\n")
  return report(r)
end

local HELP = [[
Commands (each is also asp.debug.<name>):
  .step [n]           run n items (default 1)
  .next [stream]      run until the next event of a stream (any stream by default)
  .until <t>          run every item due at or before t: an ISO time, 10:00[:30]
                      (UTC, the clock's date), or +60, +90s, +5m, +1h30m, +2d
  .continue           run to the end, or on into live input; Ctrl-C pauses
  .back [t]           travel back to time t (as .until, -5m ...), to #n (after n items),
                      or to where the last running command began
  .where              clock, wall clock, mode and every stream
  .queue [k]          the next k scheduled items (default 10)
  .break [expr|off]   pause after the item that makes expr true; list; clear
  .watch [expr|off]   print each change of expr with the virtual time; list; clear
  .checkpoints        the checkpoints time travel can go back to
  .keep [name]        copy global `name` into kept.name, which survives .back
  .reload             re-run the edited script from the start to the clock, and pause
  .help               this text
Any other line is Lua, run in the script's global environment (=expr prints).]]

function D.help()
  return report({ text = HELP })
end

-- -- Keeping values across .back ----------------------------------------------

-- Kept values travel as text (lua/asp/serial.lua): numbers, strings,
-- booleans and plain tables of them (no Times here: docs/repl.md).
local function serialise(v, name) return serial.encode(v, name, false) end
local deserialise = serial.decode

local KEPT_MAX = 1024 * 1024   -- bytes of kept values (shared memory of the session)
local kept_text = {}           -- name -> serialised value, kept in this process

-- Every kept value, as one chunk: "return { [name] = value, ... }" body.
local function kept_chunk()
  local parts = { "{" }
  for name, text in pairs(kept_text) do parts[#parts + 1] = ("[%q]=%s,"):format(name, text) end
  parts[#parts + 1] = "}"
  return table.concat(parts)
end

-- After a resume: the values kept by the processes before come back as
-- `kept` (they are in the session's shared memory, not in this process's).
function restore_kept()
  local n = ffi.new("size_t[1]")
  local p = C.asp_checkpoint_kept(n)
  if p == nil or n[0] == 0 then return end
  local ok, t = pcall(deserialise, ffi.string(p, n[0]))
  if not ok or type(t) ~= "table" then return end
  kept_text = {}
  local kept = {}
  for name, v in pairs(t) do
    kept_text[name] = serialise(v, name)
    kept[name] = v
  end
  rawset(_G, "kept", kept)
end
D._restore_kept = restore_kept

-- .keep name: copies the global `name` (or value, when given) into
-- kept[name], where it survives .back. With no name: the kept names.
function D.keep(name, ...)
  if name == nil or name == "" then
    local names = {}
    for k in pairs(kept_text) do names[#names + 1] = k end
    table.sort(names)
    return report({ names = names, text = #names > 0 and ("kept: " .. table.concat(names, ", "))
      or "(nothing kept: .keep name copies a global into kept.name)" })
  end
  if type(name) ~= "string" or not name:match("^[%a_][%w_]*$") then
    error("asp.debug.keep: a global's name expected (got " .. D.format(name, 1) .. ")", 2)
  end
  local v
  if select("#", ...) > 0 then v = ... else v = rawget(_G, name) end
  if v == nil then error("asp.debug.keep: " .. name .. " is nil: nothing to keep", 2) end
  local ok, out = pcall(serialise, v, name)
  if not ok then
    error("asp.debug.keep: cannot keep " .. name .. ": " .. tostring(out)
      .. " (numbers, strings, booleans and plain tables of them can be kept)", 2)
  end
  local text = out
  local old = kept_text[name]
  kept_text[name] = text
  local chunk = kept_chunk()
  if #chunk > KEPT_MAX then
    kept_text[name] = old
    error(("asp.debug.keep: %s is too large to keep (%d bytes of kept values, at most %d)"):format(
      name, #chunk, KEPT_MAX), 2)
  end
  C.asp_checkpoint_keep(chunk, #chunk)
  local kept = rawget(_G, "kept")
  if type(kept) ~= "table" then kept = {}; rawset(_G, "kept", kept) end
  kept[name] = deserialise(text)   -- a copy: later changes of the global do not change it
  return report({ name = name, text = ("kept.%s = %s"):format(name, D.format(kept[name], 2)) })
end

-- -- Commands ---------------------------------------------------------------------

-- The REPL's commands: .name args -> D[name](args).
local COMMANDS = {
  step = D.step, next = D.next, ["until"] = D.until_, continue = D.continue, back = D.back,
  where = D.where, queue = D.queue, ["break"] = D.break_, watch = D.watch,
  checkpoints = D.checkpoints, help = D.help, keep = D.keep, reload = D.reload,
  s = D.step, n = D.next, c = D.continue, w = D.where, q = D.queue, b = D.back,
}

local function distance(a, b)
  local prev = {}
  for j = 0, #b do prev[j] = j end
  for i = 1, #a do
    local cur = { [0] = i }
    for j = 1, #b do
      local cost = a:sub(i, i) == b:sub(j, j) and 0 or 1
      cur[j] = math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
    end
    prev = cur
  end
  return prev[#b]
end

-- The command closest to a mistyped name, or nil.
local function suggest(name)
  local best, best_d
  for k in pairs(COMMANDS) do
    if #k > 1 then
      local d = distance(name, k)
      if k:sub(1, #name) == name then d = 0 end   -- a prefix: .cont
      if not best_d or d < best_d or (d == best_d and k < best) then best, best_d = k, d end
    end
  end
  if best_d and best_d <= math.max(1, math.floor(#name / 3)) then return best end
end

-- Errors of a command are one line: the message, not where in debug.lua.
local function clean(err)
  if type(err) ~= "string" then return err end
  return (err:gsub("^lua/asp/debug%.lua:%d+: ", ""))
end

function D.command(name, args)
  local fn = COMMANDS[name]
  if not fn then
    local s_ = type(name) == "string" and name ~= "" and suggest(name)
    error(("unknown command '.%s'%s"):format(tostring(name),
      s_ and ("; did you mean '." .. s_ .. "'?") or " (.help lists the commands)"), 0)
  end
  args = args and args:match("^%s*(.-)%s*$") or ""
  local ok, r
  if args == "" then ok, r = pcall(fn) else ok, r = pcall(fn, args) end
  if not ok then error(clean(r), 0) end
  return r
end

-- End of the session (Ctrl-D): a paused run ends as with asp.stop() (its
-- live sources close, an asp.exec process is ended), so that leaving never
-- waits for live input, nor for a process that a resumed checkpoint only
-- knows from the journal (it is not its child: its exit is never seen).
function D.quit()
  if not sched.is_running() then return end
  sched.stop()
  pcall(sched.resume, -1)
end

-- Interactive mode: asp.run returns paused at the start of the run. With
-- no argument, tells whether it is on (true under asp-lua -i).
function D.interactive(...)
  if select("#", ...) > 0 then sched.interactive = (...) and true or false end
  return sched.interactive
end

sched.on_pause = function()
  -- A new run: the checkpoints of an earlier one describe another run.
  C.asp_checkpoint_end()
  last_cp_items, last_cp_ns, command_start = -1, nil, nil
  last_ns = C.asp_sched_now(S)
  refresh_watches()
  io.write("paused at start: ", status_line(), "\n")
end

return D
