#!/bin/sh
# Runs a scenario of repl.exp with TMPDIR on a really full small disk: a
# 64 KB tmpfs mounted in a private mount namespace (we are root); the
# scenario fills it with dd when it wants the disk full.
#   sh full_disk.sh ASP_LUA SCENARIO
# Fails, saying why, when the namespace or the mount is not permitted here.
bin=$1
scenario=$2
dir=$(cd "$(dirname "$0")" && pwd)
unshare -m true || {
  echo "FAIL: unshare -m is not permitted here: a private mount namespace (root) is needed to fill a disk for real"
  exit 1
}
exec unshare -m sh -c '
  bin=$1 scenario=$2 dir=$3
  d=$(mktemp -d) || exit 1
  if ! mount -t tmpfs -o size=64k tmpfs "$d"; then
    rmdir "$d"
    echo "FAIL: cannot mount a small tmpfs to fill (needs root: unshare -m and mount -t tmpfs)"
    exit 1
  fi
  TMPDIR=$d expect "$dir/repl.exp" "$bin" "$scenario"
  rc=$?
  umount "$d" && rmdir "$d"
  exit $rc
' sh "$bin" "$scenario" "$dir"
