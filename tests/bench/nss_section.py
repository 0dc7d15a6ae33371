"""NSS section: the same directory served by scim (ours), files and cache (libnss-cache), each
checked for correct answers first, then measured by the nss_bench driver through glibc."""

import json
import os

import directory
import namespace
from report import Table

MODES = ("scim", "files", "cache")
CANARY = "zzcanary:x:299999:299999:not in the index:/nonexistent:/usr/sbin/nologin\n"


class BenchFailure(Exception):
    """A real breakage (a crash or a wrong answer), as opposed to a slow figure."""


def same_entry(database, got, want):
    """passwd: name, uid, gid, home, shell; group: name, gid and the set of members."""
    if got[0] != want[0] or got[2:3] != want[2:3]:
        return False
    if database == "passwd":
        return got[3] == want[3] and got[5:] == want[5:]
    return set(filter(None, got[3].split(","))) == set(filter(None, want[3].split(",")))


class NssBench:
    def __init__(self, build, work, smoke, modes=MODES):
        self.build = build
        self.work = work
        self.smoke = smoke
        self.modes = modes
        self.driver = os.path.join(build, "bench", "nss_bench")
        self.env = dict(os.environ, LD_LIBRARY_PATH=build)
        self.etc = {}
        self.system_users = 0

    def check_built(self):
        needed = [self.driver] + ([os.path.join(self.build, "libnss_scim.so.2")] if "scim" in self.modes else [])
        missing = [p for p in needed if not os.path.exists(p)]
        if missing:
            raise BenchFailure("missing %s: run `make B=<build> all bench` first" % ", ".join(missing))

    def prepare(self):
        self.check_built()
        for mode in self.modes:
            self.etc[mode] = namespace.make_etc(os.path.join(self.work, "etc-" + mode), mode)

    def publish(self, d, n):
        """Writes directory D in every source's format; returns the expected enumeration counts."""
        expected = {}
        if "files" in self.modes:
            self.system_users = directory.write_files_source(d, self.etc["files"])
            expected["files"] = self.system_users + n
        if "cache" in self.modes:
            directory.write_cache_source(d, self.etc["cache"], canary=CANARY)
            expected["cache"] = n + 1
        if "scim" in self.modes:
            cache_db = os.path.join(self.work, "cache-%d.db" % n)
            d.write_cache_db(cache_db)
            namespace.write_entra_conf(self.etc["scim"], cache_db)
            expected["scim"] = n
        return expected

    def getent(self, mode, *args):
        return namespace.run_with_etc(self.etc[mode], ["getent"] + list(args), env=self.env, timeout=120)

    def expect_lines(self, mode, database, keys, expected):
        r = self.getent(mode, database, *keys)
        got = sorted(r.stdout.splitlines())
        if r.returncode != 0 or len(got) != len(expected):
            raise BenchFailure("%s: getent %s %s returned %d with %r" % (mode, database, " ".join(keys),
                                                                         r.returncode, r.stdout[:300]))
        for line, want in zip(got, sorted(expected)):
            if not same_entry(database, line.split(":"), want.rstrip("\n").split(":")):
                raise BenchFailure("%s: getent %s gave %r, expected %r" % (mode, database, line[:200], want[:200]))

    def verify(self, mode, d):
        """Sample look-ups through getent and id must give exactly the generated entries, so a
        misconfigured source cannot fake a ratio."""
        n, g = len(d.users), len(d.groups)
        users = sorted({0, 1, n // 2, n - 1})
        groups = sorted({0, directory.HEAVY_USER_GROUPS - 1, g // 2, g - 1})
        want_pw = [d.passwd_line(i) for i in users]
        self.expect_lines(mode, "passwd", [d.users[i][0] for i in users], want_pw)
        self.expect_lines(mode, "passwd", [str(d.users[i][1]) for i in users], want_pw)
        want_gr = [d.group_line(j) for j in groups]
        self.expect_lines(mode, "group", [d.groups[j][0] for j in groups], want_gr)
        self.expect_lines(mode, "group", [str(d.groups[j][1]) for j in groups], want_gr)
        self.expect_lines(mode, "group", [d.users[i][0] for i in users], [d.private_group_line(i) for i in users])
        r = namespace.run_with_etc(self.etc[mode], ["id", "-G", d.heavy_user[0]], env=self.env)
        if r.returncode != 0 or len(set(r.stdout.split())) != directory.HEAVY_USER_GROUPS + 1:
            raise BenchFailure("%s: id -G %s: %r %r" % (mode, d.heavy_user[0], r.stdout[:200], r.stderr[:200]))
        if self.getent(mode, "passwd", "nosuchuser").returncode != 2:
            raise BenchFailure("%s: an unknown user was found" % mode)
        if mode == "cache" and self.getent(mode, "passwd", CANARY.split(":")[0]).returncode != 2:
            raise BenchFailure("cache: libnss-cache found an entry missing from the index, so it is "
                               "scanning linearly: the generated .ixname/.ixuid files are not being used")

    def measure(self, mode, keys, expected_entries):
        iterations, seconds = ("200", "0.1") if self.smoke else ("20000", "2")
        argv = [self.driver, "--keys", keys, "--mode", mode, "--iterations", iterations, "--seconds", seconds]
        r = namespace.run_with_etc(self.etc[mode], argv, env=self.env, timeout=1800)
        if r.returncode != 0:
            raise BenchFailure("%s: nss_bench exited %d: %s" % (mode, r.returncode, r.stderr[-2000:]))
        result = json.loads(r.stdout)
        got = result["ops"]["enumerate"]["entries"]
        if got != expected_entries:
            raise BenchFailure("%s: enumeration returned %d entries, expected %d" % (mode, got, expected_entries))
        return result

    def run_size(self, n, log):
        d = directory.Directory(n)
        expected = self.publish(d, n)
        keys = os.path.join(self.work, "keys-%d.txt" % n)
        d.write_keys(keys)
        out = {}
        for mode in self.modes:
            self.verify(mode, d)
            out[mode] = self.measure(mode, keys, expected[mode])
            log("nss: %d users via %s: getpwnam median %.2f us" % (n, mode, out[mode]["ops"]["getpwnam"]["median_us"]))
        return out


def median(results, size, mode, op, stat="median_us"):
    try:
        return results[size][mode]["ops"][op][stat]
    except KeyError:
        return None


def rss_added(results, size, mode):
    try:
        rss = results[size][mode]["rss_kib"]
        return rss["after_first"] - rss["before"]
    except KeyError:
        return None


def size_label(n):
    return "%dk" % (n // 1000) if n % 1000 == 0 else str(n)


def add_size_rows(t, results, n):
    lbl = size_label(n)
    smallest = n == min(results)
    for op in ("getpwnam", "getpwuid"):
        s = median(results, n, "scim", op)
        t.add("%s median %s" % (op, lbl), s, "us", "files", median(results, n, "files", op),
              target=("<=", 0.25) if smallest else None)
        t.add("%s median %s" % (op, lbl), s, "us", "cache", median(results, n, "cache", op), target=("<=", 0.5))
        t.add("%s p99 %s" % (op, lbl), median(results, n, "scim", op, "p99_us"), "us", "cache",
              median(results, n, "cache", op, "p99_us"))
    for op in ("getgrnam", "getgrgid", "getgrnam_private"):
        for base in ("files", "cache"):
            t.add("%s median %s" % (op, lbl), median(results, n, "scim", op), "us", base,
                  median(results, n, base, op))
    for miss, hit in (("getpwnam_miss", "getpwnam"), ("getpwuid_miss", "getpwuid"), ("getgrnam_miss", "getgrnam")):
        t.add("%s median %s" % (miss, lbl), median(results, n, "scim", miss), "us", "scim hit",
              median(results, n, "scim", hit), target=("<=", 1.1))
    t.add("initgroups(200) median %s" % lbl, median(results, n, "scim", "initgroups"), "us", "files",
          median(results, n, "files", "initgroups"), target=("<=", 0.5))
    t.add("initgroups(200) median %s" % lbl, median(results, n, "scim", "initgroups"), "us", "cache",
          median(results, n, "cache", "initgroups"))
    for base in ("files", "cache"):
        t.add("getpwent enumeration %s" % lbl, median(results, n, "scim", "enumerate"), "us", base,
              median(results, n, base, "enumerate"))
    for base in ("files", "cache"):
        t.add("RSS added by first look-up %s" % lbl, rss_added(results, n, "scim"), "KiB", base,
              rss_added(results, n, base))


def table(results):
    t = Table("NSS look-ups through glibc (scim = libnss_scim.so.2; baselines files, cache = libnss-cache)")
    for n in sorted(results):
        add_size_rows(t, results, n)
    small, large = min(results), max(results)
    if large != small:
        for op in ("getpwnam", "getpwuid", "getgrnam", "getgrgid"):
            t.add("%s flatness scim %s" % (op, size_label(large)), median(results, large, "scim", op), "us",
                  "scim " + size_label(small), median(results, small, "scim", op), target=("<=", 1.5))
    return t
