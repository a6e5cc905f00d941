#!/usr/bin/env bash
# record_bench.sh: accuracy and cost of each `migsim trace record` backend on
# a large process (docs/recording.md "Cost, measured").
#
# Runs tests/helpers/record_bench (built with the tests), which for every
# backend whose self-test passes here (uffd-wp, soft-dirty, hash):
#   1. records a MIB MiB process writing RATE random pages/s for SECONDS s at
#      INTERVAL_MS, and prints scans, overruns, scan time (mean, max, per GiB
#      resident) and the recorded write set against the one the process is
#      known to have written (missing / extra pages must both be 0), plus the
#      write rate the process achieved while recorded;
#   2. runs a memory-bound loop (random 8-byte stores into MIB MiB, 5 s) alone
#      and while recorded, and prints stores/s and the slowdown;
#   3. prints this machine's page fault costs: a first write to fresh memory
#      and, where uffd-wp works, a write-protect fault (us per page, 64 MiB).
# Exit status 1 when a write set did not match.
#
# usage: bench/record_bench.sh [BACKEND...]
# environment:
#   BUILD        build directory (default: build/; RelWithDebInfo or Release)
#   MIB          size of the process's region (default 1024)
#   RATE         pages written per second in part 1 (default 20000)
#   SECONDS_     duration of part 1 (default 10)
#   INTERVAL_MS  recording interval (default 100)
# Needs ptrace rights over its own children (root, or kernel.yama.ptrace_scope
# 0) and about 2 x MIB of free memory. Takes about a minute per backend.
set -euo pipefail

case "${1:-}" in
  -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
esac
here=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$here/build}
bench=$BUILD/tests/helpers/record_bench
helper=$BUILD/tests/helpers/record_pattern
if [[ ! -x "$bench" || ! -x "$helper" ]]; then
  echo "record_bench: $bench or $helper missing: build the tests first" \
       "(cmake --build $BUILD)" >&2
  exit 2
fi
exec nice -n 19 "$bench" "$helper" "${MIB:-1024}" "${RATE:-20000}" "${SECONDS_:-10}" \
  "${INTERVAL_MS:-100}" "$@"
