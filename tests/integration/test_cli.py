"""entra-sync: token new/list/revoke, status, users, groups (tables and --json), usage and
exit codes. Runs the real CLI against a temporary site and, where needed, the real daemon."""

import json
import os
import re
import sqlite3
import stat
import subprocess

import harness
from harness import cli, entra_group, entra_user

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def entra_sync(*args):
    return subprocess.run([os.path.join(harness.BUILD, "entra-sync")] + list(args), capture_output=True, text=True,
                          timeout=60)


# --- token ----------------------------------------------------------------------------------

def test_token_new_prints_token_alone_on_last_line_and_stores_only_its_hash(site):
    r = cli(site, "token", "new")
    lines = r.stdout.rstrip("\n").split("\n")
    token = lines[-1]
    assert TOKEN_RE.match(token), r.stdout
    assert "shown once" in r.stdout
    path = site.values["token_file"]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    content = open(path).read()
    assert token not in content
    fields = content.split()
    assert len(fields) == 3 and re.match(r"^[0-9a-f]{8}$", fields[0]) and re.match(r"^[0-9a-f]{64}$", fields[1])
    import hashlib
    assert fields[1] == hashlib.sha256(token.encode()).hexdigest()
    assert not [n for n in os.listdir(site.etc) if n.startswith("scim.tokens.")], "no temp file left"


def test_token_list_and_revoke(site):
    first = cli(site, "token", "new", "--label", "Entra provisioning").stdout
    cli(site, "token", "new", "--label=follower web-02")
    listing = json.loads(cli(site, "token", "list", "--json").stdout)
    assert [t["label"] for t in listing] == ["Entra provisioning", "follower web-02"]
    for t in listing:
        assert re.match(r"^[0-9a-f]{8}$", t["id"]) and t["created"].endswith("Z") and t["created_unix"] > 0
    text = cli(site, "token", "list").stdout
    assert "ID" in text and "Entra provisioning" in text and listing[1]["id"] in text
    file_hashes = [line.split()[1] for line in open(site.values["token_file"])]
    for h in file_hashes:
        assert h not in text, "list never shows hashes"
    assert listing[0]["id"] in first

    r = cli(site, "token", "revoke", listing[0]["id"])
    assert r.returncode == 0
    left = json.loads(cli(site, "--json", "token", "list").stdout)
    assert [t["id"] for t in left] == [listing[1]["id"]]
    r = cli(site, "token", "revoke", listing[0]["id"], check=False)
    assert r.returncode == 1 and "no token with ID" in r.stderr
    assert stat.S_IMODE(os.stat(site.values["token_file"]).st_mode) == 0o600


def test_token_list_without_file_is_empty(site):
    r = cli(site, "--json", "token", "list")
    assert json.loads(r.stdout) == [] and "token new" in r.stderr


def test_token_new_refuses_a_missing_directory_and_a_malformed_file(site):
    site.write_config(token_file=os.path.join(site.dir, "missing", "scim.tokens"))
    r = cli(site, "token", "new", check=False)
    assert r.returncode == 1 and "create it first" in r.stderr and r.stdout == ""
    path = os.path.join(site.etc, "scim.tokens")
    site.write_config(token_file=path)
    with open(path, "w") as f:
        f.write("this is not a token line\n")
    r = cli(site, "token", "new", check=False)
    assert r.returncode == 1 and ":1:" in r.stderr and "nothing was changed" in r.stderr
    assert open(path).read() == "this is not a token line\n"


def test_token_new_tightens_a_loose_file_mode(site):
    cli(site, "token", "new")
    os.chmod(site.values["token_file"], 0o644)
    assert cli(site, "token", "list", check=False).returncode == 1
    cli(site, "token", "new")
    assert stat.S_IMODE(os.stat(site.values["token_file"]).st_mode) == 0o600
    assert len(json.loads(cli(site, "--json", "token", "list").stdout)) == 2


def test_token_usage_errors_exit_2(site):
    for args in (["token"], ["token", "bogus"], ["token", "revoke"], ["token", "new", "--nope"],
                 ["token", "list", "extra"]):
        r = cli(site, *args, check=False)
        assert r.returncode == 2, args
        assert "usage" in r.stderr


# --- usage ----------------------------------------------------------------------------------

def test_help_and_unknown_verb_print_usage_on_stderr_exit_2(site):
    for args in (["--help"], ["-h"], [], ["-c", site.config, "frobnicate"], ["-c", site.config, "--bogus", "status"]):
        r = entra_sync(*args)
        assert r.returncode == 2, args
        assert "usage: entra-sync" in r.stderr and r.stdout == ""
        assert "token" in r.stderr and "status" in r.stderr


def test_bad_config_exits_1_naming_file_and_line(site):
    with open(site.config, "a") as f:
        f.write("\n[sync]\nwhat = 1\n")
    r = cli(site, "status", check=False)
    assert r.returncode == 1 and site.config in r.stderr and "what" in r.stderr
    r = entra_sync("-c", "/nonexistent/entra.conf", "status")
    assert r.returncode == 1 and "/nonexistent/entra.conf" in r.stderr


def test_status_before_the_daemon_ever_ran(site):
    r = cli(site, "status", check=False)
    assert r.returncode == 1 and site.state_db in r.stderr and "entra-syncd creates it" in r.stderr


