-- The CSV files of the time-travel tests over asp.csv: a plain file, a gzip
-- file and a file read with follow = true (whose row "stop" ends the run),
-- and what a straight run has done up to any time. Used by
-- tests/lua/repl_csv_spec.lua and, without arguments, by csv_strategy.lua.
local M = {}

M.T0 = 1735689600 -- 2025-01-01T00:00:00Z

function M.iso(s)
  local whole = math.floor(s)
  return os.date("!%Y-%m-%dT%H:%M:%S", M.T0 + whole) .. ("%.3fZ"):format(s - whole):sub(2)
end

-- Rows at step, 2*step, ... seconds; bid and ask small integers.
local function rows(n, step, salt)
  local out, list = { "time,bid,ask" }, {}
  for i = 1, n do
    local t = i * step
    local bid, ask = (i * salt) % 97, (i * 13 + salt) % 89
    out[#out + 1] = ("%s,%d,%d"):format(M.iso(t), bid, ask)
    list[i] = { t = t, v = bid * 3 + ask }
  end
  return table.concat(out, "\n") .. "\n", list
end

local function write(path, text)
  local f = assert(io.open(path, "wb"))
  f:write(text)
  f:close()
end

-- Writes the three files into dir; returns their paths and the rows.
function M.make(dir)
  local files, text = {}, nil
  -- ~1 MB each: several 256 KiB chunks, so a shared offset would show.
  text, files.a = rows(30000, 0.5, 7)
  write(dir .. "/a.csv", text)
  text, files.b = rows(20000, 0.7, 11)
  write(dir .. "/b.csv", text)
  assert(os.execute("gzip -f " .. dir .. "/b.csv") == 0, "gzip")
  text, files.f = rows(1000, 13, 5)
  write(dir .. "/f.csv", text .. M.iso(20000) .. ",stop,0\n")
  return { dir .. "/a.csv", dir .. "/b.csv.gz", dir .. "/f.csv" }, files
end

-- What a straight run has done once every item due at or before s ran.
function M.expected(files, s)
  local c, sum = {}, 0
  for name, list in pairs(files) do
    c[name] = 0
    for _, r in ipairs(list) do
      if r.t <= s then
        c[name] = c[name] + 1
        sum = sum + r.v
      end
    end
  end
  return ("S %d %d %d %d"):format(c.a, c.b, c.f, sum)
end

return M
