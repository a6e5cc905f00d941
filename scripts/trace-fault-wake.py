#!/usr/bin/env python3
"""Measures this host's post-copy fault wake on real QEMU, for a profile.

usage: trace-fault-wake.py --out DIR [--qemu 7.2|10.0|PATH]
                           [--scenarios FILE] [--repeat N]
       trace-fault-wake.py --from DIR

Runs the scenarios of FILE [scenarios/fault-wake.ini] N times [2] with
`migsim replay --keep --qemu-trace` and a few of QEMU's post-copy trace
events, and derives the three profile keys that say how long a faulting
vCPU waits beyond its page's own path on this machine
(docs/postcopy-faults.md, "Tracing a host's fault wake"):

  fault_resume_ns       the idle-* runs (a post-copy limit: the stream
                        mostly asleep): the guest's stall beyond the traced
                        request -> page-resolved times, per request
  fault_resume_busy_ns  the busy-* runs (preempt, no limit: the stream
                        always sending): the stall per request, less
                        fault_resume_ns and the median traced request ->
                        resolved time
  fault_burst_ns        the burst-* runs (a post-copy limit, every placement
                        traced): of the requests made as a window's burst
                        of placements begins, those that waited over
                        0.25 ms to be queued on the source, their median
                        wait (left out below 3 such requests)

Each key is printed with a 95 % interval over the runs (each role's runs
resampled with replacement, a fixed seed): a profile value inside it is as
good as the measurement. --repeat is 1 to 99, as in calibrate-host.sh;
one repetition of the default scenarios is about 16 s of real runs.

Writes DIR/fault-wake.csv (one row per run), DIR/fault-wake.sets (one
KEY=VALUE a line, for `migsim calibrate --set`) and DIR/traces/ (each run's
QEMU logs and the guest's figures); --from DIR derives again from those
without running QEMU. The runs are timed: use an otherwise idle machine
(scripts/quiet-machine.sh). MIGSIM names the migsim binary [./build/migsim].
Exit status 0, or 2 with a one-line error.
"""
import configparser
import csv
import importlib.util
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("fault_timeline", os.path.join(HERE, "qemu-fault-timeline.py"))
timeline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(timeline)

ROLES = ("idle", "busy", "burst")
FEW = "postcopy_ram_fault_thread_request,postcopy_page_req_del,ram_save_queue_pages,get_queued_page"
# Every placement too: the bursts. Tracing each page slows the destination,
# so only the burst-* runs, whose stall is not used, pay for it.
PLACED = FEW + ",postcopy_place_page,postcopy_place_page_zero"
MIN_BURST_REQUESTS = 3
BURST_SLOW_MS = 0.25  # between the burst start's two modes (0.03-0.1 ms, 0.5-4 ms)


def die(msg):
    sys.stderr.write(f"trace-fault-wake: {msg}\n")
    sys.exit(2)


def role_of(section):
    role = section.split("-", 1)[0]
    if role not in ROLES or "-" not in section:
        die(f"scenario [{section}]: its name must start with idle-, busy- or burst- (the run's role)")
    return role


def read_roles(scenarios):
    """The scenario file and its sections by role, refused before anything
    is written when a section has no role or a role the wake needs is missing."""
    ini = configparser.ConfigParser(default_section="\x00none", interpolation=None)
    ini.optionxform = str
    try:
        with open(scenarios) as f:
            ini.read_file(f)
    except (OSError, configparser.Error) as e:
        die(f"cannot read {scenarios}: {' '.join(str(e).split())}")
    roles = {}
    for section in ini.sections():
        if section != "defaults":
            roles.setdefault(role_of(section), []).append(section)
    for role in ("idle", "busy"):
        if role not in roles:
            die(f"{scenarios} has no {role}-* scenario")
    return ini, roles


