"""pam_entra.so through pamtester against the test IdP, in private mount namespaces.

The module runs with 'debug', so its authpriv log lines also go to stderr, where the tests
check the refusal reasons. Poll counts and spacing come from the IdP's request log."""

import os
import re
import shutil
import stat
import subprocess
import time
import uuid

import pytest

import pam_util
from pam_util import alice, idp, site  # noqa: F401  (shared pytest fixtures)

pytestmark = pytest.mark.needs_root

AUTH_FAIL = "Authentication failure"


def spacing(polls):
    return [b["time"] - a["time"] for a, b in zip(polls, polls[1:])]


def assert_refused(result, reason):
    assert result.returncode != 0, result.text
    assert AUTH_FAIL in result.text, result.text
    assert re.search(r"refusing sign-in of \w+: .*" + reason, result.stderr), result.stderr
    assert "eyJ" not in result.text, "a token was logged or shown"


def test_sign_in_shows_url_code_host_and_polls_each_enter(idp, site, alice):
    idp.script(user=alice[1], pending=2)
    r = site.pamtester("alice", "authenticate", "acct_mgmt")
    assert r.returncode == 0, r.text
    assert "successfully authenticated" in r.text
    assert "account management done" in r.text
    assert "Sign in to web-01 as alice" in r.text
    assert "open %s/devicelogin" % idp.authority in r.text
    assert re.search(r"enter the code [A-Z0-9]{9}\b", r.text)
    assert r.text.count("Press Enter once you have signed in") == 1
    assert r.text.count("Sign-in not finished yet: press Enter once you have signed in") == 2
    polls = idp.polls()
    assert len(polls) == 3  # two pending answers, then the token
    for gap in spacing(polls):
        assert 1.0 <= gap < 3.0, spacing(polls)  # interval 1 s honoured, no dawdling
    form = polls[0]["form"]
    assert form["grant_type"] == "urn:ietf:params:oauth:grant-type:device_code"
    assert form["client_id"] == pam_util.CLIENT and form["device_code"].startswith("DAQABAAEAAAD")
    devicecode = idp.requests("/oauth2/v2.0/devicecode")
    assert len(devicecode) == 1 and devicecode[0]["form"]["scope"] == "openid profile"
    assert "signed in with Microsoft Entra ID (oid %s" % alice[1]["oid"] in r.stderr


def test_slow_down_adds_five_seconds(idp, site, alice):
    idp.script(user=alice[1], slow_down=True)
    r = site.pamtester("alice")
    assert r.returncode == 0, r.text
    polls = idp.polls()
    assert len(polls) == 2
    assert 6.0 <= spacing(polls)[0] < 9.0, spacing(polls)


@pytest.mark.parametrize("result", ["authorization_declined", "expired_token", "bad_verification_code",
                                    "invalid_grant"])
def test_final_errors_end_at_once(idp, site, alice, result):
    idp.script(user=alice[1], result=result)
    r = site.pamtester("alice")
    assert r.returncode != 0 and AUTH_FAIL in r.text
    assert len(idp.polls()) == 1
    assert "token request failed: HTTP 400 %s AADSTS" % result in r.stderr


FORGERIES = {
    "alg_none": "token alg is 'none', only RS256",
    "hs256_pubkey": "token alg is 'HS256', only RS256",
    "alg_ps256": "token alg is 'PS256', only RS256",
    "wrong_aud": "token aud is not this client_id",
    "wrong_iss": "token iss 'https://sts.windows.net/.*' is not the expected",
    "wrong_tid": "token tid '.*' is not the configured tenant",
    "expired": "token expired 36[0-9][0-9] s ago",
    "nbf_future": "token not valid before 3[56][0-9][0-9] s from now",
    "iat_future": "token iat is 3[56][0-9][0-9] s in the future",
    "unknown_kid": "token kid '.*' is not in the JWKS",
    "bad_signature": "token signature does not verify",
    "foreign_key": "token signature does not verify",
    "no_oid": r"token oid \(none\) is not the Entra object id",
}


@pytest.mark.parametrize("forge", sorted(FORGERIES))
def test_forged_tokens_refused(idp, site, alice, forge):
    idp.script(user=alice[1], forge=forge)
    r = site.pamtester("alice")
    assert_refused(r, FORGERIES[forge])
    assert len(idp.polls()) == 1


