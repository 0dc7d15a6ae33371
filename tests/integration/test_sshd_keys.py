"""SSH public keys from Entra with a real sshd: sshd asks `entra-sync authorized-keys %u` (as
nobody, through AuthorizedKeysCommand) besides ~/.ssh/authorized_keys. A key Entra sends lets
its user in; a key Entra removes stops working within seconds; a disabled user's key is refused
twice over (not served, and PAM's account phase refuses the same key from authorized_keys); a
key line with options is never served. Set-up in sshd_e2e_util.py; the client is paramiko."""

import re
import time

import pytest

import sshd_e2e_util
import sshd_util

pytestmark = pytest.mark.needs_root

# The test's bound for "within seconds" (publication takes about a tenth of one).
WITHDRAWN_WITHIN_S = 10


@pytest.fixture
def host(procs):
    with sshd_e2e_util.entra_host(procs) as h:
        h.provision()
        h.start_sshd(keys_from_entra=True)
        yield h


def served(host, name):
    """What sshd's AuthorizedKeysCommand prints for NAME, run the way sshd runs it."""
    r = host.in_view("setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "/etc/entra/entra-sync",
                     "-c", sshd_e2e_util.PAM_CONFIG, "authorized-keys", name)
    assert r.returncode == 0, r.stderr
    return r.stdout


def wait_served(host, name, want, timeout=10.0):
    deadline = time.monotonic() + timeout
    while served(host, name) != want and time.monotonic() < deadline:
        time.sleep(0.05)
    assert served(host, name) == want


def test_key_from_entra_lets_alice_in_and_removal_stops_it(host):
    key, pub = host.new_key("alice")
    host.set_ssh_keys("alice", pub)
    wait_served(host, "alice", pub + "\n")
    ok, output, status = sshd_util.publickey_login(host.sshd.port, "alice", key, "id -un")
    assert ok, host.sshd.logs()[-4000:]
    assert (output, status) == ("alice\n", 0)
    logs = host.wait_for_sshd_log(r"Accepted publickey for alice")
    assert re.search(r"Accepted publickey for alice from 127\.0\.0\.1", logs), logs

    host.set_ssh_keys("alice", None)
    removed = time.monotonic()
    while True:
        ok, _, _ = sshd_util.publickey_login(host.sshd.port, "alice", key, "id -un")
        if not ok or time.monotonic() - removed > WITHDRAWN_WITHIN_S:
            break
        time.sleep(0.2)
    assert not ok, "the key Entra removed still signs alice in after %d s" % WITHDRAWN_WITHIN_S
    assert host.wait_for_sshd_log(r"Failed publickey for alice").count("Accepted publickey for alice") == 1


def test_disabled_users_key_is_refused_twice_over(host):
    # carol's key is both in Entra and in her ~/.ssh/authorized_keys
    key = host.authorize_new_key("carol")
    pub = open(key + ".pub").read().strip()
    host.set_ssh_keys("carol", [pub])
    wait_served(host, "carol", pub + "\n")
    bob_key, bob_pub = host.new_key("bob")
    host.set_ssh_keys("bob", bob_pub)
    wait_served(host, "bob", bob_pub + "\n")
    assert sshd_util.publickey_login(host.sshd.port, "bob", bob_key, "true")[0], host.sshd.logs()[-4000:]

    host.disable("carol")
    host.disable("bob")
    assert served(host, "carol") == "" and served(host, "bob") == ""  # withdrawn at publish
    ok, output, status = sshd_util.publickey_login(host.sshd.port, "bob", bob_key, "id -un")
    assert not ok and output == "" and status is None
    # the same key from authorized_keys still matches; PAM's account phase refuses the account
    ok, output, status = sshd_util.publickey_login(host.sshd.port, "carol", key, "id -un")
    assert not ok and output == "" and status is None
    logs = host.wait_for_sshd_log(r"Access denied for user carol by PAM account configuration")
    assert re.search(r"pam_entra: \w+: access denied to carol: the account is disabled or expired", logs), logs
    assert "Accepted publickey for carol" not in logs
    assert logs.count("Accepted publickey for bob") == 1


def test_key_line_with_options_is_not_served(host):
    key, pub = host.new_key("alice")
    host.set_ssh_keys("alice", 'command="/usr/bin/id",no-pty ' + pub)
    deadline = time.monotonic() + 10
    while "refused 1 SSH key line(s) of alice@contoso.com" not in host.syncd.logs() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert "refused 1 SSH key line(s) of alice@contoso.com (local name alice): authorized_keys options" in \
        host.syncd.logs()
    assert served(host, "alice") == ""
    ok, output, status = sshd_util.publickey_login(host.sshd.port, "alice", key, "id -un")
    assert not ok and output == "" and status is None
    logs = host.wait_for_sshd_log(r"Failed publickey for alice")
    assert "Accepted publickey for alice" not in logs
