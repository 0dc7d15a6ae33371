#!/usr/bin/python3
"""Benchmarks against the baselines a sysadmin would compare with (issue 7).

  /usr/bin/python3 tests/bench/run.py --build ABS_BUILD --out build/bench.json [--smoke]
      [--sections nss,scim,pam,fleet] [--sizes 1000,10000,100000] [--nss-modes scim,files,cache]
      [--nss-directories realistic,synthetic]

Every figure is printed next to a baseline measured in the same run, with its ratio and the
issue's target (PASS/MISS; a MISS never fails the run). The run fails only on real breakage:
a driver crash, a wrong look-up result, a daemon that does not answer. Needs root (mount
namespaces); the host's own files are only read."""

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import nss_section  # noqa: E402
from nss_section import BenchFailure  # noqa: E402

SECTIONS = ("nss", "scim", "pam", "fleet")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def machine():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "loadavg": os.getloadavg(), "python": platform.python_version()}


def run_nss(args, work):
    modes = tuple(args.nss_modes.split(","))
    sizes = [1000] if args.smoke else [int(s) for s in args.sizes.split(",")]
    # The synthetic directory is the second case: its smallest and largest size only.
    kinds = {"realistic": sizes, "synthetic": sorted({sizes[0], sizes[-1]})}
    bench = nss_section.NssBench(args.build, work, args.smoke, modes)
    bench.prepare()
    results = {}
    for kind in args.nss_directories.split(","):
        results[kind] = {n: bench.run_size(n, log, kind) for n in kinds[kind]}
    return nss_section.table(results), {k: {str(n): r for n, r in v.items()} for k, v in results.items()}


def run_scim(args, work):
    import scim_section
    return scim_section.run(args, work, log)


def run_pam(args, work):
    import pam_section
    return pam_section.run(args, work, log)


def run_fleet(args, work):
    import fleet_section
    return fleet_section.run(args, work, log)


RUNNERS = {"nss": run_nss, "scim": run_scim, "pam": run_pam, "fleet": run_fleet}


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--build", required=True, help="absolute build directory (make B=...)")
    p.add_argument("--out", required=True, help="JSON file for every figure")
    p.add_argument("--smoke", action="store_true", help="1k users, few iterations: checks that everything runs")
    p.add_argument("--sections", default=",".join(SECTIONS))
    p.add_argument("--sizes", default="1000,10000,100000", help="NSS directory sizes (full run)")
    p.add_argument("--nss-modes", default=",".join(nss_section.MODES))
    p.add_argument("--nss-directories", default=",".join(nss_section.KINDS),
                   help="realistic (every size) and/or synthetic (smallest and largest size)")
    p.add_argument("--keep", action="store_true", help="keep the work directory (generated data) for inspection")
    args = p.parse_args(argv)
    args.build = os.path.abspath(args.build)
    return args


def main(argv):
    args = parse_args(argv)
    if os.geteuid() != 0:
        log("run.py: needs root for private mount namespaces; run it as root (make bench does)")
        return 1
    work = tempfile.mkdtemp(prefix="entra-bench-", dir=args.build if os.path.isdir(args.build) else None)
    os.chmod(work, 0o755)  # cache.db must be readable the way a real host publishes it
    report = {"machine": machine(), "smoke": args.smoke, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
              "sections": {}}
    failed = False
    try:
        for name in args.sections.split(","):
            t0 = time.monotonic()
            try:
                table, raw = RUNNERS[name](args, work)
            except BenchFailure as e:
                log("bench %s: FAILED: %s" % (name, e))
                report["sections"][name] = {"error": str(e)}
                failed = True
                continue
            except Exception as e:  # a crash in the orchestrator is breakage too
                traceback.print_exc()
                report["sections"][name] = {"error": repr(e)}
                failed = True
                continue
            print(table.render(), flush=True)
            print("(%s section: %.1f s)\n" % (name, time.monotonic() - t0), flush=True)
            report["sections"][name] = {"table": table.as_json(), "raw": raw,
                                        "seconds": round(time.monotonic() - t0, 2)}
    finally:
        if args.keep:
            log("run.py: work directory kept at %s" % work)
        else:
            shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1, sort_keys=True)
    log("run.py: figures written to %s%s" % (args.out, "; FAILED (see above)" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
