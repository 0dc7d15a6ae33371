"""SCIM section: entra-syncd under Entra-shaped load from scim_load (libcurl multi). Baselines
in the same run: raw SQLite inserts with synchronous=FULL on the same disk (the floor for a
durable create) and a trivial libmicrohttpd server answering a constant body (the ceiling for
any server on that HTTP stack). Also: the initial sync, SCIM response -> visible through NSS,
and the re-evaluation + publish after SIGHUP."""

import json
import os
import sqlite3
import subprocess
import time

import directory  # noqa: F401  (puts tests/integration on sys.path)
import harness
import namespace
from nss_section import BenchFailure
from report import Table

CONCURRENCY = (1, 8, 32)
BASELINE_USER = "bench0@contoso.com 00000000-0000-4000-8000-000000000000\n"


class Plan:
    """How much work each step does: the full run or the seconds-long smoke."""

    def __init__(self, smoke):
        self.smoke = smoke
        self.users = 300 if smoke else 100000
        self.groups = 10 if smoke else 1000
        self.members = 20 if smoke else 100
        self.everyone_batch = 100 if smoke else 1000
        self.creates = {1: 40, 8: 80, 32: 80} if smoke else {1: 2000, 8: 8000, 32: 16000}
        self.filters = 100 if smoke else 20000
        self.patches = 60 if smoke else 10000
        self.visibility = 3 if smoke else 30
        self.background_patches = 20000 if smoke else 200000  # stopped once the samples are taken
        self.sqlite_inserts = 100 if smoke else 3000


