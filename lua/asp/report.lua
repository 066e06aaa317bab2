-- asp.report(path) and asp-lua --report: one self-contained HTML page (no
-- network, no scripts, no fonts) with the run's summary, one inline SVG
-- chart per series (a drawdown chart under each equity series) and the last
-- rows of each writer. See docs/results.md.
local cffi = require("asp.cffi")
local series = require("asp.series")
local writer = require("asp.writer")
local time = require("asp.time")

local C, S = cffi.C, cffi.S
local floor, max, min, log10, abs = math.floor, math.max, math.min, math.log10, math.abs
local concat, format = table.concat, string.format

local M = {}

-- Chart geometry, in SVG pixels.
local W, H = 960, 240
local L, R, T, B = 80, 16, 12, 28
local PW, PH = W - L - R, H - T - B
M.LAST_ROWS = 10

local function esc(s)
  return (tostring(s):gsub("[&<>\"]", { ["&"] = "&amp;", ["<"] = "&lt;", [">"] = "&gt;", ['"'] = "&quot;" }))
end

-- A series whose name is "equity" or ends in ".equity" or "_equity" gets a
-- drawdown chart under it.
function M.is_equity(name)
  return name == "equity" or name:match("[._]equity$") ~= nil
end

-- -- Reduction: first, min, max, last per pixel column ---------------------------

-- Returns arrays of per-column first/min/max/last (nil where a column is
-- empty) and the value range. drawdown: values become v - running max.
local function reduce(s, t0, span, drawdown)
  local t, v, n = s.t, s.v, s.n
  local first, lo, hi, last = {}, {}, {}, {}
  local peak = -math.huge
  local vmin, vmax = math.huge, -math.huge
  local scale = span > 0 and (PW - 1) / span or 0
  for i = 0, n - 1 do
    local x = v[i]
    if drawdown then
      if x > peak then peak = x end
      x = x - peak
    end
    local c = floor(tonumber(t[i] - t0) * scale)
    if first[c] == nil then
      first[c], lo[c], hi[c] = x, x, x
    else
      if x < lo[c] then lo[c] = x end
      if x > hi[c] then hi[c] = x end
    end
    last[c] = x
    if x < vmin then vmin = x end
    if x > vmax then vmax = x end
  end
  return first, lo, hi, last, vmin, vmax
end

-- -- Axes -------------------------------------------------------------------------

local TIME_STEPS = { 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30,
  60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800,
  2592000, 7776000, 31536000 }

local function time_label(sec, step)
  local whole = floor(sec)
  if step >= 86400 then return os.date("!%Y-%m-%d", whole) end
  if step >= 60 then
    -- Midnight shows the date, so that a span of days reads as one.
    return os.date(whole % 86400 == 0 and "!%m-%d" or "!%H:%M", whole)
  end
  if step >= 1 then return os.date("!%H:%M:%S", whole) end
  return os.date("!%M:%S", whole) .. format("%.3f", sec - whole):sub(2)
end

