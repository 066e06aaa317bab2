-- asp.writer throughput: N rows of 4 numeric columns (a Time-free row of a
-- price with 2 decimals, an integer size, a ratio and a counter) to a CSV.
-- usage: asp-lua writer.lua N [positional|keyed] [path]
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local asp = require("asp")
local common = require("common")

local N = tonumber(arg[1]) or 5000000
local mode = arg[2] or "positional"
local path = arg[3] or os.tmpname()

local w = asp.writer(path, { format = "csv", columns = { "price", "size", "ratio", "n" } })
local row = { 0, 0, 0, 0 }
local krow = { price = 0, size = 0, ratio = 0, n = 0 }
local c0 = common.clock()
if mode == "keyed" then
  for i = 1, N do
    krow.price, krow.size, krow.ratio, krow.n = 100 + (i % 1000) * 0.01, i % 500, i / 7, i
    w:write(krow)
  end
else
  for i = 1, N do
    row[1], row[2], row[3], row[4] = 100 + (i % 1000) * 0.01, i % 500, i / 7, i
    w:write(row)
  end
end
w:close()
local dt = common.clock() - c0
local f = io.open(path, "rb")
local bytes = f:seek("end")
f:close()
os.remove(path)
common.report{ rows = N, seconds = dt, rows_per_s = math.floor(N / dt), mb_per_s = math.floor(bytes / dt / 1e6) }
