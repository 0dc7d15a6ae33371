"""Concurrency: parallel PATCHes to one group lose no member, and NSS look-ups from many
threads in many processes never fail or tear while cache.db is republished (by the test at a
high rate, and by the real entra-syncd under a stream of SCIM writes). Builds on the NSS
engineer's tests/tools/nss_threads (one process, 8 threads): here several run at once."""

import re
import threading
import time

import pytest

import harness
import hardening_util as hu
import nss_util
from nss_util import NssHost

WRITERS = 8
PER_WRITER = 40


def test_concurrent_patches_to_one_group_lose_no_member(syncd):
    client = syncd.client
    ids = hu.create_users(client, "cc", WRITERS * PER_WRITER)
    group_id = hu.create_group(client)
    errors = []

    def writer(w, op):
        c = harness.ScimClient(client.base, client.token)
        for n in range(w, len(ids), WRITERS):
            if op == "Remove" and n % 2:
                continue
            status, _, _, raw = c.patch("/Groups/" + group_id, harness.patch_body(
                {"op": op, "path": "members", "value": [{"value": ids[n]}]}))
            if status not in (200, 204):
                errors.append((op, n, status, raw[:200]))

    for op in ("Add", "Remove"):
        pool = [threading.Thread(target=writer, args=(w, op)) for w in range(WRITERS)]
        for t in pool:
            t.start()
        for t in pool:
            t.join(timeout=300)
        assert not errors, errors[:5]
        expect = set(ids) if op == "Add" else {ids[n] for n in range(len(ids)) if n % 2}
        got = hu.group_member_ids(client, group_id)
        assert len(got) == len(set(got)), "duplicate members"
        missing, extra = expect - set(got), set(got) - expect
        assert not missing and not extra, "%s: %d lost, %d unexpected" % (op, len(missing), len(extra))
    # The published snapshot agrees: the odd-numbered users are the group's members there too.
    syncd.wait_for_cache(lambda con: con.execute("SELECT count(*) FROM members").fetchone()[0] == len(expect))


def publish_generation(site, nusers, gen):
    """cache.db in nss_threads' format: gecos carries number, uid and generation of each entry."""
    users = [nss_util.user(n, gecos="User %d,uid=%d,gen=%d" % (n, nss_util.BASE_UID + n, gen)) for n in range(nusers)]
    team = [(300001, nss_util.BASE_UID + n) for n in range(gen % nusers + 1)]
    harness.write_cache(site.cache_db, users=users, groups=[{"name": "team", "gid": 300001}], members=team,
                        meta={"generation": str(gen)})


@pytest.mark.needs_root
def test_nss_threads_in_many_processes_during_republish(site, procs):
    """4 processes x 8 threads resolving passwd, group and initgroups while cache.db is
    replaced as fast as the test can write it: no failure and no torn entry in any of them."""
    nusers, seconds, nproc = 40, 4, 4
    host = NssHost(site)
    publish_generation(site, nusers, 1)
    workers = [host.start(procs, [host.tool("nss_threads"), str(seconds), str(nusers)]) for _ in range(nproc)]
    gen = 1
    while any(p.poll() is None for p in workers):
        gen += 1
        publish_generation(site, nusers, gen)
        time.sleep(0.01)
    total = 0
    for p in workers:
        out, err = p.communicate()
        assert p.returncode == 0, out + err
        m = re.search(r"lookups=(\d+) failures=(\d+) generations=(\d+)", out)
        assert m, out + err
        lookups, failures, generations = map(int, m.groups())
        assert failures == 0, out + err
        assert generations >= 3, "a process never saw the republished caches: " + out
        total += lookups
    assert gen > 10 and total > 4000, (gen, total)


@pytest.mark.needs_root
def test_getent_from_many_processes_while_syncd_republishes(site, procs):
    """Real republishes: a SCIM write stream keeps entra-syncd publishing while 4 workers run
    getent (a fresh process each time) for accounts that exist throughout."""
    syncd = harness.Syncd(site, procs)
    client = syncd.client
    group_id = hu.create_group(client)
    stable = hu.create_users(client, "stable", 10)
    client.patch("/Groups/" + group_id, harness.patch_body(
        {"op": "Add", "path": "members", "value": [{"value": v} for v in stable]}))
    names = ["stable%d" % n for n in range(10)]
    syncd.wait_for_cache(lambda con: set(names) <= {r[0] for r in con.execute("SELECT name FROM passwd")})
    host = NssHost(site)
    stream = hu.WriteStream(client, group_id, "churn")
    watcher = hu.SnapshotWatcher(site.cache_db)
    failures, lookups = [], [0]
    deadline = time.monotonic() + 6

    def resolver(w):
        while time.monotonic() < deadline:
            r = host.getent("passwd", *names)
            got = [line.split(":") for line in r.stdout.splitlines()]
            if r.returncode != 0 or [g[0] for g in got] != names or any(len(g) != 7 for g in got):
                failures.append((r.returncode, r.stdout[-300:], r.stderr[-300:]))
            r = host.getent("group", "linux-users")
            if r.returncode != 0 or not set(names) <= set(r.stdout.strip().split(":")[-1].split(",")):
                failures.append(("group", r.returncode, r.stdout[-300:], r.stderr[-300:]))
            lookups[0] += 2

    stream.start()
    watcher.start()
    pool = [threading.Thread(target=resolver, args=(w,)) for w in range(4)]
    for t in pool:
        t.start()
    for t in pool:
        t.join(timeout=120)
    stream.stopping.set()
    stream.join(timeout=30)
    watcher.stop()
    assert not stream.errors, stream.errors[:3]
    assert not failures, failures[:3]
    assert not watcher.failures, watcher.failures[:3]
    assert len(stream.acked_users) > 20, "too few writes to cause republishes"
    assert watcher.last_generation > 3 and lookups[0] > 40, (watcher.last_generation, lookups[0])
