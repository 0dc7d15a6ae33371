"""Helpers for the hardening tests: a SCIM write stream that records what was acknowledged, a
cache.db watcher that checks every snapshot it sees, and /proc readings of a daemon."""

import os
import socket
import sqlite3
import threading
import time
import urllib.error

import harness


class WriteStream(threading.Thread):
    """Creates users and adds each to the "Linux Users" group, one request at a time, until
    stopped or the daemon goes away. A write counts as acknowledged once its 2xx answer arrived."""

    def __init__(self, client, group_id, prefix):
        super().__init__(daemon=True)
        self.client = client
        self.group_id = group_id
        self.prefix = prefix
        self.acked_users = {}  # local name -> SCIM id
        self.acked_members = set()  # SCIM ids PATCHed into the group
        self.errors = []
        self.stopping = threading.Event()

    def run(self):
        i = 0
        while not self.stopping.is_set():
            name = "%sn%d" % (self.prefix, i)
            i += 1
            try:
                status, _, body, raw = self.client.post("/Users", harness.entra_user(name + "@contoso.com"))
                if status != 201:
                    self.errors.append("POST %s: %s %r" % (name, status, raw[:200]))
                    return
                self.acked_users[name] = body["id"]
                op = {"op": "Add", "path": "members", "value": [{"value": body["id"]}]}
                status, _, _, raw = self.client.patch("/Groups/" + self.group_id, harness.patch_body(op))
                if status not in (200, 204):
                    self.errors.append("PATCH %s: %s %r" % (name, status, raw[:200]))
                    return
                self.acked_members.add(body["id"])
            except (urllib.error.URLError, ConnectionError, OSError):
                return  # the daemon was killed mid-request: this write was never acknowledged


def open_snapshot(path):
    """cache.db opened the way the readers do (read-only, immutable)."""
    return sqlite3.connect("file:%s?mode=ro&immutable=1" % path, uri=True)


def check_snapshot(path):
    """Returns (generation, set of passwd names) of a complete, valid cache.db or raises."""
    con = open_snapshot(path)
    try:
        ok = con.execute("PRAGMA integrity_check").fetchall()
        assert ok == [("ok",)], "cache.db integrity_check: %r" % ok
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        for key in ("schema_version", "generation", "published_at", "uid_min", "uid_max", "host"):
            assert key in meta, "cache.db meta lacks %s: %r" % (key, meta)
        assert meta["schema_version"] == harness.cache_schema_version(), meta
        names = {r[0] for r in con.execute("SELECT name FROM passwd")}
        return int(meta["generation"]), names
    finally:
        con.close()


class SnapshotWatcher(threading.Thread):
    """Checks cache.db over and over while other things happen: every snapshot complete and
    valid, generations never going back."""

    def __init__(self, path, interval=0.01):
        super().__init__(daemon=True)
        self.path = path
        self.interval = interval
        self.checked = 0
        self.last_generation = 0
        self.failures = []
        self.stopping = threading.Event()

    def run(self):
        while not self.stopping.is_set():
            if os.path.exists(self.path):
                try:
                    gen, _ = check_snapshot(self.path)
                    if gen < self.last_generation:
                        self.failures.append("generation went back from %d to %d" % (self.last_generation, gen))
                    self.last_generation = max(gen, self.last_generation)
                    self.checked += 1
                except (AssertionError, sqlite3.Error, ValueError) as e:
                    self.failures.append(repr(e))
            time.sleep(self.interval)

    def stop(self):
        self.stopping.set()
        self.join(timeout=10)


def integrity_ok(db_path):
    """PRAGMA integrity_check on a WAL database another process may hold open."""
    con = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=10)
    try:
        return con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        con.close()


def status_kib(pid, field):
    """A size from /proc/PID/status in KiB: VmRSS, RssAnon (heap and other private memory:
    where a leak shows; file pages of state.db read through mmap do not count there)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s for pid %d" % (field, pid))


def vm_rss_kib(pid):
    return status_kib(pid, "VmRSS")


def open_fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def thread_count(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("Threads:"):
                return int(line.split()[1])
    raise AssertionError("no Threads for pid %d" % pid)


def create_group(client, display_name="Linux Users"):
    status, _, body, raw = client.post("/Groups", harness.entra_group(display_name, "oid-" + display_name))
    assert status == 201, raw
    return body["id"]


def create_users(client, prefix, count, threads=8):
    """Creates COUNT users concurrently; returns their SCIM ids in creation order of their number."""
    ids = [None] * count
    errors = []

    def worker(start):
        c = harness.ScimClient(client.base, client.token)
        for n in range(start, count, threads):
            status, _, body, raw = c.post("/Users", harness.entra_user("%s%d@contoso.com" % (prefix, n)))
            if status != 201:
                errors.append((n, status, raw[:200]))
                return
            ids[n] = body["id"]

    pool = [threading.Thread(target=worker, args=(t,)) for t in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=300)
    assert not errors, errors[:5]
    assert all(ids), "some users were not created"
    return ids


def group_member_ids(client, group_id):
    status, _, body, raw = client.get("/Groups/%s?attributes=members" % group_id)
    assert status == 200, raw[:300]
    return [m["value"] for m in body.get("members", [])]


def loopback_socket(source, port, timeout=5.0):
    """A TCP connection to 127.0.0.1:PORT from the loopback address SOURCE (e.g. 127.0.0.7), so
    per-address connection limits can be told apart from the test's own client on 127.0.0.1."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def start_syncd(site, procs, build, env=None):
    """entra-syncd from BUILD (e.g. harness.PLAIN_BUILD for memory figures without ASan's
    quarantine) with a fresh token, in ENV (default: the test's); returns (proc, client,
    log_path)."""
    import subprocess
    token = harness.cli(site, "token", "new").stdout.strip().splitlines()[-1].strip()
    log_path = os.path.join(site.dir, "syncd-%s.log" % os.path.basename(build))
    log = open(log_path, "ab")
    proc = procs.start([os.path.join(build, "entra-syncd"), "-c", site.config], stdout=log,
                       stderr=subprocess.STDOUT, env=env)
    log.close()
    harness.wait_for_port(site.port, proc)
    return proc, harness.ScimClient("http://127.0.0.1:%d/scim/v2" % site.port, token), log_path


