"""SSH public keys from Entra: the entra-login extension's sshPublicKey through the real
entra-syncd (POST, PUT and every PATCH form Entra sends), its bounds at ingest, /Schemas and
/ResourceTypes, cache.db's ssh_keys rows (only for accounts that may sign in here, only plain
keys; a line with options is refused and logged with the user's name), and
`entra-sync authorized-keys USER`, which reads cache.db through the hardened reader.
test_sshd_keys.py signs in with these keys through a real sshd."""

import os
import subprocess
import uuid

import pytest

import harness
from harness import entra_group, entra_user, patch_body

URN = "urn:ietf:params:scim:schemas:extension:entra-login:2.0:User"
ED1 = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE4cghccFrWp2YaqANY+RuEvCb7/jm7a8Wmvm13rjayN alice@laptop"
EC1 = ("ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBIufCF69NEg9LHM8QP3tCmOrmGmeCdRRi7/"
       "c54z7ZnGidQlw3AdQ1Y8KzFUbLefyeYIs/7L6C/GvJkYwI5mkAtc= alice@desktop")
OPTIONED = 'command="/bin/sh -c id" ' + ED1
POLICY = harness.DEFAULT_POLICY + """
[role viewer]
rank = 5
login = no

[rule viewers]
match = any
groups = Viewers
role = viewer
ous = global
"""


@pytest.fixture
def site():
    s = harness.Site(policy=POLICY)
    yield s
    s.cleanup()


def keys_of(syncd, name):
    return [k for (k,) in query(syncd, "SELECT k.key FROM ssh_keys k JOIN passwd p ON p.uid = k.uid "
                                       "WHERE p.name = ? ORDER BY k.n", name)]


def query(syncd, sql, *args):
    import sqlite3
    con = sqlite3.connect("file:%s?mode=ro" % syncd.site.cache_db, uri=True)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def published(syncd, name, keys):
    syncd.wait_for_cache(lambda con: [k for (k,) in con.execute(
        "SELECT k.key FROM ssh_keys k JOIN passwd p ON p.uid = k.uid WHERE p.name = ? ORDER BY k.n", (name,))] == keys)


def authorized_keys(site, user):
    return subprocess.run([os.path.join(harness.BUILD, "entra-sync"), "-c", site.config, "authorized-keys", user],
                          capture_output=True, text=True, timeout=30)


def provision(scim, name, group, keys=None, active=True):
    body = entra_user("%s@contoso.com" % name, external_id=str(uuid.uuid4()), active=active)
    if keys is not None:
        body[URN] = {"sshPublicKey": keys}
        body["schemas"].append(URN)
    status, _, created, raw = scim.post("/Users", body)
    assert status == 201, raw
    status, _, _, raw = scim.post("/Groups", entra_group(group + "-" + name, str(uuid.uuid4()), [created["id"]]))
    assert status == 201, raw
    return created


@pytest.fixture
def people(site, syncd):
    """alice (user, may sign in), vic (viewer: login = no) and dan (disabled), each with keys."""
    scim = syncd.client
    groups = {"Linux Users": [], "Viewers": []}
    made = {}
    for name, group, active in (("alice", "Linux Users", True), ("vic", "Viewers", True), ("dan", "Linux Users", False)):
        body = entra_user("%s@contoso.com" % name, external_id=str(uuid.uuid4()), active=active)
        body[URN] = {"sshPublicKey": ED1 + "\n" + EC1}
        status, _, created, raw = scim.post("/Users", body)
        assert status == 201, raw
        made[name] = created
        groups[group].append(created["id"])
    for group, members in groups.items():
        status, _, _, raw = scim.post("/Groups", entra_group(group, str(uuid.uuid4()), members))
        assert status == 201, raw
    syncd.wait_for_cache(lambda con: con.execute("SELECT count(*) FROM passwd").fetchone()[0] == 3)
    return made


def test_keys_reach_only_accounts_that_may_sign_in(site, syncd, people):
    created = people["alice"]
    assert URN in created["schemas"] and created[URN] == {"sshPublicKey": ED1 + "\n" + EC1}
    published(syncd, "alice", [ED1, EC1])
    assert keys_of(syncd, "vic") == [] and keys_of(syncd, "dan") == []  # login = no; disabled
    rows = query(syncd, "SELECT p.name, p.login, p.expire FROM passwd p ORDER BY name")
    assert rows == [("alice", 1, -1), ("dan", 1, 1), ("vic", 0, -1)], rows
    r = authorized_keys(site, "alice")
    assert (r.returncode, r.stdout) == (0, ED1 + "\n" + EC1 + "\n"), r.stderr
    for user in ("vic", "dan", "nobody-here", "root"):
        r = authorized_keys(site, user)
        assert (r.returncode, r.stdout) == (0, ""), (user, r.stderr)
    # enabling dan publishes his keys; disabling alice withdraws hers
    scim = syncd.client
    for name, value in (("dan", "True"), ("alice", "False")):
        status, _, _, raw = scim.patch("/Users/" + people[name]["id"], patch_body(
            {"op": "Replace", "path": "active", "value": value}))
        assert status in (200, 204), raw
    published(syncd, "dan", [ED1, EC1])
    published(syncd, "alice", [])
    assert authorized_keys(site, "alice").stdout == ""