def test_another_users_token_refused(idp, site, alice):
    _, bob = pam_util.new_user("bob")
    idp.script(user=bob)
    assert_refused(site.pamtester("alice"), "token oid %s is not the Entra object id %s of account alice"
                   % (bob["oid"], alice[1]["oid"]))


def test_same_upn_other_oid_refused(idp, site, alice):
    impostor = dict(alice[1], oid=str(uuid.uuid4()))
    idp.script(user=impostor)
    assert_refused(site.pamtester("alice"), "token oid %s is not the Entra object id" % impostor["oid"])


def test_no_object_id_refused_before_any_prompt_unless_upn_binding_allowed(idp):
    row, ident = pam_util.new_user("carol", object_id=False)
    s = pam_util.PamSite(idp, [row])
    try:
        r = s.pamtester("carol")
        assert_refused(r, "account carol has no Entra object id.*map objectId to externalId.*allow_upn_binding")
        assert "devicelogin" not in r.text and idp.requests() == []
        s.set_pam(login_timeout=30, qr="no", allow_upn_binding="yes")  # the admin's opt-in: UPN decides
        idp.script(user=dict(ident, upn="Carol@Contoso.COM"))  # UPNs compare case-insensitively
        r = s.pamtester("carol")
        assert r.returncode == 0, r.text
        idp.script(user=dict(ident, upn="mallory@contoso.com"))
        assert_refused(s.pamtester("carol"), "token preferred_username 'mallory@contoso.com' is not the UPN "
                       "carol@contoso.com")
    finally:
        s.cleanup()


def test_audience_array_containing_client_accepted(idp, site, alice):
    idp.script(user=alice[1], forge="aud_array")
    r = site.pamtester("alice")
    assert r.returncode == 0, r.text


def test_discovery_issuer_with_tenantid_placeholder(idp, site, alice):
    idp.control(op="config", issuer_placeholder=True)
    idp.script(user=alice[1])
    r = site.pamtester("alice")
    assert r.returncode == 0, r.text


def test_cache_is_root_only_and_reused(idp, site, alice):
    idp.script(user=alice[1])
    assert site.pamtester("alice").returncode == 0
    mode = os.stat(site.cache_dir).st_mode
    assert stat.S_IMODE(mode) == 0o700
    names = sorted(os.listdir(site.cache_dir))
    assert [n.split("-")[0] for n in names] == ["discovery", "jwks"], names
    for n in names:
        st = os.stat(os.path.join(site.cache_dir, n))
        assert stat.S_IMODE(st.st_mode) == 0o600 and st.st_uid == os.geteuid()
    idp.control(op="reset")
    idp.script(user=alice[1])
    assert site.pamtester("alice").returncode == 0
    paths = [r["path"] for r in idp.requests() if r["method"] == "GET"]
    assert paths == [], "discovery and keys should come from the cache: %s" % paths


def test_key_rotation_refetches_jwks_once_rate_limited(idp, site, alice):
    idp.script(user=alice[1])
    assert site.pamtester("alice").returncode == 0  # caches the JWKS
    idp.control(op="rotate")  # tokens are now signed by a key the cached JWKS lacks
    idp.control(op="reset")
    idp.script(user=alice[1])
    r = site.pamtester("alice")
    assert_refused(r, "is not in the JWKS \\(JWKS refetched less than 300 s ago\\)")
    assert idp.requests("/discovery/v2.0/keys") == []
    jwks = [n for n in os.listdir(site.cache_dir) if n.startswith("jwks-")][0]
    old = time.time() - 600
    os.utime(os.path.join(site.cache_dir, jwks), (old, old))
    idp.script(user=alice[1])
    r = site.pamtester("alice")
    assert r.returncode == 0, r.text
    assert "refetching the JWKS" in r.stderr
    assert len(idp.requests("/discovery/v2.0/keys")) == 1


def test_unknown_user_is_ignored(idp, site):
    r = site.pamtester("nobody", "authenticate", "acct_mgmt")
    assert r.returncode == 0, r.text
    assert r.text.count(pam_util.IGNORED) == 2  # auth and account both fell through to the next module
    assert idp.requests() == []


