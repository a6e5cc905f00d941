#!/bin/sh
# Longer fuzzing than CI: every libFuzzer target for SECONDS each (default
# 1800), one after another under nice, inputs up to 1 MiB, new inputs kept
# in build-fuzz/tests/corpus-<target>/ between nights. Prints executions,
# coverage (edges) and crashes per target; a crash leaves its input as
# build-fuzz/tests/<target>-crash-* (turn it into a regression test).
#
#   scripts/fuzz-nightly.sh [SECONDS] [TARGET...]
set -eu
cd "$(dirname "$0")/.."
SECONDS_EACH=${1:-1800}
[ $# -gt 0 ] && shift
CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DMIGSIM_FUZZ=ON >/dev/null
nice -n 19 cmake --build build-fuzz -j2 --target fuzz_targets >/dev/null
TARGETS=${*:-$(cd tests && ls fuzz_*.c | sed 's/\.c$//')}
status=0
printf '%-20s %12s %8s %8s %s\n' target execs edges seconds crashes
for t in $TARGETS; do
  mkdir -p "build-fuzz/tests/corpus-$t"
  log="build-fuzz/tests/$t.log"
  if nice -n 19 "build-fuzz/tests/$t" -max_total_time="$SECONDS_EACH" -max_len=1048576 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="build-fuzz/tests/$t-" \
      "build-fuzz/tests/corpus-$t" "tests/corpus/$t" >"$log" 2>&1; then
    crashes=0
  else
    crashes=1
    status=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  edges=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  printf '%-20s %12s %8s %8s %s\n' "$t" "${execs:-?}" "${edges:-?}" "$SECONDS_EACH" "$crashes"
done
exit $status
