-- Issue #16: asp.redis and asp.redis_writer against a real redis-server,
-- started by each spec on a free port of 127.0.0.1 (tests/lua/redis_util.lua)
-- and always stopped (docs/sources.md, "Redis Streams").
local asp = require("asp")
local h = require("helpers")
local R = require("redis_util")

local function with_server(fn)
  return function()
    local srv = R.start()
    local ok, err = pcall(fn, srv)
    R.stop(srv)
    if not ok then error(err, 0) end
  end
end

local function collect(src, opts)
  local out = {}
  opts = opts or {}
  asp.run { asp.process_stream { past = src, callback = function(t, v)
    out[#out + 1] = { t = t, v = v }
    if opts.stop_after and #out >= opts.stop_after then asp.stop() end
  end } }
  return out
end

local function fill(srv, stream, n, fmt)
  local e = {}
  for i = 1, n do e[i] = (fmt or "n %d"):gsub("%%d", tostring(i)) end
  R.add(srv, stream, e)
end

describe("asp.redis: the past", function()
  it("reads every entry in id order through pages of `count`, fields as a table with numbers converted and _id, time the id's ms", with_server(function(srv)
    fill(srv, "q", 50, "n %d sym A%d")
    local out = collect(asp.redis { url = R.url(srv), stream = "q", count = 7 })
    assert.are.equal(50, #out)
    for i, e in ipairs(out) do
      assert.are.equal(i, e.v.n)
      assert.are.equal("number", type(e.v.n))
      assert.are.equal("A" .. i, e.v.sym)
      local ms = e.v._id:match("^(%d+)%-")
      assert.are.equal(tonumber(ms) * 1000000, tonumber(e.t.ns_))
    end
  end))

  it("from/to take ids and Times (inclusive), and `time` names an ISO or epoch field", with_server(function(srv)
    R.add(srv, "q", {
      "ts 2025-01-01T00:00:01Z p 1", "ts 2025-01-01T00:00:02Z p 2", "ts 1735689603 p 3", "ts 2025-01-01T00:00:04Z p 4",
    })
    local all = collect(asp.redis { url = R.url(srv), stream = "q", time = "ts" })
    assert.are.equal(4, #all)
    assert.are.equal("2025-01-01T00:00:03.000000Z", tostring(all[3].t))
    assert.is_nil(all[1].v.ts)
    local mid = collect(asp.redis { url = R.url(srv), stream = "q", from = all[2].v._id, to = all[3].v._id })
    assert.are.same({ 2, 3 }, { mid[1].v.p, mid[2].v.p })
    local ms = tonumber(all[4].v._id:match("^(%d+)"))
    local byt = collect(asp.redis { url = R.url(srv), stream = "q", from = asp.time(ms / 1000) })
    assert.is_true(#byt >= 1)
    assert.are.equal(4, byt[#byt].v.p)
  end))

  it("format json and csv decode a field of each entry (`field`, default 'data')", with_server(function(srv)
    R.cli(srv, [[XADD j '*' data '{"a":1,"b":[2,3],"ts":"2025-01-01T00:00:05Z"}']])
    R.cli(srv, [[XADD c '*' row 'x,2.5,2025-01-01T00:00:06Z']])
    local j = collect(asp.redis { url = R.url(srv), stream = "j", format = "json", time = "ts" })
    assert.are.equal(1, j[1].v.a)
    assert.are.same({ 2, 3 }, j[1].v.b)
    assert.are.equal("2025-01-01T00:00:05.000000Z", tostring(j[1].t))
    local c = collect(asp.redis { url = R.url(srv), stream = "c", format = "csv", field = "row",
      names = { "sym", "px", "ts" }, time = "ts" })
    assert.are.equal("x", c[1].v.sym)
    assert.are.equal(2.5, c[1].v.px)
    assert.are.equal("2025-01-01T00:00:06.000000Z", tostring(c[1].t))
  end))

  it("a missing or malformed time field is an error naming the stream and the id; on_error = 'skip' counts it", with_server(function(srv)
    R.add(srv, "q", { "ts 2025-01-01T00:00:01Z p 1", "ts nonsense p 2", "p 3", "ts 2025-01-01T00:00:04Z p 4" })
    local err = h.pcall_err(collect, asp.redis { url = R.url(srv), stream = "q", time = "ts" })
    assert.matches("stream 'q', entry %d+%-%d+: field 'ts' is not a time: nonsense", err)
    local src = asp.redis { url = R.url(srv), stream = "q", time = "ts", on_error = "skip" }
    local out = collect(src)
    assert.are.same({ 1, 4 }, { out[1].v.p, out[2].v.p })
    assert.are.equal(2, src:skipped())
  end))
end)

describe("asp.redis: bad input", function()
  it("a malformed url, an unreachable server (after a bounded retry), WRONGTYPE: each a clear error where the source is made", with_server(function(srv)
    assert.matches("malformed url 'http://x'", h.pcall_err(asp.redis, { url = "http://x", stream = "q" }))
    assert.matches("malformed url 'redis://h:99999/0'.*port 99999 out of range",
      h.pcall_err(asp.redis, { url = "redis://h:99999/0", stream = "q" }))
    assert.matches("database must be a number", h.pcall_err(asp.redis, { url = "redis://h:1/x", stream = "q" }))
    local port = require("sources_util").free_port()
    local t0 = os.time()
    local err = h.pcall_err(asp.redis, { url = "redis://127.0.0.1:" .. port, stream = "q", connect_timeout = 0.3 })
    assert.matches("cannot connect to 127.0.0.1:" .. port .. ": .*tries", err)
    assert.is_true(os.time() - t0 <= 2)
    R.cli(srv, "SET k v")
    assert.matches("WRONGTYPE: the key 'k' holds a string, not a stream",
      h.pcall_err(asp.redis, { url = R.url(srv), stream = "k" }))
    assert.matches("option 'format'", h.pcall_err(asp.redis, { url = R.url(srv), stream = "q", format = "xml" }))
  end))

  it("a missing consumer group without create = true fails the run naming it", with_server(function(srv)
    fill(srv, "q", 2)
    local src = asp.redis { url = R.url(srv), stream = "q", group = "g", consumer = "c1" }
    local err = h.pcall_err(collect, src)
    assert.matches("no consumer group 'g'", err)
  end))
end)

describe("asp.redis: follow = true", function()
  it("hands over from XRANGE to XREAD with no gap and no duplicate while a writer adds entries during the replay", with_server(function(srv)
    local N0 = 20000
    fill(srv, "q", N0)
    -- The writer: one redis-cli, an entry every ~1 ms from before the run,
    -- until the stream has gone live (a marker file), then 20 more and an
    -- end mark (n = -1): whatever the machine's speed, entries are written
    -- during the replay and after the handoff.
    local mark = os.tmpname()
    os.remove(mark)
    os.execute(("(i=%d; while [ ! -e %s ]; do echo \"XADD q * n $i\"; i=$((i+1)); sleep 0.001; done; " ..
      "j=0; while [ $j -lt 20 ]; do echo \"XADD q * n $i\"; i=$((i+1)); j=$((j+1)); sleep 0.001; done; " ..
      "echo \"XADD q * n -1\") | redis-cli -p %d >/dev/null 2>&1 &"):format(N0 + 1, mark, srv.port))
    local src = asp.redis { url = R.url(srv), stream = "q", follow = true, count = 100 }
    local want, in_past, live = 1, nil, 0
    asp.run { asp.process_stream { past = src,
      on_live_start = function()
        in_past = want - 1
        io.open(mark, "w"):close()
      end,
      callback = function(_, v)
        if v.n == -1 then return asp.stop() end
        assert.are.equal(want, v.n)
        want = want + 1
        if in_past then live = live + 1 end
      end } }
    os.remove(mark)
    assert.is_true(want > N0 + 20, "every entry, in order: " .. want)
    assert.is_true(in_past > N0, "the past saw entries written during the replay: " .. tostring(in_past))
    assert.is_true(live > 0, "entries came live after the handoff")
  end))

  it("from = '$' reads only what comes after; the writer's entries arrive live, in order", with_server(function(srv)
    fill(srv, "q", 5)
    local src = asp.redis { url = R.url(srv), stream = "q", from = "$", follow = true }
    local w = asp.redis_writer { url = R.url(srv), stream = "q" }
    local got = {}
    asp.run {
      asp.process_stream { past = src, callback = function(_, v)
        got[#got + 1] = v.n
        if #got == 3 then asp.stop() end
      end },
      function() for i = 101, 103 do w:add { n = i } end w:flush() end,
    }
    w:close()
    assert.are.same({ 101, 102, 103 }, got)
  end))

  it("reconnects with backoff after redis-server restarts and reads on after the last id delivered", with_server(function(srv)
    fill(srv, "q", 3)
    local src = asp.redis { url = R.url(srv), stream = "q", follow = true, reconnect = { initial = 0.05, max = 0.2 } }
    local got = {}
    asp.run { asp.process_stream { past = src, callback = function(_, v)
      got[#got + 1] = v.n
      if v.n == 3 then
        -- The server goes away (its data with it: no persistence) and
        -- comes back; entries written after get later ids.
        R.stop(srv, true)
        os.execute("sleep 0.2")
        R.start(srv)
        R.add(srv, "q", { "n 4", "n 5" })
      elseif v.n == 5 then
        asp.stop()
      end
    end } }
    assert.are.same({ 1, 2, 3, 4, 5 }, got)
  end))

  it("live: reconnects after a restart of redis-server and reads on after the last id delivered", with_server(function(srv)
    fill(srv, "q", 2)
    local src = asp.redis { url = R.url(srv), stream = "q", follow = true, reconnect = { initial = 0.05, max = 0.2 } }
    local got = {}
    asp.run { asp.process_stream { past = src,
      on_live_start = function() R.add(srv, "q", { "n 3" }) end,
      callback = function(_, v)
        got[#got + 1] = v.n
        if v.n == 3 then
          R.stop(srv, true)
          os.execute("sleep 0.2")
          R.start(srv)
          R.add(srv, "q", { "n 4", "n 5" })
        elseif v.n == 5 then
          asp.stop()
        end
      end } }
    assert.are.same({ 1, 2, 3, 4, 5 }, got)
  end))
end)

describe("asp.redis: consumer groups", function()
  local function pending(srv, stream, group)
    return tonumber(R.cli(srv, ("XPENDING %s %s"):format(stream, group)):match("^(%d+)"))
  end

  it("create = true makes the group; XACK after the callback returned (not for one that failed); a restarted consumer gets its own pending entries; another claims them with claim_idle", with_server(function(srv)
    fill(srv, "q", 5)
    local ids = {}
    local err = h.pcall_err(asp.run, { asp.process_stream {
      past = asp.redis { url = R.url(srv), stream = "q", group = "g", consumer = "c1", create = true },
      callback = function(_, v)
        ids[#ids + 1] = v._id
        if v.n == 3 then error("boom") end
      end } })
    assert.matches("boom", err)
    assert.are.equal(3, #ids)
    assert.are.equal(3, pending(srv, "q", "g")) -- 3 failed; 4 and 5 were delivered to c1, never processed
    -- c1 again: its own pending entries first (3, 4, 5); it stops after one.
    local again = collect(asp.redis { url = R.url(srv), stream = "q", group = "g", consumer = "c1" }, { stop_after = 1 })
    assert.are.equal(3, again[1].v.n)
    assert.are.equal(ids[3], again[1].v._id)
    assert.are.equal(2, pending(srv, "q", "g"))
    -- c2 claims what c1 left pending (idle for more than 0 s), then reads new entries.
    R.add(srv, "q", { "n 6" })
    local c2 = collect(asp.redis { url = R.url(srv), stream = "q", group = "g", consumer = "c2", claim_idle = 0 },
      { stop_after = 3 })
    assert.are.same({ 4, 5, 6 }, { c2[1].v.n, c2[2].v.n, c2[3].v.n })
    assert.are.equal(0, pending(srv, "q", "g"))
  end))
end)

describe("asp.redis_writer", function()
  it("adds entries pipelined with a bounded queue; close flushes; maxlen trims", with_server(function(srv)
    local w = asp.redis_writer { url = R.url(srv), stream = "out", max_pending = 16 }
    for i = 1, 2000 do w:add { n = i, s = "x" .. i, t = asp.time("2025-01-01T00:00:00Z") } end
    w:close()
    assert.are.equal(2000, w:count())
    assert.are.equal("2000", R.cli(srv, "XLEN out"):match("%d+"))
    local back = collect(asp.redis { url = R.url(srv), stream = "out", time = "t" })
    assert.are.equal(2000, #back)
    assert.are.equal(1234, back[1234].v.n)
    assert.are.equal("x7", back[7].v.s)
    local t = asp.redis_writer { url = R.url(srv), stream = "trim", maxlen = 10 }
    for i = 1, 100 do t:add { n = i } end
    t:close()
    assert.are.equal("10", R.cli(srv, "XLEN trim"):match("%d+"))
  end))

  it("an error is raised with the virtual time; a server down is an error after the bounded retry", with_server(function(srv)
    R.cli(srv, "SET k v")
    local w = asp.redis_writer { url = R.url(srv), stream = "k" }
    local err = h.pcall_err(asp.run, { asp.process_stream {
      past = { { asp.time("2025-01-01T00:00:00Z"), 1 } },
      callback = function() w:add { n = 1 } w:flush() end } })
    assert.matches("asp.redis_writer k: WRONGTYPE.* at 2025%-01%-01T00:00:00", err)
    pcall(w.close, w)
    local port = require("sources_util").free_port()
    assert.matches("cannot connect to 127.0.0.1:" .. port,
      h.pcall_err(asp.redis_writer, { url = "redis://127.0.0.1:" .. port, stream = "x", connect_timeout = 0.2 }))
  end))
end)

describe("asp.redis: time travel (the REPL's .back)", function()
  -- Runs asp-lua -i script with the REPL commands `lines` (20 s at most).
  local function repl(script, lines)
    local out, input = os.tmpname(), os.tmpname()
    h.write_file(input, table.concat(lines, "\n") .. "\n")
    os.execute(("timeout 20 %s -i %s <%s >%s 2>&1; echo $? >>%s"):format(h.shell_quote(h.ASP_LUA),
      h.shell_quote(script), h.shell_quote(input), h.shell_quote(out), h.shell_quote(out)))
    local text = h.slurp(out)
    os.remove(out)
    os.remove(input)
    return text, tonumber(text:match("(%d+)\n$"))
  end

  it("a resumed checkpoint takes the journaled entries back, then reads live after them: no entry read or acknowledged twice", with_server(function(srv)
    local script = h.temp_script(([[
      local asp = require("asp")
      log = {}
      function add(n) os.execute("redis-cli -p %d XADD q '*' n " .. n .. " >/dev/null") end
      asp.run { asp.process_stream { name = "s",
        future = asp.redis { url = %q, stream = "q", group = "g", consumer = "c", create = true },
        callback = function(t, v)
          log[#log + 1] = v.n
          if v.n == 4 then asp.stop() end
        end } }
    ]]):format(srv.port, R.url(srv)))
    local out, rc = repl(script, {
      "asp.debug.checkpoint_items = 1",
      ".step 1",
      "add(1)",
      ".step 1",
      "add(2) add(3)",
      ".step 2",
      "=table.concat(log, ' ')",
      ".back #2",
      "add(4)",
      ".continue",
      "=table.concat(log, ' ')",
    })
    assert.are.equal(0, rc, out)
    assert.matches('"1 2 3"', out, 1, true)
    assert.matches('"1 2 3 4"', out, 1, true)
    assert.are.equal("0", R.cli(srv, "XPENDING q g"):match("^(%d+)"))
    -- One XACK per entry: the checkpoint did not acknowledge 2 and 3 again.
    assert.matches("cmdstat_xack:calls=4,", R.cli(srv, "INFO commandstats"))
  end))
end)