class HostileIdp:
    """tests/integration/hardening_idp.py in one MODE, with pam_util.TestIdp's interface
    (authority, ca, script) so pam_util.PamSite can point pam_entra at it."""

    def __init__(self, procs, directory, mode):
        import ssl
        import subprocess
        self.procs = procs
        self.dir = os.path.join(directory, "hostile-idp")
        os.makedirs(self.dir, exist_ok=True)
        self.port = harness.free_port()
        self.log = open(os.path.join(directory, "hostile-idp.log"), "ab")
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hardening_idp.py")
        self.proc = procs.start(["/usr/bin/python3", script, "--mode", mode, "--port", str(self.port),
                                 "--dir", self.dir], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(self.dir, "ready")):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("hostile IdP did not start; see %s/hostile-idp.log" % directory)
            time.sleep(0.05)
        harness.wait_for_port(self.port, self.proc)
        self.ca = os.path.join(self.dir, "ca.pem")
        self.ssl = ssl.create_default_context(cafile=self.ca)
        self.authority = "https://127.0.0.1:%d" % self.port

    def script(self, **behaviour):
        import json
        import urllib.request
        req = urllib.request.Request(self.authority + "/_control", method="POST",
                                     data=json.dumps({"op": "script", "behaviour": behaviour}).encode())
        with urllib.request.urlopen(req, context=self.ssl, timeout=30) as resp:
            return json.loads(resp.read())


def valgrind_argv(log_path):
    """memcheck with every definite leak, invalid access and descriptor left open made visible."""
    return ["valgrind", "--tool=memcheck", "--leak-check=full", "--show-leak-kinds=definite",
            "--errors-for-leak-kinds=definite", "--track-fds=yes", "--error-exitcode=99",
            "--num-callers=30", "--log-file=" + log_path]


def valgrind_verdict(log_path, allowed_fd_paths=()):
    """(problems, text) from a memcheck log: errors, definite leaks, and descriptors open at exit
    other than 0-2 and the log itself."""
    import re
    with open(log_path, errors="replace") as f:
        text = f.read()
    problems = []
    m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    if not m:
        problems.append("no ERROR SUMMARY: valgrind did not finish")
    elif m.group(1) != "0":
        problems.append("memcheck errors: " + m.group(1))
    m = re.search(r"definitely lost: ([\d,]+) bytes", text)
    if m and m.group(1) != "0":
        problems.append("definitely lost: %s bytes" % m.group(1))
    for fd, what in re.findall(r"Open (?:file|AF_\w+ socket) descriptor (\d+): ?(.*)", text):
        if int(fd) > 2 and what.strip() != log_path and what.strip() not in allowed_fd_paths:
            problems.append("descriptor %s left open: %s" % (fd, what.strip() or "(socket)"))
    return problems, text


class Trickler(threading.Thread):
    """Sends FIRST at once, then one byte of REST every INTERVAL seconds, reading whatever comes
    back; records when the daemon closed the connection (closed_after, seconds from the first
    bytes; None while open). Setting hold stops the trickle and leaves the socket open."""

    def __init__(self, port, first, rest, interval=0.5, source="127.0.0.9"):
        super().__init__(daemon=True)
        self.sock = loopback_socket(source, port)
        self.first, self.rest, self.interval = first, rest, interval
        self.received = b""
        self.started = time.monotonic()  # set again when the first bytes go out
        self.closed_after = None
        self.sent = 0  # bytes of REST sent
        self.hold = threading.Event()

    def run(self):
        self.sock.settimeout(self.interval)
        self.started = time.monotonic()
        try:
            if self.first:
                self.sock.sendall(self.first)
            for i in range(len(self.rest) + 1):
                try:
                    chunk = self.sock.recv(4096)
                    self.received += chunk
                    if not chunk:
                        break
                except socket.timeout:
                    pass
                if self.hold.is_set():
                    return
                if i < len(self.rest):
                    self.sock.sendall(self.rest[i:i + 1])
                    self.sent += 1
        except OSError:
            pass  # reset by the daemon after its answer
        self.closed_after = time.monotonic() - self.started
        self.sock.close()
