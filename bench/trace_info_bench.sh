#!/usr/bin/env bash
# trace_info_bench.sh: throughput and peak memory of `migsim trace info`.
#
# Generates a uniform trace over a 1 GiB guest with EVENTS events (default
# 100 million: 1,000,000 writes/s for 100 s) and a ten times smaller one
# with the same guest, runs `migsim trace info` on each under
# /usr/bin/time -v, and prints events/s and peak RSS. The two peak RSS
# values should be about equal: trace statistics keep per-page state
# (2 bits per page for `info`), never the events. With --stats it also
# measures `migsim trace stats` (about 8.5 bytes per page) on the big trace.
#
# usage: bench/trace_info_bench.sh [--stats] [--keep]
# environment:
#   MIGSIM   the migsim binary (default: build/migsim, else `migsim` on PATH);
#            use an optimised build (RelWithDebInfo or Release)
#   EVENTS   events in the big trace (default 100000000)
#   RATE     writes per second (default 1000000)
#   MEMORY   guest size (default 1GiB)
#   DIR      where the traces go (default /tmp; the big one takes ~2.3 bytes
#            per event, about 230 MB for 100M events)
# Traces are reused when they already exist (same name = same parameters:
# the generator is deterministic) unless removed; --keep leaves them in DIR,
# otherwise they are deleted at the end.
set -euo pipefail

stats=0
keep=0
for arg in "$@"; do
  case "$arg" in
    --stats) stats=1 ;;
    --keep) keep=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "trace_info_bench: unknown argument '$arg' (see --help)" >&2; exit 2 ;;
  esac
done

here=$(cd "$(dirname "$0")/.." && pwd)
MIGSIM=${MIGSIM:-}
if [[ -z "$MIGSIM" ]]; then
  if [[ -x "$here/build/migsim" ]]; then MIGSIM="$here/build/migsim"
  else MIGSIM=$(command -v migsim || true); fi
fi
[[ -n "$MIGSIM" && -x "$MIGSIM" ]] || { echo "trace_info_bench: set MIGSIM to the migsim binary" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "trace_info_bench: needs GNU time (apt-get install time)" >&2; exit 2; }

EVENTS=${EVENTS:-100000000}
RATE=${RATE:-1000000}
MEMORY=${MEMORY:-1GiB}
DIR=${DIR:-/tmp}
spec="uniform:rate=$RATE"
if ! "$MIGSIM" trace gen --help >/dev/null 2>&1; then
  echo "trace_info_bench: '$MIGSIM trace gen' is not available yet" >&2
  exit 2
fi

# Durations in ms so that EVENTS need not be a multiple of RATE.
big_ms=$(( EVENTS * 1000 / RATE ))
small_ms=$(( big_ms / 10 ))
big="$DIR/migsim-bench-uniform-r$RATE-$MEMORY-${big_ms}ms.bin"
small="$DIR/migsim-bench-uniform-r$RATE-$MEMORY-${small_ms}ms.bin"

cleanup() {
  if [[ $keep -eq 0 ]]; then rm -f "$big" "$small"; fi
  rm -f "$DIR"/migsim-bench-time.$$ "$DIR"/migsim-bench-out.$$
  rm -rf "$DIR"/migsim-bench-stats.$$
}
trap cleanup EXIT

gen() { # gen FILE DURATION_MS
  if [[ -s "$1" ]]; then return; fi
  echo "generating $1 ($spec over $MEMORY for $2 ms) ..." >&2
  local t0 t1
  t0=$(date +%s.%N)
  "$MIGSIM" trace gen "$spec" --memory "$MEMORY" --duration "${2}ms" --seed 1 -o "$1"
  t1=$(date +%s.%N)
  echo "  $(stat -c %s "$1") bytes in $(echo "$t1 - $t0" | bc) s" >&2
}

# measure LABEL EVENTS CMD...: runs CMD under /usr/bin/time -v and prints
# one line: wall time, events/s, peak RSS.
measure() {
  local label=$1 events=$2
  shift 2
  local t0 t1 wall rss
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$DIR/migsim-bench-time.$$" "$@" >"$DIR/migsim-bench-out.$$"
  t1=$(date +%s.%N)
  wall=$(echo "$t1 - $t0" | bc)
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$DIR/migsim-bench-time.$$")
  printf '%-28s %12d events %8.2f s %14.0f events/s %9.1f MiB peak RSS\n' \
    "$label" "$events" "$wall" "$(echo "$events / $wall" | bc -l)" "$(echo "$rss / 1024" | bc -l)"
}

gen "$small" "$small_ms"
gen "$big" "$big_ms"

# The event counts as the trace itself reports them.
count() { "$MIGSIM" trace info "$1" --csv | awk -F, 'NR == 2 {print $5}'; }
n_small=$(count "$small")
n_big=$(count "$big")

echo "migsim: $MIGSIM"
echo "trace: $spec, guest $MEMORY"
measure "trace info (small trace)" "$n_small" "$MIGSIM" trace info "$small"
measure "trace info (big trace)" "$n_big" "$MIGSIM" trace info "$big"
if [[ $stats -eq 1 ]]; then
  measure "trace stats (big trace)" "$n_big" \
    "$MIGSIM" trace stats "$big" --out "$DIR/migsim-bench-stats.$$"
fi
