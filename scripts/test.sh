#!/usr/bin/env bash
# Installs, builds and runs the whole test suite: the normal build (every
# test, QEMU replays included), the same unit tests under ASan + UBSan, the
# threaded commands' tests under TSan, and the libFuzzer targets for a
# bounded time.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/deps.sh
# Test-only: a real headless browser opens the HTML report (test_report).
if ! command -v chromium >/dev/null; then
  apt-get install -y -qq --no-install-recommends chromium
fi
jobs=$(nproc)

cmake -S . -B build-test -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIGSIM_WERROR=ON
cmake --build build-test -j"$jobs"
ctest --test-dir build-test --output-on-failure -j"$jobs"

cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DMIGSIM_SANITIZE=ON -DMIGSIM_WERROR=ON
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -L unit -j"$jobs"

# The threaded commands' tests (sweep, bench, fleet, shards, the harness's
# readers) under ThreadSanitizer: a data race there once crashed a sweep.
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DMIGSIM_TSAN=ON -DMIGSIM_WERROR=ON
cmake --build build-tsan -j"$jobs" --target migsim test_cli test_fleet test_shard test_plan test_progress \
  test_reliability test_kvr_protocol
ctest --test-dir build-tsan --output-on-failure -L threads -j"$jobs"

CC=clang cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=Debug -DMIGSIM_FUZZ=ON -DMIGSIM_FUZZ_SECONDS=25
cmake --build build-fuzz -j"$jobs" --target fuzz_targets
ctest --test-dir build-fuzz --output-on-failure -L fuzz
