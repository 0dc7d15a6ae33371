#!/usr/bin/env python3
"""Lists pairs of source files that call each other (a loop in the call graph), from the
objects of a build: `tests/call_loops.py build/obj`. Exit 1 when there is one."""
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def symbols(obj):
    out = subprocess.run(["nm", "--defined-only", "-g", obj], capture_output=True, text=True).stdout
    defined = {line.split()[-1] for line in out.splitlines() if line.strip()}
    out = subprocess.run(["nm", "-u", obj], capture_output=True, text=True).stdout
    used = {line.split()[-1] for line in out.splitlines() if line.strip()}
    return defined, used


def loops(root):
    """Sorted pairs (a.c, b.c) of source files whose objects under ROOT call each other."""
    objs = {}
    for d, _, files in os.walk(root):
        for f in files:
            if f.endswith(".o") and "/tests/" not in os.path.join(d, f) + "/":
                path = os.path.join(d, f)
                src = os.path.relpath(path, root)[:-2] + ".c"
                if os.path.exists(os.path.join(ROOT, src)):  # not a stale object of a removed file
                    objs[src] = symbols(path)
    owner = {s: src for src, (defined, _) in objs.items() for s in defined}
    calls = {src: {owner[s] for s in used if s in owner and owner[s] != src} for src, (_, used) in objs.items()}
    return sorted({tuple(sorted((a, b))) for a in calls for b in calls[a] if a in calls.get(b, ())})


def main(root):
    found = loops(root)
    for a, b in found:
        print("loop: %s <-> %s" % (a, b))
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/obj"))
