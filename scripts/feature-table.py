#!/usr/bin/env python3
"""Per-feature error table of a validation folder (README, "Features on
real QEMU"): for each feature, the runs of the scenarios that turn it on,
their verdicts, and the median / p90 error of downtime, total time, bytes,
syncs and the feature's own metrics, weakest metric first. Each cell also
gives the real system's own spread ("r2r", run to run): every real run
judged against the median of its scenario's other real runs, as
`migsim validate` reports it, and the best median error any prediction
could reach ("best"): one value per scenario, chosen knowing every real
run, cannot bring the median below it (`res_best_error` in
results/res_validate.c, the same bound).

    scripts/feature-table.py docs/validation-features

Reads DIR/real/summary.csv and DIR/sim/summary.csv (one simulated row per
scenario, as `migsim validate --no-replay` writes them)."""
import csv
import sys

FEATURES = {
    "postcopy-preempt": ("postcopy_preempt", ["delay_p99_ms", "delay_p50_ms", "guest_stall_ms", "postcopy_requests"]),
    "auto-converge": ("auto_converge", ["guest_throttle_ms", "cpu_throttle_percentage"]),
    "xbzrle": ("xbzrle", ["xbzrle_bytes", "xbzrle_pages", "xbzrle_cache_miss"]),
    "multifd": ("multifd", ["multifd_bytes", "cpu_workers_ms"]),
    "compress": ("compress", ["compressed_size", "cpu_workers_ms"]),
}


def pct(values, q):
    v = sorted(values)
    if not v:
        return float("nan")
    k = (len(v) - 1) * q
    lo = int(k)
    hi = min(lo + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def rel(p, m):
    if m == 0:
        return None if p == 0 else 100.0
    return abs(p - m) / abs(m) * 100


def best_median(groups):
    """The smallest relative error (%) at which one value per group can be
    within it of as many values as the median rests on (GSL's median of n
    values is never below the floor((n - 1) / 2) + 1-th smallest)."""
    values = [v for g in groups for v in g]
    if not values:
        return float("nan")
    need = (len(values) - 1) // 2 + 1
    cands = sorted({0.0} | {abs(a - b) / (a + b) * 100 if a + b else 0.0
                            for g in groups for i, a in enumerate(g) for b in g[i + 1:]})

    def passed(e):
        total = 0
        for g in groups:
            ivs = [(x - abs(x) * e / 100, x + abs(x) * e / 100) for x in g]
            total += max(sum(1 for lo, hi in ivs if lo - 1e-9 * abs(lo) <= p <= hi + 1e-9 * abs(hi))
                         for p, _ in ivs)
        return total

    return next(e for e in cands if passed(e) >= need)


def err(sim, real, key):
    """None when either side has no value (an empty cell: a metric the run
    did not measure, e.g. the host CPU columns of runs made before them)."""
    try:
        p, m = float(sim[key]), float(real[key])
    except (KeyError, ValueError):
        return None
    return rel(p, m)


def main(folder):
    real = list(csv.DictReader(open(f"{folder}/real/summary.csv")))
    sim = {r["name"]: r for r in csv.DictReader(open(f"{folder}/sim/summary.csv"))}
    print("| feature | runs | verdict right | downtime median / p90 | total time median / p90 | bytes median / p90 "
          "| syncs median / p90 err | the feature's own metrics (median / p90) |")
    print("|---|---:|---:|---:|---:|---:|---:|---|")
    for name, (column, own) in FEATURES.items():
        # runs the folder's predictions cover (validate --only predicts a subset)
        runs = [r for r in real if r.get(column) in ("1", "yes", "true") and r["name"] in sim]
        if not runs:
            continue
        right = sum(1 for r in runs if (r["status"] == "completed") == (sim[r["name"]]["status"] == "completed"))
        done = [r for r in runs if r["status"] == "completed" and sim[r["name"]]["status"] == "completed"]

        def cell(key):
            e = [x for x in (err(sim[r["name"]], r, key) for r in done) if x is not None]
            return (pct(e, 0.5), pct(e, 0.9)) if e else (float("nan"), float("nan"))

        def floor(key):
            e = []
            for r in done:
                others = [o for o in done if o["name"] == r["name"] and o is not r and o.get(key, "") != ""]
                if not others:
                    continue
                if r.get(key, "") == "":
                    continue
                x = rel(pct([float(o[key]) for o in others], 0.5), float(r[key]))
                if x is not None:
                    e.append(x)
            return (pct(e, 0.5), pct(e, 0.9)) if e else (float("nan"), float("nan"))

        def best(key):
            groups = {}
            for r in done:
                if r.get(key, "") != "" and err(sim[r["name"]], r, key) is not None:
                    groups.setdefault(r["name"], []).append(float(r[key]))
            return best_median(list(groups.values()))

        own_cells = sorted(((k,) + cell(k) for k in own), key=lambda t: -t[1] if t[1] == t[1] else 0)
        own_cells = [c for c in own_cells if c[1] == c[1]]  # leave out metrics no run has
        pair = lambda c: f"{c[0]:.1f}% / {c[1]:.1f}%"
        fmt = lambda key: f"{pair(cell(key))} (r2r {pair(floor(key))}, best {best(key):.1f}%)"
        print(f"| {name} | {len(done)} | {right} of {len(runs)} | {fmt('downtime_ms')} | {fmt('total_time_ms')} "
              f"| {fmt('transferred_bytes')} | {pair(cell('dirty_sync_count'))} | "
              + ", ".join(f"{k} {fmt(k)}" for k, m, p in own_cells) + " |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: scripts/feature-table.py VALIDATION_DIR")
    main(sys.argv[1])
