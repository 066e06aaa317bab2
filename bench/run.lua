-- make bench: runs each workload of bench/workloads several times, each run
-- a separate asp-lua process under /usr/bin/time (peak RSS), and prints the
-- medians as tables, also written to bench/results.md with a description of
-- the machine.
--
-- usage: asp-lua bench/run.lua ASP_LUA
-- environment:
--   BENCH_RUNS=5        runs per workload (the median is reported)
--   BENCH_BIG=1         also the 1 GB csv file (generating it takes ~10 s)
--   BENCH_BASE=path     another asp-lua binary (e.g. an older build) run
--                       interleaved with ASP_LUA on the throughput rows:
--                       adds its median and the speed-up, same conditions
--   BENCH_OUT=path      where to write the results (bench/results.md)
--   BENCH_REF=dir       where the C reference programs are (build/bench:
--                       merge, csv, calls from bench/reference/, built by
--                       make bench); each throughput row with a reference
--                       runs it alternated with asp-lua (and the base) and
--                       prints asp-lua / reference as a percentage
local bin = assert(arg[1], "usage: asp-lua bench/run.lua ASP_LUA")
local RUNS = tonumber(os.getenv("BENCH_RUNS")) or 5
local BIG = os.getenv("BENCH_BIG") == "1"
local BASE = os.getenv("BENCH_BASE")
local OUT = os.getenv("BENCH_OUT") or "bench/results.md"
local REF = os.getenv("BENCH_REF") or "build/bench"
local W = "bench/workloads/"
local DATA = "bench/data/"
local floor, format = math.floor, string.format

local function sh(cmd)
  local p = io.popen(cmd, "r")
  local s = p:read("*a")
  p:close()
  return (s:gsub("%s+$", ""))
end

local function exists(path)
  local f = io.open(path, "rb")
  if f then f:close() return true end
  return false
end

local HAVE_TIME = exists("/usr/bin/time")

-- -- Data ----------------------------------------------------------------------

-- Generates bench/data/quotes-<MB>MB.csv once (deterministic, so a file that
-- is there is the right one).
local function quotes(mb)
  local path = DATA .. "quotes-" .. mb .. "MB.csv"
  if not exists(path) then
    os.execute("mkdir -p " .. DATA)
    io.stderr:write("generating ", path, "\n")
    local tmp = path .. ".tmp"
    assert(os.execute(format("%s scripts/gen-quotes.lua %s %d && mv %s %s", bin, tmp, mb, tmp, path)) == 0,
      "gen-quotes failed")
  end
  return path
end

-- -- Running -------------------------------------------------------------------

-- Runs one workload once; returns the fields of its RESULT line (numbers
-- where they are numbers) plus rss_kb.
-- With script nil, exe is a C reference program run with args alone.
local function run_once(exe, script, args)
  local cmd = format("ASP_LUA=%s %s%s %s %s 2>&1", exe, HAVE_TIME and "/usr/bin/time -f 'RSS_KB %M' " or "",
    exe, script and W .. script or "", args)
  local out = sh(cmd)
  local r = {}
  local line = out:match("RESULT ([^\n]*)")
  if not line then
    error("workload failed: " .. cmd .. "\n" .. out, 0)
  end
  for k, v in line:gmatch("(%S+)=(%S+)") do r[k] = tonumber(v) or v end
  r.rss_kb = tonumber(out:match("RSS_KB (%d+)"))
  return r
end

local function median(xs)
  local t = {}
  for i = 1, #xs do t[i] = xs[i] end
  table.sort(t)
  local n = #t
  if n == 0 then return nil end
  if n % 2 == 1 then return t[(n + 1) / 2] end
  return (t[n / 2] + t[n / 2 + 1]) / 2
end

