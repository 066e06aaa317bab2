-- asp.exec { cmd, args..., check = ... }: a subprocess's standard output
-- (engine/sources/exec.c); its exit status goes into asp.stats().
local ffi = require("ffi")
local C = require("asp.cffi").C
local live = require("asp.sources.live")

local err_buf = live.err_buf
local type, error, tostring, tonumber = type, error, tostring, tonumber

-- asp.exec: the process exited (its output ended before). Its status goes
-- into asp.stats(); a non-zero status or a signal is a warning on stderr, or
-- with check = true an error of the run (after every line was delivered).
local function exited(self)
  if self.exit_status ~= nil or self.l == nil or C.asp_live_exited(self.l) == 0 then return end
  local st = tonumber(C.asp_live_exit_status(self.l))
  local what
  if st < 0 then
    self.exit_signal = -st
    self.exit_status = 128 - st
    what = "was killed by signal " .. (-st)
  else
    self.exit_status = st
    if st ~= 0 then what = "exited with status " .. st end
  end
  if what then
    if self.check then error(self.name .. ": the process " .. what .. " (check = true)", 0) end
    io.stderr:write(self.name .. ": warning: the process " .. what .. "\n")
  end
end

return function(opts)
  if type(opts) ~= "table" or type(opts[1]) ~= "string" then
    error("asp.exec: bad argument #1 (a table {cmd, args...} expected)", 2)
  end
  local argv = {}
  for i = 1, #opts do argv[i] = tostring(opts[i]) end
  local cargv = ffi.new("const char *[?]", #argv + 1)
  for i = 1, #argv do cargv[i - 1] = argv[i] end
  cargv[#argv] = nil
  if opts.check ~= nil and type(opts.check) ~= "boolean" then
    error("asp.exec: option 'check' must be a boolean (got " .. type(opts.check) .. ")", 2)
  end
  local self = live.make("asp.exec", table.concat(argv, " "), opts, { check = true }, function(s, l)
    s.keep = { argv, cargv }
    return C.asp_live_exec(l, cargv, err_buf, 512)
  end)
  self.exec, self.check, self.on_end = true, opts.check == true, exited
  return self
end
