"""A hostile cache.db: entra-syncd runs unprivileged and writes the file every process on the
host reads through libnss_scim. Whatever it holds, look-ups answer at once (UNAVAIL or not
found), local accounts keep resolving, and no row it holds comes out as root or a system name."""

import os
import re
import sqlite3
import time

import pytest

import harness
from nss_util import NssHost, standard_cache

pytestmark = pytest.mark.needs_root

MODULE = os.path.join(harness.BUILD, "libnss_scim.so.2")
UNAVAIL, EIO, EACCES = -1, 5, 13
# A look-up against a refused file must come back at once, whatever the file holds. The bound
# is loose for a sanitized build on a loaded VM; a hang runs into the subprocess timeout.
PROMPT_S = 2.0

ENDLESS = ("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
           "SELECT 'x' || n AS name, 200000 + n AS uid, 200000 + n AS gid, '' AS gecos, '/h' AS dir, "
           "'/bin/sh' AS shell, '' AS upn, NULL AS object_id, '' AS scim_id, 'user' AS role, 1 AS login, "
           "-1 AS expire FROM r WHERE n < 0")


@pytest.fixture
def host(site):
    return NssHost(site)


def rebuild(site, edit):
    """The standard cache, then EDIT(connection) run on a copy that is renamed into place."""
    standard_cache(site)
    tmp = site.cache_db + ".edit"
    os.rename(site.cache_db, tmp)
    con = sqlite3.connect(tmp)
    edit(con)
    con.commit()
    con.close()
    os.chmod(tmp, 0o644)
    os.rename(tmp, site.cache_db)


def endless_view(con):
    con.executescript("DROP TABLE passwd; CREATE VIEW passwd AS " + ENDLESS + ";")


def endless_members(con):
    con.executescript("DROP TABLE members; CREATE VIEW members AS "
                      "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
                      "SELECT 300001 AS gid, 200001 AS uid FROM r; "
                      "CREATE INDEX members_by_uid ON passwd(uid, gid);")


def trigger(con):
    con.execute("CREATE TRIGGER t AFTER INSERT ON meta BEGIN SELECT 1; END")


def extra_table(con):
    con.execute("CREATE TABLE evil(x)")


def planner_stats(con):
    con.execute("ANALYZE")


def extra_index(con):
    con.execute("CREATE INDEX passwd_by_gecos ON passwd(gecos)")


def altered_column(con):
    con.executescript("ALTER TABLE passwd ADD COLUMN extra TEXT")


def ssh_keys_dropped(con):
    con.execute("DROP TABLE ssh_keys")


def ssh_keys_indexed(con):
    con.execute("CREATE INDEX ssh_keys_by_key ON ssh_keys(key)")


def timed(host, argv):
    t0 = time.monotonic()
    r = host.run(argv, timeout=30)
    return r, time.monotonic() - t0


@pytest.mark.parametrize("edit", [endless_view, endless_members, trigger, extra_table, planner_stats, extra_index,
                                  altered_column, ssh_keys_dropped, ssh_keys_indexed])
def test_schema_other_than_ours_is_refused_at_once(site, host, edit):
    rebuild(site, edit)
    for argv in (["getent", "passwd", "nosuchuser"], ["getent", "passwd", "alice"], ["getent", "group", "web-team"],
                 ["id", "alice"]):
        r, took = timed(host, argv)
        assert r.returncode in (1, 2) and took < PROMPT_S, (argv, r.returncode, took, r.stderr)
    # root's own look-ups (initgroups asks every source) still answer from files, promptly
    r, took = timed(host, ["id", "root"])
    assert r.returncode == 0 and r.stdout.startswith("uid=0(root)") and took < PROMPT_S, (r.stdout, took)
    r = host.run([host.tool("nss_buffers"), MODULE, "passwd", "alice"])
    assert re.fullmatch(r"FAIL status=%d errno=%d size=1" % (UNAVAIL, EIO), r.stdout.splitlines()[0]), r.stdout


def test_untrusted_owner_or_mode_is_refused(site, host):
    standard_cache(site)
    assert host.getent("passwd", "alice").returncode == 0
    checks = [
        lambda: os.chmod(site.cache_db, 0o666),          # anyone could have written it
        lambda: os.chmod(site.cache_db, 0o664),          # its group could have
        lambda: os.chown(site.cache_db, 4321, 4321),     # owned by someone who does not own the dir
        lambda: os.chmod(os.path.dirname(site.cache_db), 0o777),  # anyone could have replaced it
    ]
    for change in checks:
        standard_cache(site)
        os.chmod(os.path.dirname(site.cache_db), 0o755)
        change()
        r = host.getent("passwd", "alice")
        assert r.returncode == 2, r.stdout
        out = host.run([host.tool("nss_buffers"), MODULE, "passwd", "alice"]).stdout
        assert re.fullmatch(r"FAIL status=%d errno=%d size=1" % (UNAVAIL, EACCES), out.splitlines()[0]), out
    # the daemon's own directory and file (same owner, 0755/0644) are trusted
    standard_cache(site)
    os.chmod(os.path.dirname(site.cache_db), 0o755)
    os.chown(os.path.dirname(site.cache_db), 4321, 4321)
    os.chown(site.cache_db, 4321, 4321)
    assert host.getent("passwd", "alice").returncode == 0