-- Runs a workload RUNS times (interleaved with the base binary when there is
-- one, and with its C reference, ref = { program, args }, when it has one);
-- returns the medians of each numeric field, the base's and the reference's.
local cache = {}
local function measure(script, args, with_base, ref)
  local key = script .. " " .. args
  if cache[key] then return cache[key] end
  io.stderr:write(format("  %-12s %-34s", script, args))
  local runs, base_runs, ref_runs = {}, {}, {}
  for i = 1, RUNS do
    runs[i] = run_once(bin, script, args)
    if with_base and BASE then base_runs[i] = run_once(BASE, script, args) end
    if ref then ref_runs[i] = run_once(REF .. "/" .. ref[1], nil, ref[2]) end
    io.stderr:write(".")
  end
  io.stderr:write("\n")
  local function medians(rs)
    if #rs == 0 then return nil end
    local m = {}
    for k, v in pairs(rs[1]) do
      if type(v) == "number" then
        local xs = {}
        for i = 1, #rs do
          local x = rs[i][k]
          if k == "seconds" and rs[i].items then x = rs[i].items / x end -- rate per run
          xs[i] = x
        end
        if k == "early" or k == "lost" then -- a contract, not a speed: the worst run
          table.sort(xs)
          m[k] = xs[#xs]
        else
          m[k == "seconds" and "rate" or k] = median(xs)
        end
      else
        m[k] = v
      end
    end
    return m
  end
  local m = medians(runs)
  local r = { m = m, base = medians(base_runs), ref = medians(ref_runs), runs = #runs }
  cache[key] = r
  return r
end

-- -- Formatting ----------------------------------------------------------------

local function si(x, unit)
  if x >= 1e6 then return format("%.2f M%s", x / 1e6, unit) end
  if x >= 1e3 then return format("%.1f k%s", x / 1e3, unit) end
  return format("%.0f %s", x, unit)
end
local function mb(kb) return kb and format("%.1f MB", kb / 1024) or "?" end

local lines = {}
local function out(s)
  lines[#lines + 1] = s
  print(s)
end

local function table_head(cols)
  out("| " .. table.concat(cols, " | ") .. " |")
  local seps = {}
  for i = 1, #cols do seps[i] = "---" end
  out("|" .. table.concat(seps, "|") .. "|")
end

-- A throughput row: events (items) per second, or MB/s when bytes are given.
local function rate_cells(r, unit)
  local m = r.m
  if m.na then
    local cells = { "n/a (" .. m.na:gsub("_", " ") .. ")", "", "", "" }
    if BASE then cells[5], cells[6] = "", "" end
    cells[#cells + 1], cells[#cells + 2] = "", ""
    return cells
  end
  local per_s = m.rate
  local main = m.bytes and format("%.1f MB/s (%s)", m.bytes / (m.items / per_s) / 1e6, si(per_s, unit))
    or si(per_s, unit)
  local cells = { main, format("%.1f", 1e9 / per_s), mb(m.rss_kb), tostring(r.runs) }
  if BASE then
    if r.base and r.base.rate then
      cells[#cells + 1] = si(r.base.rate, unit)
      cells[#cells + 1] = format("x%.2f", per_s / r.base.rate)
    else
      cells[#cells + 1], cells[#cells + 2] = "", ""
    end
  end
  if r.ref and r.ref.rate then
    local ref_main = r.ref.bytes and format("%.1f MB/s (%s)", r.ref.bytes / (r.ref.items / r.ref.rate) / 1e6,
      si(r.ref.rate, unit)) or si(r.ref.rate, unit)
    cells[#cells + 1] = ref_main
    cells[#cells + 1] = format("%.0f %%", 100 * per_s / r.ref.rate)
  else
    cells[#cells + 1], cells[#cells + 2] = "", ""
  end
  return cells
end

local function row(cells)
  out("| " .. table.concat(cells, " | ") .. " |")
end

-- -- Machine ---------------------------------------------------------------------

local function machine()
  local cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-"):gsub("^%s+", "")
  return {
    format("- date: %s", os.date("!%Y-%m-%dT%H:%M:%SZ")),
    format("- machine: %s CPUs (nproc), %s; kernel %s", sh("nproc"), cpu, sh("uname -sr")),
    format("- LuaJIT: %s (%s); asp-lua commit %s", jit.version, jit.arch, sh("git rev-parse --short HEAD 2>/dev/null")),
    format("- load average before the run: %s", sh("cut -d' ' -f1-3 /proc/loadavg")),
    format("- %d runs per workload, each a separate process; medians; RSS = peak resident set (/usr/bin/time %%M)", RUNS),
  }
end

-- -- The tables ------------------------------------------------------------------

local t_start = os.time()
local desc = machine()
local csv_file = BIG and quotes(1000) or quotes(256)
local csv_label = BIG and "1 GB" or "256 MB (1 GB: BENCH_BIG=1)"

io.stderr:write("main workloads\n")
local main = {
  { "1 stream from a Lua iterator, trivial callback (sum)", "streams.lua", "1 10000000", "events",
    ">= 10 M events/s; >= 40 % of the reference", ref = { "merge", "1 10000000" } },
  { "64 streams, same", "streams.lua", "64 10000000", "events", ">= 5 M events/s; >= 50 %",
    ref = { "merge", "64 10000000" } },
  { "10,000 streams, same", "streams.lua", "10000 5000000", "events", ">= 3 M events/s; >= 40 %",
    ref = { "merge", "10000 5000000" } },
  { "100,000 streams, same (memory)", "streams.lua", "100000 5000000", "events", "peak RSS <= 64 MB",
    ref = { "merge", "100000 5000000" } },
  { "asp.csv replay of a " .. csv_label .. " quotes file, callback reads bid and ask",
    "csv.lua", "asp " .. csv_file, "rows", ">= 200 MB/s, RSS < 64 MB; >= 60 %", ref = { "csv", csv_file } },
  { "the same with asp.csv{columns = {\"bid\", \"ask\"}} (rows of the callback's two numeric columns)",
    "csv.lua", "asp-columns " .. csv_file, "rows", ">= 80 %", ref = { "csv", csv_file .. " columns" } },
  { "the same with asp.csv{reuse = true} (opt-in: one row table, overwritten per row)",
    "csv.lua", "asp-reuse " .. csv_file, "rows", ">= 200 MB/s, RSS < 64 MB", no_base = true,
    ref = { "csv", csv_file } },
  { "call_later + sleep mix (each event schedules a call; every other call sleeps)",
    "calls.lua", "1000000 1e-4", "items", ">= 3 M items/s; >= 25 %", ref = { "calls", "1000000 1e-4" } },
}
local results = {}
for i, w in ipairs(main) do results[i] = measure(w[2], w[3], not w.no_base, w.ref) end
local tcp = measure("tcp.lua", "200000 100000", false)
local tcp_floor = measure("tcp_floor.lua", "200000 100000", false)
local timer = measure("timer.lua", "2", false)

io.stderr:write("scaling\n")
local K = { 1, 64, 1000, 10000 }
local by_k = {}
for i, k in ipairs(K) do
  local args = k .. " " .. (k == 1 and 10000000 or k == 64 and 10000000 or 5000000)
  by_k[i] = measure("streams.lua", args, false, { "merge", args })
end
local delays = { { "1e-5", "~10" }, { "1e-4", "~100" }, { "1e-2", "~10,000" }, { "1e-1", "~100,000" } }
local by_d = {}
for i, d in ipairs(delays) do by_d[i] = measure("calls.lua", "1000000 " .. d[1], false, { "calls", "1000000 " .. d[1] }) end
local sizes = { 16, 64, 256 }
if BIG then sizes[#sizes + 1] = 1000 end
local by_size = {}
for i, s in ipairs(sizes) do
  by_size[i] = { lua = measure("csv.lua", "lua " .. quotes(s), false),
    asp = measure("csv.lua", "asp " .. quotes(s), false, { "csv", quotes(s) }),
    ["asp-reuse"] = measure("csv.lua", "asp-reuse " .. quotes(s), false) }
end

out("# asp-lua benchmark results")
out("")
out("Written by `make bench` (bench/run.lua). Targets are those of issue #4, and the ratios")
out("to the C reference programs of bench/reference/ those of issue #14: each reference runs")
out("alternated with asp-lua in the same run (merge.c: K pre-generated streams, a binary heap,")
out("a C callback per event; csv.c: split and convert, a C callback per row; calls.c: the")
out("call_later + sleep mix on a binary heap of timers).")
out("")
for _, d in ipairs(desc) do out(d) end
out("")
out("## Targets")
out("")
local head = { "workload", "median", "ns/event", "peak RSS", "runs" }
if BASE then head[#head + 1] = "base (" .. BASE .. ")"; head[#head + 1] = "speed-up" end
head[#head + 1] = "C reference (bench/reference/, same run)"
head[#head + 1] = "asp-lua / reference"
head[#head + 1] = "target"
table_head(head)
for i, w in ipairs(main) do
  local cells = rate_cells(results[i], w[4] == "rows" and "rows/s" or w[4] .. "/s")
  table.insert(cells, 1, w[1])
  cells[#cells + 1] = w[5]
  row(cells)
end
local extra = BASE and { "", "", "", "" } or { "", "" }
local function latency_row(label, r, tail, target)
  local m = r.m
  local cells
  if m.na then
    cells = { label, "n/a (" .. m.na:gsub("_", " ") .. ")", "", "", "" }
  else
    cells = { label, format("p50 %.0f µs, p99 %.0f µs, max %.0f µs, %s (n=%d)", m.p50_us, m.p99_us, m.max_us,
      tail(m), m.n), "", mb(m.rss_kb), tostring(r.runs) }
  end
  for _, e in ipairs(extra) do cells[#cells + 1] = e end
  cells[#cells + 1] = target
  row(cells)
end
latency_row("live: line written to TCP 127.0.0.1 until its callback runs, 100k lines/s", tcp,
  function(m) return format("%d lost, %d sent, %d received", m.lost, m.sent, m.received) end, "median < 50 µs, p99 < 500 µs, none lost")
latency_row("the machine's floor: the same writer read by a plain C program (blocking read(), bench/reference/tcp_reader.c)", tcp_floor,
  function(m) return format("%d lost, %d sent, %d received", m.lost, m.sent, m.received) end, "(reference, no target)")
latency_row("live timer: asp.timer every 1 ms + asp.sleep 0.7..4.9 ms, asp.wall() - due, 2 s", timer,
  function(m) return format("%d early", m.early) end, "never early; p99 within 1 ms")
out("")
out("Latency rows: p50, p99 and max are medians over the runs of each run's statistic;")
out("\"early\" and \"lost\" are the worst run's count.")
out("")
out("## Cost against the number of streams (K-way merge, O(log K))")
out("")
-- The C reference's rate and asp-lua / reference, or two empty cells.
local function ref_cells(r, unit)
  if not (r.ref and r.ref.rate) then return "", "" end
  return si(r.ref.rate, unit), format("%.0f %%", 100 * r.m.rate / r.ref.rate)
end

table_head({ "streams", "events/s", "ns/event", "ns/event / log2(2K)", "peak RSS", "C reference (merge.c)", "asp-lua / reference" })
for i, k in ipairs(K) do
  local m = by_k[i].m
  local ns = 1e9 / m.rate
  local rc, ratio = ref_cells(by_k[i], "events/s")
  row({ tostring(k), si(m.rate, "events/s"), format("%.1f", ns), format("%.1f", ns / (math.log(2 * k) / math.log(2))), mb(m.rss_kb),
    rc, ratio })
end
out("")
out("## Cost against the number of scheduled items (call_later + sleep mix)")
out("")
table_head({ "call delay", "items pending", "items/s", "ns/item", "peak RSS", "C reference (calls.c)", "asp-lua / reference" })
for i, d in ipairs(delays) do
  local m = by_d[i].m
  local rc, ratio = ref_cells(by_d[i], "items/s")
  row({ d[1] .. " s", d[2], si(m.rate, "items/s"), format("%.1f", 1e9 / m.rate), mb(m.rss_kb), rc, ratio })
end
out("")
out("## Cost against file size (quotes csv)")
out("")
table_head({ "file", "reader", "MB/s", "rows/s", "ns/row", "peak RSS", "asp-lua / reference" })
for i, s in ipairs(sizes) do
  for _, which in ipairs({ "asp", "asp-reuse", "lua" }) do
    local r = by_size[i][which]
    local m = r.m
    local label = which == "asp" and "asp.csv" or which == "asp-reuse" and "asp.csv, reuse = true"
      or "Lua reference (io.lines + pattern)"
    if m.na then
      row({ s .. " MB", label, "n/a (" .. m.na:gsub("_", " ") .. ")", "", "", "", "" })
    else
      local secs = m.items / m.rate
      local ref = by_size[i].asp.ref
      row({ s .. " MB", label, format("%.1f", m.bytes / secs / 1e6), si(m.rate, "rows/s"),
        format("%.1f", 1e9 / m.rate), mb(m.rss_kb), ref and ref.rate and format("%.0f %%", 100 * m.rate / ref.rate) or "" })
    end
  end
  local ref = by_size[i].asp.ref
  if ref and ref.rate then
    local secs = ref.items / ref.rate
    row({ s .. " MB", "C reference (bench/reference/csv.c, same run)", format("%.1f", ref.bytes / secs / 1e6),
      si(ref.rate, "rows/s"), format("%.1f", 1e9 / ref.rate), mb(ref.rss_kb), "100 %" })
  end
end
out("")
out(format("Total time of the benchmark: %d s. Load average after: %s.", os.time() - t_start,
  sh("cut -d' ' -f1-3 /proc/loadavg")))

local f = assert(io.open(OUT, "w"))
f:write(table.concat(lines, "\n"), "\n")
f:close()
io.stderr:write("written to ", OUT, "\n")