def split_roles(ini, roles, out):
    """One scenario file per role in OUT (the [defaults] and that role's
    sections), so that each role's runs get their own trace events."""
    paths = {}
    for role, sections in roles.items():
        path = os.path.join(out, f"{role}.ini")
        with open(path, "w") as f:
            for section in (["defaults"] if ini.has_section("defaults") else []) + sections:
                f.write(f"[{section}]\n")
                for k, v in ini.items(section):
                    f.write(f"{k} = {v}\n")
                f.write("\n")
        paths[role] = path
    return paths


def replay(migsim, qemu, ini, events, out):
    """Runs every scenario of `ini` once; returns [(name, kept dir)] and the
    summary rows, in run order."""
    cmd = [migsim, "replay", "--scenario", ini, "--keep", "--qemu-trace", events, "--out", out]
    if qemu:
        cmd += ["--qemu", qemu]
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        err = (p.stderr.strip().splitlines() or ["(no message)"])[-1]
        die(f"migsim replay {ini}: exit {p.returncode}: {err}")
    kept = [line.rsplit(", kept ", 1)[1].strip() for line in p.stdout.splitlines() if ", kept " in line]
    with open(os.path.join(out, "summary.csv")) as f:
        rows = list(csv.DictReader(f))
    if len(kept) != len(rows):
        die(f"migsim replay {ini}: {len(rows)} runs but {len(kept)} kept run folders")
    return list(zip(rows, kept))


