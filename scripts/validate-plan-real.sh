#!/usr/bin/env bash
# The sharing model of `migsim plan` checked on a real network (issue 11,
# part 5; docs/planning.md, "Checked on a real network"): every inventory of
# scenarios/plan/real/ is planned with all its VMs at once and then run for
# real (`migsim plan --real`: real QEMU migrations competing for one veth
# link shaped with tc), --repeat times. Writes into OUT:
#   NAME-K/                 each run's plan, report and real/ comparison
#   comparison.csv          every VM of every run: simulated vs real
#   README.md               per-run makespans, pooled median / p90 errors
# Needs root, iproute2 and QEMU; time it on a quiet machine
# (scripts/quiet-run.sh scripts/validate-plan-real.sh), never a loaded one.
#
#   scripts/validate-plan-real.sh [--build DIR] [--out DIR] [--repeat N] [--only NAME]...
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build
out=$root/docs/planning/real-validation
repeat=1
only=()
while (($#)); do
  case $1 in
    --build) build=${2:?--build DIR}; shift 2 ;;
    --out) out=${2:?--out DIR}; shift 2 ;;
    --repeat) repeat=${2:?--repeat N}; shift 2 ;;
    --only) only+=("${2:?--only NAME}"); shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "validate-plan-real: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done
[[ $repeat =~ ^[1-9][0-9]?$ ]] || { echo "validate-plan-real: --repeat must be 1..99" >&2; exit 2; }
migsim=$build/migsim
[[ -x $migsim ]] || { echo "validate-plan-real: $migsim not built (cmake --build $build)" >&2; exit 2; }
[[ $(id -u) == 0 ]] || { echo "validate-plan-real: needs root (network namespaces and tc)" >&2; exit 2; }
command -v ip >/dev/null && command -v tc >/dev/null ||
  { echo "validate-plan-real: 'ip' or 'tc' not found: install iproute2" >&2; exit 2; }

net=mgs-validate
cleanup() { # migsim removes its link itself; this covers a migsim killed hard
  ip netns del "$net" 2>/dev/null || true
  ip link del "$net-s" 2>/dev/null || true
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT TERM HUP

scen=$root/scenarios/plan/real
topo=$scen/link-100M.ini
names=()
if ((${#only[@]})); then
  names=("${only[@]}")
else
  for f in "$scen"/*.csv; do names+=("$(basename "$f" .csv)"); done
fi
mkdir -p "$out"
echo "validate-plan-real: ${#names[@]} inventories x $repeat over $topo; load average $(cut -d' ' -f1-3 /proc/loadavg)"
for name in "${names[@]}"; do
  [[ -f $scen/$name.csv ]] || { echo "validate-plan-real: no $scen/$name.csv" >&2; exit 2; }
  for ((k = 1; k <= repeat; k++)); do
    dir=$out/$name-$k
    echo "validate-plan-real: $name, run $k"
    # Exit 1 is a verdict (a VM over its downtime limit, say), not an error.
    rc=0
    "$migsim" plan "$scen/$name.csv" --topology "$topo" --policy parallel --max-parallel 0 \
      --max-per-host 0 --timeout 60s --real --net-name "$net" --quiet --out "$dir" || rc=$?
    ((rc <= 1)) || { echo "validate-plan-real: $name run $k failed (exit $rc)" >&2; exit "$rc"; }
  done
done

# Pool every run's per-VM rows; medians and 90th percentiles as
# res_plan_write_real computes them (linear interpolation).
python3 - "$out" "$repeat" "${names[@]}" <<'EOF'
import csv, os, sys
out, repeat, names = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def q(v, p):
    v = sorted(v)
    if not v: return float("nan")
    i = p * (len(v) - 1); lo = int(i)
    return v[lo] + (v[min(lo + 1, len(v) - 1)] - v[lo]) * (i - lo)
rows, runs = [], []
for name in names:
    for k in range(1, repeat + 1):
        path = os.path.join(out, f"{name}-{k}", "real", "comparison.csv")
        with open(path, newline="") as f:
            for r in csv.DictReader(f):
                if r["name"] == "makespan":
                    runs.append((name, k, float(r["sim_total_s"]), float(r["real_total_s"]), float(r["total_err_pct"])))
                else:
                    rows.append(dict(scenario=name, run=k, **r))
with open(os.path.join(out, "comparison.csv"), "w", newline="") as f:
    w = csv.DictWriter(f, fieldnames=["scenario", "run"] + [c for c in rows[0] if c not in ("scenario", "run")])
    w.writeheader(); w.writerows(rows)
both = [r for r in rows if r["sim_status"] == "completed" and r["real_status"] == "completed"]
te = [float(r["total_err_pct"]) for r in both]
be = [float(r["bytes_err_pct"]) for r in both]
de = [float(r["downtime_err_ms"]) for r in both if r["downtime_err_ms"]]
me = [abs(x[4]) for x in runs]
with open(os.path.join(out, "README.md"), "w") as f:
    f.write("# The sharing model on a real shaped link\n\n"
            "Written by `scripts/validate-plan-real.sh` (docs/planning.md, \"Checked on a real network\"): "
            "each inventory of `scenarios/plan/real/` planned with all VMs at once and run on real QEMU over "
            "one veth link shaped to 100 Mbit/s. Per-VM rows: `comparison.csv`; each run: `NAME-K/real/comparison.md`.\n\n"
            "| inventory | run | makespan sim (s) | makespan real (s) | error |\n|---|---:|---:|---:|---:|\n")
    for n, k, s, r, e in runs:
        f.write(f"| {n} | {k} | {s:.2f} | {r:.2f} | {e:.1f} % |\n")
    f.write(f"\n| error, absolute | median | p90 | n |\n|---|---:|---:|---:|\n"
            f"| per-VM total time, % of real | {q(te, .5):.1f} % | {q(te, .9):.1f} % | {len(te)} |\n"
            f"| per-VM bytes, % of real | {q(be, .5):.1f} % | {q(be, .9):.1f} % | {len(be)} |\n"
            f"| per-VM downtime, ms | {q(de, .5):.0f} | {q(de, .9):.0f} | {len(de)} |\n"
            f"| makespan, % of real | {q(me, .5):.1f} % | {q(me, .9):.1f} % | {len(me)} |\n")
    f.write(f"\nVMs that did not complete on both sides: {len(rows) - len(both)} of {len(rows)}.\n")
print(open(os.path.join(out, "README.md")).read())
EOF
