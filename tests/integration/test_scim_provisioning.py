"""Entra's provisioning sequence replayed against the real entra-syncd over HTTP: test
connection, create, match, every PATCH form Entra sends, disable/enable, rename, groups and
their member wire forms, deletes, pagination, query encodings, projections."""

import os
import signal

import pytest

from harness import entra_group, entra_user, patch_body
from scim_util import stop_and_check_logs, ENTERPRISE, create, find, query, random_guid


@pytest.fixture
def scim(syncd):
    """The SCIM client; afterwards the daemon must stop cleanly with no sanitizer report."""
    yield syncd.client
    stop_and_check_logs(syncd)


def op(name, path=None, value=None):
    o = {"op": name}
    if path is not None:
        o["path"] = path
    if value is not None:
        o["value"] = value
    return o


def get(scim, endpoint, rid, q=""):
    status, hdrs, body, raw = scim.get("/%s/%s%s" % (endpoint, rid, q))
    assert status == 200, raw
    assert hdrs.get("Content-Type", "").startswith("application/scim+json")
    return body


def patch_ok(scim, endpoint, rid, *ops):
    status, _, body, raw = scim.patch("/%s/%s" % (endpoint, rid), patch_body(*ops))
    assert status in (200, 204), raw
    return body


def member_ids(scim, gid):
    return sorted(m["value"] for m in get(scim, "Groups", gid).get("members", []))


def test_test_connection_gets_empty_lists(scim):
    for style in ("%20", "+"):
        body = find(scim, "Users", 'userName eq "%s"' % random_guid(), style)
        assert body["totalResults"] == 0 and body["Resources"] == []
        body = find(scim, "Groups", 'displayName eq "%s"' % random_guid(), style)
        assert body["totalResults"] == 0 and body["Resources"] == []


def test_create_and_match_user(scim):
    created = create(scim, "Users", entra_user("Alice.Smith@contoso.com", external_id="alice.smith",
                                                email="alice.work@contoso.com"))
    uid = created["id"]
    meta = created["meta"]
    assert meta["resourceType"] == "User"
    assert meta["location"].endswith("/scim/v2/Users/" + uid)
    assert meta["created"] and meta["lastModified"] and meta["version"] == 'W/"1"'
    assert created["userName"] == "Alice.Smith@contoso.com"
    assert created[ENTERPRISE]["department"] == "Engineering"
    # Entra matches by userName (case-insensitive), by externalId, by id; both query encodings.
    for filt, style in (('userName eq "alice.smith@CONTOSO.com"', "%20"),
                        ('userName eq "Alice.Smith@contoso.com"', "+"),
                        ('externalId eq "alice.smith"', "%20"),
                        ('id eq "%s"' % uid, "+"),
                        ('emails[type eq "work" and value eq "alice.work@contoso.com"]', "%20")):
        body = find(scim, "Users", filt, style)
        assert body["totalResults"] == 1, filt
        assert body["Resources"][0]["id"] == uid
    assert find(scim, "Users", 'externalId eq "ALICE.SMITH"')["totalResults"] == 0  # caseExact


def test_match_by_work_email_entra_form(scim):
    uid = create(scim, "Users", entra_user("bob@contoso.com", email="bob.work@contoso.com"))["id"]
    body = find(scim, "Users", 'emails[type eq "work"].value eq "bob.work@contoso.com"')
    assert [r["id"] for r in body["Resources"]] == [uid]


