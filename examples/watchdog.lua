-- A heartbeat watchdog: watchdog{timeout = s, on_timeout = fn} calls
-- fn(silent_since) when no beat came for `timeout` seconds, once per
-- silence; w:beat() starts a new wait. Tested by examples/spec/watchdog_spec.lua.
local asp = require("asp")

return function(opts)
  local w = { timeouts = 0 }
  local pending, last = nil, nil
  function w.beat()
    if pending then pending:cancel() end
    last = asp.now()
    pending = asp.call_later(opts.timeout, function()
      pending = nil
      w.timeouts = w.timeouts + 1
      opts.on_timeout(last)
    end)
  end
  function w.stop()
    if pending then pending:cancel() end
    pending = nil
  end
  return w
end