-- Tick times (epoch seconds) and labels for [a, b] seconds, about 6 of them.
local function time_ticks(a, b)
  local span = b - a
  local step = TIME_STEPS[#TIME_STEPS]
  for _, st in ipairs(TIME_STEPS) do
    if span / st <= 7 then step = st; break end
  end
  local ticks = {}
  local k = math.ceil(a / step)
  while k * step <= b + 1e-9 and #ticks < 40 do
    ticks[#ticks + 1] = { k * step, time_label(k * step, step) }
    k = k + 1
  end
  return ticks
end

local function value_ticks(a, b)
  local raw = (b - a) / 5
  local mag = 10 ^ floor(log10(raw))
  local step = mag
  for _, m in ipairs({ 1, 2, 5, 10 }) do
    if raw <= m * mag then step = m * mag; break end
  end
  local ticks = {}
  local k = math.ceil(a / step)
  while k * step <= b + step * 1e-9 do
    local y = k * step
    if abs(y) < step * 1e-9 then y = 0 end
    ticks[#ticks + 1] = { y, format("%.6g", y) }
    k = k + 1
  end
  return ticks
end

-- -- One chart ----------------------------------------------------------------------

local function chart(title, s, t0, t1, drawdown, attr)
  local span = tonumber(t1 - t0)
  local first, lo, hi, last, vmin, vmax = reduce(s, t0, span, drawdown)
  if vmin == vmax then vmin, vmax = vmin - 1, vmax + 1 end
  local pad = (vmax - vmin) * 0.05
  vmin, vmax = vmin - pad, vmax + pad
  local function X(c) return L + c end
  local function Y(v) return T + PH - (v - vmin) / (vmax - vmin) * PH end
  local d, pts = {}, 0
  for c = 0, PW - 1 do
    if first[c] ~= nil then
      local x = X(c)
      d[#d + 1] = format("%s%d %.1f", #d == 0 and "M" or "L", x, Y(first[c]))
      if lo[c] ~= hi[c] then
        -- The column's whole range, so that no spike is hidden.
        d[#d + 1] = format("L%d %.1fL%d %.1f", x, Y(lo[c]), x, Y(hi[c]))
      end
      d[#d + 1] = format("L%d %.1f", x, Y(last[c]))
      pts = pts + 1
    end
  end
  if pts == 1 then d[#d + 1] = format("h2") end
  local out = {}
  out[#out + 1] = format('<section class="chart"><h2>%s</h2>', esc(title))
  out[#out + 1] = format('<svg %s xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" role="img">',
    attr, W, H, W, H)
  out[#out + 1] = format('<rect x="%d" y="%d" width="%d" height="%d" class="plot"/>', L, T, PW, PH)
  for _, tk in ipairs(value_ticks(vmin, vmax)) do
    local y = Y(tk[1])
    out[#out + 1] = format('<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" class="grid"/><text x="%d" y="%.1f" class="yl">%s</text>',
      L, L + PW, y, y, L - 6, y + 4, esc(tk[2]))
  end
  local a, b = time.ct(t0):epoch(), time.ct(t1):epoch()
  for _, tk in ipairs(time_ticks(a, b)) do
    local x = span > 0 and L + (tk[1] - a) / (b - a) * (PW - 1) or L
    out[#out + 1] = format('<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" class="grid"/><text x="%.1f" y="%d" class="xl">%s</text>',
      x, x, T, T + PH, x, H - 8, esc(tk[2]))
  end
  out[#out + 1] = format('<path class="%s" d="%s"/>', drawdown and "dd" or "line", concat(d))
  out[#out + 1] = '</svg>'
  out[#out + 1] = format('<p class="note">%d points, %s to %s UTC%s</p></section>', s.n,
    esc(time.format_ns(t0)), esc(time.format_ns(t1)), drawdown and " (value minus its running maximum)" or "")
  return concat(out, "\n")
end

-- -- Summary and writers -----------------------------------------------------------

local function num(n, key)
  local s = format(n == floor(n) and "%d" or "%.3f", n)
  local int, frac = s:match("^(-?%d+)(.*)$")
  int = int:reverse():gsub("(%d%d%d)", "%1,"):reverse():gsub("^(-?),", "%1")
  return format('<td class="num" data-stat="%s" data-value="%s">%s%s</td>', key, s, int, frac)
end

local function summary()
  local st = require("asp.stats").stats()
  local events_s = st.wall_time > 0 and st.events / st.wall_time or 0
  local skipped = 0
  for _, x in ipairs(st.streams) do skipped = skipped + x.skipped end
  local out = { '<section><h2>Run</h2><table class="summary">' }
  local start = C.asp_sched_run_start(S)
  out[#out + 1] = format("<tr><th>virtual time</th><td>%s to %s UTC</td></tr>",
    esc(time.format_ns(start)), esc(time.format_ns(C.asp_sched_now(S))))
  local rows = { { "virtual span (s)", st.virtual_span, "virtual_span" }, { "events", st.events, "events" },
    { "items", st.items, "items" }, { "wall time (s)", st.wall_time, "wall_time" },
    { "events/s", floor(events_s), "events_per_s" }, { "skipped", skipped, "skipped" },
    { "dropped", st.dropped, "dropped" } }
  for _, r in ipairs(rows) do out[#out + 1] = format("<tr><th>%s</th>%s</tr>", r[1], num(r[2], r[3])) end
  out[#out + 1] = '</table><table class="streams"><tr><th>stream</th><th>delivered</th><th>out of order</th><th>skipped</th></tr>'
  for i, x in ipairs(st.streams) do
    out[#out + 1] = format("<tr><td>%s</td>%s%s%s</tr>", esc(x.name), num(x.delivered, "delivered." .. i),
      num(x.out_of_order, "out_of_order." .. i), num(x.skipped, "skipped." .. i))
  end
  out[#out + 1] = "</table></section>"
  return concat(out, "\n")
end

-- The last lines of a file (reads at most its last 256 KB).
local function tail_lines(path, k)
  local f = io.open(path, "rb")
  if not f then return {} end
  local size = f:seek("end")
  f:seek("set", max(0, size - 262144))
  local text = f:read("*a") or ""
  f:close()
  local lines = {}
  for l in text:gmatch("([^\n]*)\n") do lines[#lines + 1] = l end
  if size > 262144 then table.remove(lines, 1) end -- maybe cut
  local from = max(1, #lines - k + 1)
  local out = {}
  for i = from, #lines do out[#out + 1] = lines[i] end
  return out
end

local function csv_cells(line)
  local cells, pos = {}, 1
  while pos <= #line + 1 do
    if line:sub(pos, pos) == '"' then
      local buf, i = {}, pos + 1
      while i <= #line do
        local ch = line:sub(i, i)
        if ch == '"' then
          if line:sub(i + 1, i + 1) == '"' then buf[#buf + 1] = '"'; i = i + 2 else i = i + 1; break end
        else buf[#buf + 1] = ch; i = i + 1 end
      end
      cells[#cells + 1] = concat(buf)
      pos = i + 1
    else
      local e = line:find(",", pos, true) or #line + 1
      cells[#cells + 1] = line:sub(pos, e - 1)
      pos = e + 1
    end
  end
  return cells
end

local function writers()
  if #writer.all == 0 then return "" end
  local out = { "<section><h2>Files</h2>" }
  for _, w in ipairs(writer.all) do
    if w.cw ~= nil then pcall(w.flush, w) end
    local state = w.error and "failed: " .. w.error or w.cw ~= nil and "open" or "written"
    out[#out + 1] = format('<h3>%s</h3><p class="note">%s, %d rows, %s; the last %d:</p><table class="rows"><tr>',
      esc(w.path), w.format, w.rows, esc(state), M.LAST_ROWS)
    for _, c in ipairs(w.columns) do out[#out + 1] = "<th>" .. esc(c) .. "</th>" end
    out[#out + 1] = "</tr>"
    local lines = tail_lines(w:current_path(), M.LAST_ROWS + 1)
    if w.format == "csv" and #lines > w.rows then table.remove(lines, 1) end -- the header
    for _, l in ipairs(lines) do
      if w.format == "csv" then
        local cells = {}
        for _, c in ipairs(csv_cells(l)) do cells[#cells + 1] = "<td>" .. esc(c) .. "</td>" end
        out[#out + 1] = "<tr>" .. concat(cells) .. "</tr>"
      else
        out[#out + 1] = format('<tr><td colspan="%d"><code>%s</code></td></tr>', #w.columns, esc(l))
      end
    end
    out[#out + 1] = "</table>"
  end
  out[#out + 1] = "</section>"
  return concat(out, "\n")
end

local STYLE = [[
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#222;background:#fff}
h1{font-size:20px}h2{font-size:16px;margin:20px 0 6px}h3{font-size:14px;margin:14px 0 4px}
table{border-collapse:collapse;font-size:13px;margin:4px 0}
th,td{border:1px solid #ddd;padding:3px 8px;text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.note{color:#666;font-size:12px;margin:2px 0}
svg{display:block}.plot{fill:#fafafa;stroke:#ccc}.grid{stroke:#e4e4e4;stroke-width:1}
.line{fill:none;stroke:#1f6fd1;stroke-width:1.2}.dd{fill:none;stroke:#c0392b;stroke-width:1.2}
.xl{font-size:11px;text-anchor:middle;fill:#555}.yl{font-size:11px;text-anchor:end;fill:#555}
]]

-- The page as a string.
function M.html(title)
  local out = { "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
    "<title>" .. esc(title) .. "</title><style>" .. STYLE .. "</style></head><body>",
    "<h1>" .. esc(title) .. "</h1>", summary() }
  out[#out + 1] = "<section><h2>Series</h2>"
  local names = series.series()
  if #names == 0 then out[#out + 1] = '<p class="note">No series (asp.record).</p>' end
  for _, name in ipairs(names) do
    local s = series.get(name)
    local t0, t1 = s.t[0], s.t[s.n - 1]
    out[#out + 1] = chart(name, s, t0, t1, false, format('data-series="%s"', esc(name)))
    if M.is_equity(name) then
      out[#out + 1] = chart(name .. ": drawdown", s, t0, t1, true, format('data-drawdown="%s"', esc(name)))
    end
  end
  out[#out + 1] = "</section>"
  out[#out + 1] = writers()
  out[#out + 1] = "</body></html>\n"
  return concat(out, "\n")
end

-- Writes text to path through a temporary file beside it, renamed once
-- complete (as writers do).
local function write_atomic(path, text)
  local dir, base = path:match("^(.*/)([^/]+)$")
  dir, base = dir or "", base or path
  local temp = format("%s.%s.tmp-%d-%d", dir, base, tonumber(C.asp_time_wall() % 1000000000), math.random(1e6))
  local f, err = io.open(temp, "wb")
  if not f then error("asp.report: cannot write '" .. path .. "': " .. tostring(err), 3) end
  local ok, werr = f:write(text)
  local closed, cerr = f:close()
  if not ok or not closed then
    os.remove(temp)
    error("asp.report: cannot write '" .. path .. "': " .. tostring(werr or cerr), 3)
  end
  local renamed, rerr = os.rename(temp, path)
  if not renamed then
    os.remove(temp)
    error("asp.report: cannot write '" .. path .. "': " .. tostring(rerr), 3)
  end
end

-- asp.report(path [, title]): writes the page; returns path.
function M.report(path, title)
  if type(path) ~= "string" or path == "" then
    error("asp.report: bad argument #1 (a file path expected, got " .. type(path) .. ")", 2)
  end
  title = title or ("asp-lua report: " .. (arg and arg[0] or "script"))
  write_atomic(path, M.html(title))
  return path
end

-- asp-lua --record PATH / --report PATH, after the script ended well.
function M.at_exit(record, report)
  if record then series.write_all(record) end
  if report then M.report(report) end
end

return M
