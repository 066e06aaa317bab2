-- asp.stats(): what the current or last run did, per stream and in all.
local ffi = require("ffi")
local cffi = require("asp.cffi")
local stream = require("asp.stream")
local sched = require("asp.sched")

local C, S = cffi.C, cffi.S
local M = {}

local function skipped_of(src)
  if type(src) == "table" and type(src.skipped) == "function" then return src:skipped() end
  return 0
end

-- Items queued now, counted by kind (lua/asp/items.lua): {stream = n, ...}.
local function queued_by_kind()
  local out = {}
  if not sched.is_running() then return out end
  local n = C.asp_sched_pending(S)
  if n <= 0 then return out end
  local ids, dues = ffi.new("int32_t[?]", n), ffi.new("int64_t[?]", n)
  n = C.asp_sched_upcoming(S, n, ids, dues)
  for i = 0, n - 1 do
    local k = sched.item(ids[i])
    if k ~= nil then out[k] = (out[k] or 0) + 1 end
  end
  return out
end

function M.stats(...)
  if select("#", ...) > 0 then
    error("asp.stats: bad argument #1 (no argument expected, got " .. type((...)) .. ")", 2)
  end
  local streams = {}
  for i, st in ipairs(stream.run_streams) do
    streams[i] = {
      name = st.name or ("stream #" .. (st.order or i)),
      delivered = st.delivered,
      out_of_order = st.out_of_order,
      skipped = skipped_of(st.past) + (st.future ~= st.past and skipped_of(st.future) or 0),
      errors = st.log_errors and st.errors or nil, -- on_error = 'log' only
    }
    local f = st.future
    if type(f) == "table" and f.exec then
      streams[i].exit_status, streams[i].exit_signal = f.exit_status, f.exit_signal
    end
    if type(f) == "table" and type(f.counts) == "function" then
      for k, v in pairs(f:counts()) do streams[i][k] = v end -- live faults (docs/errors.md)
    end
  end
  local wall0 = C.asp_sched_run_wall_start(S)
  local now = C.asp_sched_now(S)
  local wall = sched.last_wall_end
  if sched.is_running() or wall == nil then wall = C.asp_time_wall() end
  local last = sched.last_result
  return {
    streams = streams,
    queued = queued_by_kind(),
    items = tonumber(C.asp_sched_items(S)),
    events = tonumber(C.asp_sched_events(S)),
    -- items left scheduled when the run ended (end_time, live = false, asp.stop)
    dropped = (not sched.is_running() and last) and last.dropped or 0,
    wall_time = tonumber(wall - wall0) / 1e9,
    virtual_span = tonumber(now - C.asp_sched_run_start(S)) / 1e9,
    reloads = C.asp_reload_count(),
  }
end

-- The report asp-lua --stats prints at exit.
function M.report(out)
  local s = M.stats()
  out = out or io.stderr
  out:write(("asp stats: %d items in %.3f s wall, %.3f s virtual\n"):format(s.items, s.wall_time, s.virtual_span))
  if C.asp_reload_role() ~= 0 then
    out:write(("  reloads: %d\n"):format(C.asp_reload_count()))
  end
  for _, st in ipairs(s.streams) do
    out:write(("  %-24s delivered %d, out of order %d, skipped %d\n"):format(
      st.name, st.delivered, st.out_of_order, st.skipped))
  end
end

sched.cleanups[#sched.cleanups + 1] = function() C.asp_progress_done() end

return M