def test_root_never_authenticated(idp, alice):
    toor = dict(name="toor", uid=0, upn="toor@contoso.com", object_id=str(uuid.uuid4()))
    s = pam_util.PamSite(idp, [alice[0], dict(name="root", uid=200999), toor])
    try:
        r = s.pamtester("root", "authenticate", "acct_mgmt")
        assert r.text.count(pam_util.IGNORED) == 2, r.text  # even a cache row named root is not ours
        r = s.pamtester("toor")
        assert r.returncode != 0 and AUTH_FAIL in r.text
        assert "cache.db maps it to uid 0" in r.stderr
        r = s.pamtester("toor", "acct_mgmt")
        assert r.returncode != 0 and "Permission denied" in r.text
        assert idp.requests() == []
    finally:
        s.cleanup()


def test_account_phase(idp):
    today = int(time.time() // 86400)
    users = [pam_util.new_user("dave", expire=1)[0], pam_util.new_user("erin", login=0)[0],
             pam_util.new_user("frank", expire=today + 30)[0], pam_util.new_user("gina", expire=today)[0],
             pam_util.new_user("hank")[0]]
    s = pam_util.PamSite(idp, users)
    try:
        r = s.pamtester("dave", "acct_mgmt")
        assert r.returncode != 0 and "User account has expired" in r.text, r.text
        assert "has been disabled" in r.text
        assert "Permission denied" in s.pamtester("erin", "acct_mgmt").text
        assert "User account has expired" in s.pamtester("gina", "acct_mgmt").text
        for name in ("frank", "hank"):
            r = s.pamtester(name, "acct_mgmt")
            assert r.returncode == 0 and pam_util.IGNORED not in r.text, r.text
        for name, why in (("dave", "disabled or expired"), ("erin", "does not allow login")):
            r = s.pamtester(name)
            assert r.returncode != 0 and "refusing sign-in of %s: " % name in r.stderr and why in r.stderr
        assert idp.requests() == []  # no device code for people who cannot log in anyway
    finally:
        s.cleanup()


def test_code_expiry_bounds_the_flow(idp, site, alice):
    idp.script(user=alice[1], pending=1000, expires_in=3)
    r = site.pamtester("alice", enters=100)
    assert r.returncode != 0 and "not completed within the time limit" in r.stderr
    assert 2 <= len(idp.polls()) <= 4


def test_login_timeout_bounds_the_flow(idp, site, alice):
    site.set_pam(login_timeout=10, qr="no")
    idp.script(user=alice[1], pending=1000)
    started = time.monotonic()
    r = site.pamtester("alice", enters=100)
    assert r.returncode != 0 and "not completed within the time limit" in r.stderr
    assert time.monotonic() - started < 30
    # Polling goes on until the limit and stops there (fewer polls when the host is loaded).
    t0 = idp.requests("/oauth2/v2.0/devicecode")[0]["time"]
    polls = idp.polls()
    assert len(polls) >= 4, polls
    assert 7.5 <= polls[-1]["time"] - t0 <= 10.5, (t0, polls)


def test_tls_is_verified_without_ca_file(idp, alice):
    s = pam_util.PamSite(idp, [alice[0]], ca=False)
    try:
        idp.script(user=alice[1])
        r = s.pamtester("alice")
        assert r.returncode != 0 and "Authentication service cannot retrieve" in r.text, r.text
        assert "cannot fetch the discovery document" in r.stderr and "certificate" in r.stderr
        assert idp.requests() == []
    finally:
        s.cleanup()


def hashed_cert_dir(directory, *pems):
    """A certificate directory as update-ca-certificates leaves /etc/ssl/certs: <subject hash>.0
    per CA, no bundle file."""
    os.makedirs(directory)
    for pem in pems:
        digest = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", pem], capture_output=True, text=True,
                                check=True).stdout.strip()
        shutil.copy(pem, os.path.join(directory, digest + ".0"))
    return directory


@pytest.mark.parametrize("system, ca_file, trusted", [
    ("idp", None, True),           # system anchors come from the hashed directory
    ("idp", "unrelated", True),    # ca_file adds an anchor, it never replaces the system's
    ("none", "idp", True),         # ca_file alone is enough
    ("unrelated", "unrelated", False),
])
def test_trust_is_system_certificate_directory_plus_ca_file(idp, alice, tmp_path, system, ca_file, trusted):
    pems = {"idp": idp.ca, "unrelated": pam_util.unrelated_ca(tmp_path) if "unrelated" in (system, ca_file) else None}
    certs = hashed_cert_dir(str(tmp_path / "certs"), *([pems[system]] if system != "none" else []))
    s = pam_util.PamSite(idp, [alice[0]], ca=pems[ca_file] if ca_file else False)
    try:
        idp.script(user=alice[1])
        s.broker_binds = [(certs, "/etc/ssl/certs")]  # entra-authd's view of the system store
        r = s.pamtester("alice")
        if trusted:
            assert r.returncode == 0, r.text
        else:
            assert r.returncode != 0 and "certificate" in r.stderr, r.text
            assert idp.requests() == []
    finally:
        s.cleanup()


