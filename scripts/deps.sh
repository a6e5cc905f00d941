#!/usr/bin/env bash
# Installs what migsim needs to build, test and replay on Debian 12 (as root).
# Idempotent: apt-get installs only what is missing, and the second QEMU
# (10.0, see below) is unpacked only when its prefix does not hold it yet.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

# QEMU 10.0 beside the system's 7.2 (docs/qemu-10.0.md). bookworm-backports
# carries it; its packages are downloaded and unpacked into a private prefix
# (never installed with dpkg), so qemu-system-x86_64 in PATH stays 7.2.
# kvmreplay runs it as `--qemu 10.0`, with -L pointing into the prefix.
# MIGSIM_QEMU10_PREFIX moves the prefix; MIGSIM_SKIP_QEMU10=1 skips this.
qemu10_prefix=${MIGSIM_QEMU10_PREFIX:-/opt/migsim/qemu-10.0}
case $qemu10_prefix in
  /?*/?*) ;;
  *) echo "deps: MIGSIM_QEMU10_PREFIX must be an absolute path at least two levels deep" >&2; exit 2 ;;
esac
qemu10_ok() {
  "$qemu10_prefix/usr/bin/qemu-system-x86_64" --version 2>/dev/null | grep -q "version 10\.0\." &&
    [[ -f $qemu10_prefix/usr/share/seabios/bios-256k.bin ]]
}
qemu10_todo=0
if [[ ${MIGSIM_SKIP_QEMU10:-0} != 1 ]] && ! qemu10_ok; then
  qemu10_todo=1
  # Added before the first apt-get update below, so that one update serves
  # both. The suite is pinned at priority 100 by its own Release file: it
  # never upgrades an installed package by itself.
  if ! grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deps: adding bookworm-backports as /etc/apt/sources.list.d/migsim-bookworm-backports.sources"
    cat >/etc/apt/sources.list.d/migsim-bookworm-backports.sources <<'EOF'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
  fi
fi

packages=(
  build-essential cmake pkg-config                 # toolchain
  clang libclang-rt-14-dev                         # fuzzers (libFuzzer runtime)
  libgsl-dev libcsv-dev libzstd-dev zlib1g-dev     # simulator, traces
  libplplot-dev plplot-driver-cairo fonts-dejavu-core  # plots (pngcairo, svgcairo, pdfcairo)
  libcmocka-dev                                    # tests
  libjansson-dev                                   # QMP
  gcc-multilib qemu-system-x86                     # kvmreplay guest and QEMU 7.2
  procps                                           # pgrep/ps for the replay tests
  iproute2                                         # ip, tc: plan --real's shaped link (test_plan_real)
  libxml2-utils                                    # xmllint: regress junit.xml against its schema
  python3                                          # scripts/*.py: trace-fault-wake (calibrate-host.sh), doc tables
  openmpi-bin libopenmpi-dev                       # optional MPI sweep (mpirun -n N migsim sweep; 10 MB download, 46 MB)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [[ ${MIGSIM_SKIP_QEMU10:-0} == 1 ]]; then
  echo "deps: QEMU 10.0 skipped (MIGSIM_SKIP_QEMU10=1)"
elif ((qemu10_todo == 0)); then
  echo "deps: QEMU 10.0 already in $qemu10_prefix"
else
  echo "deps: installing QEMU 10.0 from bookworm-backports into $qemu10_prefix"
  # The newest 10.0.x that backports offers; update the lists when none is known yet.
  qemu10_version() {
    apt-cache madison qemu-system-x86 2>/dev/null | awk -F'|' '$3 ~ /bookworm-backports/ {gsub(/ /,"",$2); print $2}' |
      grep -E '^1:10\.0\.' | head -n1
  }
  version=$(qemu10_version || true)
  if [[ -z $version ]]; then
    echo "deps: apt-get update (bookworm-backports lists)"
    apt-get update -qq
    version=$(qemu10_version || true)
  fi
  if [[ -z $version ]]; then
    echo "deps: bookworm-backports offers no qemu-system-x86 1:10.0.x" >&2
    exit 1
  fi
  seabios=$(apt-cache madison seabios | awk -F'|' '$3 ~ /bookworm-backports/ {gsub(/ /,"",$2); print $2}' | head -n1)
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  chown _apt "$work" 2>/dev/null || true # apt downloads as _apt when it can
  echo "deps: apt-get download qemu-system-x86 qemu-system-common qemu-system-data $version${seabios:+, seabios $seabios}"
  (cd "$work" && apt-get download -qq "qemu-system-x86=$version" "qemu-system-common=$version" \
    "qemu-system-data=$version" ${seabios:+"seabios=$seabios"})
  # Their library dependencies are ordinary bookworm packages: install the
  # missing ones (names only; bookworm's versions satisfy them). The QEMU
  # packages themselves, the firmware (unpacked below) and ipxe are left out.
  libs=()
  for deb in "$work"/qemu-system-x86_*.deb "$work"/qemu-system-common_*.deb; do
    for dep in $(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/ //g'); do
      case $dep in qemu-* | seabios | ipxe-qemu | "") continue ;; esac
      dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q "install ok installed" || libs+=("$dep")
    done
  done
  if ((${#libs[@]})); then
    echo "deps: apt-get install ${libs[*]}"
    apt-get install -y -qq --no-install-recommends "${libs[@]}"
  fi
  # Unpack into a staging directory, then move it into place in one step.
  staging="$work/prefix"
  for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$staging"; done
  mkdir -p "$(dirname "$qemu10_prefix")"
  rm -rf "$qemu10_prefix"
  mv "$staging" "$qemu10_prefix"
  if ! qemu10_ok; then
    echo "deps: $qemu10_prefix/usr/bin/qemu-system-x86_64 does not run or is not 10.0:" >&2
    "$qemu10_prefix/usr/bin/qemu-system-x86_64" --version >&2 || true
    exit 1
  fi
fi
if [[ ${MIGSIM_SKIP_QEMU10:-0} != 1 ]]; then
  echo "deps: $("$qemu10_prefix/usr/bin/qemu-system-x86_64" --version | head -n1) in $qemu10_prefix;" \
    "system: $(qemu-system-x86_64 --version | head -n1)"
fi