def keep_trace(row, kept, dest):
    """The run's QEMU logs and the guest's figures in `dest`; the rest of
    the kept folder (guest module, consoles) is removed."""
    os.makedirs(dest)
    for name in ("src.log", "dst.log"):
        shutil.copy(os.path.join(kept, name), dest)
    with open(os.path.join(dest, "guest.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["scenario", "qemu_version", "host_cpu", "postcopy_requests", "guest_stall_ms"])
        w.writerow([row["name"], row.get("qemu_version", ""), row.get("host_cpu", ""),
                    row["postcopy_requests"], row["guest_stall_ms"]])
    shutil.rmtree(kept, ignore_errors=True)


def measure(path):
    """One traced run's figures; a run folder that cannot be read is
    refused with its name."""
    try:
        with open(os.path.join(path, "guest.csv")) as f:
            g = next(csv.DictReader(f))
        scenario, stall = g["scenario"], float(g["guest_stall_ms"])
        requests = int(g["postcopy_requests"] or 0)
        order, placements, _ = timeline.load_run(path)
    except (OSError, StopIteration, KeyError, ValueError, TypeError, AttributeError) as e:
        die(f"{path}: not a traced run ({e.__class__.__name__}: {e})")
    if stall != stall or stall < 0:
        die(f"{path}: the guest's stall is {stall}")
    paths = [(r["resolved"] - r["fault"]) * 1e3 for r in order if "resolved" in r]
    m = {"run": os.path.basename(path), "role": role_of(scenario), "scenario": scenario,
         "qemu_version": g.get("qemu_version", ""), "host_cpu": g.get("host_cpu", ""),
         "postcopy_requests": requests, "traced_requests": len(paths),
         "guest_stall_ms": stall, "paths": paths, "path_sum": sum(paths), "burst_start": []}
    if paths:
        m["path_ms_median"] = statistics.median(paths)
        m["stall_ms_per_request"] = stall / len(paths)
        m["beyond_ms_per_request"] = (stall - m["path_sum"]) / len(paths)
    found = timeline.burst_split(timeline.request_rows(order), placements)
    if found:
        m["burst_start"] = found[0]["start"]
    return m


def keys_ms(runs):
    """The three keys in ms from the runs' figures (None where the runs
    give nothing to measure), with the figures behind them."""
    idle = [m for m in runs if m["role"] == "idle" and m["traced_requests"]]
    busy = [m for m in runs if m["role"] == "busy" and m["traced_requests"]]
    k = {"idle_runs": len(idle), "busy_runs": len(busy), "wake": None, "busy": None, "burst": None}
    # The stream asleep: what the guest loses beyond each request's traced
    # path (the path itself, a window's wait included, is the simulator's).
    if idle:
        k["n_idle"] = sum(m["traced_requests"] for m in idle)
        k["wake"] = max(0.0, sum(m["guest_stall_ms"] - m["path_sum"] for m in idle) / k["n_idle"])
    # The stream sending: the stall per request, less that wake and the
    # typical (median) path. The slow faults' long paths stay in: the
    # simulator's path has no thread waiting for a core, so this key
    # carries them (docs/postcopy-faults.md, "Fast and slow faults").
    if busy and idle:
        k["n_busy"] = sum(m["traced_requests"] for m in busy)
        k["per_request"] = sum(m["guest_stall_ms"] for m in busy) / k["n_busy"]
        k["own_path"] = statistics.median(p for m in busy for p in m["paths"])
        k["busy"] = max(0.0, k["per_request"] - k["wake"] - k["own_path"])
    # A burst's first hand-off either goes through at once (tens of
    # microseconds) or waits for a core (about a millisecond): the key is
    # the wait when there is one, the median of the slow mode.
    k["starts"] = [w for m in runs if m["role"] == "burst" for w in m["burst_start"]]
    k["slow"] = [w for w in k["starts"] if w > BURST_SLOW_MS]
    if len(k["slow"]) >= MIN_BURST_REQUESTS:
        k["burst"] = statistics.median(k["slow"])
    return k


KEYS = (("fault_resume_ns", "wake"), ("fault_resume_busy_ns", "busy"), ("fault_burst_ns", "burst"))
DRAWS = 2000


def intervals(runs):
    """A 95 % interval of each key over the runs (None where fewer than
    half the draws measure it), each role's runs resampled with
    replacement (fixed seed: the same runs, the same text)."""
    rng = random.Random(1)
    by_role = {}
    for m in runs:
        by_role.setdefault(m["role"], []).append(m)
    vals = {name: [] for _, name in KEYS}
    for _ in range(DRAWS):
        k = keys_ms([rng.choice(ms) for ms in by_role.values() for _ in ms])
        for name, v in vals.items():
            if k[name] is not None:
                v.append(k[name])
    out = {}
    for name, v in vals.items():
        v.sort()
        out[name] = (v[int(0.025 * len(v))], v[int(0.975 * len(v)) - 1]) if len(v) >= DRAWS // 2 else None
    return out


def derive(runs):
    """The profile keys, in ns, from the runs' figures; the key is left out
    when its runs give nothing to measure. The wakes are what a fault costs
    on average, since the simulator charges every fault the one constant
    and what adds up over a run is the mean; the burst's wait is the one
    exception (keys_ms)."""
    def ns(ms):
        return int(round(ms * 1000)) * 1000  # to the microsecond

    k = keys_ms(runs)
    if not k["idle_runs"]:
        die("no idle-* run made a traced page request: nothing to measure the idle wake on")
    if not k["busy_runs"]:
        die("no busy-* run made a traced page request: nothing to measure the busy wake on")
    sets = {key: ns(k[name]) for key, name in KEYS if k[name] is not None}

    def count(n, what):
        return f"{n} {what}" + ("" if n == 1 else "s")
    starts, slow = k["starts"], k["slow"]
    notes = [f"idle: stall beyond the traced path {k['wake']:.3f} ms a request "
             f"({count(k['n_idle'], 'request')}, {count(k['idle_runs'], 'run')})",
             f"busy: stall {k['per_request']:.3f} ms a request, typical traced path {k['own_path']:.3f} ms "
             f"({count(k['n_busy'], 'request')}, {count(k['busy_runs'], 'run')})",
             f"burst: {len(starts)} requests as a window's burst began, {len(slow)} of them queued after more than "
             f"{BURST_SLOW_MS} ms" + (f", median {statistics.median(slow):.3f} ms" if slow else "")
             + ("" if len(slow) >= MIN_BURST_REQUESTS else f": fewer than {MIN_BURST_REQUESTS}, fault_burst_ns left out")]
    ivs = intervals(runs)
    for key, name in KEYS:
        if key in sets:
            iv = ivs[name]
            notes.append(f"  {key} = {sets[key]}" + (f"  (95 % interval, runs resampled: {ns(iv[0])}-{ns(iv[1])})"
                                                      if iv else ""))
    return sets, notes


def report(out, runs):
    cols = ["run", "role", "scenario", "qemu_version", "postcopy_requests", "traced_requests", "guest_stall_ms",
            "path_ms_median", "stall_ms_per_request", "beyond_ms_per_request", "burst_start_requests",
            "burst_start_wait_ms_median", "host_cpu"]
    with open(os.path.join(out, "fault-wake.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(cols)
        for m in runs:
            m = dict(m, burst_start_requests=len(m["burst_start"]),
                     burst_start_wait_ms_median=statistics.median(m["burst_start"]) if m["burst_start"] else "")
            w.writerow(["%.4f" % m[c] if isinstance(m.get(c), float) else m.get(c, "") for c in cols])
    sets, notes = derive(runs)
    tmp = os.path.join(out, "fault-wake.sets.tmp")
    with open(tmp, "w") as f:
        for k, v in sets.items():
            f.write(f"{k}={v}\n")
    os.replace(tmp, os.path.join(out, "fault-wake.sets"))
    for line in notes:
        print(line)
    print(f"per run: {os.path.join(out, 'fault-wake.csv')}")
    print("migsim calibrate " + " ".join(f"--set {k}={v}" for k, v in sets.items()))


def main(argv):
    opts = {"--out": None, "--qemu": None, "--scenarios": os.path.join(HERE, "..", "scenarios", "fault-wake.ini"),
            "--repeat": "2", "--from": None}
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        if a not in opts:
            die(f"unknown option '{a}' (try --help)")
        if i + 1 >= len(argv):
            die(f"{a} needs a value")
        opts[a] = argv[i + 1]
        i += 2
    if opts["--from"]:
        out = opts["--from"]
        tdir = os.path.join(out, "traces")
        if not os.path.isdir(tdir):
            die(f"{tdir}: no traced runs there")
        runs = [measure(os.path.join(tdir, d)) for d in sorted(os.listdir(tdir))]
        report(out, runs)
        return 0
    out = opts["--out"]
    if not out:
        die("--out DIR is required (or --from DIR)")
    if not opts["--repeat"].isdigit() or not 1 <= int(opts["--repeat"]) <= 99:
        die(f"--repeat '{opts['--repeat']}': a number from 1 to 99")
    if os.path.exists(out) and os.listdir(out):
        die(f"{out} is not empty: give a new folder (or --from {out} to derive again)")
    migsim = os.environ.get("MIGSIM", "./build/migsim")
    if not os.access(migsim, os.X_OK):
        die(f"no migsim binary at {migsim} (build first, or set MIGSIM)")
    ini, roles = read_roles(opts["--scenarios"])
    os.makedirs(out, exist_ok=True)
    files = split_roles(ini, roles, out)
    runs = []
    for rep in range(1, int(opts["--repeat"]) + 1):
        for role, ini in files.items():
            print(f"trace-fault-wake: {role} runs, repetition {rep}", flush=True)
            rdir = os.path.join(out, "replay", f"{role}-{rep}")
            for row, kept in replay(migsim, opts["--qemu"], ini, PLACED if role == "burst" else FEW, rdir):
                dest = os.path.join(out, "traces", f"{row['name']}.{rep}")
                keep_trace(row, kept, dest)
                runs.append(measure(dest))
    report(out, runs)
    return 0


if __name__ == "__main__":
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)  # `... | head` ends quietly
    sys.exit(main(sys.argv[1:]))
