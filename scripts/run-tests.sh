#!/bin/sh
# Runs both suites — the cmocka C tests and the busted Lua specs (under
# asp-lua itself, so that they exercise the real engine) — and ends with one
# line "N passed, M failed" for the two together. Exits non-zero on any
# failure, and when no test ran at all.
# Usage: run-tests.sh BUILD_DIR   (VALGRIND="valgrind ..." to run under it)
set -u
build=${1:-build}
vg=${VALGRIND:-}
passed=0
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

# -- cmocka ----------------------------------------------------------------
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  echo "== $t"
  $vg "$t" > "$log" 2>&1
  rc=$?
  cat "$log"
  p=$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
  f=$(sed -n 's/^\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n 1)
  p=${p:-0}
  f=${f:-0}
  # A binary that exits badly without saying why (a crash, a leak under
  # valgrind) counts as one more failure.
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "!! $t exited with status $rc"
    f=1
  fi
  passed=$((passed + p))
  failed=$((failed + f))
done

# -- busted ------------------------------------------------------------------
echo "== busted tests/lua"
ASP_LUA=$(cd "$build" && pwd)/asp-lua
export ASP_LUA
$vg "$ASP_LUA" "$(command -v busted)" --output=plainTerminal > "$log" 2>&1
rc=$?
cat "$log"
line=$(grep -E '^[0-9]+ successes? / [0-9]+ failures? / [0-9]+ errors? / [0-9]+ pending' "$log" | tail -n 1)
if [ -n "$line" ]; then
  set -- $line
  s=$1 f=$4 e=$7 pend=${10}
  passed=$((passed + s))
  # A pending (skipped) spec is a failure of ours: every spec must run.
  failed=$((failed + f + e + pend))
  if [ "$rc" -ne 0 ] && [ $((f + e + pend)) -eq 0 ]; then
    echo "!! busted exited with status $rc"
    failed=$((failed + 1))
  fi
else
  echo "!! busted printed no summary (status $rc)"
  failed=$((failed + 1))
fi

if [ $((passed + failed)) -eq 0 ]; then
  echo "!! no test ran"
  failed=1
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