class ScimBench:
    def __init__(self, args, work, log):
        harness.BUILD = args.build
        self.build = args.build
        self.work = work
        self.log = log
        self.plan = Plan(args.smoke)
        self.procs = harness.Processes()
        self.tool = lambda name: os.path.join(args.build, "bench", name)
        self.results = {}

    # --- running the C drivers ---------------------------------------------------------

    def load(self, url, token, op, count, concurrency=1, etc=None, **kw):
        argv = [self.tool("scim_load"), "--url", url, "--op", op, "--count", str(count),
                "--concurrency", str(concurrency)]
        for key, value in kw.items():
            argv += ["--" + key.replace("_", "-"), str(value)]
        env = dict(os.environ, ENTRA_BENCH_TOKEN=token, LD_LIBRARY_PATH=self.build)
        if etc:
            r = namespace.run_with_etc(etc, argv, env=env, timeout=1800)
        else:
            r = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=1800)
        if r.returncode != 0:
            raise BenchFailure("scim_load %s (c=%d) exited %d: %s" % (op, concurrency, r.returncode, r.stderr[-1500:]))
        result = json.loads(r.stdout)
        self.log("scim: %s c=%d: %.0f req/s, p50 %.2f ms, p99 %.2f ms" % (
            op, concurrency, result["req_per_s"], result["p50_ms"], result["p99_ms"]))
        return result

    def sqlite_baseline(self, var):
        db = os.path.join(var, "baseline.db")
        r = subprocess.run([self.tool("sqlite_baseline"), "--db", db, "--count", str(self.plan.sqlite_inserts)],
                           capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            raise BenchFailure("sqlite_baseline exited %d: %s" % (r.returncode, r.stderr[-1000:]))
        return json.loads(r.stdout)

    def http_baseline(self, users_file):
        """Filter and PATCH throughput of a constant-answer libmicrohttpd server, per concurrency."""
        port = harness.free_port()
        proc = self.procs.start([self.tool("http_baseline"), "--port", str(port), "--threads", "4"])
        harness.wait_for_port(port, proc)
        url = "http://127.0.0.1:%d/scim/v2" % port
        out = {"filter": {}, "patch": {}}
        for c in CONCURRENCY:
            out["filter"][c] = self.load(url, "baseline", "filter", self.plan.filters, c, users=users_file)
            out["patch"][c] = self.load(url, "baseline", "patch", self.plan.patches, c, users=users_file,
                                        groups=users_file)
        self.procs.stop(proc)
        return out

    # --- the daemon --------------------------------------------------------------------

    def start_daemon(self):
        self.site = harness.Site(publish_interval_ms=1000)  # the shipped default debounce
        self.syncd = harness.Syncd(self.site, self.procs)
        self.url = self.syncd.client.base
        self.token = self.syncd.token

    def cache_count(self, sql):
        try:
            con = sqlite3.connect("file:%s?mode=ro" % self.site.cache_db, uri=True)
            try:
                return con.execute(sql).fetchone()[0]
            finally:
                con.close()
        except sqlite3.Error:
            return -1

    def wait_cache(self, sql, want, timeout):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.cache_count(sql) == want:
                return time.monotonic()
            time.sleep(0.01)
        raise BenchFailure("cache.db never reached %s = %d (last %d); see %s" % (
            sql, want, self.cache_count(sql), self.syncd.log_path))

    def ids(self, name):
        return os.path.join(self.work, "scim-%s.ids" % name)

    def create_everyone_group(self):
        status, _, body, raw = self.syncd.client.post("/Groups", harness.entra_group(
            "Linux Users", "00000000-0000-4000-c000-000000000001"))
        if status != 201:
            raise BenchFailure("creating the Linux Users group: HTTP %d %r" % (status, raw[:300]))
        with open(self.ids("everyone"), "w") as f:
            f.write("linux-users %s\n" % body["id"])

    def initial_sync(self):
        """Entra's first cycle: every user, every group, then memberships (Linux Users, the
        group the AUP rule matches, gets everyone); done when cache.db serves every user."""
        p = self.plan
        t0 = time.monotonic()
        self.create_everyone_group()
        self.load(self.url, self.token, "create-users", p.users, 32, prefix="init", ids_out=self.ids("users"))
        self.load(self.url, self.token, "create-groups", p.groups, 32, prefix="init", ids_out=self.ids("groups"))
        self.load(self.url, self.token, "patch", p.groups, 32, users=self.ids("users"), groups=self.ids("groups"),
                  batch=p.members)
        self.load(self.url, self.token, "patch", p.users // p.everyone_batch, 8, users=self.ids("users"),
                  groups=self.ids("everyone"), batch=p.everyone_batch)
        t1 = self.wait_cache("SELECT count(*) FROM passwd", p.users, timeout=600)
        return t1 - t0

    def throughput(self):
        p, out = self.plan, {"create": {}, "filter": {}, "patch": {}}
        offset = 0
        for c in CONCURRENCY:
            out["create"][c] = self.load(self.url, self.token, "create-users", p.creates[c], c, prefix="load",
                                         offset=offset, ids_out=self.ids("load-%d" % c))
            offset += p.creates[c]
        for c in CONCURRENCY:
            out["filter"][c] = self.load(self.url, self.token, "filter", p.filters, c, users=self.ids("users"))
        for i, c in enumerate(CONCURRENCY):
            # new memberships: users beyond the ones the initial sync put in each group
            out["patch"][c] = self.load(self.url, self.token, "patch", p.patches, c, users=self.ids("users"),
                                        groups=self.ids("groups"), offset=p.users * (i + 1) // 4)
        return out

    def visibility(self):
        """Users created by the throughput step have no account until they join Linux Users."""
        etc = namespace.make_etc(os.path.join(self.work, "etc-scim-live"), "scim")
        namespace.write_entra_conf(etc, self.site.cache_db)
        return self.load(self.url, self.token, "visibility", self.plan.visibility, 1, etc=etc,
                         users=self.ids("load-1"), groups=self.ids("everyone"))

    def visibility_under_load(self):
        """The same, while membership PATCHes stream in at c=8 (Entra's provisioning cycle
        pushing other changes): the publisher is busy and backs off between publishes."""
        p = self.plan
        argv = [self.tool("scim_load"), "--url", self.url, "--op", "patch", "--count", str(p.background_patches),
                "--concurrency", "8", "--users", self.ids("users"), "--groups", self.ids("groups"),
                "--offset", str(p.users * 7 // 8)]
        env = dict(os.environ, ENTRA_BENCH_TOKEN=self.token, LD_LIBRARY_PATH=self.build)
        background = self.procs.start(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(1.0)  # the stream is flowing and the publisher busy before the first sample
            etc = namespace.make_etc(os.path.join(self.work, "etc-scim-load"), "scim")
            namespace.write_entra_conf(etc, self.site.cache_db)
            result = self.load(self.url, self.token, "visibility", p.visibility, 1, etc=etc,
                               users=self.ids("load-8"), groups=self.ids("everyone"))
            result["background_running"] = background.poll() is None
        finally:
            self.procs.stop(background)
        if not result["background_running"]:
            self.log("scim: the background PATCH stream ended before the samples did; raise background_patches")
        return result

    def sighup(self):
        """Changes the login shell in entra.conf and times SIGHUP -> every account republished."""
        with open(self.site.config) as f:
            text = f.read()
        with open(self.site.config, "w") as f:
            f.write(text.replace("shell = /bin/bash", "shell = /bin/sh"))
        total = self.cache_count("SELECT count(*) FROM passwd")
        t0 = time.monotonic()
        self.syncd.reload()
        t1 = self.wait_cache("SELECT count(*) FROM passwd WHERE shell = '/bin/sh'", total,
                             timeout=20 if self.plan.smoke else 120)
        return t1 - t0, total

    def run(self):
        try:
            self.start_daemon()
            r = self.results
            r["sqlite_baseline"] = self.sqlite_baseline(self.site.var)
            with open(os.path.join(self.work, "baseline.ids"), "w") as f:
                f.write(BASELINE_USER)
            r["http_baseline"] = self.http_baseline(os.path.join(self.work, "baseline.ids"))
            r["initial_sync_s"] = self.initial_sync()
            self.log("scim: initial sync of %d users: %.1f s" % (self.plan.users, r["initial_sync_s"]))
            r["daemon"] = self.throughput()
            r["visibility"] = self.visibility()
            r["visibility_under_load"] = self.visibility_under_load()
            r["sighup_s"], r["sighup_users"] = self.sighup()
            return self.table(), r
        finally:
            self.procs.stop_all()
            if getattr(self, "site", None):
                self.site.cleanup()

    # --- the table -----------------------------------------------------------------------

    def table(self):
        r, p = self.results, self.plan
        t = Table("SCIM ingest and publication (entra-syncd; baselines: SQLite synchronous=FULL inserts, "
                  "constant-answer libmicrohttpd server)")
        d, base = r["daemon"], r["http_baseline"]
        lat = lambda x: "p50 %.2f ms, p99 %.2f ms" % (x["p50_ms"], x["p99_ms"])  # noqa: E731
        for c in CONCURRENCY:
            t.add("user creates c=%d" % c, d["create"][c]["req_per_s"], "/s", "sqlite FULL",
                  r["sqlite_baseline"]["req_per_s"], note=lat(d["create"][c]))
        t.add("user creates peak", max(x["req_per_s"] for x in d["create"].values()), "/s", target=(">=", 2000))
        for c in CONCURRENCY:
            t.add("filter look-ups c=%d" % c, d["filter"][c]["req_per_s"], "/s", "trivial MHD",
                  base["filter"][c]["req_per_s"], note=lat(d["filter"][c]))
        t.add("filter look-ups peak", max(x["req_per_s"] for x in d["filter"].values()), "/s", target=(">=", 5000))
        for c in CONCURRENCY:
            t.add("member PATCHes c=%d" % c, d["patch"][c]["req_per_s"], "/s", "trivial MHD",
                  base["patch"][c]["req_per_s"], note=lat(d["patch"][c]))
        t.add("initial sync %d users + %d groups x %d" % (p.users, p.groups, p.members), r["initial_sync_s"], "s",
              target=None if p.smoke else ("<=", 120))
        v = r["visibility"]
        t.add("SCIM response -> NSS visible p50", v["p50_ms"] / 1000.0, "s", note="%d samples" % v["requests"])
        t.add("SCIM response -> NSS visible p99", v["p99_ms"] / 1000.0, "s", target=("<=", 1.5))
        v = r["visibility_under_load"]
        t.add("... during a c=8 PATCH stream, p50", v["p50_ms"] / 1000.0, "s", note="%d samples" % v["requests"])
        t.add("... during a c=8 PATCH stream, p99", v["p99_ms"] / 1000.0, "s", target=("<=", 1.5),
              note="max %.2f s" % (v["max_ms"] / 1000.0))
        t.add("SIGHUP re-eval + publish %d users" % r["sighup_users"], r["sighup_s"], "s",
              target=None if p.smoke else ("<=", 2))
        return t


def run(args, work, log):
    table, raw = ScimBench(args, work, log).run()
    return table, json.loads(json.dumps(raw))
