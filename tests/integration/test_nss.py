"""libnss_scim.so.2 through real glibc (getent, id, getgrouplist) and through its entry points
(dlopen), in private mount namespaces whose /etc/nsswitch.conf says `files scim`."""

import os
import re
import time

import pytest

import harness
import nss_util
from nss_util import ADM_GID, SHADOW_GID, SUDO_GID, NssHost, standard_cache

pytestmark = pytest.mark.needs_root

MODULE = os.path.join(harness.BUILD, "libnss_scim.so.2")
SUCCESS, NOTFOUND, UNAVAIL = 1, 0, -1
EIO, ENOENT = 5, 2


@pytest.fixture
def host(site):
    return NssHost(site)


def lines(result):
    assert result.returncode >= 0, "crashed: " + result.stderr
    return result.stdout.splitlines()


def direct(host, *args):
    """Runs tests/tools/nss_buffers against the module; returns (returncode, stdout lines)."""
    r = host.run([host.tool("nss_buffers"), MODULE] + [str(a) for a in args])
    assert r.returncode in (0, 1, 2), "nss_buffers crashed (%d): %s" % (r.returncode, r.stderr)
    assert "ERROR: AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
    return r.returncode, r.stdout.splitlines()


# --- lookups ---------------------------------------------------------------------------------

def test_passwd_by_name_and_uid(site, host):
    standard_cache(site)
    assert lines(host.getent("passwd", "alice")) == ["alice:x:200001:200001:Alice Admin:/home/alice:/bin/bash"]
    assert lines(host.getent("passwd", "200002")) == ["bob:x:200002:200002:Bob Builder:/home/bob:/bin/bash"]
    assert host.getent("passwd", "nosuch").returncode == 2
    assert host.getent("passwd", "200999").returncode == 2
    # local accounts still come from files
    assert lines(host.getent("passwd", "root"))[0].startswith("root:x:0:0:")


def test_group_scim_and_private(site, host):
    standard_cache(site)
    assert lines(host.getent("group", "web-team")) == ["web-team:*:300001:alice,bob"]
    assert lines(host.getent("group", "300002")) == ["linux-admins:*:300002:alice"]
    assert lines(host.getent("group", "empty-group")) == ["empty-group:*:300003:"]
    # every account is also its own private group, gid = uid, no members
    assert lines(host.getent("group", "bob")) == ["bob:*:200002:"]
    assert lines(host.getent("group", "200001")) == ["alice:*:200001:"]
    assert host.getent("group", "300999").returncode == 2
    # local_members are for initgroups only, never group entries
    assert lines(host.getent("group", "sudo")) == ["sudo:x:%d:" % SUDO_GID]


def test_shadow_entries_carry_expiry(site, host):
    standard_cache(site, users=[
        {"name": "alice", "uid": 200001},
        {"name": "carol", "uid": 200003, "expire": 1},
        {"name": "dave", "uid": 200004, "expire": 19000},
        {"name": "eve", "uid": 200005, "expire": -7},
    ], members=[], local_members=[])
    assert lines(host.getent("shadow", "alice")) == ["alice:*::0:99999:7:::"]
    assert lines(host.getent("shadow", "carol")) == ["carol:*::0:99999:7::1:"]
    assert lines(host.getent("shadow", "dave")) == ["dave:*::0:99999:7::19000:"]
    # an expire value the contract does not define fails closed: disabled
    assert lines(host.getent("shadow", "eve")) == ["eve:*::0:99999:7::1:"]
    assert host.getent("shadow", "nosuch").returncode == 2


def test_enumeration_lists_local_and_scim(site, host):
    standard_cache(site)
    pw = lines(host.getent("passwd"))
    assert pw[0].startswith("root:")
    assert [l.split(":")[0] for l in pw[-3:]] == ["alice", "bob", "carol"]
    gr = lines(host.getent("group"))
    assert [l for l in gr if ":2000" in l or ":3000" in l] == [
        "alice:*:200001:", "bob:*:200002:", "carol:*:200003:",
        "web-team:*:300001:alice,bob", "linux-admins:*:300002:alice", "empty-group:*:300003:"]
    sp = lines(host.getent("shadow"))
    assert [l.split(":")[0] for l in sp[-3:]] == ["alice", "bob", "carol"]


