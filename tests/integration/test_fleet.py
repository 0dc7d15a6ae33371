"""The fleet (issue 14): one hub that Entra provisions, followers that mirror it over the
change feed. Real daemons on loopback with TLS, real state.db and cache.db files, getent through
glibc and libnss_scim in a private namespace per follower; only Entra is simulated (SCIM writes)."""

import json
import os
import signal
import sqlite3
import threading
import time

import pytest

import fleet_util
import harness
import nss_util
import syncd_util

pytestmark = pytest.mark.needs_root

USERS_GROUP = "aaaaaaaa-0000-0000-0000-000000000001"
ADMINS_GROUP = "aaaaaaaa-0000-0000-0000-000000000002"
DB_GROUP = "aaaaaaaa-0000-0000-0000-000000000003"
WEB_GROUP = "aaaaaaaa-0000-0000-0000-000000000004"

FLEET_POLICY = harness.DEFAULT_POLICY + """
[ou db]
hosts = db-*

[rule dbadmins]
groups = DB Admins
role = admin
ous = db

[rule webteam]
groups = Web Team
role = user
ous = web
"""


@pytest.fixture
def hub(procs):
    h = fleet_util.Hub(procs, policy=FLEET_POLICY)
    yield h
    procs.stop_all()
    h.cleanup()


def add_members(hub, group_id, *user_ids):
    body = harness.patch_body({"op": "add", "path": "members", "value": [{"value": u} for u in user_ids]})
    status, _h, _b, raw = hub.scim.patch("/Groups/" + group_id, body)
    assert status == 204, raw


def getent_passwd(follower, name):
    """The passwd line glibc returns on FOLLOWER's host for NAME, or None."""
    out = nss_util.NssHost(follower.site).getent("passwd", name)
    return out.stdout.strip() if out.returncode == 0 else None


def uid_of(line):
    return int(line.split(":")[2])


# --- follower tokens -------------------------------------------------------------------------


