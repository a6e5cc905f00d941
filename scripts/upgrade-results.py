#!/usr/bin/env python3
"""Rewrites a result folder written by an older migsim with the current
columns, so that runs can be added to it again (docs/results.md, "Result
folders"): a folder whose schema digest differs is refused for --append
and for validate's real-run store.

usage: scripts/upgrade-results.py DIR [--migsim PATH] [--host TEXT]
  --migsim PATH   the migsim whose columns to write (default: build/migsim)
  --host TEXT     the machine the folder's real runs were made on: written in
                  the host_cpu cells its real runs (source kvmreplay) leave
                  empty. Its CPU's model name as /proc/cpuinfo gives it, or
                  the part of it that is known (docs/hosts.md).

Columns the current schema added are left empty in the old rows (the
loader reads an empty cell as "no value", as for a feature that was off),
host_cpu too unless --host fills it.
A column the current schema no longer has is an error: nothing is
dropped silently. Each file is written beside the old one and renamed
over it, then the folder's schema line is updated; a failure leaves the
folder as it was."""
import csv
import os
import subprocess
import sys
import tempfile

FILES = ["summary.csv", "rounds.csv", "timeline.csv"]


def current(migsim):
    """Headers (from `migsim run --columns`, the schema's own tables) and the
    schema digest this migsim writes."""
    text = subprocess.run([migsim, "run", "--columns"], capture_output=True, text=True, check=True).stdout
    headers, table = {}, None
    for line in text.splitlines():
        if line.startswith("| `") and line.split("`")[1] in FILES and " column |" in line:
            table = line.split("`")[1]
            headers[table] = []
        elif table and line.startswith("| `"):
            headers[table].append(line.split("`")[1])
    with tempfile.TemporaryDirectory(prefix="migsim-upgrade-") as tmp:
        out = os.path.join(tmp, "o")
        subprocess.run([migsim, "run", "--workload", "idle", "--memory", "4MiB", "--out", out, "--quiet"],
                       check=True)
        schema = [l for l in open(os.path.join(out, "migsim-folder.txt")) if l.startswith("schema ")][0]
    return headers, schema


def main():
    args = sys.argv[1:]
    if not args or args[0] in ("-h", "--help"):
        print(__doc__)
        return 0 if args else 2
    folder = args[0]
    opts = {"--migsim": "build/migsim", "--host": None}
    rest = args[1:]
    while rest:
        if rest[0] not in opts or len(rest) < 2:
            print(f"upgrade-results: unknown or incomplete option '{rest[0]}' (see --help)", file=sys.stderr)
            return 2
        opts[rest[0]] = rest[1]
        rest = rest[2:]
    migsim, host = opts["--migsim"], opts["--host"]
    if host is not None and (not host.strip() or len(host) > 127 or any(c in host for c in "\n\r\"")):
        print(f"upgrade-results: --host '{host}': give 1-127 characters of one line, without quotes",
              file=sys.stderr)
        return 2
    manifest = os.path.join(folder, "migsim-folder.txt")
    if not os.path.isfile(manifest):
        print(f"upgrade-results: {folder}: not a migsim result folder (no migsim-folder.txt)", file=sys.stderr)
        return 2
    headers, schema = current(migsim)
    staged = []
    for f in FILES:
        path = os.path.join(folder, f)
        if not os.path.isfile(path):
            continue
        with open(path, newline="") as fh:
            rows = list(csv.reader(fh))
        if not rows:
            continue
        old, new = rows[0], headers[f]
        lost = [c for c in old if c not in new]
        if lost:
            print(f"upgrade-results: {path}: columns {', '.join(lost)} no longer exist; not upgraded", file=sys.stderr)
            return 2
        at = {c: i for i, c in enumerate(old)}
        tmp = path + ".upgrade"
        filled = 0
        with open(tmp, "w", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(new)
            for r in rows[1:]:
                cells = dict(zip(new, [r[at[c]] if c in at and at[c] < len(r) else "" for c in new]))
                if host and "host_cpu" in cells and not cells["host_cpu"] and cells.get("source") == "kvmreplay":
                    cells["host_cpu"] = host
                    filled += 1
                w.writerow([cells[c] for c in new])
        if filled:
            print(f"upgrade-results: {path}: host_cpu of {filled} real runs set to '{host}'")
        staged.append((tmp, path))
    lines = open(manifest).read().splitlines(keepends=True)
    with open(manifest + ".upgrade", "w") as fh:
        fh.writelines(schema if l.startswith("schema ") else l for l in lines)
    staged.append((manifest + ".upgrade", manifest))
    for tmp, path in staged:
        os.replace(tmp, path)
    print(f"upgrade-results: {folder}: {len(staged) - 1} files rewritten with the current columns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