def test_system_names_are_never_served(site, host):
    users = [{"name": "alice", "uid": 200001}, {"name": "root", "uid": 200002}, {"name": "daemon", "uid": 200003},
             {"name": "systemd-network", "uid": 200004}, {"name": "sudo", "uid": 200005}]
    groups = [{"name": "sudo", "gid": 300001}, {"name": "shadow", "gid": 300002}, {"name": "team", "gid": 300003}]
    members = [(300003, 200001), (300003, 200002)]
    harness.write_cache(site.cache_db, users=users, groups=groups, members=members)
    for uid in (200002, 200003, 200004, 200005):
        assert host.getent("passwd", str(uid)).returncode == 2, uid
        assert host.getent("group", str(uid)).returncode == 2, uid
    for gid in (300001, 300002):
        assert host.getent("group", str(gid)).returncode == 2, gid
    # the real root and sudo still come from files; the cache's "root" is no member of anything
    assert host.getent("passwd", "root").stdout.startswith("root:x:0:0:")
    assert host.getent("group", "team").stdout.strip() == "team:*:300003:alice"
    ours = [l.split(":")[0] for l in host.getent("passwd").stdout.splitlines() if ":2000" in l]
    assert ours == ["alice"]


def test_unsafe_text_is_never_served(site, host):
    """Text entra-syncd would never publish (controls, bidi overrides, invalid UTF-8) in a tampered cache."""
    users = [{"name": "alice", "uid": 200001, "gecos": "Alice M\u00fcller"},
             {"name": "csi", "uid": 200002, "gecos": "Mallory\u009b31m"},
             {"name": "bidi", "uid": 200003, "gecos": "Red\u202eevil"},
             {"name": "cutoff", "uid": 200004, "dir": "/home/\u2066x"}]
    harness.write_cache(site.cache_db, users=users)
    assert host.getent("passwd", "alice").stdout.strip() == "alice:x:200001:200001:Alice M\u00fcller:/home/alice:/bin/bash"
    for name in ("csi", "bidi", "cutoff"):
        assert host.getent("passwd", name).returncode == 2, name
    raw = host.run(["getent", "passwd"]).stdout
    assert "\u009b" not in raw and "\u202e" not in raw and "\u2066" not in raw


def test_names_entra_syncd_never_writes_are_never_served(site, host):
    """Only [a-z0-9_.@-]: no capital ("Root"), no byte of a multi-byte character (CSI as U+009B,
    a bidi override, a Cyrillic o), whatever the cache holds."""
    names = ["Root", "x\u009b31mRED", "evil\u202eexe", "r\u043eot", "Alice"]
    users = [{"name": "alice", "uid": 200001}] + [{"name": n, "uid": 200002 + i} for i, n in enumerate(names)]
    harness.write_cache(site.cache_db, users=users, groups=[{"name": "Team\u202e", "gid": 300001}],
                        members=[(300001, 200001)])
    for i in range(len(names)):
        assert host.getent("passwd", str(200002 + i)).returncode == 2, names[i]
    assert host.getent("group", "300001").returncode == 2
    ours = [l.split(":")[0] for l in host.getent("passwd").stdout.splitlines() if ":2000" in l]
    assert ours == ["alice"]


SWAPPER = r"""
import os, sys, time
cache, good, fifo = sys.argv[1:4]
deadline = time.monotonic() + float(sys.argv[4])
while time.monotonic() < deadline:
    os.link(good, cache + ".a"); os.rename(cache + ".a", cache)
    if os.path.lexists(cache + ".a"):  # rename between two links of one file does nothing
        os.unlink(cache + ".a")
    os.mkfifo(cache + ".b"); os.rename(cache + ".b", cache)
"""


def test_a_cache_swapped_for_a_fifo_never_hangs_a_look_up(site, host, procs):
    """The owner of the cache's directory renames a FIFO over it and back, over and over: the
    file SQLite opens is the one checked (never a FIFO, on which open() blocks), so no look-up
    waits, at most it finds nothing."""
    standard_cache(site)
    good = site.cache_db + ".good"
    os.link(site.cache_db, good)
    swapper = procs.start(["/usr/bin/python3", "-c", SWAPPER, site.cache_db, good, "fifo", "60"])
    try:
        found = 0
        for _ in range(150):
            r = host.run(["getent", "passwd", "alice"], timeout=5)  # a hang is a TimeoutExpired
            assert r.returncode in (0, 2), r.stderr
            found += r.returncode == 0
        assert swapper.poll() is None, "the swapper stopped early"
    finally:
        procs.stop(swapper)
    assert found > 0  # the good file was seen too: the race was real
