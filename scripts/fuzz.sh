#!/bin/sh
# Runs every libFuzzer target of tests/fuzz for SECONDS each, starting from
# its corpus. A crash leaves its input under build/fuzz/crashes/<target>/:
# copy it to tests/fuzz/regressions/<target>/ once fixed, and `make test`
# replays it forever after.
# Usage: fuzz.sh BUILD SECONDS "OBJECTS" "LIBS"
set -eu
build=$1
seconds=$2
objs=$3
libs=$4
status=0
for src in tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  name=${name#fuzz_}
  bin=$build/fuzz_$name
  clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
    -iquote engine -iquote "$build/gen" $(pkg-config --cflags luajit libuv) \
    "$src" $objs -o "$bin" -Wl,-E $libs
  work=$build/corpus/$name
  crashes=$build/crashes/$name
  mkdir -p "$work" "$crashes"
  cp tests/fuzz/corpus/"$name"/* "$work"/ 2>/dev/null || true
  echo "== fuzzing $name for ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -print_final_stats=1 \
      -artifact_prefix="$crashes/" "$work" 2> "$build/fuzz_$name.log"; then
    tail -n 30 "$build/fuzz_$name.log"
    echo "!! $name crashed: input in $crashes"
    status=1
  else
    grep -E 'stat::number_of_executed_units|stat::peak_rss_mb' "$build/fuzz_$name.log" || true
    echo "ok: $name ran ${seconds}s without a crash"
  fi
done
exit $status
