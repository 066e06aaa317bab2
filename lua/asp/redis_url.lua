-- The url of asp.redis and asp.redis_writer:
-- redis://[[user]:password@]host[:port][/db] -> host, port, db, password
return function(F, url, level)
  level = level or 3
  if type(url) ~= "string" then
    error(F .. ": option 'url' must be a string like redis://127.0.0.1:6379/0 (got " .. type(url) .. ")", level)
  end
  local bad = F .. ": malformed url '" .. url .. "' (expected redis://[:password@]host[:port][/db])"
  local rest = url:match("^redis://(.*)$")
  if not rest then error(bad, level) end
  local password
  local at = rest:find("@[^@]*$")
  if at then
    local cred = rest:sub(1, at - 1)
    rest = rest:sub(at + 1)
    password = cred:match("^[^:]*:(.*)$") or cred
  end
  local hostport, db = rest:match("^([^/]*)/?(.*)$")
  local host, port = hostport:match("^%[(.+)%]:?(%d*)$")
  if not host then host, port = hostport:match("^([^:]+):?(%d*)$") end
  if not host or (hostport:find(":", 1, true) and port == "" and not hostport:find("^%[")) then error(bad, level) end
  port = port == "" and 6379 or tonumber(port)
  if port < 1 or port > 65535 then error(bad .. ": port " .. port .. " out of range", level) end
  if db ~= "" and not db:match("^%d+$") then error(bad .. ": the database must be a number", level) end
  return host, port, tonumber(db) or 0, password
end
