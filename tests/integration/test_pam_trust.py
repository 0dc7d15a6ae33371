"""pam_entra at its trust boundaries, through pamtester in private mount namespaces whose
/etc/passwd, /etc/shadow and /etc/nsswitch.conf are the test's own copies:
- the PAM user name must resolve through NSS to the very account cache.db describes (a local
  account of the same name never receives an Entra user's session);
- a broken or missing entra.conf never locks out local users, and lets no Entra user in."""

import os
import re
import subprocess

import pytest

import harness
import pam_util
from pam_util import alice, idp, site  # noqa: F401  (shared pytest fixtures)

pytestmark = pytest.mark.needs_root

LOCAL_PASSWORD = "correct horse battery staple"


class LocalFiles:
    """Copies of the host's passwd and shadow with extra local accounts, bound over /etc."""

    def __init__(self, directory):
        self.passwd = os.path.join(directory, "passwd")
        self.shadow = os.path.join(directory, "shadow")
        with open("/etc/passwd") as f:
            passwd = f.read()
        with open("/etc/shadow") as f:
            shadow = f.read()
        with open(self.passwd, "w") as f:
            f.write(passwd)
        with open(self.shadow, "w") as f:
            f.write(shadow)
        os.chmod(self.shadow, 0o640)

    def add(self, name, uid, password=None):
        with open(self.passwd, "a") as f:
            f.write("%s:x:%d:%d:Local %s:/nonexistent:/bin/sh\n" % (name, uid, uid, name))
        crypted = "*"
        if password:
            crypted = subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password, capture_output=True,
                                     text=True, check=True).stdout.strip()
        with open(self.shadow, "a") as f:
            f.write("%s:%s:19000:0:99999:7:::\n" % (name, crypted))

    def binds(self):
        return [(self.passwd, "/etc/passwd"), (self.shadow, "/etc/shadow")]


@pytest.fixture
def local(tmp_path):
    return LocalFiles(str(tmp_path))


def ignored_count(result):
    """How many phases pam_entra passed on to the rest of the stack (PAM_IGNORE)."""
    return result.text.count(pam_util.IGNORED)


def refused(result, pattern):
    assert result.returncode != 0, result.text
    assert re.search(pattern, result.stderr), result.stderr


# --- one name, two accounts ------------------------------------------------------------------

def test_local_account_of_the_same_name_never_gets_the_entra_session(idp, local):
    bob_row, bob = pam_util.new_user("bob")
    s = pam_util.PamSite(idp, [bob_row])
    try:
        idp.script(user=bob)
        assert s.pamtester("bob", binds=local.binds()).returncode == 0  # no local bob: Entra's bob signs in
        idp.control(op="reset")
        local.add("bob", 1500)  # a local bob, added after the last publish
        idp.script(user=bob)
        r = s.pamtester("bob", binds=local.binds())
        refused(r, r"refusing sign-in of bob: the name bob belongs to another account \(uid 1500\) that comes "
                   r"first in nsswitch.conf, not to the Entra account \(uid %d\)" % bob_row["uid"])
        assert "Authentication failure" in r.text and ignored_count(r) == 0  # refused, not passed on
        assert idp.requests() == [], "no device code for a login that must be refused"
        r = s.pamtester("bob", "acct_mgmt", binds=local.binds())
        refused(r, r"access denied to bob: the name bob belongs to another account \(uid 1500\)")
        assert "Permission denied" in r.text
    finally:
        s.cleanup()


def test_name_nss_does_not_resolve_is_refused(idp, site, alice):
    with open(site.nsswitch, "w") as f:
        f.write("passwd: files\ngroup: files\nshadow: files\n")
    idp.script(user=alice[1])
    refused(site.pamtester("alice"), r"refusing sign-in of alice: NSS does not resolve alice \(is scim listed")
    refused(site.pamtester("alice", "acct_mgmt"), r"access denied to alice: NSS does not resolve alice")
    assert idp.requests() == []


