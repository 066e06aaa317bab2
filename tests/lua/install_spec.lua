-- `make install` (issue #12): the binary and its man page go under
-- DESTDIR/PREFIX, the installed binary runs an example from anywhere (the
-- Lua modules are compiled into it), `make uninstall` takes both away, and
-- the man page renders without a warning.
local h = require("helpers")

-- The build directory of the binary under test (build, build/asan, ...).
local build = h.ASP_LUA:match("^(.*)/asp%-lua$")

local function sh(cmd)
  local out = os.tmpname()
  local rc = os.execute(cmd .. " >" .. h.shell_quote(out) .. " 2>&1")
  local text = h.slurp(out)
  os.remove(out)
  return rc == 0 or rc == true, text
end

-- make, from the repository, on the binary already built (-o: never
-- rebuilt here, whatever its flags), outside the jobserver of a calling make.
local function make(target, destdir)
  return sh(("env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -o %s %s BUILD=%s PREFIX=/opt/asp DESTDIR=%s"):format(
    h.shell_quote(h.ASP_LUA), target, h.shell_quote(build), h.shell_quote(destdir)))
end

describe("make install", function()
  it("installs the binary and the man page under DESTDIR/PREFIX; the binary runs an example; uninstall removes them", function()
    local dest = os.tmpname()
    os.remove(dest)
    local ok, text = make("install", dest)
    assert.is_true(ok, text)
    local bin, man = dest .. "/opt/asp/bin/asp-lua", dest .. "/opt/asp/share/man/man1/asp-lua.1"
    assert.are.equal(h.slurp("docs/asp-lua.1"), h.slurp(man))

    -- Run from another directory, with the example given by its full path.
    local cwd = assert(io.popen("pwd")):read("*l")
    local ran, out = sh(("cd / && %s %s"):format(h.shell_quote(bin), h.shell_quote(cwd .. "/examples/past.lua")))
    assert.is_true(ran, out)
    -- The same lines as from the build, but for the first column (the wall clock).
    local function virtual(text) return (text:gsub("[^\n ]+ ([^\n]*\n)", "%1")) end
    local expected = select(1, h.run_asp({ "examples/past.lua" }))
    assert.is_true(#expected > 0)
    assert.are.equal(virtual(expected), virtual(out))

    ok, text = make("uninstall", dest)
    assert.is_true(ok, text)
    assert.is_nil(io.open(bin))
    assert.is_nil(io.open(man))
    os.execute("rm -rf " .. h.shell_quote(dest))
  end)
end)

describe("the man page docs/asp-lua.1", function()
  it("renders without a warning (groff -ww -z -man)", function()
    local ok, text = sh("groff -ww -z -man docs/asp-lua.1")
    assert.is_true(ok, text)
    assert.are.equal("", text)
  end)

  it("documents every option of asp-lua -h", function()
    local help = select(1, h.run_asp({ "-h" }))
    local page = h.slurp("docs/asp-lua.1"):gsub("\\%-", "-")
    local n = 0
    for opt in help:gmatch("\n  (%-%-?[%w-]*)") do
      n = n + 1
      local bare = opt:gsub("^%-+", "")
      local found = bare == "" and page:find("\n.B -\n", 1, true)
        or page:find(opt, 1, true)
      assert.is_truthy(found, "the man page does not document " .. opt)
    end
    assert.is_true(n >= 10, "options read from -h: " .. n)
    assert.is_truthy(page:find("\n.B test ", 1, true), "the man page does not document asp-lua test")
  end)
end)
