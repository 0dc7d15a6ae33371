"""Shared helpers for the integration tests: processes stopped by PID, private mount
namespaces, the real entra-syncd with a SCIM client, and config files."""

import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

BUILD = os.environ.get("ENTRA_BUILD", os.path.abspath("build"))
PLAIN_BUILD = os.environ.get("ENTRA_PLAIN_BUILD", os.path.abspath("build"))
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SANITIZED = "/san" in BUILD


def sanitizer_preload():
    """LD_PRELOAD value that lets a sanitized .so load into an uninstrumented program."""
    if not SANITIZED:
        return ""
    libs = []
    for name in ("libasan.so", "libubsan.so"):
        path = subprocess.run(["gcc", "-print-file-name=" + name], capture_output=True, text=True).stdout.strip()
        if os.path.isabs(path):
            libs.append(os.path.realpath(path))
    # pam_unix's libcrypt arrives by dlopen, after ASan looked up the real crypt() for its
    # interceptor and found none (pam_unix then calls address 0): preloaded, it is found.
    multiarch = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True).stdout.strip()
    libcrypt = "/lib/%s/libcrypt.so.1" % (multiarch or "x86_64-linux-gnu")
    if libs and os.path.exists(libcrypt):
        libs.append(libcrypt)
    return " ".join(libs)


def module_env(extra=None):
    """Environment for running getent/id/pamtester against our modules from BUILD."""
    env = dict(os.environ)
    env["LD_LIBRARY_PATH"] = BUILD
    preload = sanitizer_preload()
    if preload:
        env["LD_PRELOAD"] = preload
        # Leak checks belong to the code under test, not to getent's own exit path.
        env["ASAN_OPTIONS"] = "detect_leaks=0:abort_on_error=1"
        env["UBSAN_OPTIONS"] = "halt_on_error=1:print_stacktrace=1"
    if extra:
        env.update(extra)
    return env


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port, proc=None, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %s before listening on %d" % (proc.returncode, port))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError("nothing listens on 127.0.0.1:%d" % port)


class Processes:
    """Every process a test starts, stopped by its PID when the test ends, pass or fail."""

    def __init__(self):
        self.procs = []

    def start(self, argv, **kw):
        kw.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.Popen(argv, **kw)
        self.procs.append(proc)
        return proc

    def stop(self, proc, sig=signal.SIGTERM, timeout=10):
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def stop_all(self):
        for proc in reversed(self.procs):
            self.stop(proc)
        self.procs = []


def in_namespace(argv, binds, env=None, input=None, timeout=60, check=False, text=True):
    """Runs ARGV in a private mount namespace where each (source, target) of BINDS is
    bind-mounted. The host's own files never change; a missing target is created as an empty
    mount point."""
    script = ["set -e"]
    for source, target in binds:
        if os.path.isdir(source):
            script.append('mkdir -p "%s"' % target)
        elif not os.path.exists(target):
            script.append('mkdir -p "$(dirname "%s")"; : > "%s"' % (target, target))
        script.append('mount --bind "%s" "%s"' % (source, target))
    script.append('exec "$@"')
    cmd = ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", "\n".join(script), "sh"] + list(argv)
    return subprocess.run(cmd, env=env, input=input, capture_output=True, text=text, timeout=timeout, check=check)


CONFIG_TEMPLATE = """\
[entra]
tenant_id = {tenant_id}
client_id = {client_id}
authority = {authority}
{ca_line}
[accounts]
cache_db = {cache_db}
name_format = {name_format}
uid_min = {uid_min}
uid_max = {uid_max}
{gid_lines}
home = {home}
shell = /bin/bash
host = {host}

[sync]
listen = 127.0.0.1:{port}
state_db = {state_db}
token_file = {token_file}
publish_interval_ms = {publish_interval_ms}
{extra_sync}
{policy}
"""

DEFAULT_POLICY = """\
[role admin]
rank = 30
groups = sudo

[role user]
rank = 10

[ou web]
hosts = web-*, api-*

[rule everyone]
match = any
groups = Linux Users
role = user
ous = global

[rule admins]
match = any
groups = Linux Admins
role = admin
ous = global
"""


