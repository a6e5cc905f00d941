#!/bin/sh
# Prepares a virtual machine for timing real QEMU runs (docs/testing.md,
# "Timing real runs"): pauses the guest kernel's free page reporting, which
# otherwise hands freed 2 MiB blocks back to the host so that the
# destination QEMU's huge pages are slowly faulted back in, and touches the
# free memory once so that the host backs it again. Needs root; does nothing
# (and says so) on a kernel without free page reporting.
#
#   scripts/quiet-machine.sh [--keep-free GIB]   pause reporting, refault memory
#   scripts/quiet-machine.sh --restore           resume reporting
set -eu
PARAM=/sys/module/page_reporting/parameters/page_reporting_order
SAVED=/run/migsim-page-reporting-order
KEEP_FREE=2
case "${1:-}" in
  --restore)
    if [ -f "$SAVED" ] && [ -w "$PARAM" ]; then
      cat "$SAVED" >"$PARAM" && rm -f "$SAVED"
      echo "quiet-machine: free page reporting resumed (order $(cat "$PARAM"))"
    else
      echo "quiet-machine: nothing to restore"
    fi
    exit 0 ;;
  --keep-free) KEEP_FREE=${2:?--keep-free needs a number of GiB} ;;
  "") ;;
  -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
  *) echo "quiet-machine: unknown option '$1' (try --help)" >&2; exit 2 ;;
esac
if [ ! -w "$PARAM" ]; then
  echo "quiet-machine: no writable $PARAM (not root, or no free page reporting): nothing to do"
  exit 0
fi
# Orders run 0..10 on x86-64; reporting only looks at orders >= this one.
[ -f "$SAVED" ] || cat "$PARAM" >"$SAVED"
echo 11 >"$PARAM"
free_kib=$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)
touch_mib=$(( free_kib / 1024 - KEEP_FREE * 1024 ))
if [ "$touch_mib" -gt 0 ]; then
  echo "quiet-machine: reporting paused; faulting in ${touch_mib} MiB of free memory (about 10 s per GiB here)"
  # One write per 4 KiB page of an anonymous mapping, freed at exit.
  python3 - "$touch_mib" <<'PY'
import mmap, sys
n = int(sys.argv[1]) << 20
m = mmap.mmap(-1, n)
for off in range(0, n, 4096):
    m[off] = 1
m.close()
PY
fi
echo "quiet-machine: done; undo with $0 --restore"
