-- The REPL driven through a pseudo-terminal (expect): each scenario of
-- tests/repl/repl.exp is one test. See docs/repl.md.
local bin = os.getenv("ASP_LUA") or "build/asp-lua"

local function scenario(name)
  local out = os.tmpname()
  local ok = os.execute(("expect tests/repl/repl.exp %q %s > %q 2>&1"):format(bin, name, out))
  local f = io.open(out)
  local text = f and f:read("*a") or ""
  if f then f:close() end
  os.remove(out)
  return ok == 0 or ok == true, text
end

describe("the REPL (asp-lua -i) on a terminal", function()
  for _, name in ipairs({ "step_and_until", "break_and_watch", "back_is_exact", "back_into_live", "ctrl_c",
    "dead_checkpoint", "stopped_checkpoint", "frictions", "progress", "csv_back" }) do
    it(name:gsub("_", " "), function()
      local ok, text = scenario(name)
      assert(ok, text)
    end)
  end
end)

-- A shell script of tests/repl run in namespaces of its own (we are root);
-- it prints FAIL: ... when something is wrong.
local function script(name, ...)
  local out = os.tmpname()
  local args = {}
  for i, a in ipairs({ ... }) do args[i] = ("%q"):format(a) end
  local ok = os.execute(("sh tests/repl/%s %q %s > %q 2>&1"):format(name, bin, table.concat(args, " "), out))
  local f = io.open(out)
  local text = f and f:read("*a") or ""
  if f then f:close() end
  os.remove(out)
  return ok == 0 or ok == true, text
end

describe("the live journal of a REPL session", function()
  it("never opens, truncates or removes a symlink planted at the old journal path", function()
    local ok, text = script("planted.sh", "link")
    assert(ok, text)
  end)
  it("never opens, truncates or removes a file pre-created at the old journal path", function()
    local ok, text = script("planted.sh", "file")
    assert(ok, text)
  end)
end)

describe("a live journal that cannot be written", function()
  it("says so at once, refuses .back after the failure, goes back before it, and Ctrl-D leaves (a really full tmpfs)", function()
    local ok, text = script("full_disk.sh", "journal_full")
    assert(ok, text)
  end)
end)
