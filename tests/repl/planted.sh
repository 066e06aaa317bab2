#!/bin/sh
# The live journal is private (docs/repl.md, "The live journal"): a REPL
# session with live input must never open, truncate, write or remove a file
# or symlink another user planted where the journal used to be
# (/tmp/asp-lua-journal-<pid of the foreground>).
#
#   sh planted.sh ASP_LUA link|file
#
# link: /tmp/asp-lua-journal-<n> are symlinks to victim files holding
# "secret"; file: they are regular files holding "precreated", mode 0644.
# Runs in a private mount and pid namespace (we are root): /tmp is a fresh
# tmpfs, and pids start at 1, so planting pids 2..3000 (with a handful of
# processes) covers the session's foreground whatever runs around us. Exits
# 0 when nothing planted changed; prints what did otherwise.
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
mode=$2
dir=$(cd "$(dirname "$0")" && pwd)
exec unshare -m -p -f sh -c '
  bin=$1 mode=$2 dir=$3
  # The checkout may itself live under /tmp (a CI clone): keep the whole
  # tree reachable under /mnt before /tmp is covered.
  mount --rbind / /mnt || { echo "FAIL: cannot bind / on /mnt in the private namespace"; exit 2; }
  bin=/mnt$bin dir=/mnt$dir
  mount -t tmpfs -o size=16m tmpfs /tmp || { echo "FAIL: cannot mount a private /tmp"; exit 2; }
  mkdir /tmp/v
  names() { seq 2 3000 | sed "s|^|$1/asp-lua-journal-|"; }
  if [ "$mode" = link ]; then
    names /tmp/v | xargs sh -c "echo secret | tee \"\$@\" > /dev/null" sh
    names /tmp/v | xargs ln -s -t /tmp
    want=secret
  else
    names /tmp | xargs sh -c "echo precreated | tee \"\$@\" > /dev/null" sh
    names /tmp | xargs chmod 644
    want=precreated
  fi
  before=$(names /tmp | xargs cat | sort | uniq -c)
  victims=$(ls /tmp/v | wc -l)
  out=$(printf ".continue\n=live_count\n" | env -u TMPDIR ASP_LUA_HISTORY= "$bin" -i "$dir/live.lua" 2>&1)
  rc=$?
  case $out in *"run finished"*5*) ;; *) echo "FAIL: the session did not run (status $rc): $out"; exit 1;; esac
  after=$(names /tmp | xargs cat 2>&1 | sort | uniq -c)
  [ "$before" = "$after" ] || { echo "FAIL: planted files changed: $after"; exit 1; }
  if [ "$mode" = link ]; then
    v=$(names /tmp/v | xargs cat 2>&1 | sort | uniq -c)
    [ "$v" = "$before" ] || { echo "FAIL: a symlink target was written: $v"; exit 1; }
  fi
  [ "$(ls /tmp/v | wc -l)" -eq "$victims" ] || { echo "FAIL: a file was created through a symlink"; exit 1; }
  n=$(names /tmp | xargs ls -d 2>/dev/null | wc -l)
  [ "$n" -eq 2999 ] || { echo "FAIL: only $n of the 2999 planted names are left"; exit 1; }
  # Nothing else is left behind either.
  [ "$(ls -A /tmp | grep -v -c asp-lua-journal-)" -eq 1 ] || { echo "FAIL: left in /tmp: $(ls -A /tmp | grep -v asp-lua-journal-)"; exit 1; }
  exit $rc
' sh "$bin" "$mode" "$dir"
