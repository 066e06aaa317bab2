-- A token bucket: ratelimit{rate = n, per = s, burst = b} lets b calls
-- through at once, then n every s seconds; l:acquire() sleeps until a token
-- is there. Tested by examples/spec/ratelimit_spec.lua.
local asp = require("asp")

return function(opts)
  local interval = opts.per / opts.rate  -- seconds per token
  local burst = opts.burst or 1
  local tokens, stamp = burst, nil
  local l = {}
  function l.acquire()
    local now = asp.now()
    if stamp then tokens = math.min(burst, tokens + (now - stamp) / interval) end
    stamp = now
    if tokens >= 1 then
      tokens = tokens - 1
      return
    end
    local wait = (1 - tokens) * interval
    tokens = 0
    stamp = now + wait
    asp.sleep(wait)
  end
  return l
end
