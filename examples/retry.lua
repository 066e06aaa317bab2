-- retry(fn, opts): calls fn(attempt) until it returns without an error,
-- sleeping between attempts: `initial` seconds (default 1), doubling up to
-- `max` (default no limit), at most `tries` attempts (default 5). Returns
-- fn's result, or raises the last error. Tested in virtual time by
-- examples/spec/retry_spec.lua (asp-lua test examples/spec).
local asp = require("asp")

return function(fn, opts)
  opts = opts or {}
  local delay, tries = opts.initial or 1, opts.tries or 5
  for attempt = 1, tries do
    local ok, res = pcall(fn, attempt)
    if ok then return res end
    if attempt == tries then
      error(("retry: gave up after %d attempts: %s"):format(tries, tostring(res)), 0)
    end
    asp.sleep(delay)
    delay = math.min(delay * 2, opts.max or math.huge)
  end
end