def test_every_patch_form_entra_sends(site, syncd, people):
    scim, uid = syncd.client, people["alice"]["id"]
    path = "/Users/" + uid
    forms = [
        ({"op": "Replace", "path": URN + ":sshPublicKey", "value": EC1}, [EC1]),
        ({"op": "Remove", "path": URN + ":sshPublicKey"}, []),
        ({"op": "Add", "path": URN + ":sshPublicKey", "value": ED1}, [ED1]),
        ({"op": "replace", "value": {URN + ":sshPublicKey": [EC1, ED1]}}, [EC1, ED1]),
        ({"op": "Replace", "value": {URN: {"sshPublicKey": ED1 + "\r\n\r\n"}}}, [ED1]),
        # an array stays one: Add appends to it (RFC 7644 3.5.2.1), Replace replaces it
        ({"op": "Add", "value": {URN: {"SSHPUBLICKEY": EC1}}}, [ED1, EC1]),
        ({"op": "Replace", "path": URN + ":sshPublicKey", "value": ""}, []),
    ]
    for op, want in forms:
        status, _, body, raw = scim.patch(path, patch_body(op))
        assert status in (200, 204), (op, raw)
        published(syncd, "alice", want)
        status, _, got, raw = scim.get(path)
        assert status == 200, raw
        if want:
            assert URN in got["schemas"] and "sshPublicKey" in got[URN], got
    # PUT replaces the whole user, extension included
    body = entra_user("alice@contoso.com", external_id=people["alice"]["externalId"])
    body[URN] = {"sshPublicKey": [ED1]}
    status, _, _, raw = scim.put(path, body)
    assert status == 200, raw
    published(syncd, "alice", [ED1])
    assert authorized_keys(site, "alice").stdout == ED1 + "\n"


def test_bounds_at_ingest(syncd, people):
    scim, path = syncd.client, "/Users/" + people["alice"]["id"]
    bad = [
        (42, "must be a string"),
        ({"key": ED1}, "must be a string"),
        ([ED1, 7], "must be a string"),
        ("\n".join([ED1] * 33), "more than 32 keys"),
        ("ssh-ed25519 " + "A" * 9000, "longer than 8 KiB"),
        ([ED1 + " " + "c" * 7000] * 10, "longer than 64 KiB"),
    ]
    for value, why in bad:
        status, _, body, raw = scim.patch(path, patch_body(
            {"op": "Replace", "path": URN + ":sshPublicKey", "value": value}))
        assert status == 400 and body["scimType"] == "invalidValue" and why in body["detail"], raw
    published(syncd, "alice", [ED1, EC1])  # nothing changed


def test_lines_with_options_are_refused_and_logged(site, syncd, people):
    scim = syncd.client
    status, _, _, raw = scim.patch("/Users/" + people["alice"]["id"], patch_body(
        {"op": "Replace", "path": URN + ":sshPublicKey", "value": "\n".join([OPTIONED, EC1, "rsa-sha2-256 AAAA"])}))
    assert status in (200, 204), raw  # the user's provisioning goes on: only the lines are refused
    published(syncd, "alice", [EC1])
    assert authorized_keys(site, "alice").stdout == EC1 + "\n"
    logs = syncd.logs()
    assert "refused 2 SSH key line(s) of alice@contoso.com (local name alice): authorized_keys options" in logs, logs


def test_verb_refuses_what_a_hostile_cache_holds(site):
    users = [{"name": "alice", "uid": 200001}, {"name": "eve", "uid": 200002, "expire": 1},
             {"name": "viv", "uid": 200003, "login": 0}]
    keys = [(200001, 0, OPTIONED), (200001, 1, ED1), (200001, 2, "ssh-rsa " + ED1.split()[1]),
            (200002, 0, ED1), (200003, 0, ED1)]
    harness.write_cache(site.cache_db, users=users, ssh_keys=keys)
    r = authorized_keys(site, "alice")
    assert (r.returncode, r.stdout) == (0, ED1 + "\n"), r.stderr
    assert "refused a key of alice from cache.db: authorized_keys options" in r.stderr
    assert "embedded type" in r.stderr
    assert authorized_keys(site, "eve").stdout == "" and authorized_keys(site, "viv").stdout == ""
    os.chmod(site.cache_db, 0o666)  # anyone could have written it: the reader refuses the file
    r = authorized_keys(site, "alice")
    assert r.returncode == 1 and r.stdout == "" and "untrusted file" in r.stderr
    os.unlink(site.cache_db)
    r = authorized_keys(site, "alice")
    assert r.returncode == 1 and r.stdout == "" and "has not published yet" in r.stderr
    assert authorized_keys(site, "").returncode == 2


def test_discovery_describes_the_extension(syncd):
    scim = syncd.client
    status, _, schema, raw = scim.get("/Schemas/" + URN)
    assert status == 200, raw
    assert schema["id"] == URN and [a["name"] for a in schema["attributes"]] == ["sshPublicKey"]
    attr = schema["attributes"][0]
    assert attr["type"] == "string" and attr["multiValued"] is True
    status, _, user_type, raw = scim.get("/ResourceTypes/User")
    assert status == 200, raw
    assert {"schema": URN, "required": False} in user_type["schemaExtensions"]
    status, _, listed, raw = scim.get("/Schemas")
    assert URN in [s["id"] for s in listed["Resources"]]
