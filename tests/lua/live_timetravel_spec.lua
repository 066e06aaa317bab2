-- Issue #10 "Time travel you can trust", the live sources' part: going
-- .back into a live period and forwards again is exact, and then reads
-- live again from a source this process really holds (docs/sources.md,
-- "Time travel and live sources"). The REPL (asp-lua -i) reads its commands
-- from a pipe here; each scenario runs under a 20 s timeout.
local h = require("helpers")

-- Runs asp-lua -i script args... with the REPL commands `lines`; returns
-- the output and the exit status of timeout (124: it hung).
local function repl(script, args, lines)
  local out = os.tmpname()
  local input = os.tmpname()
  h.write_file(input, table.concat(lines, "\n") .. "\n")
  local cmd = ("timeout 20 %s -i %s %s <%s >%s 2>&1; echo $? >>%s"):format(
    h.shell_quote(h.ASP_LUA), h.shell_quote(script), args, h.shell_quote(input), h.shell_quote(out), h.shell_quote(out))
  os.execute(cmd)
  local text = h.slurp(out)
  os.remove(out)
  os.remove(input)
  return text, tonumber(text:match("(%d+)\n$"))
end

local function tmpdir()
  local d = os.tmpname()
  os.remove(d)
  assert(os.execute("mkdir " .. d))
  return d
end

describe("time travel into a live period", function()
  after_each(h.cleanup)

  it("asp.exec: the bytes of a line the later process had begun come back; then it reads live from the pipe it holds, and its end ends the stream", function()
    local d = tmpdir()
    local script = h.temp_script([[
      local asp = require("asp")
      log = {}
      local feeder = asp.exec { "sh", "-c",
        'printf "a1\\nb"; sleep 0.2; printf "2\\nc3\\n"; while [ ! -e "$0" ]; do sleep 0.01; done; printf "d4\\n"', arg[1] }
      asp.run { asp.process_stream { name = "s", future = feeder, callback = function(t, v) log[#log + 1] = v end } }
    ]])
    local out, rc = repl(script, d .. "/go", {
      "asp.debug.checkpoint_items = 1",
      ".step 4",                      -- the start, a1, b2, c3: the later process read '2\nc3\n'
      "=table.concat(log, ' ')",
      ".back #2",                     -- after a1, when this process had only 'b' of the next line
      ("=io.open(%q, 'w'):close()"):format(d .. "/go"), -- the feeder writes d4 and exits
      ".continue",
      "=table.concat(log, ' ')",
    })
    os.execute("rm -rf " .. d)
    assert.are.equal(0, rc, out)
    assert.matches('"a1 b2 c3"', out, 1, true)
    assert.matches('run finished', out, 1, true)
    assert.matches('"a1 b2 c3 d4"', out, 1, true)
    assert.matches("warning: the process was started before time travel: its output ended; its exit status cannot be known in this process", out, 1, true)
  end)

  it("asp.tail: reads on from right after the last byte the journal covers, with the unfinished line it had", function()
    local d = tmpdir()
    local f = d .. "/f.log"
    h.write_file(f, "")
    local script = h.temp_script([[
      local asp = require("asp")
      log = {}
      local F = arg[1]
      function append(s) local f = io.open(F, "ab"); f:write(s); f:close() end
      asp.run { asp.process_stream { name = "s", future = asp.tail(F), callback = function(t, v)
        log[#log + 1] = v
        if v == "d4" then asp.stop() end
      end } }
    ]])
    local out, rc = repl(script, f, {
      "asp.debug.checkpoint_items = 1",
      ".step 1",
      "append('a1\\nb')",
      ".step 1",                      -- a1; 'b' waits for its end
      "append('2\\nc3\\n')",
      ".step 2",                      -- b2, c3, read by the later process
      "=table.concat(log, ' ')",
      ".back #2",
      "append('d4\\n')",
      ".continue",
      "=table.concat(log, ' ')",
    })
    os.execute("rm -rf " .. d)
    assert.are.equal(0, rc, out)
    assert.matches('"a1 b2 c3"', out, 1, true)
    assert.matches('"a1 b2 c3 d4"', out, 1, true)
  end)

  it("asp.listen: a connection accepted before the checkpoint goes on exactly after what the later process read of it", function()
    local d = tmpdir()
    local client = h.temp_script(([[
      package.path = "tests/lua/?.lua;" .. package.path
      local u = require("sources_util")
      local ffi = require("ffi")
      local C = ffi.C
      local function wait(f) local n = 0; while not io.open(f) and n < 400 do os.execute("sleep 0.02"); n = n + 1 end end
      local fd = C.socket(2, 1, 0)
      local a = ffi.new("struct asp_test_sockaddr_in")
      a.family = 2; a.port = C.htons(tonumber(arg[1])); a.addr = ffi.abi("be") and 0x7f000001 or 0x0100007f
      assert(C.connect(fd, a, 16) == 0)
      u.send_all(fd, "a1\nb")
      wait(%q)
      u.send_all(fd, "2\nc3\n")
      wait(%q)
      u.send_all(fd, "d4\n")
      wait(%q)
      u.close(fd)
    ]]):format(d .. "/go1", d .. "/go2", d .. "/go3"))
    local script = h.temp_script(([[
      local asp = require("asp")
      log = {}
      local src = asp.listen { port = 0 }
      os.execute(%q .. " " .. src:port() .. " &")
      asp.run { asp.process_stream { name = "s", future = src, callback = function(t, v)
        log[#log + 1] = v
        if v == "d4" then asp.stop() end
      end } }
    ]]):format(h.shell_quote(h.ASP_LUA) .. " " .. h.shell_quote(client)))
    local touch = function(name) return ("=io.open(%q, 'w'):close()"):format(d .. "/" .. name) end
    local out, rc = repl(script, "", {
      "asp.debug.checkpoint_items = 1",
      ".step 2",                      -- the start, a1; 'b' waits for its end
      touch("go1"),
      ".step 2",                      -- b2, c3, read by the later process
      "=table.concat(log, ' ')",
      ".back #2",
      touch("go2"),
      ".continue",                    -- b2, c3 from the journal, then d4 live
      "=table.concat(log, ' ')",
      touch("go3"),
    })
    os.execute("rm -rf " .. d)
    assert.are.equal(0, rc, out)
    assert.matches('"a1 b2 c3"', out, 1, true)
    assert.matches('"a1 b2 c3 d4"', out, 1, true)
  end)
end)
