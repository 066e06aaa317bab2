#!/bin/sh
# Installs the Debian packages asp-lua needs to build and test, when any is
# missing. Run by `make deps`, which `make test`, `make demo`, `make asan`
# and `make valgrind` run first (plain `make` never does); safe to run again.
# .ci/run calls it directly, since on a fresh machine even make is missing.
# Usage: install-deps.sh [fuzz | valgrind | bench | slurm]
set -eu

packages="build-essential pkg-config tzdata luajit libluajit-5.1-dev libuv1-dev libcmocka-dev lua-busted zlib1g-dev libjansson-dev libedit-dev expect groff-base chromium redis-server libhiredis-dev"
# groff-base: the install spec (tests/lua/install_spec.lua) checks the man
# page with groff -ww.
# redis-server, libhiredis-dev: asp.redis (hiredis, its async API on the
# engine's loop); tests/lua/sources_redis_spec.lua starts its own servers on
# free ports of 127.0.0.1 (a few seconds, so it is part of make test).
# tzdata: the zones of Time:format and asp.time(s, zone) (engine/tz.c).
# chromium: the report spec (tests/lua/results_report_spec.lua) renders a report
# in it headless (a few seconds, so it is part of make test).
# `install-deps.sh fuzz`: clang and its libFuzzer runtime too.
# `install-deps.sh valgrind`: valgrind too (make valgrind); `bench`: GNU time.
# `install-deps.sh slurm`: Slurm's controller and node daemons and sbatch
# (make test-slurm runs them on 127.0.0.1: docs/sweeps.md).
case "${1:-}" in
  fuzz) packages="$packages clang libclang-rt-dev" ;;
  valgrind) packages="$packages valgrind" ;;
  bench) packages="$packages time" ;;   # /usr/bin/time measures peak RSS
  slurm) packages="$packages slurm-wlm" ;;
esac

missing=""
for p in $packages; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing="$missing $p"
  fi
done
[ -z "$missing" ] && exit 0

echo "install-deps: installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
  SUDO=sudo
else
  SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >&2
