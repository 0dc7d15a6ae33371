"""Fleet section: one hub (TLS on loopback) and, while feed_load holds N simulated followers'
long-polls on its change feed (1,000; smoke 20), three real follower daemons. Figures: a new
follower from nothing to a complete cache.db at U users (100,000; smoke 300), a SCIM write's
response to the account visible through glibc on every real follower (p50/p99), the hub's memory
and CPU per connected follower, the bytes each change costs per follower.

The directory is written into the hub's state.db directly while the hub is stopped (the SCIM
write path has its own section); the hub then allocates every uid at its first publish."""

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
import uuid

import directory  # noqa: F401  (puts tests/integration on sys.path)
import fleet_util
import harness
import nss_util
from nss_section import BenchFailure
from report import Table

USERS_GROUP = "00000000-0000-4000-c000-000000000001"
# A follower's glibc client: for each name read, getpwnam every 5 ms until it is served
# ("seen" and the CLOCK_MONOTONIC time, one clock for every process) or 30 s pass ("timeout").
# Polling at 5 ms bounds the figure's error to 5 ms.
WATCHER = """
import pwd, sys, time
for line in sys.stdin:
    name, deadline = line.strip(), time.monotonic() + 30
    while True:
        try:
            pwd.getpwnam(name)
            print("seen %.6f" % time.monotonic(), flush=True)
            break
        except KeyError:
            if time.monotonic() > deadline:
                print("timeout", flush=True)
                break
            time.sleep(0.005)
"""


class Plan:
    def __init__(self, smoke):
        self.users = 300 if smoke else 100000
        self.followers = 20 if smoke else 1000
        self.samples = 2 if smoke else 20


def proc_stats(pid):
    with open("/proc/%d/status" % pid) as f:
        rss = int([line for line in f if line.startswith("VmRSS")][0].split()[1])
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return rss, cpu


def percentile(values, q):
    v = sorted(values)
    return v[min(len(v) - 1, int(len(v) * q))]


