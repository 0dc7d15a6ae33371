"""SCIM conformance, second round (issue 15), end to end over HTTP against the real entra-syncd:
ETags enforced (412, 304), roles[primary eq "True"] matching booleans, dateTime filters compared
as instants, Unicode case folding for caseExact=false and userName uniqueness, and duplicate
group display names (accepted; fail closed in the AUP rules and for Unix names)."""

import http.client
import re

import pytest

import aup_util as au
import harness
from harness import entra_group, entra_user, patch_body
from scim_util import assert_scim_error, create, find, query, stop_and_check_logs

GUID_A = "5a5a5a5a-0000-4000-8000-00000000000a"
GUID_B = "5a5a5a5a-0000-4000-8000-00000000000b"


@pytest.fixture
def scim(syncd):
    """The SCIM client; afterwards the daemon must stop cleanly with no sanitizer report."""
    yield syncd.client
    stop_and_check_logs(syncd)


def raw_get(scim, path, headers):
    """GET with http.client, to see the exact status line, headers and body bytes."""
    host, port = scim.base.split("//")[1].split("/")[0].split(":")
    con = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        con.request("GET", scim.base.split(":%s" % port)[1] + path,
                    headers=dict(headers, Authorization="Bearer " + scim.token))
        resp = con.getresponse()
        return resp.status, dict(resp.getheaders()), resp.read()
    finally:
        con.close()


def test_etag_preconditions_are_enforced(scim):
    status, _, spc, _ = scim.get("/ServiceProviderConfig")
    assert status == 200 and spc["etag"]["supported"] is True
    u = create(scim, "Users", entra_user("etag@contoso.com"))
    path = "/Users/" + u["id"]
    status, hdrs, _, _ = scim.get(path)
    assert hdrs["ETag"] == 'W/"1"' == u["meta"]["version"]
    renamed = entra_user("etag@contoso.com", given="Renamed")
    status, hdrs, body, raw = scim.put(path, renamed, headers={"If-Match": 'W/"1"'})
    assert status == 200 and hdrs["ETag"] == 'W/"2"', raw
    # A stale version: 412 with a SCIM error body, and nothing is changed.
    stale = {"If-Match": 'W/"1"'}
    status, _, body, _ = scim.put(path, entra_user("etag@contoso.com", given="Lost"), headers=stale)
    assert_scim_error(status, body, 412, detail_has='W/"2"')
    op = patch_body({"op": "Replace", "path": "displayName", "value": "Lost Too"})
    status, _, body, _ = scim.patch(path, op, headers=stale)
    assert_scim_error(status, body, 412)
    status, _, body, _ = scim.delete(path, headers=stale)
    assert_scim_error(status, body, 412)
    assert scim.get(path)[2]["displayName"] == "Renamed User"
    # The strong form of the same tag, a list holding it, and * all match.
    status, hdrs, _, raw = scim.patch(path, op, headers={"If-Match": '"9", "2"'})
    assert status == 200 and hdrs["ETag"] == 'W/"3"', raw
    status, _, _, raw = scim.patch(path, op, headers={"If-Match": "*"})
    assert status == 200, raw
    # Groups answer a member PATCH with 204 and the new ETag.
    g = create(scim, "Groups", entra_group("ETag Team", GUID_A))
    status, hdrs, _, raw = scim.patch("/Groups/" + g["id"], patch_body(
        {"op": "Add", "path": "members", "value": [{"value": u["id"]}]}), headers={"If-Match": 'W/"1"'})
    assert status == 204 and hdrs["ETag"] == 'W/"2"', raw
    status, _, body, _ = scim.patch("/Groups/" + g["id"], patch_body(
        {"op": "Remove", "path": "members", "value": [{"value": u["id"]}]}), headers={"If-Match": 'W/"1"'})
    assert_scim_error(status, body, 412)
    # GET with a matching If-None-Match: 304, the ETag, no body.
    status, hdrs, body = raw_get(scim, path, {"If-None-Match": 'W/"4"'})
    assert status == 304 and body == b"" and hdrs["ETag"] == 'W/"4"', (status, hdrs, body)
    assert "Content-Type" not in hdrs
    status, hdrs, body = raw_get(scim, path, {"If-None-Match": 'W/"3"'})
    assert status == 200 and b'"etag@contoso.com"' in body
    # Deleting with the current version works; then the resource is gone whatever the header.
    status, _, _, raw = scim.delete(path, headers={"If-Match": 'W/"4"'})
    assert status == 204, raw
    status, _, body, _ = scim.delete(path, headers={"If-Match": "*"})
    assert_scim_error(status, body, 404)


