-- A token bucket, tested in virtual time: who waits, and until when.
local asp = require("asp")
local ratelimit = require("ratelimit")

describe("the rate limiter", function()
  it("lets a burst through at once, then one call per interval, in order", function()
    local rec = asp.test.recorder()
    asp.test.run(function()
      local l = ratelimit{ rate = 2, per = 1, burst = 2 }
      for i = 1, 5 do
        asp.spawn(function() l.acquire(); rec(i) end)
      end
    end)
    assert.are.same({ 1, 2, 3, 4, 5 }, rec:values())
    assert.are.same({ 0, 0, 0.5, 1, 1.5 }, rec:times())
  end)

  it("refills while idle, up to the burst", function()
    local rec = asp.test.recorder()
    asp.test.run(function()
      local l = ratelimit{ rate = 1, per = 2, burst = 3 }
      for i = 1, 3 do l.acquire(); rec(i) end  -- the burst
      asp.sleep(60)                             -- idle: back to 3 tokens, not 30
      for i = 4, 8 do l.acquire(); rec(i) end
    end)
    assert.are.same({ 0, 0, 0, 60, 60, 60, 62, 64 }, rec:times())
  end)
end)