def test_id_shows_scim_groups_and_role_local_groups(site, host):
    standard_cache(site)
    out = lines(host.run(["id", "alice"]))[0]
    assert out.startswith("uid=200001(alice) gid=200001(alice) groups=")
    groups = set(out.split("groups=")[1].split(","))
    assert groups == {"200001(alice)", "300001(web-team)", "300002(linux-admins)", "%d(sudo)" % SUDO_GID}
    out = lines(host.run(["id", "bob"]))[0]
    assert set(out.split("groups=")[1].split(",")) == {"200002(bob)", "300001(web-team)"}


# --- unavailable, corrupt, replaced ---------------------------------------------------------

def test_missing_cache_is_unavailable_and_local_names_resolve(site, host):
    assert not os.path.exists(site.cache_db)
    assert host.getent("passwd", "alice").returncode == 2
    assert host.getent("group", "web-team").returncode == 2
    assert lines(host.getent("passwd", "root"))[0].startswith("root:x:0:0:")
    assert lines(host.getent("group", "sudo")) == ["sudo:x:%d:" % SUDO_GID]
    rc, out = direct(host, "passwd", "alice")
    assert out == ["FAIL status=%d errno=%d size=1" % (UNAVAIL, ENOENT)]


def test_missing_or_invalid_config_is_unavailable(site, host):
    standard_cache(site)
    os.rename(site.config, site.config + ".away")
    rc, out = direct(host, "passwd", "alice")
    assert out == ["FAIL status=%d errno=%d size=1" % (UNAVAIL, ENOENT)]
    assert host.getent("passwd", "alice").returncode == 2
    with open(site.config, "w") as f:
        f.write("[accounts]\nno_such_key = 1\n")
    rc, out = direct(host, "passwd", "alice")
    assert out[0].startswith("FAIL status=%d " % UNAVAIL)
    assert lines(host.getent("passwd", "root"))[0].startswith("root:")


def version_1_cache(path):
    """A cache.db as the previous release's entra-syncd wrote it (schema version 1: groups
    without the packed member names), holding alice and web-team."""
    import sqlite3
    v1_groups = ("CREATE TABLE groups( name TEXT NOT NULL UNIQUE, gid INTEGER PRIMARY KEY, object_id TEXT,"
                 " scim_id TEXT NOT NULL);")
    schema = re.sub(r"CREATE TABLE groups\(.*?\);", v1_groups, harness.cache_schema_sql())
    assert schema != harness.cache_schema_sql()
    con = sqlite3.connect(path)
    con.executescript(schema)
    con.executemany("INSERT INTO meta VALUES(?,?)", [("schema_version", "1"), ("generation", "1"),
                                                     ("host", "web-01"), ("uid_min", "200000"),
                                                     ("uid_max", "2000200000"), ("published_at", "0")])
    con.execute("INSERT INTO passwd VALUES('alice',200001,200001,'Alice','/home/alice','/bin/bash',"
                "'alice@contoso.com',NULL,'s1','admin',1,-1)")
    con.execute("INSERT INTO groups VALUES('web-team',300001,NULL,'g1')")
    con.execute("INSERT INTO members VALUES(300001,200001)")
    con.commit()
    con.close()
    os.chmod(path, 0o644)


# What each later schema version added, dropped to make an older release's file.
ADDED_AFTER = {2: "DROP INDEX passwd_by_name; DROP TABLE passwd_blocks;", 3: "DROP INDEX passwd_by_name;"}


def older_cache(path, version):
    """A cache.db as an earlier release's entra-syncd wrote it (schema version 2: no passwd_blocks
    nor passwd_by_name; version 3: no passwd_by_name), holding alice and web-team."""
    import sqlite3
    harness.write_cache(path, users=[{"name": "alice", "uid": 200001}], groups=[{"name": "web-team", "gid": 300001}],
                        members=[(300001, 200001)])
    con = sqlite3.connect(path)
    con.executescript("%s UPDATE meta SET value = '%d' WHERE key = 'schema_version'; VACUUM;"
                      % (ADDED_AFTER[version], version))
    con.close()