def test_primary_role_replace_replaces(scim):
    """Entra maps a single app role to roles[primary eq "True"].value: every change is a Replace
    that must hit the stored primary role (a boolean true), never append another one."""
    u = create(scim, "Users", entra_user("roles@contoso.com"))
    path = "/Users/" + u["id"]
    for role in ("Admin", "Developer", "Auditor"):
        op = {"op": "Replace", "path": 'roles[primary eq "True"].value', "value": role}
        status, _, body, raw = scim.patch(path, patch_body(op))
        assert status == 200, raw
    roles = scim.get(path)[2]["roles"]
    assert roles == [{"primary": True, "value": "Auditor"}], roles
    found = find(scim, "Users", 'roles[primary eq "true"].value eq "Auditor"')
    assert found["totalResults"] == 1


def test_datetime_filters_are_chronological(scim):
    u = create(scim, "Users", entra_user("dates@contoso.com"))
    modified = u["meta"]["lastModified"]  # e.g. 2026-12-03T08:24:47.771Z
    m = re.fullmatch(r"(\d{4}-\d\d-\d\d)T(\d\d):(\d\d:\d\d)\.(\d{3})Z", modified)
    assert m, modified
    day, hour, rest, millis = m.groups()
    whole_second = "%sT%s:%sZ" % (day, hour, rest)
    an_hour_west = "%sT%02d:%s.%s-01:00" % (day, int(hour) - 1, rest, millis) if hour != "00" else None
    assert find(scim, "Users", 'meta.lastModified ge "%s"' % whole_second)["totalResults"] == 1
    assert find(scim, "Users", 'meta.lastModified gt "%s"' % modified)["totalResults"] == 0
    assert find(scim, "Users", 'meta.lastModified le "%s"' % modified)["totalResults"] == 1
    if an_hour_west:
        assert find(scim, "Users", 'meta.lastModified eq "%s"' % an_hour_west)["totalResults"] == 1
        assert find(scim, "Users", 'meta.lastModified ne "%s"' % an_hour_west)["totalResults"] == 0
    for bad in ('meta.lastModified gt "yesterday"', 'meta.lastModified ge "%s"' % day,
                "meta.created eq 42"):
        status, _, body, _ = scim.get("/Users" + query(filter=bad))
        assert_scim_error(status, body, 400, "invalidFilter", detail_has="dateTime")


