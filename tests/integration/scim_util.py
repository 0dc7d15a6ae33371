"""Helpers for the SCIM integration tests (test_scim_*.py): query strings encoded the two ways
Entra and other clients do, and small assertions on SCIM bodies."""

import urllib.parse
import uuid

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def query(style="%20", **params):
    """?a=b&c=d with spaces as %20 (style "%20") or as '+' (style "+")."""
    parts = []
    for key, value in params.items():
        if style == "+":
            parts.append("%s=%s" % (key, urllib.parse.quote_plus(str(value))))
        else:
            parts.append("%s=%s" % (key, urllib.parse.quote(str(value), safe="")))
    return "?" + "&".join(parts)


def find(scim, endpoint, filt, style="%20", **extra):
    """GET /endpoint?filter=...; asserts 200 and a ListResponse, returns the body."""
    status, hdrs, body, raw = scim.get("/%s%s" % (endpoint, query(style, filter=filt, **extra)))
    assert status == 200, raw
    assert body["schemas"] == [LIST_SCHEMA]
    assert hdrs.get("Content-Type", "").startswith("application/scim+json")
    return body


def assert_scim_error(status, body, want_status, scim_type=None, detail_has=None):
    assert status == want_status, body
    assert body is not None, "error without a body"
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(want_status)  # RFC 7644: a string
    if scim_type:
        assert body.get("scimType") == scim_type, body
    assert body.get("detail"), body
    if detail_has:
        assert detail_has.lower() in body["detail"].lower(), body["detail"]


def random_guid():
    return str(uuid.uuid4())


def create(scim, endpoint, payload):
    status, hdrs, body, raw = scim.post("/" + endpoint, payload)
    assert status == 201, raw
    assert hdrs.get("Location", "").endswith("/%s/%s" % (endpoint, body["id"]))
    return body


SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def stop_and_check_logs(syncd):
    """Stops entra-syncd (SIGTERM) and fails on any sanitizer report in its log."""
    rc = syncd.stop()
    logs = syncd.logs()
    for mark in SANITIZER_MARKS:
        assert mark not in logs, logs[-6000:]
    assert rc == 0, logs[-3000:]
