#!/usr/bin/env python3
"""Post-copy fault timeline from QEMU trace events (docs/postcopy-faults.md).

Reads the source and destination logs of a `migsim replay --keep
--qemu-trace ...` run (src.log, dst.log in the kept run directory) and
prints, per page request, when the destination's fault thread asked for
the page, when the source queued it, when the destination placed it, and
when the request was resolved; then a summary of where the time went.
With every placement traced (postcopy_place_page*) and a rate-limited
post-copy, it also splits the requests by whether they were made during
a window's burst of placements or in the sleep between, the measurement
behind profile key fault_burst_ns (docs/postcopy-faults.md, "Faults
during a burst"). It also lists the requests held on their way to the
source, the measurement behind profile key rp_delayed_ack_ns
("Requests held by a delayed acknowledgement").

usage: qemu-fault-timeline.py RUN_DIR [--csv OUT.csv]
"""
import re
import statistics
import sys

EV = re.compile(r"^(\d+)@(\d+\.\d+):(\S+)\s*(.*)$")


def events(path):
    with open(path, errors="replace") as f:
        for line in f:
            m = EV.match(line)
            if m:
                yield float(m.group(2)), int(m.group(1)), m.group(3), m.group(4)


def load_run(run):
    """A kept run's page requests in fault order (dicts with the times of
    fault, queued, placed, resolved where traced), every placement's time,
    and the source's rate-limit waits. scripts/trace-fault-wake.py reads
    runs through this too."""
    reqs = {}      # the faulting address -> its request
    placements = []  # every placement's time: the bursts
    order = []
    wakes = []     # source rate-limit waits: (t, ms, urgent)
    for t, tid, name, rest in events(f"{run}/dst.log"):
        if name == "postcopy_ram_fault_thread_request":
            hva = int(re.search(r"HVA=0x([0-9a-f]+)", rest).group(1), 16)
            off = int(re.search(r"offset=0x([0-9a-f]+)", rest).group(1), 16)
            r = {"offset": off, "fault": t, "tid": tid}
            reqs[hva] = r
            order.append(r)
        elif name in ("postcopy_place_page", "postcopy_place_page_zero"):
            placements.append(t)
            hva = int(re.search(r"host=0x([0-9a-f]+)", rest).group(1), 16)
            r = reqs.get(hva)
            if r and "placed" not in r:
                r["placed"] = t
        elif name == "postcopy_page_req_del":
            hva = int(re.search(r"req 0x([0-9a-f]+)", rest).group(1), 16)
            r = reqs.get(hva)
            if r and "resolved" not in r:
                r["resolved"] = t
    by_off = {}
    for r in order:
        by_off.setdefault(r["offset"], []).append(r)
    pending = None
    for t, tid, name, rest in events(f"{run}/src.log"):
        if name == "ram_save_queue_pages":
            off = int(re.search(r"start: 0x([0-9a-f]+)", rest).group(1), 16)
            for r in by_off.get(off, []):
                if "queued" not in r:
                    r["queued"] = t
                    break
        elif name == "migration_rate_limit_pre":
            pending = (t, int(rest.split()[0]))
        elif name == "migration_rate_limit_post" and pending:
            wakes.append((pending[0], t, pending[1], "urgent: 1" in rest))
            pending = None
    for r in order:
        if "placed" not in r and "resolved" in r:
            r["placed"] = r["resolved"]
    return order, placements, wakes


def request_rows(order):
    """(fault time, fault -> queued, queued -> placed, fault -> resolved in
    ms) of every request whose fault, queueing and placement were traced."""
    rows = []
    for r in order:
        if not all(k in r for k in ("fault", "queued", "placed")):
            continue
        rows.append((r["fault"], (r["queued"] - r["fault"]) * 1e3,
                     (r["placed"] - r["queued"]) * 1e3,
                     (r.get("resolved", r["placed"]) - r["fault"]) * 1e3))
    return rows


