#!/usr/bin/env bash
# Installs what migsim needs to build, test and replay on Debian 12 (as root).
# Idempotent: apt-get installs only what is missing.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
  build-essential cmake pkg-config                 # toolchain
  clang libclang-rt-14-dev                         # fuzzers (libFuzzer runtime)
  libgsl-dev libcsv-dev libzstd-dev zlib1g-dev     # simulator, traces
  libplplot-dev plplot-driver-cairo fonts-dejavu-core  # plots (PNG via cairo)
  libcmocka-dev                                    # tests
  libjansson-dev                                   # QMP
  gcc-multilib qemu-system-x86                     # kvmreplay guest and QEMU
  procps                                           # pgrep/ps for the replay tests
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
