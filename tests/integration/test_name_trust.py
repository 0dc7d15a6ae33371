"""Trust boundaries around Unix names, end to end through the real entra-syncd, cache.db and
glibc (getent with libnss_scim in a private mount namespace): a group any tenant user can create
never takes an account away, a name that becomes local between two SCIM changes leaves the cache
within seconds, and accounts without an Entra object id are reported."""

import os
import time

import pytest

import aup_util as au
import harness
import syncd_util
from nss_util import NssHost

pytestmark = pytest.mark.needs_root

GUID_DAVE_EMPTY = "7a1f0c2e-5555-4c1d-9d0e-000000000005"
GUID_DAVE_ELSEWHERE = "7a1f0c2e-6666-4c1d-9d0e-000000000006"


def test_tenant_group_never_takes_a_users_account(site, syncd, scim):
    dave = au.provision_user(scim, "dave@contoso.com", au.user_guid(1))
    erin = au.provision_user(scim, "erin@contoso.com", au.user_guid(2))  # no rule: no account here
    au.provision_group(scim, "Linux Users", au.GUID_USERS, [dave])
    au.wait_passwd(syncd, lambda pw: "dave" in pw)
    uid = au.passwd(site)["dave"][0]
    # Entra lets any user create a security group: one empty, one whose member has no account here.
    empty = au.provision_group(scim, "Dave!", GUID_DAVE_EMPTY, [])
    au.provision_group(scim, "DAVE", GUID_DAVE_ELSEWHERE, [erin])
    syncd_util.wait_for_log(syncd.log_path, "group 'DAVE' (SCIM id")
    log = syncd.logs()
    assert "group 'Dave!' (SCIM id %s) gets no Unix group dave: a user here has that name" % empty in log, log
    assert au.passwd(site)["dave"][0] == uid
    assert [r[0] for r in au.query(site, "SELECT name FROM groups")] == ["linux-users"]
    explain = harness.cli(site, "rules", "explain", "dave").stdout
    assert "local name:   dave (ok)" in explain and "login here:   yes" in explain, explain
    check = harness.cli(site, "rules", "check", check=False).stdout
    assert "'Dave!'" in check and "Unix name dave taken by a user, not published" in check, check
    if au.nss_ready():
        host = NssHost(site)
        out = host.getent("passwd", "dave")
        assert out.returncode == 0 and out.stdout.startswith("dave:x:%d:%d:" % (uid, uid)), out.stdout + out.stderr
        group = host.getent("group", "dave")  # dave's private group, nothing of the tenant's groups
        assert group.returncode == 0 and group.stdout.strip() == "dave:*:%d:" % uid, group.stdout


def test_a_name_that_becomes_local_leaves_the_cache(site, procs):
    passwd = open("/etc/passwd").read()
    group = open("/etc/group").read()
    syncd = au.NamespacedSyncd(site, procs, passwd, group)
    scim = syncd.client
    bob = au.provision_user(scim, "bob@contoso.com", au.user_guid(3))
    carol = au.provision_user(scim, "carol@contoso.com", au.user_guid(4))
    au.provision_group(scim, "Linux Users", au.GUID_USERS, [bob, carol])
    au.wait_passwd(syncd, lambda pw: {"bob", "carol"} <= set(pw))
    host = NssHost(site, extra_binds=syncd.binds) if au.nss_ready() else None
    if host:
        out = host.getent("passwd", "bob")
        assert out.stdout.startswith("bob:x:%d:" % au.passwd(site)["bob"][0]), out.stdout + out.stderr
    # An admin adds a local bob between two SCIM changes (the file the daemon reads, edited in place).
    with open(dict((t, s) for s, t in syncd.binds)["/etc/passwd"], "a") as f:
        f.write("bob:x:1500:1500:Local Bob:/home/bob:/bin/sh\n")
    t0 = time.monotonic()
    au.wait_passwd(syncd, lambda pw: "bob" not in pw, timeout=3)
    took_passwd = time.monotonic() - t0
    log = syncd.logs()
    assert "/etc/passwd changed since the last publish" in log, log
    assert "no account for bob@contoso.com (local name bob): the local name exists in /etc/passwd" in log, log
    assert "carol" in au.passwd(site)
    if host:
        assert host.getent("passwd", "bob").stdout.startswith("bob:x:1500:1500:Local Bob:")
        assert host.getent("-s", "scim", "passwd", "bob").returncode == 2
    # The same for a group that becomes local.
    with open(dict((t, s) for s, t in syncd.binds)["/etc/group"], "a") as f:
        f.write("linux-users:x:1600:\n")
    t0 = time.monotonic()
    syncd.wait_for_cache(lambda con: not con.execute("SELECT 1 FROM groups WHERE name = 'linux-users'").fetchall(),
                         timeout=3)
    took_group = time.monotonic() - t0
    assert "/etc/group changed since the last publish" in syncd.logs()
    print("a newly local name left cache.db after %.2f s (passwd), %.2f s (group)" % (took_passwd, took_group))


def test_accounts_without_object_id_are_logged(site, syncd, scim):
    # Entra's default mapping sends mailNickname as externalId: no object id.
    ids = [au.provision_user(scim, upn) for upn in ("hank@contoso.com", "ivy@contoso.com")]
    ids.append(au.provision_user(scim, "judy@contoso.com", au.user_guid(5)))
    au.provision_group(scim, "Linux Users", au.GUID_USERS, ids)
    au.wait_passwd(syncd, lambda pw: {"hank", "ivy", "judy"} <= set(pw))
    log = syncd_util.wait_for_log(syncd.log_path, "2 of 3 accounts have no Entra object id")
    line = [l for l in log.splitlines() if "have no Entra object id" in l][-1]
    assert "hank, ivy;" in line and "judy" not in line, line
    assert "allow_upn_binding = yes" in line and "map objectId to externalId" in line, line
    assert log.count("have no Entra object id") == 1  # logged when it changes, not on every publish