class Site:
    """A temporary /etc/entra + /var/lib/entra pair for one test."""

    def __init__(self, **overrides):
        self.dir = tempfile.mkdtemp(prefix="entra-test-")
        self.etc = os.path.join(self.dir, "etc")
        self.var = os.path.join(self.dir, "var")
        os.makedirs(self.etc, mode=0o755)
        os.makedirs(self.var, mode=0o755)
        self.port = overrides.pop("port", None) or free_port()
        self.values = dict(
            tenant_id="11111111-2222-3333-4444-555555555555",
            client_id="aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            authority="https://login.microsoftonline.com",
            ca_line="",
            cache_db=os.path.join(self.var, "cache.db"),
            state_db=os.path.join(self.var, "state.db"),
            token_file=os.path.join(self.etc, "scim.tokens"),
            name_format="short",
            home="/home/%u",
            uid_min=200000,
            uid_max=2000200000,
            gid_lines="",  # "gid_min = ...\ngid_max = ..." for a group range of its own
            host="web-01",
            port=self.port,
            publish_interval_ms=100,
            extra_sync="",
            policy=DEFAULT_POLICY,
        )
        self.values.update(overrides)
        self.config = os.path.join(self.etc, "entra.conf")
        self.write_config()

    def write_config(self, **changes):
        self.values.update(changes)
        with open(self.config, "w") as f:
            f.write(CONFIG_TEMPLATE.format(**self.values))
        os.chmod(self.config, 0o644)

    @property
    def cache_db(self):
        return self.values["cache_db"]

    @property
    def state_db(self):
        return self.values["state_db"]

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


def cli(site, *args, check=True, env=None):
    """Runs entra-sync -c CONFIG ARGS; returns CompletedProcess."""
    return subprocess.run([os.path.join(BUILD, "entra-sync"), "-c", site.config] + list(args),
                          capture_output=True, text=True, timeout=60, check=check, env=env)


class ScimClient:
    def __init__(self, base_url, token, context=None, timeout=30):
        self.base = base_url.rstrip("/")
        self.token = token
        self.context = context  # an ssl.SSLContext for https (the test CA), or None
        self.timeout = timeout

    def request(self, method, path, body=None, token=None, raw=None, headers=None):
        """Returns (status, headers, parsed JSON or None, raw bytes)."""
        url = path if path.startswith("http") else self.base + path
        data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
        req = urllib.request.Request(url, data=data, method=method)
        tok = self.token if token is None else token
        if tok:
            req.add_header("Authorization", "Bearer " + tok)
        if data is not None:
            req.add_header("Content-Type", "application/scim+json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=self.context) as resp:
                payload = resp.read()
                status, hdrs = resp.status, dict(resp.headers)
        except urllib.error.HTTPError as e:
            payload = e.read()
            status, hdrs = e.code, dict(e.headers)
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = None
        return status, hdrs, parsed, payload

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body, **kw):
        return self.request("PUT", path, body, **kw)

    def patch(self, path, body, **kw):
        return self.request("PATCH", path, body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)


