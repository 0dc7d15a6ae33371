"""Every SCIM error status entra-syncd produces, with its RFC 7644 error body."""

import pytest

import harness
from harness import entra_group, entra_user, patch_body
from scim_util import stop_and_check_logs, assert_scim_error, create, query


@pytest.fixture
def scim(syncd):
    """The SCIM client; afterwards the daemon must stop cleanly with no sanitizer report."""
    yield syncd.client
    stop_and_check_logs(syncd)


def test_malformed_json_is_invalid_syntax_with_position(scim):
    status, _, body, _ = scim.post("/Users", None, raw=b'{"userName": "x@contoso.com",\n  "active": tru}')
    assert_scim_error(status, body, 400, "invalidSyntax", detail_has="line 2")
    status, _, body, _ = scim.post("/Users", None, raw=b'["not", "an", "object"]')
    assert_scim_error(status, body, 400, "invalidSyntax", detail_has="object")
    status, _, body, _ = scim.patch("/Users/whatever", None, raw=b"{")
    assert_scim_error(status, body, 400, "invalidSyntax")


def test_missing_or_mistyped_user_name_is_invalid_value(scim):
    body = entra_user("x@contoso.com")
    del body["userName"]
    status, _, err, _ = scim.post("/Users", body)
    assert_scim_error(status, err, 400, "invalidValue", detail_has="userName")
    body["userName"] = ["not", "a", "string"]
    status, _, err, _ = scim.post("/Users", body)
    assert_scim_error(status, err, 400, "invalidValue", detail_has="userName")
    status, _, err, _ = scim.post("/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"]})
    assert_scim_error(status, err, 400, "invalidValue", detail_has="displayName")
    # Nothing was stored by the failed requests.
    assert scim.get("/Users")[2]["totalResults"] == 0


def test_bad_filters_are_invalid_filter(scim):
    create(scim, "Users", entra_user("f@contoso.com"))  # so that evaluation-time errors are reached too
    for bad in ('userName eq', 'userName xx "a"', '(userName eq "a"', 'emails[type eq "work"', 'active gt true'):
        status, _, body, _ = scim.get("/Users" + query(filter=bad))
        assert_scim_error(status, body, 400, "invalidFilter")


def test_bad_paging_is_invalid_value(scim):
    status, _, body, _ = scim.get("/Users" + query(count="lots"))
    assert_scim_error(status, body, 400, "invalidValue", detail_has="count")
    status, _, body, _ = scim.get("/Users" + query(startIndex="1x"))
    assert_scim_error(status, body, 400, "invalidValue", detail_has="startIndex")


def test_unknown_ids_and_paths_are_404(scim):
    missing = "00000000-0000-4000-8000-000000000000"
    for method in ("GET", "DELETE"):
        status, _, body, _ = scim.request(method, "/Users/" + missing)
        assert_scim_error(status, body, 404, detail_has=missing)
    status, _, body, _ = scim.put("/Groups/" + missing, entra_group("G", "g"))
    assert_scim_error(status, body, 404)
    status, _, body, _ = scim.patch("/Users/" + missing, patch_body({"op": "replace", "path": "active",
                                                                     "value": False}))
    assert_scim_error(status, body, 404)
    status, _, body, _ = scim.get("/Computers")
    assert_scim_error(status, body, 404, detail_has="/Users")


def test_method_not_allowed_is_405(scim):
    status, _, body, _ = scim.delete("/Users")
    assert_scim_error(status, body, 405)
    status, _, body, _ = scim.post("/Schemas", {})
    assert_scim_error(status, body, 405)


def test_duplicates_are_409_uniqueness(scim):
    create(scim, "Users", entra_user("gina@contoso.com"))
    status, _, body, _ = scim.post("/Users", entra_user("GINA@contoso.com", external_id="other"))
    assert_scim_error(status, body, 409, "uniqueness", detail_has="gina@contoso.com")
    other = create(scim, "Users", entra_user("hank@contoso.com"))
    status, _, body, _ = scim.patch("/Users/" + other["id"], patch_body(
        {"op": "Replace", "path": "userName", "value": "Gina@Contoso.com"}))
    assert_scim_error(status, body, 409, "uniqueness")
    status, _, body, _ = scim.put("/Users/" + other["id"], entra_user("gina@contoso.com"))
    assert_scim_error(status, body, 409, "uniqueness")
    # beyond ASCII too: Unicode case folding
    create(scim, "Users", entra_user("j\u00f6rg@contoso.com"))
    status, _, body, _ = scim.post("/Users", entra_user("J\u00d6RG@contoso.com", external_id="other"))
    assert_scim_error(status, body, 409, "uniqueness", detail_has="J\u00d6RG@contoso.com")
    # The refused rename changed nothing.
    assert scim.get("/Users/" + other["id"])[2]["userName"] == "hank@contoso.com"


def test_patch_errors_leave_the_resource_unchanged(scim):
    u = create(scim, "Users", entra_user("ivy@contoso.com"))
    status, _, body, _ = scim.patch("/Users/" + u["id"], patch_body(
        {"op": "replace", "path": "displayName", "value": "Changed"},
        {"op": "frobnicate", "path": "active", "value": True}))
    assert_scim_error(status, body, 400)
    after = scim.get("/Users/" + u["id"])[2]
    assert after["displayName"] == u["displayName"] and after["meta"]["version"] == u["meta"]["version"]


def test_body_over_max_body_is_413(procs):
    site = harness.Site(extra_sync="max_body = 4096")
    try:
        scim = harness.Syncd(site, procs).client
        big = entra_user("big@contoso.com")
        big["padding"] = "x" * 8000
        status, _, body, _ = scim.post("/Users", big)
        assert_scim_error(status, body, 413)
        assert scim.get("/Users")[2]["totalResults"] == 0
        # Just under the limit still works.
        create(scim, "Users", entra_user("small@contoso.com"))
    finally:
        site.cleanup()
