"""The SCIM password attribute (RFC 7643: mutability writeOnly, returned never), which Entra sends
when an admin maps one: entra-syncd accepts the request, never stores the value (not in state.db,
not in its WAL), never returns it (write responses, GET, lists, filters, projections), and logs
that it dropped one without the value."""

import glob
import secrets
import urllib.parse

import harness
import scim_util

UPN = "pw.tester@contoso.com"


def secret(tag):
    return "S3cret-%s-%s" % (tag, secrets.token_hex(8))


def assert_not_echoed(status, body, raw, secrets_sent, want=200):
    assert status == want, raw
    for s in secrets_sent:
        assert s.encode() not in raw, raw
    if body is not None:
        assert "password" not in {k.lower() for k in body}, body


def assert_not_on_disk(site, secrets_sent, running=True):
    files = glob.glob(site.state_db + "*")  # state.db, and while it runs its -wal and -shm
    assert not running or site.state_db + "-wal" in files, files
    for path in files:
        with open(path, "rb") as f:
            data = f.read()
        for s in secrets_sent:
            assert s.encode() not in data, "%s holds the password %s" % (path, s)


def test_password_is_never_stored_nor_returned(site, syncd, scim):
    sent = []

    def new_secret(tag):
        sent.append(secret(tag))
        return sent[-1]

    body = harness.entra_user(UPN, external_id="pwtester")
    body["password"] = new_secret("post")
    status, _, created, raw = scim.post("/Users", body)
    assert_not_echoed(status, created, raw, sent, want=201)
    uid = created["id"]
    path = "/Users/" + uid

    body = harness.entra_user(UPN, external_id="pwtester", given="Put")
    body["Password"] = new_secret("put")
    body["urn:ietf:params:scim:schemas:core:2.0:User:password"] = new_secret("put-qualified")
    status, _, replaced, raw = scim.put(path, body)
    assert_not_echoed(status, replaced, raw, sent)
    assert replaced["name"]["givenName"] == "Put"

    for op in ({"op": "add", "path": "password"}, {"op": "Replace", "path": "password"},
               {"op": "replace", "path": "urn:ietf:params:scim:schemas:core:2.0:User:password"},
               {"op": "Add"}, {"op": "Replace"}):
        s = new_secret("patch")
        op = dict(op, value=s) if "path" in op else dict(op, value={"password": s, "title": "T-" + s[-4:]})
        status, _, patched, raw = scim.patch(path, harness.patch_body(op))
        assert_not_echoed(status, patched, raw, sent)

    # Later reads: by id, projected onto password, the list, a filter on the user, a filter on it.
    for query in (path, path + "?attributes=password", "/Users",
                  "/Users" + scim_util.query(filter='userName eq "%s"' % UPN)):
        status, _, got, raw = scim.get(query)
        assert_not_echoed(status, got, raw, sent)
        for r in got.get("Resources", []):
            assert "password" not in r, r
    for filt in ("password pr", 'password sw "S3cret-"'):  # the access log shows URLs: no secret in them
        status, _, got, raw = scim.get("/Users" + scim_util.query(filter=filt))
        assert status == 200 and got["totalResults"] == 0, raw

    status, _, schema, raw = scim.get("/Schemas/" + urllib.parse.quote("urn:ietf:params:scim:schemas:core:2.0:User"))
    assert status == 200, raw
    pw = [a for a in schema["attributes"] if a["name"] == "password"]
    assert pw and pw[0]["returned"] == "never" and pw[0]["mutability"] == "writeOnly", pw

    assert_not_on_disk(site, sent)
    logs = syncd.logs()
    assert "POST /Users/%s: dropped its password attribute" % uid in logs, logs[-3000:]
    assert all(s not in logs for s in sent), logs[-3000:]
    scim_util.stop_and_check_logs(syncd)
    assert_not_on_disk(site, sent, running=False)  # after the checkpoint at close too
