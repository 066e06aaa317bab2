-- lua-api.md, section "The command": asp-lua run as a real subprocess.
local h = require("helpers")
local run_asp, temp_script = h.run_asp, h.temp_script

describe("the asp-lua command", function()
  after_each(h.cleanup)

  it("runs a script with exit status 0", function()
    local path = temp_script('io.write("hello from ", _VERSION, "\\n")')
    local out, err, rc = run_asp({ path })
    assert.are.same({ "hello from Lua 5.1\n", "", 0 }, { out, err, rc })
  end)

  it("gives the script its arguments in arg, as lua does, and as ...", function()
    local path = temp_script([[
      io.write(arg[0], "|", #arg, "|", table.concat(arg, ",", 1), "|", select("#", ...), "|", table.concat({ ... }, ","), "\n")
      io.write(tostring(arg[-1] ~= nil), "\n")
    ]])
    local out, err, rc = run_asp({ path, "one", "two words", "-e", "" })
    assert.are.equal("", err)
    assert.are.equal(0, rc)
    assert.are.same({ path .. "|4|one,two words,-e,|4|one,two words,-e,", "true" }, h.lines(out))
  end)

  it("lets the script require asp, whatever the working directory", function()
    local path = temp_script([[
      local asp = require("asp")
      local log = {}
      asp.run({ asp.process_stream{
        past = { { "2025-01-01T00:00:01Z", "a" }, { "2025-01-01T00:00:02Z", "b" } },
        callback = function(t, v) log[#log + 1] = v .. " " .. tostring(t) .. " " .. tostring(asp.now()) end,
      } })
      print(table.concat(log, "\n"))
    ]])
    local o = os.tmpname()
    os.execute("cd / && " .. h.shell_quote(h.ASP_LUA) .. " " .. h.shell_quote(path) .. " > " .. h.shell_quote(o))
    local out = h.slurp(o)
    os.remove(o)
    assert.are.same({
      "a 2025-01-01T00:00:01.000000Z 2025-01-01T00:00:01.000000Z",
      "b 2025-01-01T00:00:02.000000Z 2025-01-01T00:00:02.000000Z",
    }, h.lines(out))
  end)

  it("exits non-zero with the error and a traceback on stderr when the script fails", function()
    local path = temp_script('local function f() error("it broke") end\nf()\n')
    local out, err, rc = run_asp({ path })
    assert.are.equal("", out)
    assert.are_not.equal(0, rc)
    assert.matches("^asp%-lua: [^\n]*:1: it broke\nstack traceback:\n", err)
    assert.matches("in function 'f'", err, 1, true)
  end)

  it("reports an error in asp.run with its virtual time, stream and traceback", function()
    local path = temp_script([[
      local asp = require("asp")
      asp.run({ asp.process_stream{ name = "ticks",
        past = { { "2025-01-01T00:00:05Z", 1 } },
        callback = function() error("bad tick") end } })
    ]])
    local out, err, rc = run_asp({ path })
    assert.are.equal("", out)
    assert.are.equal(1, rc)
    assert.matches("^asp%-lua: asp%.run: error at 2025%-01%-01T00:00:05%.000000Z in stream 'ticks': [^\n]*bad tick\n", err)
    assert.matches("stack traceback:", err, 1, true)
  end)

  it("exits non-zero on a syntax error", function()
    local path = temp_script("local x = = 1\n")
    local out, err, rc = run_asp({ path })
    assert.are.equal("", out)
    assert.are.equal(1, rc)
    assert.matches("^asp%-lua: [^\n]*:1: unexpected symbol near '='", err)
  end)

  it("exits non-zero when the script does not exist", function()
    local _, err, rc = run_asp({ "/nonexistent/dir/x.lua" })
    assert.are.equal(1, rc)
    assert.matches("cannot open /nonexistent/dir/x.lua", err, 1, true)
  end)

  it("runs code given with -e, several times in order", function()
    local out, err, rc = run_asp({ "-e", "x = 20", "-e", "print(x + 1, require('asp').is_time(require('asp').now()))" })
    assert.are.same({ "21\ttrue\n", "", 0 }, { out, err, rc })
  end)

  it("runs -e code before a script", function()
    local path = temp_script("print(greeting)")
    local out, _, rc = run_asp({ "-e", "greeting = 'hi'", path })
    assert.are.same({ "hi\n", 0 }, { out, rc })
  end)

  it("exits non-zero with a traceback when -e code fails", function()
    local out, err, rc = run_asp({ "-e", "error('boom')" })
    assert.are.equal("", out)
    assert.are.equal(1, rc)
    assert.matches("^asp%-lua: %(command line%):1: boom\nstack traceback:\n", err)
  end)

  it("reads the script from standard input with -, passing the arguments", function()
    local out, err, rc = run_asp({ "-", "x", "y" }, "print(select('#', ...), table.concat({ ... }, ','), arg[0], arg[1])\n")
    assert.are.same({ "2\tx,y\t-\tx\n", "", 0 }, { out, err, rc })
  end)

  it("fails from standard input as from a file", function()
    local out, err, rc = run_asp({ "-" }, "error('stdin broke')\n")
    assert.are.equal("", out)
    assert.are.equal(1, rc)
    assert.matches("stdin broke\nstack traceback:", err, 1, true)
  end)

  it("prints its version with -v", function()
    local out, err, rc = run_asp({ "-v" })
    assert.are.equal("", err)
    assert.are.equal(0, rc)
    assert.matches("^asp%-lua %d+%.%d+%.%d+ %(LuaJIT [^)]+%)\n$", out)
    -- the same version the module reports
    local mod_out = run_asp({ "-e", "io.write(require('asp').version)" })
    assert.are.equal(mod_out, out:match("^asp%-lua (%S+)"))
  end)

  it("prints its usage with -h, exit status 0", function()
    local out, err, rc = run_asp({ "-h" })
    assert.are.equal("", err)
    assert.are.equal(0, rc)
    assert.matches("^usage: asp%-lua ", out)
    for _, opt in ipairs({ "-e", "-i", "-v", "-h", "script" }) do
      assert.matches(opt, out, 1, true)
    end
  end)

  it("rejects an unknown option with a non-zero status and the usage on stderr", function()
    local out, err, rc = run_asp({ "-Z" })
    assert.are.equal("", out)
    assert.are.equal(1, rc)
    assert.matches("unknown option '-Z'", err, 1, true)
    assert.matches("usage:", err, 1, true)
  end)

  it("rejects -e without code", function()
    local _, err, rc = run_asp({ "-e" })
    assert.are.equal(1, rc)
    assert.matches("'-e' needs an argument", err, 1, true)
  end)

  it("treats the arguments after -- as the script and its arguments", function()
    local path = temp_script("print(...)")
    local out, _, rc = run_asp({ "--", path, "-v" })
    assert.are.same({ "-v\n", 0 }, { out, rc })
  end)

  it("puts the script's folder first on package.path, wherever it is started from", function()
    local dir = os.tmpname()
    os.remove(dir)
    assert(os.execute("mkdir " .. dir) == 0)
    local f = assert(io.open(dir .. "/neighbour.lua", "w"))
    f:write("return 'found'")
    f:close()
    f = assert(io.open(dir .. "/main.lua", "w"))
    f:write("print(require('neighbour'))")
    f:close()
    local out, err, rc = run_asp({ dir .. "/main.lua" })
    os.execute("rm -rf " .. dir)
    assert.are.same({ "found\n", 0 }, { out, rc }, err)
  end)

  it("--backtest makes every run a backtest", function()
    local path = temp_script([[
      local asp = require("asp")
      local r = asp.run({ asp.process_stream{ past = { { asp.now() - 1, 1 } }, callback = function() end,
        future = function(emit) emit(2) end } })
      print(r.events, asp.is_live())
    ]])
    local out, err, rc = run_asp({ "--backtest", path })
    assert.are.same({ "1\tfalse\n", 0 }, { out, rc }, err)
  end)
end)
