-- A retry with exponential backoff, tested in virtual time: the waits are
-- exact and the spec takes milliseconds (asp-lua test examples/spec).
local asp = require("asp")
local retry = require("retry")

describe("retry", function()
  it("waits 1, 2, then 4 seconds between attempts, and returns the first success", function()
    local rec = asp.test.recorder()
    local result = asp.test.run(function()
      return retry(function(attempt)
        rec(attempt)
        if attempt < 4 then error("not yet") end
        return "done"
      end, { initial = 1 })
    end)
    assert.are.equal("done", result)
    assert.are.same({ 0, 1, 3, 7 }, rec:times())
  end)

  it("caps the backoff and gives up after its tries, with the virtual time in the error", function()
    local rec = asp.test.recorder()
    local ok, err = pcall(asp.test.run, function()
      retry(function() rec(true); error("down") end, { initial = 10, max = 15, tries = 4 })
    end)
    assert.is_false(ok)
    assert.are.same({ 0, 10, 25, 40 }, rec:times())
    assert.matches("error at 2000%-01%-01T00:00:40.000000Z", err)
    assert.matches("gave up after 4 attempts: .*: down", err)
  end)
end)