def test_every_user_patch_form(scim):
    uid = create(scim, "Users", entra_user("carol@contoso.com", external_id="carol"))["id"]
    mgr = create(scim, "Users", entra_user("boss@contoso.com", external_id="boss"))["id"]

    # Path-less replace with dotted and URN-qualified keys, op in odd case, boolean as a string.
    patch_ok(scim, "Users", uid, op("Replace", value={
        "name.givenName": "Caroline", "displayName": "Caroline User", "active": "True",
        ENTERPRISE + ":department": "Research"}))
    u = get(scim, "Users", uid)
    assert u["name"]["givenName"] == "Caroline" and u["name"]["familyName"] == "User"
    assert u["displayName"] == "Caroline User"
    assert u[ENTERPRISE]["department"] == "Research"

    # Value-path target that Add must create, and an update of the existing work email.
    patch_ok(scim, "Users", uid,
             op("Add", 'phoneNumbers[type eq "mobile"].value', "+1 555 0100"),
             op("replace", 'emails[type eq "work"].value', "carol.new@contoso.com"))
    u = get(scim, "Users", uid)
    assert {"type": "mobile", "value": "+1 555 0100"}.items() <= u["phoneNumbers"][0].items()
    assert u["emails"][0]["value"] == "carol.new@contoso.com" and u["emails"][0]["type"] == "work"

    # Enterprise extension paths; manager as a bare string, an object and an array.
    patch_ok(scim, "Users", uid, op("Add", ENTERPRISE + ":employeeNumber", "E-1001"),
             op("Add", ENTERPRISE + ":manager", mgr))
    u = get(scim, "Users", uid)
    assert u[ENTERPRISE]["employeeNumber"] == "E-1001"
    assert u[ENTERPRISE]["manager"]["value"] == mgr
    for form in ({"value": mgr}, [{"value": mgr}]):
        patch_ok(scim, "Users", uid, op("replace", ENTERPRISE + ":manager", form))
        assert get(scim, "Users", uid)[ENTERPRISE]["manager"]["value"] == mgr

    # Disable with "False", re-enable with "true"; custom attributes stay untouched.
    patch_ok(scim, "Users", uid, op("Replace", "active", "False"))
    assert get(scim, "Users", uid)["active"] is False
    assert find(scim, "Users", "active eq false")["totalResults"] == 1
    patch_ok(scim, "Users", uid, op("replace", "active", "true"))
    assert get(scim, "Users", uid)["active"] is True

    # Rename: the old userName no longer matches, the new one does; version grew.
    patch_ok(scim, "Users", uid, op("Replace", "userName", "carol.renamed@contoso.com"))
    assert find(scim, "Users", 'userName eq "carol@contoso.com"')["totalResults"] == 0
    u = find(scim, "Users", 'userName eq "carol.renamed@contoso.com"')["Resources"][0]
    assert u["id"] == uid and u["meta"]["version"] != 'W/"1"'

    # Remove an attribute.
    patch_ok(scim, "Users", uid, op("Remove", "phoneNumbers"))
    assert "phoneNumbers" not in get(scim, "Users", uid)


def test_unknown_attributes_and_nulls_are_tolerated(scim):
    body = entra_user("dave@contoso.com")
    body["urn:contoso:custom:1.0:User"] = {"costCode": "CC-7"}
    body["nickName"] = None
    body["customFlag"] = "yes"
    uid = create(scim, "Users", body)["id"]
    u = get(scim, "Users", uid)
    assert u["urn:contoso:custom:1.0:User"] == {"costCode": "CC-7"}
    assert u["customFlag"] == "yes"


def test_group_lifecycle_and_member_wire_forms(scim):
    users = [create(scim, "Users", entra_user("m%d@contoso.com" % i))["id"] for i in range(5)]
    a, b, c, d, e = users
    oid = random_guid()
    g = create(scim, "Groups", entra_group("Linux Users", oid, members=[a, "not-a-user-id"]))
    gid = g["id"]
    assert g["meta"]["resourceType"] == "Group"
    assert [m["value"] for m in g["members"]] == [a]  # unknown members are not stored
    assert g["members"][0]["display"] == "m0@contoso.com"
    assert find(scim, "Groups", 'externalId eq "%s"' % oid)["Resources"][0]["id"] == gid
    assert find(scim, "Groups", 'displayName eq "linux users"', excludedAttributes="members")["totalResults"] == 1

    # Add several members in one op, op spelled "Add".
    patch_ok(scim, "Groups", gid, op("Add", "members", [{"value": b}, {"value": c}, {"value": d}]))
    assert member_ids(scim, gid) == sorted([a, b, c, d])
    # Remove with a value array: only those.
    patch_ok(scim, "Groups", gid, op("Remove", "members", [{"value": b}, {"value": c}]))
    assert member_ids(scim, gid) == sorted([a, d])
    # Remove with a value filter.
    patch_ok(scim, "Groups", gid, op("remove", 'members[value eq "%s"]' % d))
    assert member_ids(scim, gid) == [a]
    # Add then remove-all (neither value nor filter).
    patch_ok(scim, "Groups", gid, op("add", "members", [{"$ref": None, "value": e}]))  # Entra sends $ref null
    assert member_ids(scim, gid) == sorted([a, e])
    patch_ok(scim, "Groups", gid, op("Remove", "members"))
    assert member_ids(scim, gid) == []

    # excludedAttributes=members (Entra's GET) and filter on a member.
    patch_ok(scim, "Groups", gid, op("Add", "members", [{"value": a}, {"value": b}]))
    lean = get(scim, "Groups", gid, query(excludedAttributes="members"))
    assert "members" not in lean and lean["displayName"] == "Linux Users"
    assert find(scim, "Groups", 'members[value eq "%s"]' % b)["Resources"][0]["id"] == gid

    # Rename.
    patch_ok(scim, "Groups", gid, op("Replace", "displayName", "Linux Admins"))
    assert get(scim, "Groups", gid)["displayName"] == "Linux Admins"
    assert find(scim, "Groups", 'displayName eq "Linux Users"')["totalResults"] == 0

    # Deleting a user removes it from every group.
    assert scim.delete("/Users/" + a)[0] == 204
    assert member_ids(scim, gid) == [b]
    assert scim.get("/Users/" + a)[0] == 404

    # Delete the group.
    assert scim.delete("/Groups/" + gid)[0] == 204
    assert scim.get("/Groups/" + gid)[0] == 404
    assert get(scim, "Users", b)["userName"] == "m1@contoso.com"


