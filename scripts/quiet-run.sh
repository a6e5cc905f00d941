#!/bin/sh
# Runs COMMAND on a quiet machine: every process outside COMMAND's process
# tree and this script's ancestors is frozen (cgroup-v1 freezer) while
# COMMAND runs, and thawed afterwards; processes started meanwhile are
# frozen within a second. With QUIET=idle they are only demoted to a
# cpu.idle=1 group instead, which is gentler but not enough on a small
# virtual machine: their context switches and page faults still slow QEMU
# (docs/testing.md, "Timing real runs"). Needs root and cgroup v1; without
# them it runs COMMAND unchanged.
#
#   scripts/quiet-run.sh COMMAND [ARGS...]
set -u
MODE=${QUIET:-freeze}
if [ "$MODE" = freeze ]; then
  CG=/sys/fs/cgroup/freezer; GRP=$CG/migsim-quiet
else
  CG=/sys/fs/cgroup/cpu; GRP=$CG/migsim-bg
fi
if [ "$(id -u)" != 0 ] || [ ! -w "$CG/cgroup.procs" ] || ! mkdir -p "$GRP"; then
  exec "$@"
fi
if [ "$MODE" = freeze ]; then echo THAWED >"$GRP/freezer.state"; else echo 1 >"$GRP/cpu.idle"; fi
nice -n -10 "$@" &
child=$!
tree() { # $1 and all its descendants
  echo "$1"
  for c in $(cat /proc/"$1"/task/*/children 2>/dev/null); do tree "$c"; done
}
ancestors() { # $1 and its ancestors
  p=$1
  while [ "$p" -gt 1 ] 2>/dev/null; do echo "$p"; p=$(awk '{print $4}' /proc/"$p"/stat 2>/dev/null || echo 0); done
  echo 1
}
quiet() {
  # List first, then the tree to keep: a process started in between is not
  # in the list, so nothing of COMMAND's tree can be frozen by a race.
  # User processes only: kernel threads are kthreadd (2) and its children.
  procs=$(cat /proc/[0-9]*/stat 2>/dev/null | awk '$1 > 2 && $4 != 2 {print $1}')
  keep=" $(ancestors $$ | tr '\n' ' ') $(tree "$child" | tr '\n' ' ') "
  for p in $procs; do
    case "$keep" in *" $p "*) continue ;; esac
    echo "$p" >"$GRP/cgroup.procs" 2>/dev/null
  done
  # and never leave one of ours in the group
  for p in $(cat "$GRP/cgroup.procs" 2>/dev/null); do
    case "$keep" in *" $p "*) echo "$p" >"$CG/cgroup.procs" 2>/dev/null ;; esac
  done
  [ "$MODE" = freeze ] && echo FROZEN >"$GRP/freezer.state"
}
restore() {
  [ "$MODE" = freeze ] && echo THAWED >"$GRP/freezer.state"
  for p in $(cat "$GRP/cgroup.procs" 2>/dev/null); do echo "$p" >"$CG/cgroup.procs" 2>/dev/null; done
}
trap 'kill "$child" 2>/dev/null; restore; exit 130' INT TERM HUP
while kill -0 "$child" 2>/dev/null; do quiet; sleep 1; done
wait "$child"; rc=$?
restore
exit $rc
