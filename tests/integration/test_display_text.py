"""Display text from outside reaches passwd lines and terminals clean (common/text_safe.c): a
gecos provisioned over SCIM and read back through glibc (getent), and the code and URL an IdP
answers, as pam_entra shows them at sign-in through entra-authd. Clean means
valid UTF-8, no C0/C1 control (U+009B is CSI), no bidi or other format character, no ':' in a
passwd field, and a cut on a character boundary."""

import unicodedata

import pytest

import aup_util as au
import harness
import pam_util
from nss_util import NssHost
from pam_util import alice, idp  # noqa: F401  (fixtures)

pytestmark = pytest.mark.needs_root

LONG_NAME = "\u5c71\u7530\u00e9\U0001F600" * 30  # 3+3+2+4 bytes, 360 bytes in all


def unsafe(ch):
    return unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp")


def run_bytes(binds, argv, env, stdin=b""):
    """ARGV in a private mount namespace with BINDS, its output as bytes (never decoded here)."""
    return harness.in_namespace(argv, binds, env=env, input=stdin, timeout=120, text=False)


def clean_text(raw, allowed="\n"):
    """RAW decoded as UTF-8, which it must be, with no control or format character but ALLOWED."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        raise AssertionError("not valid UTF-8 (%s): %r" % (e, raw)) from None
    bad = sorted({"U+%04X" % ord(c) for c in text if unsafe(c) and c not in allowed})
    assert not bad, "%s in %r" % (bad, text)
    return text


def test_gecos_through_getent_is_clean_utf8(site, syncd, scim):
    names = {
        "csi": "Mallory\u009b31m Red\u202eevil\u2066:root\u0007\nx",
        "long": LONG_NAME,
        "cut": "xy" + LONG_NAME,  # the old cut at 256 bytes fell inside a character in both
    }
    ids = []
    for key, display in names.items():
        body = harness.entra_user("gecos%s@contoso.com" % key, external_id="gecos" + key)
        body["displayName"] = display
        status, _, created, raw = scim.post("/Users", body)
        assert status == 201, raw
        ids.append(created["id"])
    au.provision_group(scim, "Linux Users", au.GUID_USERS, ids)
    au.wait_passwd(syncd, lambda pw: {"gecos" + k for k in names} <= set(pw))
    host = NssHost(site)
    out = {}
    for key in names:
        r = run_bytes(host.binds, ["getent", "passwd", "gecos" + key], host.env)
        assert r.returncode == 0, r.stderr
        line = clean_text(r.stdout).rstrip("\n")
        fields = line.split(":")
        assert len(fields) == 7 and fields[0] == "gecos" + key, line
        assert len(fields[4].encode()) <= 256, fields[4]
        out[key] = fields[4]
    assert out["csi"] == "Mallory31m Redevilrootx"
    assert LONG_NAME.startswith(out["long"]) and len(out["long"].encode()) > 250
    assert ("xy" + LONG_NAME).startswith(out["cut"]) and len(out["cut"].encode()) > 250
    everyone = run_bytes(host.binds, ["getent", "passwd"], host.env)  # enumeration, through glibc too
    assert everyone.returncode == 0 and all(("gecos%s:" % k).encode() in everyone.stdout for k in names)
    clean_text(everyone.stdout)


# What a hostile or broken IdP may answer as the code and the URL to show.
HOSTILE_CODE = "AB\x1b[2JCD\u009b31m\u202eEF\u00e9\u200b"
HOSTILE_PATH = "/devicelogin?x=\u00e9\u202e\u2066\u0085"


def shown_line(r):
    """The prompt's "open URL ... enter the code CODE" line, checked clean."""
    text = clean_text(r.stdout + r.stderr, allowed="\n\t")
    lines = [line for line in text.splitlines() if "enter the code" in line]
    assert len(lines) == 1, text[-3000:]
    return lines[0]


def sign_in(site, locale):
    env = harness.module_env({"LC_ALL": locale, "LANG": locale})
    argv = ["pamtester", "-v", pam_util.SERVICE, "alice", "authenticate"]
    return run_bytes(site.binds(), argv, env, stdin=b"\n" * 10)


@pytest.fixture
def prompt_site(idp, alice):  # noqa: F811
    site = pam_util.PamSite(idp, [alice[0]])
    site.broker_ready()  # sign_in runs pamtester itself: the site's entra-authd must be up first
    yield site, "entra-authd"
    site.cleanup()


@pytest.mark.parametrize("locale,code,path", [
    ("C.UTF-8", "AB[2JCD31mEF\u00e9", "/devicelogin?x=\u00e9"),
    ("C", "AB[2JCD31mEF?", "/devicelogin?x=?"),  # a terminal not known to be UTF-8: ASCII only
])
def test_idp_text_reaches_the_terminal_clean(prompt_site, idp, alice, locale, code, path):  # noqa: F811
    site, how = prompt_site
    idp.script(user=alice[1], user_code=HOSTILE_CODE, verification_uri=idp.authority + HOSTILE_PATH)
    r = sign_in(site, locale)
    line = shown_line(r)
    assert line == "open %s%s in a browser and enter the code %s" % (idp.authority, path, code), line
    if locale == "C":
        assert all(c < 0x80 for c in line.encode()), line
    assert r.returncode == 0 and b"successfully authenticated" in r.stdout + r.stderr, (r.stdout + r.stderr)[-3000:]
    if how == "entra-authd":
        assert b"signing alice in through entra-authd" in r.stderr