# --- status, users, groups ------------------------------------------------------------------

def provision(syncd):
    c = syncd.client
    ids = {}
    for upn, active in (("alice@contoso.com", True), ("bob@contoso.com", False), ("carol@contoso.com", True)):
        status, _, body, _ = c.post("/Users", entra_user(upn, active=active))
        assert status == 201
        ids[upn] = body["id"]
    status, _, group, _ = c.post("/Groups", entra_group("Linux Users", "obj-users",
                                                        [ids["alice@contoso.com"], ids["bob@contoso.com"]]))
    assert status == 201
    status, _, empty, _ = c.post("/Groups", entra_group("Nobody Here", "obj-empty"))
    assert status == 201
    syncd.wait_for_cache(lambda con: con.execute("SELECT count(*) FROM passwd").fetchone()[0] == 2)
    return ids, group["id"], empty["id"]


def test_status_users_groups_tables_and_json(syncd):
    site = syncd.site
    ids, group_id, empty_id = provision(syncd)

    text = cli(site, "status").stdout
    assert "users:         3 (2 active, 1 disabled)" in text
    assert "groups:        2" in text
    assert re.search(r"last request:  \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", text), text
    assert site.state_db in text and site.cache_db in text
    assert re.search(r"generation \d+, published \d{4}-", text), text

    st = json.loads(cli(site, "status", "--json").stdout)
    assert (st["users"], st["active_users"], st["disabled_users"], st["groups"]) == (3, 2, 1, 2)
    assert st["last_request_unix"] > 0 and st["last_request"].endswith("Z")
    assert st["state_db"] == site.state_db and st["cache_db"] == site.cache_db
    assert st["cache"]["generation"] >= 1 and st["cache"]["accounts"] == 2

    users = json.loads(cli(site, "--json", "users").stdout)
    assert [u["userName"] for u in users] == ["alice@contoso.com", "bob@contoso.com", "carol@contoso.com"]
    by_name = {u["userName"]: u for u in users}
    alice = by_name["alice@contoso.com"]
    assert alice["id"] == ids["alice@contoso.com"] and alice["externalId"] == "alice" and alice["active"] is True
    assert alice["localName"] == "alice" and 200000 <= alice["uid"] <= 2000200000
    assert by_name["bob@contoso.com"]["active"] is False and by_name["bob@contoso.com"]["localName"] == "bob"
    carol = by_name["carol@contoso.com"]
    assert carol["localName"] is None and carol["uid"] is None, "no rule matches carol: no local account"

    table = cli(site, "users").stdout.splitlines()
    assert table[0].split() == ["ID", "USERNAME", "EXTERNALID", "ACTIVE", "LOCAL", "UID"]
    row = [l for l in table if "alice@contoso.com" in l][0].split()
    assert row == [alice["id"], "alice@contoso.com", "alice", "yes", "alice", str(alice["uid"])]
    row = [l for l in table if "carol@contoso.com" in l][0].split()
    assert row[-2:] == ["-", "-"]

    groups = json.loads(cli(site, "groups", "--json").stdout)
    assert [g["displayName"] for g in groups] == ["Linux Users", "Nobody Here"]
    assert groups[0]["id"] == group_id and groups[0]["members"] == 2 and groups[0]["externalId"] == "obj-users"
    assert groups[0]["localName"] == "linux-users" and groups[0]["gid"] >= 200000
    assert groups[1]["id"] == empty_id and groups[1]["members"] == 0 and groups[1]["localName"] is None
    table = cli(site, "groups").stdout.splitlines()
    assert table[0].split() == ["ID", "DISPLAYNAME", "EXTERNALID", "MEMBERS", "LOCAL", "GID"]
    assert any(l.split()[-2:] == ["linux-users", str(groups[0]["gid"])] for l in table[1:])


def test_cli_reads_never_write_state_db(syncd):
    site = syncd.site
    provision(syncd)
    syncd.stop()
    con = sqlite3.connect(site.state_db)
    before = con.execute("SELECT value FROM kv WHERE key='last_request'").fetchone()
    con.close()
    sizes = {p: os.stat(p).st_mtime_ns for p in (site.state_db,) if os.path.exists(p)}
    for args in (("status",), ("users",), ("groups",), ("--json", "users")):
        cli(site, *args)
    con = sqlite3.connect(site.state_db)
    after = con.execute("SELECT value FROM kv WHERE key='last_request'").fetchone()
    con.close()
    assert before == after
    assert {p: os.stat(p).st_mtime_ns for p in sizes} == sizes


def test_users_without_cache_db_still_lists(syncd):
    site = syncd.site
    provision(syncd)
    syncd.stop()
    os.unlink(site.cache_db)
    users = json.loads(cli(site, "--json", "users").stdout)
    assert len(users) == 3 and all(u["localName"] is None for u in users)
    assert "not published yet" in cli(site, "status").stdout
    assert json.loads(cli(site, "--json", "status").stdout)["cache"] is None


def test_control_characters_in_names_do_not_reach_the_terminal(syncd):
    status, _, _, _ = syncd.client.post("/Users", entra_user("eve\x1b[2J@contoso.com", external_id="eve"))
    assert status in (201, 400)
    if status == 201:
        out = cli(syncd.site, "users").stdout
        assert "\x1b" not in out and "eve?[2J@contoso.com" in out