def test_one_connection_per_sign_in(idp, site, alice):
    """Discovery, JWKS, the device code request and every poll of one sign-in share one TLS
    connection: one handshake per sign-in, not one per request."""
    idp.script(user=alice[1], pending=2)
    r = site.pamtester("alice")
    assert r.returncode == 0, r.text
    reqs = idp.requests()
    assert len(reqs) == 6, reqs  # discovery, JWKS (cold cache), devicecode, 3 polls
    assert len({q["peer"] for q in reqs}) == 1, reqs


def test_qr_code_shown_when_asked(idp, site, alice):
    site.set_pam(qr="yes")
    idp.script(user=alice[1])
    r = site.pamtester("alice")
    assert r.returncode == 0
    assert "\u2588" in r.text and "\u2584" in r.text
    site.set_pam(qr="no")
    idp.script(user=alice[1])
    assert "\u2588" not in site.pamtester("alice").text


def test_session_and_password(idp, site):
    r = site.pamtester("alice", "open_session", "close_session", "chauthtok")
    assert "session opened for alice" in r.stderr and "session closed for alice" in r.stderr
    assert "managed in Microsoft Entra ID" in r.text
    r = site.pamtester("nobody", "open_session", "close_session")
    assert r.returncode == 0 and "session opened" not in r.stderr


# --- malformed device code and token answers: the log says what was wrong -----------------------

@pytest.fixture
def canned(procs, tmp_path, alice):
    import pam_bodies_util
    idp = pam_bodies_util.CannedIdp(procs, str(tmp_path))
    s = pam_util.PamSite(idp, [alice[0]])
    yield idp, s
    s.cleanup()


@pytest.mark.parametrize("body,lacks", [
    (b'{"device_code": "abc", "user_code": "X', r"a JSON object body \(.*\)"),
    (b'["device_code"]', r"a JSON object body \(it is an array\)"),
    (b'{"device_code": "abc", "user_code": 7, "verification_uri": "https://x"}',
     r"user_code \(it is a number, not a string\)"),
    (b'{"device_code": "abc", "user_code": "ABC"}', r"verification_uri"),
    (b'{"device_code": "", "user_code": "ABC", "verification_uri": "https://x"}', r"device_code \(it is empty\)"),
    (b'{"device_code": "abc", "user_code": "%s", "verification_uri": "https://x"}' % (b"A" * 65),
     r"user_code \(longer than 64 bytes\)"),
])
def test_malformed_device_code_response_logged_as_such(canned, body, lacks):
    idp, s = canned
    idp.serve("devicecode", body)
    r = s.pamtester("alice")
    assert r.returncode != 0
    assert re.search(r"refusing sign-in of alice: device code response lacks " + lacks +
                     r": the HTTP 200 body from \S+ is not a valid device code response", r.stderr), r.stderr
    assert "no error code" not in r.stderr, r.stderr


@pytest.mark.parametrize("body,reason,openid_hint", [
    (b'{"token_type": "Bearer", "access_token": "x"}', r"the token response has no id_token; ", True),
    (b'{"id_token": 5, "token_type": ["Bearer"]}', r"has no id_token string: its id_token is a number; ", False),
    (b'{"id_token": ["a.b.c"]}', r"has no id_token string: its id_token is an array; ", False),
    (b'{"id_token": ""}', r"has no id_token string: its id_token is empty; ", False),
    (b'{"id_token": "a.b.c"', r"the token response \(HTTP 200\) is not a JSON object; ", False),
])
def test_unusable_id_token_logged_with_the_right_hint(canned, alice, body, reason, openid_hint):
    idp, s = canned
    idp.serve("token", body)
    r = s.pamtester("alice")
    assert_refused(r, reason)
    assert ("[pam] scope must include openid" in r.stderr) == openid_hint, r.stderr
    if not openid_hint:
        assert "the IdP does not answer as OpenID Connect requires" in r.stderr, r.stderr