def test_unicode_case_folding(scim):
    m = create(scim, "Users", entra_user("hans.m\u00fcller@contoso.com", family="M\u00fcller", given="Hans"))
    # userName is unique without regard to case, beyond ASCII too.
    status, _, body, _ = scim.post("/Users", entra_user("HANS.M\u00dcLLER@contoso.com", external_id="other"))
    assert_scim_error(status, body, 409, "uniqueness")
    other = create(scim, "Users", entra_user("\u03bf\u03b4\u03c5\u03c3\u03c3\u03b5\u03c5\u03c2@contoso.com",
                                             given="\u0418\u0432\u0430\u043d", family="\u041f\u0435\u0442\u0440\u043e\u0432"))
    status, _, body, _ = scim.patch("/Users/" + other["id"], patch_body(
        {"op": "Replace", "path": "userName", "value": "Hans.M\u00dcller@Contoso.com"}))
    assert_scim_error(status, body, 409, "uniqueness")
    # Entra's look-up by userName, and filters on caseExact=false attributes.
    for filt, who in (('userName eq "HANS.M\u00dcLLER@CONTOSO.COM"', m),
                      ('name.familyName eq "M\u00dcLLER"', m),
                      ('userName eq "\u039f\u0394\u03a5\u03a3\u03a3\u0395\u03a5\u03a3@contoso.com"', other),
                      ('name.givenName eq "\u0418\u0412\u0410\u041d"', other),
                      ('name.familyName sw "\u043f\u0435\u0442"', other)):
        for style in ("%20", "+"):
            found = find(scim, "Users", filt, style=style)
            assert [r["id"] for r in found["Resources"]] == [who["id"]], (filt, found)
    assert find(scim, "Users", 'externalId eq "HANS.M\u00dcLLER"')["totalResults"] == 0  # caseExact


def test_duplicate_group_display_names_are_accepted(scim):
    a = create(scim, "Groups", entra_group("Web Team", GUID_A))
    b = create(scim, "Groups", entra_group("web team", GUID_B))
    assert a["id"] != b["id"]
    c = create(scim, "Groups", entra_group("Other", "5a5a5a5a-0000-4000-8000-00000000000c"))
    status, _, _, raw = scim.patch("/Groups/" + c["id"], patch_body(
        {"op": "Replace", "path": "displayName", "value": "WEB TEAM"}))
    assert status == 204, raw
    found = find(scim, "Groups", 'displayName eq "Web Team"', excludedAttributes="members")
    assert sorted(r["id"] for r in found["Resources"]) == sorted([a["id"], b["id"], c["id"]])
    schema = scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group")[2]
    display = [attr for attr in schema["attributes"] if attr["name"] == "displayName"][0]
    assert display["uniqueness"] == "none"
    user_schema = scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")[2]
    assert [attr for attr in user_schema["attributes"] if attr["name"] == "userName"][0]["uniqueness"] == "server"


SHARED_NAME_POLICY = """\
[role admin]
rank = 30

[role user]
rank = 10

[rule by-name]
groups = Web Team
role = admin
ous = global

[rule by-id]
groups = %s, %s
role = user
ous = global
""" % (GUID_A, GUID_B)


def test_shared_display_name_fails_closed(procs):
    """Two groups named "Web Team": a rule naming it matches neither (logged, shown by rules
    check), neither gets the Unix group web-team (logged), and rules by object id still work."""
    site = harness.Site(policy=SHARED_NAME_POLICY)
    try:
        syncd = harness.Syncd(site, procs)
        scim = syncd.client
        alice = au.provision_user(scim, "alice@contoso.com")
        bob = au.provision_user(scim, "bob@contoso.com")
        au.provision_group(scim, "Web Team", GUID_A, [alice])
        au.wait_passwd(syncd, lambda pw: set(pw) == {"alice"})
        assert au.query(site, "SELECT name FROM groups") == [("web-team",)]  # one group of that name
        au.provision_group(scim, "WEB TEAM", GUID_B, [bob])
        au.wait_passwd(syncd, lambda pw: set(pw) == {"alice", "bob"})
        pw = au.passwd(site)
        assert pw["alice"][1] == pw["bob"][1] == "user"  # by object id; the shared name gave no admin
        assert au.query(site, "SELECT name FROM groups") == []
        check = harness.cli(site, "rules", "check", check=False)
        assert check.returncode == 1, check.stdout
        assert "display name shared by 2 provisioned groups" in check.stdout, check.stdout
        assert check.stdout.count("Unix name web-team shared, not published") == 2, check.stdout
        logs = syncd.logs()
        assert "rule 'by-name': display name 'Web Team' is shared by 2 provisioned groups" in logs, logs
        assert logs.count("gets no Unix group web-team") == 2, logs
        stop_and_check_logs(syncd)
    finally:
        site.cleanup()