def test_cache_uid_outside_the_range_is_refused(idp):
    row, ident = pam_util.new_user("dora", uid=1600)
    s = pam_util.PamSite(idp, [row])
    try:
        idp.script(user=ident)
        refused(s.pamtester("dora"), r"cache.db gives dora uid 1600, outside \[accounts\] uid_min..uid_max")
        assert idp.requests() == []
    finally:
        s.cleanup()


def test_hostile_cache_fails_closed_for_entra_names_and_ignores_local_users(idp, site, alice, local):
    local.add("localu", 1501, LOCAL_PASSWORD)
    os.chmod(site.site.cache_db, 0o666)  # anyone could have written it: not an account source
    r = site.pamtester("alice", "acct_mgmt", binds=local.binds())
    refused(r, r"untrusted file.*check that entra-syncd publishes")
    r = site.pamtester("localu", "authenticate", "acct_mgmt", binds=local.binds())
    assert r.returncode == 0 and ignored_count(r) == 2, r.text
    assert "localu is a local account, left to the rest of the stack" in r.stderr


# --- a broken entra.conf ---------------------------------------------------------------------

def write_local_stack(psite, config):
    """The stack pam-auth-update builds from etc/pam-configs/entra and Debian's pam_unix profile
    (it turns the profile's success=end into the jump past the primary block)."""
    module = "%s config=%s debug" % (os.path.join(harness.BUILD, "pam_entra.so"), config)
    text = ("auth [success=2 ignore=ignore default=die] %s\n"
            "auth [success=1 default=ignore] pam_unix.so nullok\n"
            "auth requisite pam_deny.so\n"
            "auth required pam_permit.so\n"
            "account [success=ok ignore=ignore default=bad] %s\n"
            "account [success=1 new_authtok_reqd=done default=ignore] pam_unix.so\n"
            "account requisite pam_deny.so\n"
            "account required pam_permit.so\n") % (module, module)
    with open(os.path.join(psite.pamd, pam_util.SERVICE), "w") as f:
        f.write(text)


@pytest.mark.parametrize("breakage", ["typo", "missing"])
def test_broken_config_never_locks_out_local_users_nor_lets_entra_users_in(idp, site, alice, local, breakage):
    local.add("localu", 1501, LOCAL_PASSWORD)
    config = site.site.config
    if breakage == "typo":
        with open(config, "a") as f:
            f.write("[pam]\nlogin_timeout = two minutes\n")
    else:
        os.rename(config, config + ".moved")  # libnss_scim and pam_entra both find no file
    write_local_stack(site, config)
    idp.script(user=alice[1])
    binds = local.binds()
    r = harness.in_namespace(["pamtester", "-v", pam_util.SERVICE, "localu", "authenticate", "acct_mgmt"],
                             site.binds() + binds, env=harness.module_env(), input=LOCAL_PASSWORD + "\n",
                             timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ignoring every user until the file is fixed" in r.stderr
    r = harness.in_namespace(["pamtester", "-v", pam_util.SERVICE, "localu", "authenticate"],
                             site.binds() + binds, env=harness.module_env(), input="wrong\n", timeout=60)
    assert r.returncode != 0 and "Authentication failure" in r.stderr, r.stdout + r.stderr
    # Entra's alice: pam_entra steps aside, pam_unix knows no password, libnss_scim no account
    for ops in (["authenticate"], ["acct_mgmt"]):
        r = harness.in_namespace(["pamtester", "-v", pam_util.SERVICE, "alice"] + ops, site.binds() + binds,
                                 env=harness.module_env(), input="\n" * 5, timeout=60)
        assert r.returncode != 0, (ops, r.stdout + r.stderr)
    assert idp.requests() == []
    r = harness.in_namespace(["getent", "passwd", "alice"], site.binds() + binds, env=harness.module_env())
    assert r.returncode == 2, r.stdout
