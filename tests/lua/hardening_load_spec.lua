-- Load, small: a live TCP source fed as fast as possible by a writer in
-- another process (tests/load/writer.lua), into a callback; and a slow
-- callback with a fast writer. Every line is delivered in order, and the
-- peak RSS of the receiving asp-lua (VmHWM, read at the end of its run)
-- stays bounded. `make soak` runs the full numbers.
local h = require("helpers")

-- Under AddressSanitizer the process carries shadow memory: bounds x4.
local SCALE = h.ASP_LUA:find("asan", 1, true) and 4 or 1

local function receive(...)
  local out, err, rc = h.run_asp({ "tests/load/receiver.lua", ... })
  assert.are.equal(0, rc, err)
  local r = {}
  for k, v in out:gmatch("([%w_]+)=(%S+)") do r[k] = v end
  return r, out
end

describe("a live TCP source under load", function()
  it("delivers 200 000 lines sent as fast as possible, all of them in order, in bounded memory", function()
    local r, out = receive("200000")
    assert.are.equal("200000", r.out, out)
    assert.are.equal("0", r.lost, out)
    assert.are.equal("true", r.order_ok, out)
    assert.is_true(tonumber(r.peak_rss_kb) < 64 * 1024 * SCALE, out)
  end)

  it("with a slow callback, backpressure keeps memory below the data's size and loses nothing", function()
    -- 40 000 lines of 1000 bytes (40 MB) with a 64 KiB buffer; the callback
    -- sleeps 5 ms every 200 lines. Buffering it all would take > 40 MB.
    local r, out = receive("40000", "0", "0.005", "65536", "1000")
    assert.are.equal("40000", r.out, out)
    assert.are.equal("0", r.lost, out)
    assert.are.equal("true", r.order_ok, out)
    assert.is_true(tonumber(r.peak_rss_kb) < 24 * 1024 * SCALE, out)
  end)
end)
