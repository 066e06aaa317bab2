-- Replay of a quotes file (time,symbol,bid,ask); the callback reads two
-- fields (bid and ask) and adds them up.
-- usage: asp-lua csv.lua asp|asp-columns|asp-reuse|lua FILE
--   asp        the native reader asp.csv (rows as tables keyed by the header)
--   asp-columns  the same with columns = {"bid", "ask"}: rows of those two only
--   asp-reuse  the same with reuse = true (one table overwritten per row)
--   lua  a reference reader in plain Lua (io.lines + a pattern), to compare
package.path = arg[0]:gsub("[^/]*$", "") .. "?.lua;" .. package.path
local asp = require("asp")
local common = require("common")

local mode, path = arg[1], arg[2]
local size = assert(io.open(path, "rb")):seek("end")

-- -- The two readers: open(path) -> a past source; bid_ask(v) -> two numbers.
local readers = {}

-- asp.csv's documented default: a reader usable as `past`, each row a table
-- keyed by the header's names (the time column is the event time).
readers.asp = {
  open = function(p) return asp.csv(p, { time = "time" }) end,
  bid_ask = function(v) return v.bid, v.ask end,
}

-- The columns the callback reads, named: the other text is never made into
-- Lua strings.
readers["asp-columns"] = {
  open = function(p) return asp.csv(p, { time = "time", columns = { "bid", "ask" } }) end,
  bid_ask = function(v) return v.bid, v.ask end,
}

-- The opt-in mode: one table per reader, overwritten by every row (the
-- callback keeps nothing).
readers["asp-reuse"] = {
  open = function(p) return asp.csv(p, { time = "time", reuse = true }) end,
  bid_ask = function(v) return v.bid, v.ask end,
}

readers.lua = {
  open = function(p)
    local lines = io.lines(p)
    lines() -- header
    local row = {} -- reused: a stream delivers one event at a time
    return function()
      local line = lines()
      if line == nil then return nil end
      local t, sym, bid, ask = line:match("^([^,]*),([^,]*),([^,]*),([^,]*)")
      row.symbol, row.bid, row.ask = sym, tonumber(bid), tonumber(ask)
      return t, row
    end
  end,
  bid_ask = function(v) return v.bid, v.ask end,
}

if mode ~= "lua" and asp.csv == nil then
  common.report{ na = "asp.csv_not_merged" }
  return
end
local reader = assert(readers[mode], "mode must be asp, asp-columns, asp-reuse or lua")
local bid_ask = reader.bid_ask

local rows, total = 0, 0
local st = asp.process_stream{
  callback = function(t, v)
    local bid, ask = bid_ask(v)
    total = total + bid + ask
    rows = rows + 1
  end,
  past = reader.open(path),
}
local c0 = common.clock()
asp.run({ st })
local dt = common.clock() - c0
common.report{ items = rows, seconds = dt, bytes = size }