class Syncd:
    """The real entra-syncd on a loopback port with a fresh bearer token."""

    def __init__(self, site, procs, extra_args=()):
        self.site = site
        self.procs = procs
        self.log_path = os.path.join(site.dir, "syncd.log")
        out = cli(site, "token", "new").stdout.strip().splitlines()
        self.token = out[-1].strip()
        self.client = ScimClient("http://127.0.0.1:%d/scim/v2" % site.port, self.token)
        self.extra_args = list(extra_args)
        self.proc = None
        self.start()

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = self.procs.start([os.path.join(BUILD, "entra-syncd"), "-c", self.site.config] + self.extra_args,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_for_port(self.site.port, self.proc)

    def stop(self, sig=signal.SIGTERM):
        rc = self.procs.stop(self.proc, sig)
        self.log.close()
        return rc

    def restart(self):
        self.stop()
        self.start()

    def reload(self):
        self.proc.send_signal(signal.SIGHUP)

    def logs(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_for_cache(self, predicate, timeout=10.0):
        """Polls cache.db until PREDICATE(sqlite3 connection) is true."""
        import sqlite3
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                con = sqlite3.connect("file:%s?mode=ro" % self.site.cache_db, uri=True)
                try:
                    if predicate(con):
                        return
                finally:
                    con.close()
            except sqlite3.Error as e:
                last = e
            time.sleep(0.05)
        raise TimeoutError("cache.db never reached the expected state (%s)" % last)


def entra_user(upn, external_id=None, active=True, given="Test", family="User", email=None):
    """A user body shaped exactly like Entra's provisioning service sends it."""
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",
                    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
        "externalId": external_id or upn.split("@")[0],
        "userName": upn,
        "active": active,
        "displayName": "%s %s" % (given, family),
        "emails": [{"primary": True, "type": "work", "value": email or upn}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": "%s %s" % (given, family), "familyName": family, "givenName": given},
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Engineering"},
    }
    return body


def entra_group(display_name, external_id, members=()):
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "externalId": external_id,
        "displayName": display_name,
        "members": [{"value": m} for m in members],
        "meta": {"resourceType": "Group"},
    }


def patch_body(*ops):
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": list(ops)}


def cache_schema_text():
    """common/cache_schema.h, the one source of cache.db's schema for the C writers and the tests."""
    return open(os.path.join(REPO, "common", "cache_schema.h")).read()


def cache_schema_sql():
    """The cache.db schema, taken from common/cache_schema.h so tests and C agree."""
    import re
    text = cache_schema_text()

    def expand(name):
        body = re.search(r"#define %s\b(.*?)(?<!\\)\n" % name, text, re.S).group(1)
        tokens = re.findall(r'"((?:[^"\\]|\\.)*)"|(ENTRA_CACHE_SQL_\w+)', body)
        return "".join(lit if lit or not macro else expand(macro) for lit, macro in tokens)
    return expand("ENTRA_CACHE_SCHEMA_SQL")


def cache_schema_number(name):
    """The number #define NAME holds in common/cache_schema.h, as text."""
    import re
    return re.search(r"#define %s (\d+)" % name, cache_schema_text()).group(1)


def cache_schema_version():
    """ENTRA_CACHE_SCHEMA_VERSION, as the meta row holds it."""
    return cache_schema_number("ENTRA_CACHE_SCHEMA_VERSION")


def cache_page_size():
    """ENTRA_CACHE_PAGE_SIZE: the page size entra-syncd writes."""
    return int(cache_schema_number("ENTRA_CACHE_PAGE_SIZE"))


def cache_schema_value(name):
    """The integer #define NAME holds in common/cache_schema.h (a number or a sum of them)."""
    import re
    expr = re.search(r"#define %s\s+([0-9 ()+*-]+)\n" % name, cache_schema_text()).group(1)
    return int(eval(expr, {"__builtins__": {}}))


def block_ends(uid):
    """entra_cache_block_ends() of common/cache_schema.h."""
    m = 0xffffffff
    uid &= m
    uid ^= uid >> 16
    uid = (uid * 0x85ebca6b) & m
    uid ^= uid >> 13
    uid = (uid * 0xc2b2ae35) & m
    uid ^= uid >> 16
    return uid % cache_schema_value("ENTRA_CACHE_BLOCK_SPACING") == 0


def block_entry(uid, name, gecos, home, shell):
    """One passwd_blocks entry: the uid (4 bytes, big-endian), then the four texts, NUL after each."""
    import struct
    return struct.pack(">I", uid) + b"".join(t.encode() + b"\0" for t in (name, gecos, home, shell))


def passwd_blocks(rows):
    """passwd_blocks rows (last_uid, entries) for passwd ROWS (uid, name, gecos, dir, shell), cut
    as entra-syncd cuts them (sync/publish/cache_blocks.c)."""
    fill, entry_max = cache_schema_value("ENTRA_CACHE_BLOCK_FILL"), cache_schema_value("ENTRA_CACHE_BLOCK_ENTRY_MAX")
    entries = [(r[0], block_entry(*r)) for r in sorted(rows)]
    entries = [(uid, e) for uid, e in entries if len(e) <= entry_max]
    blocks, cur = [], b""
    for i, (uid, e) in enumerate(entries):
        cur += e
        if i + 1 == len(entries) or block_ends(uid) or len(cur) >= fill:
            blocks.append((uid, cur))
            cur = b""
    return blocks


def write_passwd_blocks(con):
    """Fills passwd_blocks from CON's passwd table (as the writer does). A block has no gid (the
    reader serves gid = uid) and only texts and 32-bit uids: a tampered row whose gid is not its
    uid, or with values of other types, has no block form."""
    con.execute("DELETE FROM passwd_blocks")
    rows = con.execute("SELECT uid, name, gecos, dir, shell FROM passwd WHERE gid = uid").fetchall()
    rows = [r for r in rows if isinstance(r[0], int) and 0 <= r[0] < 2 ** 32 and all(isinstance(t, str) for t in r[1:])]
    con.executemany("INSERT INTO passwd_blocks VALUES(?,?)", passwd_blocks(rows))


def packed_members(users, members):
    """gid -> (member_uid_min, member_uid_max, member_names) as entra-syncd writes them: the
    names of the members that have an account, in uid order, each followed by a NUL byte."""
    names = {u["uid"]: u["name"] for u in users}
    by_gid = {}
    for gid, uid in members:
        if uid in names:
            by_gid.setdefault(gid, set()).add(uid)
    packed = {}
    for gid, uids in by_gid.items():
        uids = sorted(uids)
        packed[gid] = (uids[0], uids[-1], b"".join(names[uid].encode() + b"\0" for uid in uids))
    return packed


def in_key_order(rows, key):
    """ROWS sorted by KEY, as entra-syncd inserts them (primary key order: appending to a b-tree
    lays a table's pages out in that order); as given when a tampered value makes the keys
    incomparable."""
    try:
        return sorted(rows, key=key)
    except TypeError:
        return list(rows)


def write_cache(path, users=(), groups=(), members=(), local_members=(), meta=None, mode=0o644, ssh_keys=()):
    """Writes a cache.db the way entra-syncd publishes it (temp file + rename): tables in the
    writer's order, rows in primary key order, the secondary index made after the rows.
    users: dicts with name, uid and optional gid, gecos, dir, shell, upn, object_id, scim_id,
    role, login, expire. groups: dicts with name, gid, optional object_id, scim_id.
    members: (gid, uid) pairs. local_members: (uid, gid, name). ssh_keys: (uid, n, key)."""
    import sqlite3
    tmp = path + ".tmp-test"
    if os.path.exists(tmp):
        os.unlink(tmp)
    con = sqlite3.connect(tmp)
    con.execute("PRAGMA page_size = %d" % cache_page_size())
    statements = [q for q in cache_schema_sql().split(";") if q.strip()]
    deferred = [q for q in statements if q.strip().upper().startswith("CREATE INDEX")]
    con.executescript(";".join(q for q in statements if q not in deferred))
    info = {"schema_version": cache_schema_version(), "generation": "1", "published_at": str(int(time.time())),
            "host": "web-01", "uid_min": "200000", "uid_max": "2000200000"}
    info.update(meta or {})
    con.executemany("INSERT INTO meta VALUES(?,?)", list(info.items()))
    for u in in_key_order(users, lambda u: u["uid"]):
        name = u["name"]
        con.execute("INSERT INTO passwd VALUES(?,?,?,?,?,?,?,?,?,?,?,?)", (
            name, u["uid"], u.get("gid", u["uid"]), u.get("gecos", name), u.get("dir", "/home/" + name),
            u.get("shell", "/bin/bash"), u.get("upn", name + "@contoso.com"), u.get("object_id"),
            u.get("scim_id", "scim-" + name), u.get("role", "user"), u.get("login", 1),
            u.get("expire", -1)))
    write_passwd_blocks(con)
    packed = packed_members(users, members)
    for g in in_key_order(groups, lambda g: g["gid"]):
        con.execute("INSERT INTO groups VALUES(?,?,?,?,?,?,?)",
                    (g["name"], g["gid"], g.get("object_id"), g.get("scim_id", "scim-" + g["name"]))
                    + packed.get(g["gid"], (0, 0, b"")))
    con.executemany("INSERT INTO members VALUES(?,?)", in_key_order(members, lambda m: (m[0], m[1])))
    con.executemany("INSERT INTO ssh_keys VALUES(?,?,?)", in_key_order(ssh_keys, lambda k: (k[0], k[1])))
    con.executemany("INSERT INTO local_members VALUES(?,?,?)", in_key_order(local_members, lambda m: (m[0], m[1])))
    for q in deferred:
        con.execute(q)
    con.commit()
    con.close()
    os.chmod(tmp, mode)
    os.rename(tmp, path)
