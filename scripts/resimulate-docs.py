#!/usr/bin/env python3
"""Re-simulates committed validation folders (docs/*/validation.md) after a
model change: each folder's own "Made by" command, with --no-replay against
its stored real runs, keeping its notes. Run from the repository root with
the build in ./build.

usage: scripts/resimulate-docs.py docs/validation/validation.md [...]
"""
import re, shlex, subprocess, sys
for md in sys.argv[1:]:
    text = open(md).read()
    cmd = re.search(r'```\n(migsim validate [^\n]*)\n```', text).group(1)
    notes = text.split('## Notes\n\n', 1)[1].strip() if '## Notes\n\n' in text else None
    args = shlex.split(cmd)
    if '--notes' in args:
        i = args.index('--notes'); del args[i:i + 2]
    if notes: args += ['--notes', notes]
    args[0] = './build/migsim'
    r = subprocess.run(args, capture_output=True, text=True)
    print(md, 'rc', r.returncode, r.stderr.strip().splitlines()[-1:] if r.returncode else '')
