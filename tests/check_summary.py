#!/usr/bin/python3
"""Closing lines of `make check`: what each runner counted, then one plain total line."""

import re
import sys


def cmocka_counts(path):
    text = open(path, errors="replace").read()
    passed = sum(int(n) for n in re.findall(r"^\[  PASSED  \] (\d+) test", text, re.M))
    failed = sum(int(n) for n in re.findall(r"^\[  FAILED  \] (\d+) test", text, re.M))
    suites = len(re.findall(r"^\[==========\] \d+ test\(s\) run", text, re.M))
    return passed, failed, suites


def pytest_counts(path):
    lines = [l for l in open(path, errors="replace").read().splitlines() if re.match(r"^=+ .* in [\d.]+s", l)]
    if not lines:
        return 0, 1, "pytest printed no summary"
    last = lines[-1]
    count = lambda word: sum(int(n) for n in re.findall(r"(\d+) " + word, last))
    return count("passed"), count("failed") + count("error"), last.strip("= ")


def main():
    unit_passed, unit_failed, suites = cmocka_counts(sys.argv[1])
    it_passed, it_failed, it_line = pytest_counts(sys.argv[2])
    print("== make check summary")
    print("unit (cmocka, ASan+UBSan): %d suites, %d passed, %d failed" % (suites, unit_passed, unit_failed))
    print("integration (pytest, ASan+UBSan): %s" % it_line)
    print("check: %d passed, %d failed" % (unit_passed + it_passed, unit_failed + it_failed))
    return 1 if unit_failed or it_failed or suites == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
