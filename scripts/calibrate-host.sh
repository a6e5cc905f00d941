#!/usr/bin/env bash
# Fits TCG profiles for this machine (docs/hosts.md): the calibration set's
# real runs on each QEMU version, then `migsim calibrate` from the shipped
# TCG profile of that version, then (with --validate) the validation set
# measured and predicted with the new profile. What was done by hand for the
# second host, in one command. Real runs are timed: run it on an otherwise
# idle machine (as root it pauses page reporting and freezes other work
# itself, scripts/quiet-machine.sh and scripts/quiet-run.sh).
#
#   scripts/calibrate-host.sh --name NAME [--out DIR] [--versions 7.2,10.0]
#                             [--validate] [--scenarios FILE] [--repeat N]
#                             [--no-trace-wake] [--wake-scenarios FILE]
#                             [--set KEY=VALUE]... [--no-quiet]
#
#   --name NAME       profiles qemu-VERSION-tcg-NAME.ini (letters, digits, -)
#   --out DIR         where runs, reports and profiles go [out/host-NAME]
#   --versions LIST   QEMU versions to calibrate [7.2,10.0]
#   --validate        also measure and predict scenarios/validation.ini
#   --scenarios FILE  calibration scenarios [scenarios/calibration.ini]
#   --repeat N        real runs per calibration scenario [2]
#   --no-trace-wake   do not measure this host's post-copy fault wake
#                     (fault_resume_ns, fault_resume_busy_ns, fault_burst_ns)
#                     before fitting. By default it is traced with QEMU's
#                     trace events (scripts/trace-fault-wake.py, about 16 s
#                     of real runs a repetition) and the fit is made around
#                     it; without it the wake is the shipped profile's,
#                     traced on another machine, and the guest side (page
#                     requests, stall) can be 2-3x off (docs/postcopy-faults.md,
#                     "Tracing a host's fault wake")
#   --wake-scenarios FILE  the traced runs [scenarios/fault-wake.ini]
#   --set KEY=VALUE   a constant measured on this host rather than fitted,
#                     passed to `migsim calibrate --set` (repeatable; one
#                     version per call when the values differ by version;
#                     it wins over a traced wake's value)
#   --no-quiet        do not pause page reporting or freeze other work
#
# MIGSIM names the migsim binary [./build/migsim]. Writes DIR/calibration-V
# (real runs and the shipped profile's errors on them), DIR/qemu-V-tcg-NAME.ini,
# DIR/fault-wake-V (the traced runs and the measured wake, reused when the
# script runs again) and, with --validate, DIR/validation-V.
# Copy a profile into models/profiles/ to use it by name.
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "calibrate-host: $*" >&2; exit 2; }

name="" out="" versions="7.2,10.0" validate=0 scenarios=scenarios/calibration.ini repeat=2 quiet=1
wake=1 wake_scenarios=scenarios/fault-wake.ini
sets=()
while (($#)); do
  case $1 in
    --name) name=${2:?--name needs a value}; shift ;;
    --out) out=${2:?--out needs a folder}; shift ;;
    --versions) versions=${2:?--versions needs a list}; shift ;;
    --validate) validate=1 ;;
    --scenarios) scenarios=${2:?--scenarios needs a file}; shift ;;
    --repeat) repeat=${2:?--repeat needs a number}; shift ;;
    --no-trace-wake) wake=0 ;;
    --wake-scenarios) wake_scenarios=${2:?--wake-scenarios needs a file}; shift ;;
    --set)
      [[ ${2:-} =~ ^[a-z][a-z0-9_]*=[^[:space:]]+$ ]] || die "--set '${2:-}': KEY=VALUE, e.g. fault_resume_ns=200000"
      sets+=(--set "$2"); shift ;;
    --no-quiet) quiet=0 ;;
    -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
    *) die "unknown option '$1' (try --help)" ;;
  esac
  shift
done
[[ -n $name ]] || die "--name is required (the profiles become qemu-VERSION-tcg-NAME)"
[[ $name =~ ^[A-Za-z0-9][A-Za-z0-9-]{0,31}$ ]] || die "--name '$name': letters, digits and '-', at most 32"
[[ $repeat =~ ^[1-9][0-9]{0,1}$ ]] || die "--repeat '$repeat': a number from 1 to 99"
[[ -r $scenarios ]] || die "cannot read $scenarios"
((wake == 0)) || [[ -r $wake_scenarios ]] || die "cannot read $wake_scenarios"
((wake == 0)) || command -v python3 >/dev/null || die "tracing the fault wake needs python3 (or --no-trace-wake)"
out=${out:-out/host-$name}
migsim=${MIGSIM:-./build/migsim}
[[ -x $migsim ]] || die "no migsim binary at $migsim (build first, or set MIGSIM)"
IFS=, read -r -a vlist <<<"$versions"
for v in "${vlist[@]}"; do [[ $v == 7.2 || $v == 10.0 ]] || die "--versions: '$v' is not 7.2 or 10.0"; done

run() { # a command whose real runs are timed
  if ((quiet)) && [[ $(id -u) == 0 ]]; then QUIET=freeze sh scripts/quiet-run.sh "$@"; else "$@"; fi
}
if ((quiet)) && [[ $(id -u) == 0 ]]; then
  sh scripts/quiet-machine.sh
  trap 'sh scripts/quiet-machine.sh --restore' EXIT
fi

mkdir -p "$out"
for v in "${vlist[@]}"; do
  qemu=()
  [[ $v == 10.0 ]] && qemu=(--qemu 10.0)
  base=qemu-$v-tcg
  # The device state's size is QEMU's, not the machine's: kept from the base.
  dsb=$(sed -n 's/^device_state_bytes *= *//p' "models/profiles/$base.ini")
  [[ -n $dsb ]] || die "models/profiles/$base.ini has no device_state_bytes"
  echo "== QEMU $v: calibration runs ($scenarios, $repeat each)"
  run "$migsim" validate "$scenarios" "${qemu[@]}" --profile "$base" --repeat "$repeat" \
    --out "$out/calibration-$v"
  traced=()
  if ((wake)); then
    wdir=$out/fault-wake-$v
    if [[ -s $wdir/fault-wake.sets ]]; then
      echo "== QEMU $v: fault wake already traced in $wdir (remove it to trace again)"
    else
      echo "== QEMU $v: tracing the post-copy fault wake ($wake_scenarios, $repeat each)"
      rm -rf "$wdir"
      run env MIGSIM="$migsim" python3 scripts/trace-fault-wake.py --qemu "$v" --scenarios "$wake_scenarios" \
        --repeat "$repeat" --out "$wdir"
    fi
    while IFS= read -r kv; do [[ -n $kv ]] && traced+=(--set "$kv"); done <"$wdir/fault-wake.sets"
  fi
  echo "== QEMU $v: fitting $out/$base-$name.ini"
  # The traced wake first, so that a --set given here wins.
  "$migsim" calibrate "$scenarios" "${qemu[@]}" --base "$base" --dirty-log tcg \
    --fix "device_state_bytes=$dsb" "${traced[@]}" "${sets[@]}" --repeat "$repeat" \
    --runs "$out/calibration-$v/real" -o "$out/$base-$name.ini"
  if ((validate)); then
    echo "== QEMU $v: validation set with $out/$base-$name.ini"
    run "$migsim" validate scenarios/validation.ini "${qemu[@]}" --profile "$out/$base-$name.ini" --repeat 3 \
      --out "$out/validation-$v"
  fi
done
echo "calibrate-host: profiles in $out (copy to models/profiles/ to use them by name)"