def test_follower_token_reads_the_feed_and_never_scim(hub):
    listing = harness.cli(hub.site, "token", "list").stdout
    assert " follow " in listing and " scim " in listing
    for method, path, body in (("GET", "/Users", None), ("POST", "/Users", harness.entra_user("x@contoso.com")),
                               ("PATCH", "/Groups/nope", harness.patch_body()), ("DELETE", "/Users/nope", None),
                               ("GET", "/ServiceProviderConfig", None)):
        status, _h, parsed, raw = hub.scim.request(method, path, body=body, token=hub.follow_token)
        assert status == 403, (method, path, raw)
        assert parsed["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert "follower token" in parsed["detail"]
    assert hub.scim.get("/Users?filter=" + "userName%20eq%20%22x%40contoso.com%22")[2]["totalResults"] == 0
    # a SCIM token cannot read the feed, no token is 401, the follower token is 204 on auth
    assert hub.feed.get("/snapshot", token=hub.token)[0] == 403
    assert hub.feed.get("/changes?hub=x&after=0", token=hub.token)[0] == 403
    assert hub.feed.get("/auth", token="")[0] == 401
    assert hub.feed.get("/auth", token="not-a-token-at-all")[0] == 401
    assert hub.feed.get("/auth")[0] == 204
    # revoked the same way as a SCIM token
    ident = [line.split()[0] for line in listing.splitlines() if " follow " in line][0]
    harness.cli(hub.site, "token", "revoke", ident)
    assert hub.feed.get("/auth")[0] == 401


# --- the feed protocol ---------------------------------------------------------------------------


def test_feed_snapshot_changes_long_poll_and_gone_cursors(hub):
    alice = hub.create_user("alice@contoso.com")
    # the hub allocates a uid for every user of the directory (not only those of its own host)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status, headers, snap, _raw = hub.feed.get("/snapshot")
        if ["u:" + alice] == [key for key, _uid in snap["ids"]]:
            break
        time.sleep(0.1)
    assert status == 200 and headers["Content-Type"] == "application/json"
    assert headers["Cache-Control"].startswith("public, max-age=") and headers["ETag"]
    assert [u["id"] for u in snap["users"]] == [alice]
    assert snap["policy"]["uid_min"] == 200000 and {r["name"] for r in snap["policy"]["rules"]} >= {"dbadmins"}
    hub_id, cursor = snap["hub"], snap["cursor"]
    # the same snapshot while nothing changes (one answer in memory for a whole fleet)
    snap_etag = headers["ETag"]
    again = hub.feed.get("/snapshot")
    assert again[1]["ETag"] == snap_etag and again[2] == snap
    # changes after the snapshot's cursor, in order, until the log is drained
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        status, headers, body, _raw = hub.feed.get("/changes?hub=%s&after=%d&wait=0" % (hub_id, cursor))
        assert status == 200
        if not body["changes"]:
            assert headers["Cache-Control"] == "no-store" and body["cursor"] == cursor
            break
        assert "immutable" in headers["Cache-Control"] and headers["ETag"]
        assert body["cursor"] > cursor
        cursor = body["cursor"]
    else:
        raise AssertionError("the change log never drained")
    # a held long-poll returns as soon as a write lands
    result = {}

    def poll():
        t0 = time.monotonic()
        result["answer"] = hub.feed.get("/changes?hub=%s&after=%d&wait=30" % (hub_id, cursor))
        result["seconds"] = time.monotonic() - t0

    t = threading.Thread(target=poll)
    t.start()
    time.sleep(1.0)
    assert t.is_alive(), "the long-poll was answered before any change"
    bob = hub.create_user("bob@contoso.com")
    t.join(20)
    status, _h, body, _raw = result["answer"]
    assert status == 200 and any(c.get("id") == bob for c in body["changes"])
    status, headers2, snap2, _raw = hub.feed.get("/snapshot")
    assert headers2["ETag"] != snap_etag and bob in [u["id"] for u in snap2["users"]]
    assert 1.0 <= result["seconds"] < 10
    # nothing happens: answered empty when the wait ends
    status, headers, body, _raw = hub.feed.get("/changes?hub=%s&after=%d&wait=1" % (hub_id, body["cursor"] + 1))
    assert status in (200, 410)
    # another hub id, or a cursor beyond the log: resnapshot
    for query in ("hub=not-this-hub&after=0", "hub=%s&after=%d" % (hub_id, 10**9)):
        status, headers, body, _raw = hub.feed.get("/changes?" + query)
        assert status == 410 and body["error"] == "resnapshot", body
        assert headers["Cache-Control"] == "no-store"


# --- the fleet -----------------------------------------------------------------------------------


def build_directory(hub):
    ids = {}
    for name in ("alice", "carol", "dave", "wendy"):
        ids[name] = hub.create_user("%s@contoso.com" % name, active=(name != "carol"))
    users = hub.create_group("Linux Users", USERS_GROUP)
    hub.create_group("Linux Admins", ADMINS_GROUP)
    db = hub.create_group("DB Admins", DB_GROUP)
    web = hub.create_group("Web Team", WEB_GROUP)
    add_members(hub, users, ids["alice"], ids["carol"])
    add_members(hub, db, ids["dave"])
    add_members(hub, web, ids["wendy"])
    ids["group:users"] = users
    return ids


EXPECTED = {"web-01": {"alice", "carol", "wendy"}, "db-01": {"alice", "carol", "dave"},
            "api-01": {"alice", "carol", "wendy"}}


def accounts(follower):
    return {row[0] for row in follower.cache_rows("SELECT name FROM passwd") or []}


def wait_for_accounts(followers, expected=EXPECTED, timeout=20):
    for f in followers:
        want = expected[f.site.values["host"]]
        f.wait_for(lambda: accounts(f) == want, timeout=timeout, what=str(sorted(want)))


@pytest.fixture
def fleet(hub, procs):
    ids = build_directory(hub)
    followers = [fleet_util.Follower(procs, hub, host) for host in ("web-01", "db-01", "api-01")]
    wait_for_accounts(followers)
    yield hub, followers, ids
    for f in followers:
        f.cleanup()


def test_three_followers_get_the_hubs_accounts_rules_and_ids(fleet):
    hub, followers, _ids = fleet
    hub_uids = dict(sqlite3.connect("file:%s?mode=ro" % hub.site.cache_db, uri=True)
                    .execute("SELECT name, uid FROM passwd").fetchall())
    seen = {}
    for f in followers:
        for name in accounts(f):
            line = getent_passwd(f, name)
            assert line, (f.site.values["host"], name)
            # externalId is the mailNickname here: the uid still comes from the hub
            seen.setdefault(name, set()).add(uid_of(line))
        # the followers' policy is the hub's: home and shell too
        assert getent_passwd(f, "alice").endswith(":/home/alice:/bin/bash")
    assert all(len(uids) == 1 for uids in seen.values()), seen
    for name, uid in hub_uids.items():
        assert seen[name] == {uid}
    assert getent_passwd(followers[0], "dave") is None  # DB Admins reach db-* only
    # disabled in Entra: the account stays and is expired on every follower
    for f in followers:
        shadow = nss_util.NssHost(f.site).getent("shadow", "carol").stdout.strip().split(":")
        assert shadow[0] == "carol" and shadow[7] not in ("", "-1"), shadow
        alice = nss_util.NssHost(f.site).getent("shadow", "alice").stdout.strip().split(":")
        assert alice[7] == "", alice


def test_a_hub_change_reaches_glibc_on_every_follower_within_3_seconds(fleet):
    hub, followers, ids = fleet
    erin = hub.create_user("erin@contoso.com")
    start = time.monotonic()
    add_members(hub, ids["group:users"], erin)
    for f in followers:
        f.wait_for(lambda: getent_passwd(f, "erin") is not None, timeout=10, what="erin through glibc")
        elapsed = time.monotonic() - start
        assert elapsed < 3.0, "%s saw erin after %.2f s" % (f.site.values["host"], elapsed)
    # and a disable reaches them the same way
    status, _h, _b, raw = hub.scim.patch("/Users/" + ids["alice"], harness.patch_body(
        {"op": "Replace", "path": "active", "value": "False"}))
    assert status in (200, 204), raw
    for f in followers:
        f.wait_for(lambda: (f.cache_rows("SELECT expire FROM passwd WHERE name = 'alice'") or [(-1,)])[0][0] != -1,
                   timeout=5, what="alice expired")


def test_ssh_keys_from_entra_reach_every_follower_that_allows_the_user(fleet):
    hub, followers, ids = fleet
    urn = "urn:ietf:params:scim:schemas:extension:entra-login:2.0:User"
    key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE4cghccFrWp2YaqANY+RuEvCb7/jm7a8Wmvm13rjayN alice@laptop"
    status, _h, _b, raw = hub.scim.patch("/Users/" + ids["alice"], harness.patch_body(
        {"op": "Add", "path": urn + ":sshPublicKey", "value": key}))
    assert status in (200, 204), raw
    sql = "SELECT k.key FROM ssh_keys k JOIN passwd p ON p.uid = k.uid WHERE p.name = 'alice'"
    for f in followers:  # the keys live in their own state.db column, not in the user's JSON
        f.wait_for(lambda: [r[0] for r in f.cache_rows(sql) or []] == [key], timeout=10, what="alice's key")
    status, _h, _b, raw = hub.scim.patch("/Users/" + ids["alice"], harness.patch_body(
        {"op": "Remove", "path": urn + ":sshPublicKey"}))
    assert status in (200, 204), raw
    for f in followers:
        f.wait_for(lambda: not f.cache_rows(sql), timeout=10, what="alice's key removed")


def test_followers_keep_serving_while_the_hub_is_down_and_catch_up(fleet):
    hub, followers, ids = fleet
    hub.stop(signal.SIGKILL)
    time.sleep(1.5)
    for f in followers:
        assert getent_passwd(f, "alice") is not None
        assert f.proc.poll() is None
    hub.start()
    frank = hub.create_user("frank@contoso.com")
    add_members(hub, ids["group:users"], frank)
    for f in followers:
        f.wait_for(lambda: getent_passwd(f, "frank") is not None, timeout=20, what="frank after the hub restart")
    assert "cache.db keeps serving the last mirror" in followers[0].logs()


def test_a_stopped_follower_catches_up_after_its_restart(fleet):
    hub, followers, ids = fleet
    f = followers[1]
    f.stop()
    gina = hub.create_user("gina@contoso.com")
    add_members(hub, ids["group:users"], gina)
    time.sleep(0.5)
    assert getent_passwd(f, "gina") is None and getent_passwd(f, "alice") is not None
    f.start()
    f.wait_for(lambda: getent_passwd(f, "gina") is not None, timeout=15, what="gina after the restart")
    assert "resuming hub" in f.logs()
    assert f.logs().count("snapshot of hub") == 1  # resumed from its cursor, no second snapshot


def test_a_gone_cursor_leads_to_a_clean_resnapshot(fleet):
    hub, followers, ids = fleet
    f = followers[2]
    f.stop()
    henry = hub.create_user("henry@contoso.com")
    add_members(hub, ids["group:users"], henry)
    time.sleep(0.5)  # the hub allocates henry's uid
    # the hub's log no longer holds what the follower needs (as after a long absence)
    con = sqlite3.connect(hub.site.state_db, timeout=10)
    con.execute("DELETE FROM publish_changes WHERE seq < (SELECT max(seq) FROM publish_changes)")
    con.commit()
    con.close()
    before = accounts(f)
    counts = []
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            counts.append(len(f.cache_rows("SELECT name FROM passwd") or []))
            time.sleep(0.005)

    w = threading.Thread(target=watch)
    w.start()
    f.start()
    try:
        f.wait_for(lambda: "henry" in accounts(f), timeout=15, what="henry after the new snapshot")
    finally:
        stop.set()
        w.join()
    assert "taking a new snapshot" in f.logs()
    assert min(counts) >= len(before), "accounts vanished during the re-snapshot: %s" % sorted(set(counts))
    assert accounts(f) == before | {"henry"}


def test_a_follower_file_with_its_own_rule_is_refused(hub, procs):
    f = fleet_util.Follower(procs, hub, "web-09", start=False)
    with open(f.site.config, "a") as cfg:
        cfg.write("\n[rule local]\ngroups = Linux Users\nrole = admin\nous = global\n")
    out = syncd_util.run_daemon_expecting_exit(f.site)
    assert out.returncode != 0
    assert "[rule local] in a follower's file" in out.stderr
    assert "from its hub" in out.stderr
    f.cleanup()


def test_status_doctor_and_rules_explain_for_another_host(fleet):
    hub, followers, _ids = fleet
    f = followers[1]
    hub_id = hub.feed.get("/snapshot")[2]["hub"]
    text = harness.cli(f.site, "status").stdout
    assert "follower of:   hub %s via %s" % (hub_id, hub.url) in text, text
    assert "cursor:" in text and "last contact:" in text and "lag:" in text
    assert "this host:     db-01: 3 accounts" in text  # decided with the hub's policy
    status = json.loads(harness.cli(f.site, "--json", "status").stdout)["follow"]
    assert status["hub"] == hub_id and status["cursor"] > 0 and 0 <= status["seconds_since_contact"] < 60
    doctor = json.loads(harness.cli(f.site, "--json", "doctor", check=False).stdout)
    follow = [c for c in doctor["checks"] if c["check"] == "follow"][0]
    assert follow["status"] == "ok", follow
    # silent for longer than max_silence: doctor warns and says what to try
    f.stop()
    con = sqlite3.connect(f.site.state_db)
    con.execute("UPDATE kv SET value = ? WHERE key = 'follow_contact'", (str(int(time.time()) - 3600),))
    con.commit()
    con.close()
    doctor = json.loads(harness.cli(f.site, "--json", "doctor", check=False).stdout)
    follow = [c for c in doctor["checks"] if c["check"] == "follow"][0]
    assert follow["status"] == "warn" and "max_silence = 60" in follow["message"], follow
    assert "/feed/v1/auth" in follow["fix"]
    # the hub's uid range outside what nss_scim shows on this host: doctor fails and says the fix
    f.site.write_config(uid_min=300000)
    doctor = json.loads(harness.cli(f.site, "--json", "doctor", check=False).stdout)
    fails = [c for c in doctor["checks"] if c["check"] == "follow" and c["status"] == "fail"]
    assert fails and "uid_min = 200000" in fails[0]["fix"], doctor["checks"]
    # the hub explains any host's decision
    out = harness.cli(hub.site, "rules", "explain", "dave@contoso.com", "--host", "db-01").stdout
    assert "host db-01: covered by OU db" in out, out
    out = harness.cli(hub.site, "rules", "explain", "dave@contoso.com", "--host", "web-01").stdout
    assert "host web-01: not covered" in out, out


GROUP_RANGE = (2001000000, 2147000000)  # etc/entra.conf's gid_min..gid_max
GROUP_LINES = "gid_min = %d\ngid_max = %d" % GROUP_RANGE


def test_a_hubs_group_range_reaches_followers_and_glibc(procs):
    """[accounts] gid_min..gid_max on the hub: its groups get gids there, followers mirror them
    through the policy, and glibc shows them (getent group, id) on a follower whose file has the
    range; doctor on one whose file lacks it fails and says the fix."""
    hub = fleet_util.Hub(procs, policy=FLEET_POLICY, gid_lines=GROUP_LINES)
    followers = []
    try:
        build_directory(hub)
        hub_gids = {}
        deadline = time.monotonic() + 20
        while not hub_gids and time.monotonic() < deadline:
            time.sleep(0.1)
            if os.path.exists(hub.site.cache_db):
                hub_gids = dict(sqlite3.connect("file:%s?mode=ro" % hub.site.cache_db, uri=True)
                                .execute("SELECT name, gid FROM groups").fetchall())
        assert hub_gids and all(GROUP_RANGE[0] <= g <= GROUP_RANGE[1] for g in hub_gids.values()), hub_gids
        f = fleet_util.Follower(procs, hub, "web-01", start=False)
        f.site.write_config(gid_lines=GROUP_LINES)
        f.start()
        followers.append(f)
        wait_for_accounts([f])
        host = nss_util.NssHost(f.site)
        name, gid = [(n, g) for n, g in hub_gids.items() if "users" in n][0]
        line = host.getent("group", name).stdout.strip()
        assert line.startswith("%s:*:%d:" % (name, gid)) and "alice" in line.split(":")[3], line
        assert host.getent("group", str(gid)).stdout.strip() == line
        assert str(gid) in host.run(["id", "-G", "alice"]).stdout.split()
        assert name in {row.split(":")[0] for row in host.getent("group").stdout.splitlines()}
        # a follower whose own file lacks the range would not show those groups: doctor says so
        lacking = fleet_util.Follower(procs, hub, "web-02")
        followers.append(lacking)
        lacking.wait_for(lambda: accounts(lacking), timeout=20, what="the hub's accounts")
        doctor = json.loads(harness.cli(lacking.site, "--json", "doctor", check=False).stdout)
        fails = [c for c in doctor["checks"] if c["check"] == "follow" and c["status"] == "fail"]
        assert fails and "gid_min = %d and gid_max = %d" % GROUP_RANGE in fails[0]["fix"], doctor["checks"]
    finally:
        procs.stop_all()
        for f in followers:
            f.cleanup()
        hub.cleanup()


@pytest.mark.skipif(not os.path.exists("/usr/sbin/nginx"), reason="needs Debian's nginx (nginx-light)")
def test_followers_behind_nginx_share_cached_answers(hub, procs):
    ids = build_directory(hub)
    proxy = fleet_util.Nginx(procs, hub, hub.site.dir)
    followers = [fleet_util.Follower(procs, hub, host, hubs=[proxy.url], wait=5)
                 for host in ("web-01", "db-01", "api-01")]
    try:
        wait_for_accounts(followers)
        ivan = hub.create_user("ivan@contoso.com")
        add_members(hub, ids["group:users"], ivan)
        for f in followers:
            f.wait_for(lambda: getent_passwd(f, "ivan") is not None, timeout=20, what="ivan through nginx")
        log = proxy.access_log()
        changes = [line for line in log if line.startswith("/feed/v1/changes") and " 200 " in line]
        # the same answer after a cursor served to several followers from nginx's cache
        assert any(line.endswith(" HIT") for line in changes), "\n".join(log)
        hub_requests = hub.logs().count("GET /feed/v1/changes")
        assert hub_requests < len(changes), (hub_requests, len(changes))
        # a follower token is still checked at the hub for every request (auth_request)
        assert "GET /feed/v1/auth 204" in hub.logs()
        status = fleet_util.TlsClient(proxy.url + "/feed/v1", hub.token, hub.ca.path).get("/snapshot")[0]
        assert status == 403
    finally:
        for f in followers:
            f.cleanup()


def test_a_recreated_hub_is_detected_and_followed_with_a_new_snapshot(hub, procs):
    build_directory(hub)
    f = fleet_util.Follower(procs, hub, "web-01")
    try:
        wait_for_accounts([f])
        hub.stop()
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(hub.site.state_db + suffix):
                os.unlink(hub.site.state_db + suffix)
        hub.start()  # an empty directory with a new hub id; Entra provisions it again
        ids = build_directory(hub)
        judy = hub.create_user("judy@contoso.com")
        add_members(hub, ids["group:users"], judy)
        f.wait_for(lambda: "judy" in accounts(f), timeout=30, what="judy from the re-created hub")
        assert "another hub" in f.logs() and f.logs().count("snapshot of hub") == 2
        assert accounts(f) == EXPECTED["web-01"] | {"judy"}
    finally:
        f.cleanup()


# --- two hubs ----------------------------------------------------------------------------------

TWIN_USERS = {"alice": "bbbbbbbb-0000-4000-8000-000000000001", "bob": "bbbbbbbb-0000-4000-8000-000000000002"}


def provision_twin(hub, users=TWIN_USERS):
    """The same users with the same object ids, as Entra provisions each of two hubs."""
    ids = {name: hub.create_user("%s@contoso.com" % name, external_id=oid) for name, oid in users.items()}
    group = hub.create_group("Linux Users", USERS_GROUP)
    add_members(hub, group, *ids.values())
    return group


def share_tokens(first, second):
    """SECOND accepts FIRST's tokens: a follower holds one token for every hub it lists."""
    second.stop()
    with open(first.site.values["token_file"], "rb") as src, open(second.site.values["token_file"], "wb") as dst:
        dst.write(src.read())
    second.start()
    second.scim.token, second.feed.token = first.token, first.follow_token
    second.token, second.follow_token = first.token, first.follow_token


def test_a_follower_fails_over_to_the_second_hub_and_follows_it(hub, procs):
    second = fleet_util.Hub(procs, ca=hub.ca, policy=FLEET_POLICY)
    f = None
    try:
        share_tokens(hub, second)
        provision_twin(hub)
        group = provision_twin(second)
        f = fleet_util.Follower(procs, hub, "web-01", hubs=[hub.url, second.url], wait=5)
        f.wait_for(lambda: accounts(f) == set(TWIN_USERS), timeout=20, what="alice and bob from the first hub")
        uids = {name: uid_of(getent_passwd(f, name)) for name in TWIN_USERS}
        assert "from %s" % hub.url in f.logs()
        hub.stop(signal.SIGKILL)
        kim = second.create_user("kim@contoso.com", external_id="bbbbbbbb-0000-4000-8000-000000000003")
        add_members(second, group, kim)
        # switching hubs (another hub id: a new snapshot) never leaves the cache without its accounts
        deadline = time.monotonic() + 40
        while "kim" not in accounts(f) and time.monotonic() < deadline:
            assert set(TWIN_USERS) <= accounts(f), accounts(f)
            time.sleep(0.05)
        assert accounts(f) == set(TWIN_USERS) | {"kim"}, f.logs()[-3000:]
        logs = f.logs()
        assert "from %s" % second.url in logs and logs.count("snapshot of hub") == 2, logs[-3000:]
        # the same object ids gave the same uids on both hubs: nothing changed for the users
        assert {name: uid_of(getent_passwd(f, name)) for name in TWIN_USERS} == uids
        assert getent_passwd(f, "kim") is not None
        second_id = second.feed.get("/snapshot")[2]["hub"]
        status = harness.cli(f.site, "status").stdout
        assert "follower of:   hub %s via %s" % (second_id, second.url) in status, status
    finally:
        procs.stop_all()
        if f:
            f.cleanup()
        second.cleanup()