def test_put_replaces_keeping_id_and_created(scim):
    u = create(scim, "Users", entra_user("erin@contoso.com"))
    body = entra_user("erin@contoso.com", active=False)
    del body["emails"]
    status, _, put, raw = scim.put("/Users/" + u["id"], body)
    assert status == 200, raw
    assert put["id"] == u["id"] and put["meta"]["created"] == u["meta"]["created"]
    assert put["active"] is False and "emails" not in put


def test_pagination_over_all_users(scim):
    made = {create(scim, "Users", entra_user("p%03d@contoso.com" % i))["id"] for i in range(250)}
    seen, start, pages = [], 1, []
    while True:
        status, _, body, raw = scim.get("/Users" + query(startIndex=start, count=100))
        assert status == 200, raw
        assert body["totalResults"] == 250 and body["startIndex"] == start
        pages.append(body["itemsPerPage"])
        seen += [r["id"] for r in body["Resources"]]
        if not body["Resources"]:
            break
        start += body["itemsPerPage"]
    assert pages == [100, 100, 50, 0]
    assert len(seen) == 250 and set(seen) == made
    # count=0: totalResults only; startIndex < 1 is 1; count above the maximum is capped.
    body = scim.get("/Users" + query(count=0, startIndex=0))[2]
    assert body["totalResults"] == 250 and body["Resources"] == [] and body["startIndex"] == 1
    body = scim.get("/Users" + query(count=5000))[2]
    assert body["itemsPerPage"] == 250
    # Filtered pagination.
    body = find(scim, "Users", 'userName sw "p1"', "+", startIndex=11, count=40)
    assert body["totalResults"] == 100 and body["itemsPerPage"] == 40
    assert body["Resources"][0]["userName"] == "p110@contoso.com"


def test_attributes_and_excluded_attributes(scim):
    uid = create(scim, "Users", entra_user("frank@contoso.com"))["id"]
    u = get(scim, "Users", uid, query(attributes="userName,name.familyName," + ENTERPRISE + ":department"))
    assert set(u) == {"schemas", "id", "userName", "name", ENTERPRISE}
    assert u["name"] == {"familyName": "User"}
    assert u[ENTERPRISE] == {"department": "Engineering"}
    u = get(scim, "Users", uid, query(excludedAttributes="emails,name,id"))
    assert "emails" not in u and "name" not in u and u["id"] == uid and "meta" in u
    body = find(scim, "Users", 'userName eq "frank@contoso.com"', attributes="emails.value")
    assert body["Resources"][0]["emails"] == [{"value": "frank@contoso.com"}]


def test_discovery_endpoints(scim):
    status, _, spc, raw = scim.get("/ServiceProviderConfig")
    assert status == 200, raw
    assert spc["patch"]["supported"] is True and spc["bulk"]["supported"] is False
    assert spc["filter"] == {"supported": True, "maxResults": 1000}
    assert spc["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    schemas = scim.get("/Schemas")[2]
    ids = {s["id"] for s in schemas["Resources"]}
    assert ids == {"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:core:2.0:Group",
                   ENTERPRISE, "urn:ietf:params:scim:schemas:extension:entra-login:2.0:User"}
    types = scim.get("/ResourceTypes")[2]
    assert {t["endpoint"] for t in types["Resources"]} == {"/Users", "/Groups"}


def test_acknowledged_writes_survive_kill_9(syncd):
    scim = syncd.client
    uid = create(scim, "Users", entra_user("durable@contoso.com"))["id"]
    gid = create(scim, "Groups", entra_group("Durable", random_guid(), members=[uid]))["id"]
    patch_ok(scim, "Users", uid, op("Replace", "active", "False"))
    syncd.stop(signal.SIGKILL)
    syncd.start()
    assert get(scim, "Users", uid)["active"] is False
    assert member_ids(scim, gid) == [uid]
    assert oct(os.stat(syncd.site.state_db).st_mode & 0o777) == "0o600"