def burst_split(rows, placements):
    """(split, number of bursts): the fault -> queued waits of `rows` by
    where each fault falls, "start" (within BURST_START_MS of a burst's
    first placement), "later" in a burst, or in the "sleep" between; None
    when the stream never slept."""
    bursts = burst_periods(placements)
    if not rows or not bursts:
        return None

    def where(t):
        for lo, hi in bursts:
            if lo - 2e-4 <= t <= hi:
                return "start" if t - lo <= BURST_START_MS / 1e3 else "later"
        return "sleep"
    split = {"start": [], "later": [], "sleep": []}
    for row in rows:
        split[where(row[0])].append(row[1])
    return split, len(bursts)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    run = sys.argv[1]
    csv_out = sys.argv[sys.argv.index("--csv") + 1] if "--csv" in sys.argv else None
    order, placements, wakes = load_run(run)
    rows = request_rows(order)
    if csv_out:
        with open(csv_out, "w") as f:
            f.write("fault_s,request_to_queue_ms,queue_to_placed_ms,fault_to_resolved_ms\n")
            for row in rows:
                f.write("%.6f,%.3f,%.3f,%.3f\n" % row)
    def q(xs, p):
        xs = sorted(xs)
        return xs[min(len(xs) - 1, int(p * len(xs)))] if xs else float("nan")
    print(f"requests with a full timeline: {len(rows)} of {len(order)}")
    for i, label in ((1, "fault -> queued on source"), (2, "queued -> placed on destination"),
                     (3, "fault -> resolved")):
        xs = [row[i] for row in rows]
        if xs:
            print(f"  {label:34s} median {statistics.median(xs):8.2f} ms  p10 {q(xs, .1):8.2f}  p90 {q(xs, .9):8.2f}  max {max(xs):8.2f}")
    if rows:
        gaps = [(b[0] - a[0]) * 1e3 - a[3] for a, b in zip(rows, rows[1:])]
        print(f"  guest runs between faults          median {statistics.median(gaps):8.2f} ms")
    if wakes:
        waits = [(b - a) * 1e3 for a, b, _, _ in wakes]
        urgent = sum(1 for w in wakes if w[3])
        print(f"source rate-limit waits: {len(wakes)}, urgent wake-ups {urgent}, "
              f"median wait {statistics.median(waits):.3f} ms, total {sum(waits):.0f} ms")


    held = held_requests(order)
    if held:
        held_waits = [w for w, _ in held]
        timers = [t for _, t in held]
        print(f"requests held {HELD_MS:.0f} ms or more on the way to the source: {len(held)}, "
              f"median {statistics.median(held_waits):.2f} ms; from the request before reaching the source "
              f"to this one: median {statistics.median(timers):.2f} ms")
        print("  (TCP's delayed acknowledgement on the return path: profile key rp_delayed_ack_ns,"
              " docs/postcopy-faults.md)")

    found = burst_split(rows, placements)
    if found:
        split, nbursts = found
        print(f"bursts of placements after the stream slept (gaps over {BURST_GAP_MS:.0f} ms): {nbursts}")
        for key, label in (("start", f"as a burst begins (first {BURST_START_MS} ms)"),
                           ("later", "later in a burst"), ("sleep", "in the sleep between")):
            xs = split[key]
            if xs:
                print(f"  fault -> queued, {label:34s} median {statistics.median(xs):6.2f} ms"
                      f"  p90 {q(xs, .9):6.2f}  requests {len(xs)}")
        print("  (a hand-off at a burst's start waits for the stream's threads' slice: profile key"
              " fault_burst_ns, docs/postcopy-faults.md)")


HELD_MS = 20.0


def held_requests(order):
    """The requests that waited HELD_MS or more between the fault and the
    source queueing them, as (that wait, the time from the previous
    request's queueing to this one's) in ms: behind a delayed TCP
    acknowledgement, the second is the acknowledgement's timer."""
    out = []
    prev = None
    for r in order:
        if "queued" not in r:
            continue
        wait = (r["queued"] - r["fault"]) * 1e3
        if wait >= HELD_MS and prev is not None:
            out.append((wait, (r["queued"] - prev) * 1e3))
        prev = r["queued"]
    return out


BURST_GAP_MS = 20.0
BURST_START_MS = 0.1
BURST_MIN_PAGES = 8


def burst_periods(times):
    """The runs of at least BURST_MIN_PAGES placements that follow a
    silence longer than BURST_GAP_MS (a rate-limit sleep), as (start, end)
    pairs; none when the stream never slept. A page placed alone in the
    sleep (a preempt channel's) is not a burst."""
    times = sorted(times)
    out, run = [], []
    after_gap = False
    for t in times:
        if run and (t - run[-1]) * 1e3 > BURST_GAP_MS:
            if after_gap and len(run) >= BURST_MIN_PAGES:
                out.append((run[0], run[-1]))
            run, after_gap = [], True
        run.append(t)
    if after_gap and len(run) >= BURST_MIN_PAGES:
        out.append((run[0], run[-1]))
    return out


if __name__ == "__main__":
    main()
