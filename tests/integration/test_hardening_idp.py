"""Hostile identity provider: a wrong CA, endpoints that hang, huge or malformed JSON, a JWKS
with hundreds of keys. Every sign-in must end cleanly (pamtester gets an answer, nothing
crashes) within login_timeout, with the reason in the module's log."""

import re
import time

import pytest

import hardening_util as hu
import pam_util

pytestmark = pytest.mark.needs_root

LOGIN_TIMEOUT = 10  # the smallest entra.conf accepts


def hostile_site(procs, tmp_path, mode, user=None, **pam):
    idp = hu.HostileIdp(procs, str(tmp_path), mode)
    alice = user or pam_util.new_user("alice")
    site = pam_util.PamSite(idp, [alice[0]], login_timeout=LOGIN_TIMEOUT)
    site.set_pam(login_timeout=LOGIN_TIMEOUT, qr="no", **pam)
    return idp, site, alice


def sign_in(site, enters=30):
    started = time.monotonic()
    r = site.pamtester("alice", "authenticate", enters=enters, timeout=LOGIN_TIMEOUT * 4)
    return r, time.monotonic() - started


def assert_clean_refusal(r, took, reason, limit=LOGIN_TIMEOUT + 5):
    assert r.returncode != 0, r.text
    assert "successfully authenticated" not in r.text
    m = re.search(reason, r.stderr)
    assert m, r.stderr[-2000:]
    print("%.1f s: %s" % (took, r.stderr[r.stderr.rfind("\n", 0, m.start()) + 1:r.stderr.find("\n", m.end())]))
    assert took < limit, "sign-in took %.1f s, login_timeout is %d s" % (took, LOGIN_TIMEOUT)
    assert "AddressSanitizer" not in r.text and "runtime error" not in r.text, r.text[-3000:]


@pytest.mark.parametrize("mode,reason", [
    ("wrong_ca", r"cannot fetch the discovery document: .*(SSL|certificate|issuer)"),
    ("huge_discovery", r"cannot fetch the discovery document: .*(large|size|limit|exceed)"),
    ("malformed_discovery", r"without a JSON object"),
])
def test_bad_discovery_fails_at_once_with_reason(procs, tmp_path, mode, reason):
    idp, site, _ = hostile_site(procs, tmp_path, mode)
    r, took = sign_in(site)
    assert_clean_refusal(r, took, reason, limit=5)


def test_hanging_discovery_is_cut_off_by_login_timeout(procs, tmp_path):
    """http_timeout is the maximum (300 s): only the module's own deadline can end this."""
    idp, site, _ = hostile_site(procs, tmp_path, "hang_discovery", http_timeout=300)
    r, took = sign_in(site)
    assert_clean_refusal(r, took, r"cannot fetch the discovery document: .*(imeout|timed out)")
    assert took > LOGIN_TIMEOUT - 2, "gave up before login_timeout (%.1f s)" % took


def test_hanging_token_endpoint_is_cut_off_by_login_timeout(procs, tmp_path):
    idp, site, alice = hostile_site(procs, tmp_path, "hang_token", http_timeout=300)
    idp.script(user=alice[1])
    r, took = sign_in(site)
    assert_clean_refusal(r, took, r"token request failed: .*(imeout|timed out)")
    assert "Press Enter once you have signed in" in r.text


@pytest.mark.parametrize("mode,reason", [
    ("malformed_devicecode", r"device code (request failed|response lacks)"),
    ("malformed_token", r"token response has no id_token"),
    ("huge_token", r"token request failed: .*(large|size|limit|exceed)"),
])
def test_bad_device_code_and_token_answers_fail_with_reason(procs, tmp_path, mode, reason):
    idp, site, alice = hostile_site(procs, tmp_path, mode)
    idp.script(user=alice[1])
    r, took = sign_in(site)
    assert_clean_refusal(r, took, reason)
    assert "\x1b" not in r.text, "a terminal escape from the IdP reached the user"


def test_jwks_with_hundreds_of_keys_still_finds_the_signer(procs, tmp_path):
    idp, site, alice = hostile_site(procs, tmp_path, "many_keys")
    idp.script(user=alice[1])
    r, took = sign_in(site)
    assert r.returncode == 0 and "successfully authenticated" in r.text, r.text[-2000:]
    assert took < LOGIN_TIMEOUT


def test_jwks_with_hundreds_of_foreign_keys_refuses(procs, tmp_path):
    idp, site, alice = hostile_site(procs, tmp_path, "many_keys_no_match")
    idp.script(user=alice[1])
    r, took = sign_in(site)
    assert_clean_refusal(r, took, r"refusing sign-in of alice: token kid .* is not in the JWKS")
