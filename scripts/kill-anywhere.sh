#!/bin/sh
# Kill-anywhere check of result folders (docs/results.md): a sweep is killed
# with SIGKILL at N points and resumed each time; the folder must end with
# the bytes of an uninterrupted sweep. Half of the kills come from the
# writer's own crash hook (MIGSIM_KILL_AT: in the middle of a row, or
# between a run's files), half from outside at a random time.
#
#   scripts/kill-anywhere.sh [MIGSIM] [KILLS]    (defaults: build/migsim, 50)
set -eu
MIGSIM=${1:-build/migsim}
KILLS=${2:-50}
WORK=$(mktemp -d /tmp/migsim-kill-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
SWEEP="sweep --workload uniform:wss=4096,rate=4000,nonzero=1,uniform:wss=8192,rate=9000,nonzero=1
       --memory 64MiB --algo precopy,postcopy,hybrid --max-bandwidth 16MiB/s,32MiB/s,64MiB/s,128MiB/s
       --timeline --quiet"
# One writer step per file of a run: 24 runs x 3 files.
STEPS=72

nice -n 19 "$MIGSIM" $SWEEP --out "$WORK/clean"
kills=0 finished=0 i=0
while [ "$kills" -lt "$KILLS" ] && [ "$i" -lt 1000 ]; do
  i=$((i + 1))
  r=$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')
  if [ $((i % 2)) -eq 0 ]; then
    MIGSIM_KILL_AT=$((1 + r % STEPS)) nice -n 19 "$MIGSIM" $SWEEP --out "$WORK/killed" 2>/dev/null && st=0 || st=$?
  else
    # From outside, after 0..0.99 s.
    nice -n 19 "$MIGSIM" $SWEEP --out "$WORK/killed" 2>/dev/null & pid=$!
    sleep "0.$(printf %02d $((r % 100)))"
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" && st=0 || st=$?
  fi
  if [ "$st" -eq 137 ]; then
    kills=$((kills + 1))
  elif [ "$st" -eq 0 ]; then
    for f in summary.csv rounds.csv timeline.csv; do
      cmp -s "$WORK/clean/$f" "$WORK/killed/$f" || { echo "kill-anywhere: $f differs after a resumed sweep" >&2; exit 1; }
    done
    finished=$((finished + 1))
    rm -rf "$WORK/killed"
  else
    echo "kill-anywhere: a resumed sweep failed with status $st" >&2
    exit 1
  fi
done
nice -n 19 "$MIGSIM" $SWEEP --out "$WORK/killed"
for f in summary.csv rounds.csv timeline.csv; do
  cmp "$WORK/clean/$f" "$WORK/killed/$f"
done
echo "kill-anywhere: $kills kills ($i runs, $finished resumed sweeps reached the end): every folder equal to the uninterrupted sweep"
