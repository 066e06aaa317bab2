#!/bin/sh
# make test-slurm: asp-lua sweep --slurm against a real Slurm (Debian's
# slurm-wlm), started here on 127.0.0.1 with a throwaway configuration:
# slurmctld and slurmd in the foreground (-D), AuthType=auth/none,
# CredType=cred/none (no munge), free ports, every file in a temp folder,
# one node "localhost" with 2 CPUs. Checks:
#   1. a 12-combination sweep with --slurm (4 array tasks, %2 at a time)
#      collects the same table as a local sweep (rows compared without
#      wall_s, sorted);
#   2. a grid with a deliberately failing combination exits non-zero, its
#      row says error, and the others' rows are there.
# Both daemons are stopped on every exit (trap), and the test fails, saying
# why, when they cannot start: it never passes without having run Slurm.
# Usage: tests/slurm/run.sh path/to/asp-lua
set -u
ASP=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/asp-slurm.XXXXXX)
ctld_pid= slurmd_pid=
fail() { echo "test-slurm: FAILED: $*"; echo "test-slurm: 0 passed, 1 failed"; exit 1; }

stop() {
  for p in $slurmd_pid $ctld_pid; do
    kill "$p" 2>/dev/null
  done
  for p in $slurmd_pid $ctld_pid; do
    i=0
    while kill -0 "$p" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
    kill -9 "$p" 2>/dev/null
  done
  # The job steps' slurmstepd processes of this test, if any survived.
  for p in $(pgrep -f "slurmstepd.*" 2>/dev/null); do
    grep -q "$T" "/proc/$p/environ" 2>/dev/null && kill -9 "$p" 2>/dev/null
  done
  rm -rf "$T"
}
trap stop EXIT
trap 'exit 1' INT TERM HUP

for prog in slurmctld slurmd sbatch squeue; do
  command -v $prog >/dev/null 2>&1 || PATH=$PATH:/usr/sbin
  command -v $prog >/dev/null 2>&1 ||
    fail "$prog is not installed (sh scripts/install-deps.sh slurm installs slurm-wlm)"
done

# Two free TCP ports: not in the listening sockets of /proc/net/tcp{,6}.
used=$(cat /proc/net/tcp /proc/net/tcp6 2>/dev/null | awk 'NR > 1 { split($2, a, ":"); print a[2] }')
free_port() {
  p=$1
  while :; do
    hex=$(printf '%04X' "$p")
    echo "$used" | grep -qx "$hex" || { echo "$p"; return; }
    p=$((p + 1))
  done
}
ctld_port=$(free_port $((20000 + $$ % 20000)))
slurmd_port=$(free_port $((ctld_port + 1)))

mkdir -p "$T/state" "$T/spool" "$T/work"
cat > "$T/slurm.conf" <<CONF
ClusterName=asptest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/none
CredType=cred/none
SlurmUser=$(id -un)
SlurmdUser=root
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
MaxArraySize=1000
NodeName=localhost NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=test Nodes=localhost Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$T/slurm.conf"

slurmctld -D -i -f "$SLURM_CONF" > "$T/slurmctld.out" 2>&1 &
ctld_pid=$!
slurmd -D -N localhost -f "$SLURM_CONF" > "$T/slurmd.out" 2>&1 &
slurmd_pid=$!

why() {
  echo "--- slurmctld:"; tail -n 15 "$T/slurmctld.out" "$T/slurmctld.log" 2>/dev/null
  echo "--- slurmd:"; tail -n 15 "$T/slurmd.out" "$T/slurmd.log" 2>/dev/null
}
# Up when the node is idle (the controller answers and slurmd registered).
i=0
until sinfo -h -N -o '%T' 2>/dev/null | grep -q idle; do
  i=$((i + 1))
  if ! kill -0 $ctld_pid 2>/dev/null || ! kill -0 $slurmd_pid 2>/dev/null || [ $i -gt 150 ]; then
    why
    fail "the Slurm daemons did not start (ports $ctld_port, $slurmd_port; see above)"
  fi
  sleep 0.2
done
echo "test-slurm: slurmctld (port $ctld_port) and slurmd (port $slurmd_port) are up"

cd "$T/work"
cp "$here/strategy.lua" .

# 1. The same table from Slurm as from a local sweep.
"$ASP" sweep strategy.lua --param fast=2,3,5 --param slow=10:40:10 --out local.csv -j 2 ||
  fail "the local sweep failed"
"$ASP" sweep strategy.lua --param fast=2,3,5 --param slow=10:40:10 --out slurm.csv \
  --slurm --tasks 4 --limit 2 --sbatch "--time=5" > submit.out 2> submit.err
rc=$?
cat submit.err
[ $rc -eq 0 ] || { why; cat slurm.csv.slurm/*.log 2>/dev/null; fail "the --slurm sweep exited with status $rc"; }
strip() { sed 's/,[^,]*$//' "$1" | sort; }   # without wall_s, sorted
[ "$(wc -l < slurm.csv)" -eq 13 ] || fail "slurm.csv has $(wc -l < slurm.csv) lines, not 13"
strip local.csv > a.txt
strip slurm.csv > b.txt
cmp -s a.txt b.txt || { diff a.txt b.txt; fail "the collected table differs from the local sweep's"; }
echo "test-slurm: 12 combinations in 4 array tasks: the collected table equals the local sweep's"

# 2. A failing combination (fast=13 raises an error): exit non-zero, the
#    others' rows are there.
"$ASP" sweep strategy.lua --param fast=2,13 --param slow=10:40:10 --out bad.csv \
  --slurm --tasks 4 > submit2.out 2> submit2.err
rc=$?
[ $rc -ne 0 ] || fail "a sweep with a failing combination exited with status 0"
grep -q '^13,10,.*,error,.*boom' bad.csv || { cat bad.csv; fail "no error row for fast=13"; }
[ "$(grep -c ',ok,' bad.csv)" -eq 4 ] || { cat bad.csv; fail "the other 4 rows are not all there"; }
echo "test-slurm: a failing combination: status $rc, its error row and the 4 others are there"
echo "test-slurm: 2 passed, 0 failed"
