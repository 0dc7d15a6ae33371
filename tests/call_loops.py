#!/usr/bin/env python3
"""Lists pairs of source files that call each other (a loop in the call graph), from the
objects of a build: `tests/call_loops.py build/obj`. Exit 1 when there is one."""
import os
import subprocess
import sys


def symbols(obj):
    out = subprocess.run(["nm", "--defined-only", "-g", obj], capture_output=True, text=True).stdout
    defined = {line.split()[-1] for line in out.splitlines() if line.strip()}
    out = subprocess.run(["nm", "-u", obj], capture_output=True, text=True).stdout
    used = {line.split()[-1] for line in out.splitlines() if line.strip()}
    return defined, used


def main(root):
    objs = {}
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith(".o") and "/tests/" not in os.path.join(d, f) + "/":
                path = os.path.join(d, f)
                objs[os.path.relpath(path, root)[:-2] + ".c"] = symbols(path)
    owner = {s: src for src, (defined, _) in objs.items() for s in defined}
    calls = {src: {owner[s] for s in used if s in owner and owner[s] != src} for src, (_, used) in objs.items()}
    loops = sorted({tuple(sorted((a, b))) for a in calls for b in calls[a] if a in calls.get(b, ())})
    for a, b in loops:
        print("loop: %s <-> %s" % (a, b))
    return 1 if loops else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/obj"))