def corrupt(site, how):
    standard_cache(site)
    path = site.cache_db
    if how == "garbage":
        data = os.urandom(16384)
    elif how == "truncated":
        data = open(path, "rb").read()
        data = data[:len(data) // 2]
    elif how == "truncated-page":
        data = open(path, "rb").read()
        data = data[:-4096]
    elif how == "header-only":
        data = open(path, "rb").read()[:100]
    elif how == "empty":
        data = b""
    elif how == "zeroed-pages":
        data = bytearray(open(path, "rb").read())
        data[4096:] = bytes(len(data) - 4096)
        data = bytes(data)
    if how in ("wrong-schema", "version-1", "version-2", "version-3", "no-tables", "directory"):
        os.unlink(path)
        if how == "wrong-schema":
            standard_cache(site, meta={"schema_version": "99"})
        elif how == "version-1":
            version_1_cache(path)
        elif how in ("version-2", "version-3"):
            older_cache(path, int(how[-1]))
        elif how == "no-tables":
            import sqlite3
            con = sqlite3.connect(path)
            con.execute("CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            con.execute("INSERT INTO meta VALUES('schema_version', '1')")
            con.commit()
            con.close()
        else:
            os.mkdir(path)
        return
    with open(path + ".bad", "wb") as f:
        f.write(data)
    os.rename(path + ".bad", path)


@pytest.mark.parametrize("how", ["garbage", "truncated", "truncated-page", "header-only", "empty",
                                 "zeroed-pages", "wrong-schema", "version-1", "version-2", "version-3",
                                 "no-tables", "directory"])
def test_corrupt_cache_is_unavailable_never_a_crash(site, host, how):
    corrupt(site, how)
    for db, key in (("passwd", "alice"), ("passwd", "200001"), ("group", "web-team"), ("shadow", "alice")):
        r = host.getent(db, key)
        assert r.returncode == 2, (db, key, r.stdout, r.stderr)
    for db in ("passwd", "group", "shadow"):
        r = host.getent(db)
        assert r.returncode == 0 and "alice" not in r.stdout, r.stderr
    assert host.run(["id", "alice"]).returncode == 1
    rc, out = direct(host, "passwd", "alice")
    assert re.fullmatch(r"FAIL status=%d errno=%d size=1" % (UNAVAIL, EIO), out[0]), out
    assert lines(host.getent("passwd", "root"))[0].startswith("root:")


def test_running_process_sees_replaced_cache_and_config(site, host, procs):
    standard_cache(site)
    p = host.start(procs, [host.tool("nss_lookup")], stdin=__import__("subprocess").PIPE)

    def ask(cmd):
        p.stdin.write(cmd + "\n")
        p.stdin.flush()
        return p.stdout.readline().strip()

    assert ask("pw alice") == "OK alice:x:200001:200001:Alice Admin:/home/alice:/bin/bash"
    assert ask("pw dave") == "NOTFOUND"
    standard_cache(site, users=[{"name": "alice", "uid": 200001, "gecos": "Alice Renamed", "role": "admin"},
                                {"name": "dave", "uid": 200004}],
                   members=[(300001, 200004)], local_members=[])
    assert ask("pw alice") == "OK alice:x:200001:200001:Alice Renamed:/home/alice:/bin/bash"
    assert ask("pw dave") == "OK dave:x:200004:200004:dave:/home/dave:/bin/bash"
    assert ask("uid 200002") == "NOTFOUND"
    assert ask("gr web-team") == "OK web-team:*:300001:dave"
    # a forked child does not reuse the parent's connection, and sees the same data
    assert ask("fork pw dave") == "OK dave:x:200004:200004:dave:/home/dave:/bin/bash"
    assert ask("fork groups dave") == "OK 200004 300001"
    # the config is re-read when it changes: a narrower uid range hides dave at once
    site.write_config(uid_max=200003)
    assert ask("pw dave") == "NOTFOUND"
    assert ask("pw alice").startswith("OK alice:")
    # a removed cache removes the accounts, a new one brings them back
    os.unlink(site.cache_db)
    assert ask("pw alice") == "NOTFOUND"  # glibc reports UNAVAIL with errno ENOENT
    standard_cache(site)
    assert ask("pw alice").startswith("OK alice:x:200001:")
    p.stdin.close()
    assert p.wait(timeout=10) == 0, p.stderr.read()


def run_threads_while_republishing(site, host, procs, *extra):
    """Runs nss_threads while cache.db is republished every 20 ms; returns its counters."""
    nusers = 50

    def publish(gen):
        users = [nss_util.user(n, gecos="User %d,uid=%d,gen=%d" % (n, nss_util.BASE_UID + n, gen))
                 for n in range(nusers)]
        team = [(300001, nss_util.BASE_UID + n) for n in range(gen % nusers + 1)]
        harness.write_cache(site.cache_db, users=users, groups=[{"name": "team", "gid": 300001}],
                            members=team, meta={"generation": str(gen)})

    publish(1)
    p = host.start(procs, [host.tool("nss_threads"), "4", str(nusers)] + list(extra))
    gen = 1
    while p.poll() is None:
        gen += 1
        publish(gen)
        time.sleep(0.02)
    out, err = p.communicate()
    assert p.returncode == 0, out + err
    m = re.search(r"lookups=(\d+) failures=(\d+) generations=(\d+) forks=(\d+) passes=(\d+)", out)
    assert m, out + err
    assert gen > 10
    counts = dict(zip(("lookups", "failures", "generations", "forks", "passes"), map(int, m.groups())))
    assert counts["failures"] == 0
    assert counts["lookups"] > 1000
    assert counts["generations"] >= 3, "threads never saw the republished caches: " + out
    return counts


def test_threads_while_cache_is_republished(site, host, procs):
    run_threads_while_republishing(site, host, procs)


def test_fork_while_threads_hold_the_lock(site, procs):
    build = nss_util.uninstrumented_build()
    if not build:
        pytest.skip("needs an uninstrumented build with tests (make B=build all tests): GCC 12's libasan "
                    "deadlocks in a child forked from a threaded process, inside its own allocator")
    counts = run_threads_while_republishing(site, NssHost(site, build=build), procs, "fork")
    assert counts["forks"] >= 20, counts


UNLOAD_DRIVER = r"""
import ctypes, os, sys
def ours():
    found = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            found += os.readlink("/proc/self/fd/" + fd) == sys.argv[2]
        except OSError:  # the directory listing's own descriptor
            pass
    return found
def loaded():
    return sys.argv[1] in open("/proc/self/maps").read()
lib = ctypes.CDLL(sys.argv[1], mode=os.RTLD_LOCAL)
pw, buf, err = ctypes.create_string_buffer(64), ctypes.create_string_buffer(1024), ctypes.c_int(0)
rc = lib._nss_scim_getpwnam_r(b"alice", pw, buf, ctypes.c_size_t(1024), ctypes.byref(err))
before = ours()
handle = lib._handle
del lib
import _ctypes
_ctypes.dlclose(handle)
print(rc, before, ours(), loaded())
"""


def test_unload_closes_the_cache_connection(host, site):
    """dlclose (as __libc_freeres does) runs the module's destructor: the cache.db descriptor
    it held for look-ups is closed and the module leaves the address space."""
    standard_cache(site)
    r = host.run(["/usr/bin/python3", "-c", UNLOAD_DRIVER, MODULE, site.cache_db])
    assert r.returncode == 0, r.stderr
    rc, open_before, open_after, still_mapped = r.stdout.split()
    assert (rc, open_before) == ("1", "1"), r.stdout
    assert still_mapped == "False", "dlclose did not unload the module"
    assert open_after == "0", "cache.db still open after dlclose"


# --- defence against a tampered cache --------------------------------------------------------

def tampered_cache(site):
    standard_cache(site, users=[
        {"name": "alice", "uid": 200001, "role": "admin"},
        {"name": "bob", "uid": 200002, "role": "user"},
        {"name": "zero", "uid": 0},
        {"name": "gidzero", "uid": 200010, "gid": 0},
        {"name": "low", "uid": 1500},
        {"name": "high", "uid": 3000000000},
        {"name": "evil:x", "uid": 200011},
        {"name": "12345", "uid": 200012},
        {"name": "badgecos", "uid": 200013, "gecos": "x\nroot:x:0:0::/:/bin/sh"},
        {"name": "relshell", "uid": 200014, "shell": "bin/sh"},
    ], groups=[
        {"name": "web-team", "gid": 300001},
        {"name": "rootgroup", "gid": 0},
        {"name": "lowgroup", "gid": 42},
        {"name": "bad,name", "gid": 300005},
    ], members=[(300001, 200001), (300001, 0), (300001, 200011), (0, 200001), (42, 200001)],
        local_members=[(200001, SUDO_GID, "sudo"), (200001, 0, "root"), (200001, SHADOW_GID, "shadow"),
                       (200002, SUDO_GID, "sudo"), (200001, ADM_GID, "sudo")],
        meta={"uid_min": "0", "uid_max": "4294967294"})


def test_tampered_rows_are_never_served(site, host):
    tampered_cache(site)
    for key in ("zero", "gidzero", "low", "1500", "high", "3000000000", "12345", "200012", "badgecos",
                "relshell", "200010", "200011"):
        assert host.getent("passwd", key).returncode == 2, key
    assert lines(host.getent("passwd", "0")) == [l for l in open("/etc/passwd").read().splitlines()
                                                 if l.startswith("root:")]
    for key in ("rootgroup", "lowgroup", "bad,name", "300005", "zero"):
        assert host.getent("group", key).returncode == 2, key
    # gid 42 resolves from /etc/group only, never to the cache's "lowgroup"
    assert "lowgroup" not in host.getent("group", "42").stdout
    ours = [l for l in lines(host.getent("passwd")) if ":2000" in l or "zero" in l or "evil" in l]
    assert [l.split(":")[0] for l in ours] == ["alice", "bob"]
    gr = [l for l in lines(host.getent("group")) if "*" in l.split(":")[1]]
    assert gr == ["alice:*:200001:", "bob:*:200002:", "web-team:*:300001:alice"]
    assert [l.split(":")[0] for l in lines(host.getent("shadow"))[-2:]] == ["alice", "bob"]


def test_tampered_local_groups_are_never_granted(site, host):
    tampered_cache(site)
    # alice (admin) keeps sudo; root (gid 0), shadow (not in [role admin] groups) and "sudo" with
    # adm's gid (does not match /etc/group) are dropped; bob's role "user" grants no local group
    out = lines(host.run(["id", "alice"]))[0]
    assert set(out.split("groups=")[1].split(",")) == {"200001(alice)", "300001(web-team)", "%d(sudo)" % SUDO_GID}
    out = lines(host.run(["id", "bob"]))[0]
    assert out.split("groups=")[1] == "200002(bob)"


def test_uid_range_comes_from_config_not_cache(site, host):
    site.write_config(uid_min=200000, uid_max=200001)
    standard_cache(site, meta={"uid_min": "1000", "uid_max": "4294967294"})
    assert lines(host.getent("passwd", "alice"))[0].startswith("alice:x:200001:")
    assert host.getent("passwd", "bob").returncode == 2
    # SCIM groups out of the configured range are hidden too, and so is their gid in id's output
    assert host.getent("group", "web-team").returncode == 2
    out = lines(host.run(["id", "alice"]))[0]
    assert set(out.split("groups=")[1].split(",")) == {"200001(alice)", "%d(sudo)" % SUDO_GID}


# --- buffers, enumeration cursor, initgroups ------------------------------------------------

def packed(*strings):
    return sum(len(s) + 1 for s in strings)


def group_size(name, members):
    """Bytes the module needs for a group: strings, alignment pad (malloc gives 16-aligned
    buffers), then the NULL-terminated pointer array."""
    used = packed(name, "*", *members)
    return used + (-used % 8) + 8 * (len(members) + 1)


@pytest.mark.parametrize("args,line,size", [
    (("passwd", "alice"), "alice:x:200001:200001:Alice Admin:/home/alice:/bin/bash",
     packed("alice", "x", "Alice Admin", "/home/alice", "/bin/bash")),
    (("passwd-uid", 200002), "bob:x:200002:200002:Bob Builder:/home/bob:/bin/bash",
     packed("bob", "x", "Bob Builder", "/home/bob", "/bin/bash")),
    (("group", "web-team"), "web-team:*:300001:alice,bob", group_size("web-team", ["alice", "bob"])),
    (("group-gid", 300002), "linux-admins:*:300002:alice", group_size("linux-admins", ["alice"])),
    (("group", "empty-group"), "empty-group:*:300003:", group_size("empty-group", [])),
    (("group", "carol"), "carol:*:200003:", group_size("carol", [])),
    (("group-gid", 200001), "alice:*:200001:", group_size("alice", [])),
    (("shadow", "carol"), "carol:*:-1:0:99999:7:-1:1:%d" % (2 ** 64 - 1), packed("carol", "*")),
])
def test_every_short_buffer_gets_erange(site, host, args, line, size):
    standard_cache(site)
    rc, out = direct(host, *args)
    assert rc == 0, out
    assert out == [line, "size=%d" % size]


def test_every_short_buffer_gets_erange_when_members_are_dropped(site, host):
    """Schema version 2's two member paths: the packed names with one that must not be served
    (a reserved name, dropped in place), and the join for a group whose members reach outside
    the configured uid range (a narrower [accounts] uid_max than the cache was published for)."""
    site.write_config(uid_max=200100)
    users = [{"name": "alice", "uid": 200001}, {"name": "root", "uid": 200002}, {"name": "bob", "uid": 200003},
             {"name": "dave", "uid": 250000}]
    groups = [{"name": "mixed", "gid": 200050}, {"name": "wide", "gid": 200051}]
    members = [(200050, 200001), (200050, 200002), (200050, 200003), (200051, 200001), (200051, 250000)]
    harness.write_cache(site.cache_db, users=users, groups=groups, members=members)
    for args, line, size in ((("group", "mixed"), "mixed:*:200050:alice,bob", group_size("mixed", ["alice", "bob"])),
                             (("group-gid", 200051), "wide:*:200051:alice", group_size("wide", ["alice"])),
                             (("grent",), None, None)):
        rc, out = direct(host, *args)
        assert rc == 0, out
        if line:
            assert out == [line, "size=%d" % size]
        else:  # enumeration: each entry first tried with 1 byte, then served whole
            assert out[-2:] == ["mixed:*:200050:alice,bob", "wide:*:200051:alice"], out


def test_short_buffer_does_not_advance_enumeration(site, host):
    standard_cache(site)
    rc, out = direct(host, "pwent")
    assert rc == 0 and [l.split(":")[0] for l in out] == ["alice", "bob", "carol"], out
    rc, out = direct(host, "grent")
    assert rc == 0 and out == ["alice:*:200001:", "bob:*:200002:", "carol:*:200003:",
                               "web-team:*:300001:alice,bob", "linux-admins:*:300002:alice",
                               "empty-group:*:300003:"], out
    rc, out = direct(host, "spent")
    assert rc == 0 and [l.split(":")[0] for l in out] == ["alice", "bob", "carol"], out


def test_every_short_buffer_gets_erange_in_enumeration(site, host):
    """getpwent and getgrent's private groups come from passwd_blocks (schema version 3), the SCIM
    groups from their rows: every size from 0 up to the one needed gives ERANGE and leaves the
    cursor, the first that fits gives the entry (long texts, the 256-byte name limit, UTF-8)."""
    long_name = "l" * 256
    users = [{"name": "alice", "uid": 200001, "gecos": "Alice Admin"},
             {"name": "bob", "uid": 200002, "gecos": "Zo\u00eb B\u00f6b", "dir": "/home/" + "d" * 300},
             {"name": long_name, "uid": 200003, "gecos": ""},
             {"name": "root", "uid": 200004}, {"name": "dave", "uid": 200005, "shell": "sh"},
             {"name": "erin", "uid": 200006, "gecos": "g" * 4000}]
    groups = [{"name": "web-team", "gid": 300001}]
    harness.write_cache(site.cache_db, users=users, groups=groups, members=[(300001, 200001), (300001, 200002)])
    served = [u for u in users if u["name"] not in ("root", "dave")]
    rc, out = direct(host, "pwent-sizes")
    assert rc == 0, out
    want = []
    for u in served:
        gecos, home = u.get("gecos", u["name"]), u.get("dir", "/home/" + u["name"])
        size = packed(u["name"], "x", gecos, home, "/bin/bash") + len(gecos.encode()) - len(gecos)
        want.append("%s:x:%d:%d:%s:%s:/bin/bash size=%d" % (u["name"], u["uid"], u["uid"], gecos, home, size))
    assert out == want
    rc, out = direct(host, "grent-sizes")
    assert rc == 0, out
    want = ["%s:*:%d: size=%d" % (u["name"], u["uid"], group_size(u["name"], [])) for u in served]
    assert out == want + ["web-team:*:300001:alice,bob size=%d" % group_size("web-team", ["alice", "bob"])]


# --- enumeration across a replaced cache ----------------------------------------------------

def publish_numbered(site, numbers, gen, corrupt=False):
    """Users userN (N in NUMBERS) whose gecos encodes uid and generation, so a torn entry shows."""
    users = [nss_util.user(n, gecos="User %d,uid=%d,gen=%d" % (n, nss_util.BASE_UID + n, gen)) for n in numbers]
    harness.write_cache(site.cache_db, users=users, meta={"generation": str(gen)})
    if corrupt:
        with open(site.cache_db, "r+b") as f:  # in place: the header says the file is longer
            f.truncate(os.path.getsize(site.cache_db) // 2)


class Enumerator:
    """A running nss_lookup that enumerates passwd through glibc; only our users are returned."""

    def __init__(self, host, procs):
        import subprocess
        self.p = host.start(procs, [host.tool("nss_lookup")], stdin=subprocess.PIPE)

    def ask(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        return self.p.stdout.readline().strip()

    def next(self, size=4096):
        """(n, gen) of the next userN, "END", or the error line; local accounts are skipped."""
        while True:
            out = self.ask("pwent %d" % size)
            if not out.startswith("OK "):
                return out
            f = out[3:].split(":")
            if int(f[2]) < nss_util.BASE_UID:
                continue
            m = re.fullmatch(r"User (\d+),uid=(\d+),gen=(\d+)", f[4])
            n = int(f[2]) - nss_util.BASE_UID
            # an untorn entry: every field belongs to the same account of the same snapshot
            assert m and f[0] == "user%d" % n and int(m.group(1)) == n and m.group(2) == f[2] == f[3], out
            assert f[5] == "/home/user%d" % n, out
            return n, int(m.group(3))

    def close(self):
        self.p.stdin.close()
        assert self.p.wait(timeout=10) == 0, self.p.stderr.read()


def test_enumeration_continues_across_a_replaced_cache(site, host, procs):
    publish_numbered(site, range(40), gen=1)
    e = Enumerator(host, procs)
    assert e.ask("setpw") == "OK"
    assert [e.next() for _ in range(10)] == [(n, 1) for n in range(10)]
    # new snapshot: even users from 20 on are gone, 40..49 are new
    publish_numbered(site, [n for n in range(50) if n < 20 or n % 2], gen=2)
    # within the recheck interval the scan may go on reading the snapshot it started on (gen 1,
    # like libnss_files reading a replaced /etc/passwd through its open stream) ...
    assert e.next() in ((10, 1), (10, 2))
    # ... until any look-up notices the new file: the scan resumes after the last uid it returned
    assert e.ask("pw user45").startswith("OK user45:")
    got = []
    while (entry := e.next()) != "END":
        got.append(entry)
    assert got == [(n, 2) for n in list(range(11, 20)) + list(range(21, 50, 2))]
    assert e.next() == "END"  # stays at the end until setpwent
    assert e.ask("setpw") == "OK"
    assert e.next() == (0, 2)
    e.close()


def test_enumeration_notices_a_replaced_cache_within_a_second(site, host, procs):
    publish_numbered(site, range(30), gen=1)
    e = Enumerator(host, procs)
    assert e.ask("setpw") == "OK"
    assert [e.next() for _ in range(5)] == [(n, 1) for n in range(5)]
    publish_numbered(site, range(30), gen=2)
    time.sleep(1.2)  # SCIM_SCAN_RECHECK_MS, with no look-up in between
    assert e.next() == (5, 2)
    e.close()


def test_enumeration_short_buffer_retry_returns_the_same_entry(site, host, procs):
    publish_numbered(site, range(20), gen=1)
    e = Enumerator(host, procs)
    assert e.ask("setpw") == "OK"
    assert e.next() == (0, 1)
    # glibc hands ERANGE back to the caller; the retry with a larger buffer gets the same entry
    assert e.ask("pwent 8") == "ERROR ERANGE"
    assert e.ask("pwent 8") == "ERROR ERANGE"
    assert e.next() == (1, 1)
    # a short buffer, then the cache is replaced and reopened: the retry still gets user2 (gen 2)
    assert e.ask("pwent 8") == "ERROR ERANGE"
    publish_numbered(site, range(20), gen=2)
    assert e.ask("pw user0").startswith("OK user0:")
    assert e.next() == (2, 2)
    # and when that pending user is gone from the new snapshot, the next one follows
    assert e.ask("pwent 8") == "ERROR ERANGE"
    publish_numbered(site, [n for n in range(20) if n != 3], gen=3)
    assert e.ask("pw user0").startswith("OK user0:")
    assert e.next() == (4, 3)
    e.close()


def test_enumeration_over_a_damaged_or_removed_cache_fails_cleanly(site, host, procs):
    publish_numbered(site, range(2000), gen=1)
    e = Enumerator(host, procs)
    assert e.ask("setpw") == "OK"
    assert [e.next() for _ in range(3)] == [(n, 1) for n in range(3)]
    publish_numbered(site, range(2000), gen=2, corrupt=True)
    assert e.ask("pw user0") == "ERROR EIO"  # UNAVAIL with EIO: the damaged file is refused
    assert e.next() == "END"  # the module answers UNAVAIL: no entry, no crash
    publish_numbered(site, range(10), gen=3)
    assert e.ask("setpw") == "OK"
    assert e.next() == (0, 3)
    os.unlink(site.cache_db)
    assert e.ask("pw user0") == "NOTFOUND"
    assert e.next() == "END"
    e.close()


def test_threads_enumerate_while_cache_is_republished(site, host, procs):
    # every getpwent/getgrent pass is checked by the tool: order, completeness, no torn entry
    counts = run_threads_while_republishing(site, host, procs, "enum")
    assert counts["passes"] >= 3, counts


def test_initgroups_dedupes_skips_primary_and_respects_limit(site, host):
    standard_cache(site)
    # 300001 already present, primary 200001 skipped, sudo from the admin role
    assert direct(host, "initgroups", "alice", 200001, 0, 300001) == (0, ["status=1 300001 300002 %d" % SUDO_GID])
    assert direct(host, "initgroups", "alice", 300002, 0) == (0, ["status=1 300001 %d" % SUDO_GID])
    # the array never grows past limit
    assert direct(host, "initgroups", "alice", 200001, 2, 5) == (0, ["status=1 5 300001"])
    assert direct(host, "initgroups", "bob", 200002, 0) == (0, ["status=1 300001"])
    assert direct(host, "initgroups", "nosuch", 1, 0) == (2, ["status=0"])



def test_a_100k_member_group_outside_the_range_is_served_whole(site, host):
    """The slow member path at its largest: one member ("far") lies above the configured
    uid_max, so the group's names come from the members b-tree joined with passwd, one rowid
    descent per member. All 100,000 of them fit one look-up's work bound."""
    n = 100000
    site.write_config(uid_max=400000)
    users = [{"name": "m%d" % i, "uid": 200001 + i} for i in range(n)] + [{"name": "far", "uid": 500000}]
    harness.write_cache(site.cache_db, users=users, groups=[{"name": "all", "gid": 350000}],
                        members=[(350000, u["uid"]) for u in users])
    r = host.getent("group", "all")
    assert r.returncode == 0, r.stderr
    name, _, gid, names = r.stdout.strip().split(":")
    assert (name, gid) == ("all", "350000")
    assert names.split(",") == ["m%d" % i for i in range(n)]
    # and whole in an enumeration too (its join reads page by page, outside the window)
    r = host.getent("group")
    lines = [line for line in r.stdout.splitlines() if line.startswith("all:")]
    assert r.returncode == 0 and len(lines) == 1, (r.returncode, r.stderr[-500:])
    assert lines[0].split(":")[3].split(",") == ["m%d" % i for i in range(n)]
