"""[accounts] end_sessions: deprovisioning ends live sessions, over a real sshd.

alice and bob hold SSH sessions (public keys, the account phase through pam_entra) on a real
sshd that resolves them through libnss_scim.so.2; entra-sync sessions --watch follows the
cache.db the real entra-syncd publishes. Entra disables or deletes alice over SCIM: her session
must end within 15 s of the SCIM response, bob's must still answer. The test host has no
systemd-logind (the view's /run is a private tmpfs), so most tests take the signal path; the
logind path (sd-bus, ListSessions, TerminateSession, TerminateUser, error names) is run against
a stand-in for logind on a private dbus-daemon (fake_logind.py), since logind itself needs
systemd as PID 1."""

import json
import os
import re
import subprocess
import time

import pytest

import harness
import sessions_util
import sshd_e2e_util
from sessions_util import HeldSession, Watcher

pytestmark = pytest.mark.needs_root  # namespaces, sshd, signals

PROMISE_S = 15  # the bound, from the SCIM response to the session's end


@pytest.fixture
def host(procs):
    with sshd_e2e_util.entra_host(procs) as h:
        held = []
        try:
            sessions_util.with_end_sessions(h.site.config)
            h.provision()
            h.start_sshd()
            h.keys = {name: h.authorize_new_key(name) for name in ("alice", "bob")}
            h.hold = lambda name: held.append(HeldSession(h.sshd.port, name, h.keys[name])) or held[-1]
            yield h
        finally:
            for session in held:
                session.close()


def scim_disable(host, name):
    """PATCH active "False" as Entra sends it; returns the monotonic time of the response."""
    status, _, _, raw = host.scim.patch("/Users/" + host.scim_ids[name], harness.patch_body(
        {"op": "Replace", "path": "active", "value": "False"}))
    assert status in (200, 204), raw
    return time.monotonic()


def scim_delete(host, name):
    status, _, _, raw = host.scim.delete("/Users/" + host.scim_ids[name])
    assert status == 204, raw
    return time.monotonic()


def assert_ended_in_time(session, since):
    left = PROMISE_S - (time.monotonic() - since)
    assert session.wait_ended(max(left, 0.1)) is not None, "the session outlived the %d s promise" % PROMISE_S
    assert time.monotonic() - since <= PROMISE_S


