#!/bin/bash
# The reload bench: 1 M past events + 10 k live lines, then a save; prints
# asp-lua's "caught up in X s" line (save -> "now running the new code").
# Usage: sh bench/reload/run.sh [build/asp-lua]
set -eu
asp=${1:-build/asp-lua}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cp bench/reload/strategy.lua "$dir/strategy.lua"
"$asp" --reload "$dir/strategy.lua" "$dir/port" >/dev/null 2>"$dir/err" &
pid=$!
while [ ! -s "$dir/port" ]; do sleep 0.05; done
port=$(cat "$dir/port")
# 10,000 lines, then keep the connection open for the reload.
exec 3<>"/dev/tcp/127.0.0.1/$port"
seq 1 10000 >&3
sleep 1
echo "-- saved" >> "$dir/strategy.lua"
while ! grep -q "now running\|failed" "$dir/err"; do sleep 0.05; done
echo stop >&3
wait $pid || true
grep "^reload:" "$dir/err"