class FleetBench:
    def __init__(self, args, work, log):
        harness.BUILD = args.build
        self.build = args.build
        self.log = log
        self.plan = Plan(args.smoke)
        self.smoke = args.smoke
        self.keep, self.work = args.keep, work
        self.procs = harness.Processes()
        self.followers = []

    def fill_directory(self, hub):
        """U users in Linux Users, written while the hub is stopped; back when every uid exists."""
        hub.stop()
        con = sqlite3.connect(hub.site.state_db, timeout=60)
        rows = []
        for i in range(self.plan.users):
            upn = "fleet%06d@contoso.com" % i
            body = json.dumps({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": upn,
                               "externalId": str(uuid.uuid4()), "active": True, "displayName": "Fleet %d" % i})
            rows.append((str(uuid.uuid4()), upn, json.loads(body)["externalId"], "Fleet %d" % i, body, upn,
                         "fleet %d" % i))
        con.executemany("INSERT INTO users(id, user_name, external_id, display_name, active, json, created,"
                        " last_modified, version, user_key, display_key) VALUES(?, ?, ?, ?, 1, ?,"
                        " '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z', 1, ?, ?)", rows)
        con.execute("INSERT OR IGNORE INTO members(group_id, user_id) SELECT ?, id FROM users", (self.group,))
        con.commit()
        con.close()
        hub.start()
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            con = sqlite3.connect("file:%s?mode=ro" % hub.site.state_db, uri=True, timeout=60)
            have = con.execute("SELECT count(*) FROM unix_ids").fetchone()[0]
            con.close()
            if have >= self.plan.users + 1:
                return
            time.sleep(0.5)
        raise BenchFailure("the hub never allocated every uid; see %s" % hub.log_path)

    def new_follower(self, hub, host):
        t0 = time.monotonic()
        f = fleet_util.Follower(self.procs, hub, host)
        self.followers.append(f)
        want = self.plan.users
        try:
            f.wait_for(lambda: (f.cache_rows("SELECT count(*) FROM passwd") or [(0,)])[0][0] >= want, timeout=600,
                       what="%d accounts" % want)
        except AssertionError as e:
            raise BenchFailure(str(e)[:1500])
        return time.monotonic() - t0

    def start_watchers(self):
        """One long-lived glibc client per real follower, inside that follower's namespace. A
        getent spawned per poll (fork, unshare, mounts) costs milliseconds of CPU; three of them in
        a loop took most of this 2-core machine from the followers being measured."""
        self.watchers = []
        for f in self.followers:
            w = nss_util.NssHost(f.site).start(self.procs, [sys.executable, "-u", "-c", WATCHER], stdin=subprocess.PIPE,
                                               stderr=subprocess.DEVNULL)
            self.watchers.append(w)

    def visible_everywhere(self, name, seen):
        """Asks every watcher to wait for NAME; returns one thread per watcher that records, into
        SEEN, the time from self.t0 (set by the caller once the write is answered) to NAME served."""
        def wait(w):
            word = w.stdout.readline().split()
            if len(word) == 2 and word[0] == "seen":
                seen.append(float(word[1]) - self.t0)
        threads = []
        for w in self.watchers:
            w.stdin.write(name + "\n")
            w.stdin.flush()
            threads.append(threading.Thread(target=wait, args=(w,)))
        return threads

    def visibility(self, hub):
        seen = []
        self.start_watchers()
        for i in range(self.plan.samples):
            name = "vis%04d" % i
            uid = hub.create_user("%s@contoso.com" % name, external_id=str(uuid.uuid4()))
            # The account exists only once it is in Linux Users: the watchers may start now.
            threads = self.visible_everywhere(name, seen)
            status, _h, _b, raw = hub.scim.patch("/Groups/" + self.group, harness.patch_body(
                {"op": "add", "path": "members", "value": [{"value": uid}]}))
            self.t0 = time.monotonic()
            if status != 204:
                raise BenchFailure("PATCH on the hub: HTTP %d %r" % (status, raw[:200]))
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            time.sleep(0.5)
        if len(seen) != self.plan.samples * len(self.followers):
            raise BenchFailure("an account never became visible on a follower within 30 s")
        return seen

    def run(self):
        p = self.plan
        hub = fleet_util.Hub(self.procs, max_connections=4 * (p.followers + 16), publish_interval_ms=1000)
        try:
            self.group = hub.create_group("Linux Users", USERS_GROUP)
            self.fill_directory(hub)
            self.log("fleet: hub holds %d users" % p.users)
            first = self.new_follower(hub, "web-01")
            self.log("fleet: new follower to a complete cache.db: %.2f s" % first)
            for host in ("db-01", "api-01"):
                self.new_follower(hub, host)
            rss0, cpu0 = proc_stats(hub.proc.pid)
            ramp_s = p.followers / 250.0 + 3
            env = dict(os.environ, ENTRA_BENCH_FOLLOW_TOKEN=hub.follow_token)
            load = subprocess.Popen([os.path.join(self.build, "bench", "feed_load"), "--url", hub.url, "--count",
                                     str(p.followers), "--wait", "25", "--seconds", str(int(ramp_s + 40 * p.samples)),
                                     "--ca", hub.ca.path], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                    text=True)
            time.sleep(ramp_s)
            rss1, cpu1 = proc_stats(hub.proc.pid)
            time.sleep(5)
            rss2, cpu2 = proc_stats(hub.proc.pid)
            seen = self.visibility(hub)
            _rss3, cpu3 = proc_stats(hub.proc.pid)
            load.terminate()
            out, err = load.communicate(timeout=60)
            try:
                feed = json.loads(out.strip().splitlines()[-1])
            except (ValueError, IndexError):
                raise BenchFailure("feed_load printed no figures: %s" % err[-1500:])
            self.log("fleet: visibility p50 %.2f s, p99 %.2f s" % (percentile(seen, 0.5), percentile(seen, 0.99)))
            return {"users": p.users, "followers": p.followers, "new_follower_s": first,
                    "visible_p50_s": percentile(seen, 0.5), "visible_p99_s": percentile(seen, 0.99),
                    "samples": len(seen), "visible_s": sorted(round(v, 3) for v in seen),
                    "hub_kib_per_follower": (rss1 - rss0) / p.followers,
                    "hub_idle_cpu_us_per_follower_per_s": (cpu2 - cpu1) * 1e6 / 5 / p.followers,
                    "load_stderr_lines": len(err.splitlines()), "feed_errors": feed["errors"],
                    "bytes_per_change_per_follower": feed["bytes_per_change"],
                    # all the hub did while the samples ran (SCIM, its publishes, the fan-out)
                    "hub_busy_cpu_us_per_change_per_follower": (cpu3 - cpu2) * 1e6 / max(feed["changes"], 1)}
        finally:
            self.procs.stop_all()
            self.keep_logs(hub)
            for f in self.followers:
                f.cleanup()
            hub.cleanup()

    def keep_logs(self, hub):
        """With --keep, the daemons' logs go to the work directory (where each publish's time went)."""
        if not self.keep:
            return
        for name, path in [("hub.log", hub.log_path)] + [("%s.log" % f.site.values["host"], f.log_path) for f in self.followers]:
            if os.path.exists(path):
                shutil.copyfile(path, os.path.join(self.work, name))

    def table(self, r):
        t = Table("Fleet: one hub, %d simulated + 3 real followers, %d users" % (r["followers"], r["users"]))
        t.add("new follower to a complete cache.db", r["new_follower_s"], "s",
              target=None if self.smoke else ("<=", 15))
        t.add("SCIM response -> glibc on every real follower p50", r["visible_p50_s"], "s",
              note="%d samples" % r["samples"])
        t.add("SCIM response -> glibc on every real follower p99", r["visible_p99_s"], "s", target=("<=", 2))
        t.add("hub memory per held follower", r["hub_kib_per_follower"], "KiB")
        t.add("hub CPU per held follower, idle (per second)", r["hub_idle_cpu_us_per_follower_per_s"], "us")
        t.add("hub CPU per change per follower, while the samples ran", r["hub_busy_cpu_us_per_change_per_follower"],
              "us", note="SCIM writes and publishes included")
        t.add("bytes a change costs per follower (feed answer, headers and body)",
              r["bytes_per_change_per_follower"], "B", note="%d feed errors" % r["feed_errors"])
        return t


def run(args, work, log):
    bench = FleetBench(args, work, log)
    raw = bench.run()
    return bench.table(raw), raw