def test_disabled_users_session_ends_and_bobs_lives_on(procs, host):
    watcher = Watcher(procs, host.view, host.site.config, host.dir)
    alice, bob = host.hold("alice"), host.hold("bob")
    uid = host.uid("alice")
    assert sessions_util.processes_of(uid), "alice's session runs no process as alice"

    since = scim_disable(host, "alice")
    assert_ended_in_time(alice, since)
    assert bob.answers(), "bob's session was touched"
    logs = watcher.wait_for_log("ending process")
    assert "alice (uid %d) was disabled in Entra: ending its sessions" % uid in logs, logs
    assert re.search(r"ending process \d+ \((sshd|cat)\) of alice \(uid %d, disabled in Entra\)" % uid, logs), logs
    assert "logind: no /run/systemd/seats/: systemd-logind does not run; ending processes by signal" in logs, logs
    assert "of bob" not in logs and "bob (uid" not in logs, logs
    # Nothing of alice's is left, bob's session is whole, and the watcher keeps running.
    deadline = time.monotonic() + 5
    while sessions_util.processes_of(uid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sessions_util.processes_of(uid) == []
    assert sessions_util.processes_of(host.uid("bob"))
    assert watcher.proc.poll() is None
    # alice cannot come back with her key either (the account phase), and bob still answers.
    ok, _out, _status = key_login(host, "alice")
    assert not ok
    assert bob.answers()
    # SIGTERM stops it cleanly (under the sanitized build: no leak, no undefined behaviour).
    assert watcher.stop() == 0, watcher.logs()
    assert "Sanitizer" not in watcher.logs() and "runtime error" not in watcher.logs()
    assert "Terminated: stopping" in watcher.logs()


def key_login(host, name):
    import sshd_util
    return sshd_util.publickey_login(host.sshd.port, name, host.keys[name], "true")


def test_deleted_users_session_ends(procs, host):
    watcher = Watcher(procs, host.view, host.site.config, host.dir)
    alice, bob = host.hold("alice"), host.hold("bob")
    uid = host.uid("alice")
    since = scim_delete(host, "alice")
    assert_ended_in_time(alice, since)
    assert bob.answers()
    logs = watcher.wait_for_log("ending process")
    assert "alice (uid %d) was removed from this host: ending its sessions" % uid in logs, logs
    assert "of bob" not in logs and "bob (uid" not in logs, logs


def test_dry_run_lists_and_a_watcher_started_later_still_ends_them(procs, host):
    """A disabled account is disabled in cache.db itself: a watcher started (or restarted) after
    the change ends its sessions too. `entra-sync sessions` alone only lists them."""
    alice, bob = host.hold("alice"), host.hold("bob")
    uid = host.uid("alice")
    host.disable("alice")
    r = host.in_view(os.path.join(harness.BUILD, "entra-sync"), "-c", host.site.config, "sessions")
    assert r.returncode == 0, r.stdout + r.stderr
    assert re.search(r"^alice\tuid %d\tdisabled in Entra\tpid \d+ \((sshd|cat)\)$" % uid, r.stdout, re.M), r.stdout
    assert not re.search(r"^bob\t", r.stdout, re.M), r.stdout
    assert "systemd-logind does not run; end_sessions = yes" in r.stderr
    assert alice.answers(), "the dry run ended a session"

    started = time.monotonic()
    Watcher(procs, host.view, host.site.config, host.dir)
    assert_ended_in_time(alice, started)
    assert bob.answers()


def test_watch_refuses_to_run_without_end_sessions(procs, host):
    config = os.path.join(host.dir, "no-end-sessions.conf")
    with open(config, "w") as f:
        f.write(open(host.site.config).read().replace("end_sessions = yes", "end_sessions = no"))
    r = host.in_view(os.path.join(harness.BUILD, "entra-sync"), "-c", config, "sessions", "--watch")
    assert r.returncode == 1
    assert "[accounts] end_sessions is not yes in %s" % config in r.stderr, r.stderr


def test_one_watcher_at_a_time(procs, host):
    first = Watcher(procs, host.view, host.site.config, host.dir)
    r = host.in_view(os.path.join(harness.BUILD, "entra-sync"), "-c", host.site.config, "sessions", "--watch")
    assert r.returncode == 1
    assert "another watcher runs (pid %d" % watcher_pid(host) in r.stderr, r.stderr
    assert first.proc.poll() is None


def watcher_pid(host):
    r = host.in_view("cat", "/run/entra-sessions/watch.pid")
    return int(r.stdout.strip())


HOLD_SHARED = """import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
fcntl.flock(fd, fcntl.LOCK_SH)
print("holding", flush=True)
time.sleep(120)
"""


def test_no_other_user_can_keep_the_watcher_from_starting(procs, host):
    """A lock file an older watcher left world-readable, held shared by nobody: the watcher still
    starts, makes the file root's alone, and publishes its pid in a file of its own."""
    lock = "/run/entra-sessions/watch.lock"
    r = host.in_view("sh", "-c", "mkdir -p -m 0755 /run/entra-sessions && : > %s && chmod 0644 %s" % (lock, lock))
    assert r.returncode == 0, r.stderr
    log = os.path.join(host.dir, "holder.log")
    with open(log, "wb") as out:
        holder = procs.start(host.view.argv(["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups",
                                             "/usr/bin/python3", "-c", HOLD_SHARED, lock]),
                             env=dict(sessions_util.VIEW_ENV), stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while "holding" not in open(log).read():
        assert holder.poll() is None and time.monotonic() < deadline, open(log).read()
        time.sleep(0.05)
    watcher = Watcher(procs, host.view, host.site.config, host.dir)
    assert watcher.proc.poll() is None
    r = host.in_view("stat", "-c", "%a %U", lock, "/run/entra-sessions/watch.pid")
    assert r.stdout.split("\n")[:2] == ["600 root", "644 root"], r.stdout
    rc, row = doctor_sessions(host)
    assert row["status"] == "ok" and "the session watcher runs (pid %d)" % watcher_pid(host) in row["message"], row
    r = host.in_view("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "cat", lock)
    assert r.returncode != 0 and "Permission denied" in r.stderr, r.stderr


def doctor_sessions(host):
    checks = ",".join(["config", "cache", "identity", "provisioning", "nsswitch", "pam", "sshd", "clock",
                       "discovery", "tokens", "authd"])
    r = host.in_view(os.path.join(harness.BUILD, "entra-sync"), "-c", host.site.config, "--json", "doctor",
                     "--skip", checks)
    report = json.loads(r.stdout)
    (row,) = [c for c in report["checks"] if c["check"] == "sessions"]
    return r.returncode, row


def test_doctor_reports_whether_the_watcher_runs(procs, host):
    rc, row = doctor_sessions(host)
    assert rc == 1 and row["status"] == "fail", row
    assert "end_sessions = yes but no session watcher runs" in row["message"]
    assert row["fix"] == "systemctl enable --now entra-sessions.service"
    watcher = Watcher(procs, host.view, host.site.config, host.dir)
    rc, row = doctor_sessions(host)
    assert rc == 0 and row["status"] == "ok", row
    assert "the session watcher runs (pid %d)" % watcher_pid(host) in row["message"]
    watcher.stop()
    rc, row = doctor_sessions(host)  # the lock file stays, but nobody holds it
    assert rc == 1 and row["status"] == "fail", row



def test_only_entra_sync_links_libsystemd():
    """sd-bus (logind) is entra-sync's dependency alone: never the daemon, the broker or a module."""
    for name in ("entra-sync", "entra-syncd", "entra-authd", "libnss_scim.so.2", "pam_entra.so"):
        dynamic = subprocess.run(["readelf", "-d", os.path.join(harness.BUILD, name)], capture_output=True,
                                 text=True, check=True).stdout
        assert ("libsystemd.so" in dynamic) == (name == "entra-sync"), name


def test_logind_is_asked_first_when_it_runs(procs, host):
    """The logind path against a stand-in for logind on a private system bus (fake_logind.py;
    the real one needs systemd as PID 1): alice's sessions, and only hers, are terminated
    through it, then the signal sweep ends what is left (the stand-in ends nothing itself)."""
    alice_uid, bob_uid = host.uid("alice"), host.uid("bob")
    logind = sessions_util.FakeLogind(procs, host.dir, [["c1", alice_uid, "alice"], ["c2", bob_uid, "bob"],
                                                        ["c3", alice_uid, "alice"]])
    watcher = Watcher(procs, host.view, host.site.config, host.dir,
                      env={"DBUS_SYSTEM_BUS_ADDRESS": logind.address})
    alice, bob = host.hold("alice"), host.hold("bob")
    since = scim_disable(host, "alice")
    assert_ended_in_time(alice, since)
    assert bob.answers()
    logs = watcher.wait_for_log("ending process")
    assert "ended logind session c1 of alice (uid %d, disabled in Entra)" % alice_uid in logs, logs
    assert "ended logind session c3 of alice (uid %d, disabled in Entra)" % alice_uid in logs, logs
    assert "does not run" not in logs and "session c2" not in logs and "of bob" not in logs, logs
    assert logind.calls() == [["ListSessions"], ["TerminateSession", "c1"], ["TerminateSession", "c3"],
                              ["TerminateUser", alice_uid]]


def test_a_logind_failure_falls_back_to_signals(procs, host):
    alice_uid = host.uid("alice")
    logind = sessions_util.FakeLogind(procs, host.dir, [["c1", alice_uid, "alice"]], deny=True)
    watcher = Watcher(procs, host.view, host.site.config, host.dir,
                      env={"DBUS_SYSTEM_BUS_ADDRESS": logind.address})
    alice, bob = host.hold("alice"), host.hold("bob")
    since = scim_disable(host, "alice")
    assert_ended_in_time(alice, since)
    assert bob.answers()
    logs = watcher.wait_for_log("ending process")
    assert "logind: TerminateSession c1 failed: Access denied; the processes are signalled instead" in logs, logs
    assert "ended logind session" not in logs
    assert ["TerminateUser", alice_uid] in logind.calls()


def test_a_local_account_is_never_touched(procs, host):
    """carol is disabled in Entra, but this host's /etc/passwd (the view's) names her: her
    process lives on; alice, disabled after her, is ended, so the watcher did decide."""
    carol_uid = host.uid("carol")
    r = host.in_view("sh", "-c", "echo 'carol:x:%d:%d::/nonexistent:/usr/sbin/nologin' >> /etc/passwd"
                     % (carol_uid, carol_uid))
    assert r.returncode == 0, r.stderr
    carol = procs.start(host.view.argv(["setpriv", "--reuid=%d" % carol_uid, "--regid=%d" % carol_uid,
                                        "--clear-groups", "sleep", "600"]), env=dict(sessions_util.VIEW_ENV))
    deadline = time.monotonic() + 10
    while carol.pid not in sessions_util.processes_of(carol_uid):
        assert carol.poll() is None and time.monotonic() < deadline, "carol's process did not start"
        time.sleep(0.05)
    watcher = Watcher(procs, host.view, host.site.config, host.dir)
    alice = host.hold("alice")
    host.disable("carol")
    since = scim_disable(host, "alice")
    assert_ended_in_time(alice, since)
    time.sleep(0.5)
    assert carol.poll() is None, watcher.logs()
    assert "of carol" not in watcher.logs() and "carol (uid" not in watcher.logs()
    assert "alice (uid %d) was disabled in Entra" % host.uid("alice") in watcher.logs()


def test_a_process_that_ignores_sigterm_is_killed_after_the_grace_period(procs, host):
    """alice's process ignores SIGHUP and SIGTERM (SIG_IGN survives exec): SIGKILL after --grace."""
    uid = host.uid("alice")
    stubborn = procs.start(host.view.argv(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups",
                                           "sh", "-c", "trap '' HUP TERM; exec sleep 600"]),
                           env=dict(sessions_util.VIEW_ENV))
    deadline = time.monotonic() + 10
    while stubborn.pid not in sessions_util.processes_of(uid) or \
            "sleep" not in open("/proc/%d/comm" % stubborn.pid).read():
        assert stubborn.poll() is None and time.monotonic() < deadline, "the process did not start"
        time.sleep(0.05)
    watcher = Watcher(procs, host.view, host.site.config, host.dir, grace=2)
    since = scim_disable(host, "alice")
    stubborn.wait(timeout=PROMISE_S)
    assert time.monotonic() - since <= PROMISE_S
    assert stubborn.returncode == -9
    logs = watcher.wait_for_log("killed")
    assert "ending process %d (sleep) of alice" % stubborn.pid in logs, logs
    assert "killed process %d (sleep) of alice (uid %d, disabled in Entra): still running after the grace period" \
        % (stubborn.pid, uid) in logs, logs


def start_as(procs, host, uid):
    """A process (sleep) of UID in the view; waits until /proc shows it."""
    proc = procs.start(host.view.argv(["setpriv", "--reuid=%d" % uid, "--regid=%d" % uid, "--clear-groups",
                                       "sleep", "600"]), env=dict(sessions_util.VIEW_ENV))
    deadline = time.monotonic() + 10
    while proc.pid not in sessions_util.processes_of(uid):
        assert proc.poll() is None and time.monotonic() < deadline, "the process did not start"
        time.sleep(0.05)
    return proc


def test_a_hostile_cache_name_is_never_acted_on_nor_printed_raw(procs, host):
    """A cache.db whose disabled account is named with a terminal escape, at the host uid of an
    LXD container's root (1000000): the dry run refuses the file, prints no escape and lists
    nothing; the process lives on."""
    hostile_dir = os.path.join(host.dir, "hostile")
    os.makedirs(hostile_dir, mode=0o755)
    cache = os.path.join(hostile_dir, "cache.db")
    harness.write_cache(cache, users=[{"name": "x\x1b[2Jfake", "uid": 1000000, "expire": 1}])
    config = os.path.join(host.dir, "hostile.conf")
    with open(config, "w") as f:
        f.write(re.sub(r"(?m)^cache_db = .*$", "cache_db = " + cache, open(host.site.config).read()))
    victim = start_as(procs, host, 1000000)
    r = host.in_view(os.path.join(harness.BUILD, "entra-sync"), "-c", config, "sessions")
    assert "\x1b" not in r.stdout + r.stderr, (r.stdout, r.stderr)
    assert r.returncode == 1 and "uid 1000000 has a name libnss_scim does not serve" in r.stderr, r.stderr
    assert "pid %d" % victim.pid not in r.stdout
    assert victim.poll() is None


def test_a_subordinate_uid_is_never_touched(procs, host):
    """carol is disabled in Entra, but her uid lies in a /etc/subuid range (a container's or
    rootless podman's ids): the dry run does not list her process, the watcher leaves it be."""
    carol_uid = host.uid("carol")
    r = host.in_view("sh", "-c", "echo 'ops:%d:65536' >> /etc/subuid" % (carol_uid - 5))
    assert r.returncode == 0, r.stderr
    carol = start_as(procs, host, carol_uid)
    host.disable("carol")
    r = host.in_view(os.path.join(harness.BUILD, "entra-sync"), "-c", host.site.config, "sessions")
    assert r.returncode == 0, r.stderr
    assert not re.search(r"^carol\t", r.stdout, re.M), r.stdout
    watcher = Watcher(procs, host.view, host.site.config, host.dir)
    alice = host.hold("alice")
    since = scim_disable(host, "alice")
    assert_ended_in_time(alice, since)
    assert carol.poll() is None, watcher.logs()
    assert "carol (uid" not in watcher.logs()


def own_cache(host, users):
    """A config whose cache_db is a cache.db of the test's own (USERS as harness.write_cache
    takes them), for rounds the test composes itself; returns (config path, cache path)."""
    cache_dir = os.path.join(host.dir, "own-cache")
    os.makedirs(cache_dir, mode=0o755, exist_ok=True)
    cache = os.path.join(cache_dir, "cache.db")
    harness.write_cache(cache, users=users)
    config = os.path.join(host.dir, "own-cache.conf")
    with open(config, "w") as f:
        f.write(re.sub(r"(?m)^cache_db = .*$", "cache_db = " + cache, open(host.site.config).read()))
    return config, cache


def test_logind_is_asked_once_per_round(procs, host):
    """alice, bob and carol are disabled in one round: one ListSessions for all of them, each
    session terminated, TerminateUser only for the users that had one (carol had none)."""
    people = [{"name": n, "uid": host.uid(n)} for n in ("alice", "bob", "carol")]
    config, cache = own_cache(host, people)
    logind = sessions_util.FakeLogind(procs, host.dir, [["c1", people[0]["uid"], "alice"],
                                                        ["c2", people[1]["uid"], "bob"]])
    watcher = Watcher(procs, host.view, config, host.dir, env={"DBUS_SYSTEM_BUS_ADDRESS": logind.address})
    harness.write_cache(cache, users=[dict(p, expire=1) for p in people])
    watcher.wait_for_log("carol (uid %d) was disabled" % people[2]["uid"])
    deadline = time.monotonic() + 10
    while len(logind.calls()) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert logind.calls() == [["ListSessions"], ["TerminateSession", "c1"], ["TerminateSession", "c2"],
                              ["TerminateUser", people[0]["uid"]], ["TerminateUser", people[1]["uid"]]]


def test_a_mass_removal_is_taken_for_a_damaged_cache(procs, host):
    """Twelve accounts, then a cache.db holding one of them: no session is ended, the watcher
    says why and what to do; once they are back, nothing was lost."""
    users = [{"name": "acct%02d" % i, "uid": 700000 + i} for i in range(12)]
    config, cache = own_cache(host, users)
    victim = start_as(procs, host, users[3]["uid"])
    watcher = Watcher(procs, host.view, config, host.dir)
    harness.write_cache(cache, users=users[:1])
    logs = watcher.wait_for_log("11 of the 12 accounts known left")
    assert "restart entra-sessions.service to accept it" in logs
    time.sleep(1)
    assert victim.poll() is None, watcher.logs()
    assert "was removed from this host" not in watcher.logs()
