#!/usr/bin/env python3
"""Pastes the program's generated tables into the docs (the tests check that
the docs carry every row: tests/test_util.h, assert_docs_carry).

usage: scripts/update-doc-tables.py [BUILD_DIR]   (default: build)

Each table in the docs that starts with the same header line as a table
migsim prints is replaced by the printed one, in every listed doc that
carries it (at least one must); a table's rows are the consecutive lines
starting with '|'."""
import subprocess
import sys

build = sys.argv[1] if len(sys.argv) > 1 else "build"
SOURCES = [  # (migsim arguments, docs that carry its tables)
    (["run", "--ranges"], ["docs/scenarios.md", "docs/profiles.md"]),
    (["run", "--algorithms"], ["docs/scenarios.md"]),
    (["run", "--features"], ["docs/features.md", "README.md"]),
    (["run", "--columns"], ["docs/results.md"]),
]


def tables(text):
    """Consecutive '|' lines, as lists of lines."""
    out, cur = [], []
    for line in text.split("\n"):
        if line.startswith("|"):
            cur.append(line)
        elif cur:
            out.append(cur)
            cur = []
    if cur:
        out.append(cur)
    return out


def main():
    for args, docs in SOURCES:
        gen = subprocess.run([f"{build}/migsim"] + args, capture_output=True, text=True, check=True).stdout
        for table in tables(gen):
            placed = False
            for path in docs:
                lines = open(path).read().split("\n")
                for i, line in enumerate(lines):
                    if line == table[0] and i + 1 < len(lines) and lines[i + 1] == table[1]:
                        j = i
                        while j < len(lines) and lines[j].startswith("|"):
                            j += 1
                        lines[i:j] = table
                        open(path, "w").write("\n".join(lines))
                        placed = True
                        break
            if not placed:
                print(f"update-doc-tables: no table headed '{table[0]}' in {', '.join(docs)}: add one",
                      file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
