"""End to end with a real sshd: SCIM -> AUP -> cache.db -> NSS -> sshd -> PAM -> IdP.

Users and groups are provisioned over SCIM through the real entra-syncd; sshd on a loopback port
(UsePAM, keyboard-interactive, public keys) resolves them through libnss_scim.so.2 and signs them
in through pam_entra.so against the test IdP; the client is python3-paramiko. See
sshd_e2e_util.py for the set-up."""

import re
import subprocess

import pytest

import sshd_e2e_util
import sshd_util

pytestmark = pytest.mark.needs_root

CODE = re.compile(r"enter the code ([A-Z0-9]{9})\b")


@pytest.fixture
def host(procs):
    with sshd_e2e_util.entra_host(procs) as h:
        h.provision()
        h.start_authd()
        h.start_sshd()
        yield h


class Person:
    """Reads the keyboard-interactive prompts like a person at a terminal and presses Enter."""

    def __init__(self, idp):
        self.idp = idp
        self.prompts = []
        self.polls_before_enter = []

    def __call__(self, title, instructions, prompt):
        self.prompts.append("\n".join(t for t in (title, instructions, prompt) if t))
        self.polls_before_enter.append(len(self.idp.polls()))
        return ""

    @property
    def text(self):
        return "\n".join(self.prompts)


def sign_in(host, user, approve_as):
    """USER logs in over SSH; the IdP approves the device code as APPROVE_AS."""
    host.idp.script(user={"oid": host.oids[approve_as], "upn": "%s@contoso.com" % approve_as,
                          "name": approve_as.title()}, pending=0)
    person = Person(host.idp)
    ok, output, status = sshd_util.keyboard_interactive_login(host.sshd.port, user, person, "id", timeout=60)
    return person, ok, output, status


def parse_id(output):
    """uid=1(a) gid=1(a) groups=1(a),2(b) -> (uid, name), (gid, name), {gid: name}."""
    m = re.fullmatch(r"uid=(\d+)\(([^)]+)\) gid=(\d+)\(([^)]+)\) groups=(\S+)\n", output)
    assert m, output
    groups = dict((int(g), n) for g, n in re.findall(r"(\d+)\(([^)]+)\)", m.group(5)))
    return (int(m.group(1)), m.group(2)), (int(m.group(3)), m.group(4)), groups


def test_device_code_sign_in_opens_session_with_entra_identity(host):
    person, ok, output, status = sign_in(host, "alice", approve_as="alice")
    assert ok, host.sshd.logs()[-4000:]
    # The person saw where to go and the code, in the prompt itself, before any token poll.
    assert "Sign in to web-01 as alice" in person.text
    assert "open %s/devicelogin" % host.idp.authority in person.text
    assert CODE.search(person.text), person.text
    assert "Press Enter once you have signed in" in person.text
    assert person.polls_before_enter[0] == 0
    assert len(host.idp.requests("/oauth2/v2.0/devicecode")) == 1
    assert len(host.idp.polls()) == 1
    # The session runs as the account AUP published, with every group cache.db gives it.
    uid = host.uid("alice")
    assert status == 0
    user, primary, groups = parse_id(output)
    assert user == (uid, "alice") and primary == (uid, "alice")
    assert groups == host.expected_groups("alice")
    assert set(groups.values()) == {"alice", "linux-admins", "sudo"}
    logs = host.wait_for_sshd_log(r"Accepted keyboard-interactive/pam for alice")
    assert re.search(r"Accepted keyboard-interactive/pam for alice from 127\.0\.0\.1", logs), logs
    assert "signed in with Microsoft Entra ID (oid %s" % host.oids["alice"] in logs
    assert "eyJ" not in logs, "a token reached the log"


def test_another_users_sign_in_is_refused(host):
    person, ok, output, status = sign_in(host, "alice", approve_as="bob")
    assert not ok and output == "" and status is None
    assert CODE.search(person.text), person.text
    assert len(host.idp.polls()) == 1  # the IdP issued bob's genuine token; the binding refused it
    logs = host.wait_for_sshd_log(r"Failed keyboard-interactive/pam for alice")
    assert re.search(r"refusing sign-in of alice: token oid %s is not the Entra object id %s of account alice"
                     % (host.oids["bob"], host.oids["alice"]), logs), logs
    assert re.search(r"Failed keyboard-interactive/pam for alice from 127\.0\.0\.1", logs), logs
    assert "Accepted" not in logs
    assert "eyJ" not in logs, "a token reached the log"


def fingerprint(key):
    out = subprocess.run(["ssh-keygen", "-l", "-f", key + ".pub"], capture_output=True, text=True, check=True).stdout
    return out.split()[1]


def test_disabled_user_key_login_refused_by_account_phase(host):
    key = host.authorize_new_key("carol")
    ok, output, status = sshd_util.publickey_login(host.sshd.port, "carol", key, "id -un; pwd")
    assert ok, host.sshd.logs()[-4000:]
    assert (output, status) == ("carol\n%s\n" % host.home("carol"), 0)
    assert re.search(r"Accepted publickey for carol from 127\.0\.0\.1", host.wait_for_sshd_log("Accepted publickey"))

    host.disable("carol")
    ok, output, status = sshd_util.publickey_login(host.sshd.port, "carol", key, "id -un")
    assert not ok and output == "" and status is None
    logs = host.wait_for_sshd_log(r"Access denied for user carol by PAM account configuration")
    assert re.search(r"pam_entra: \w+: access denied to carol: the account is disabled or expired", logs), logs
    assert re.search(r"Failed publickey for carol from 127\.0\.0\.1", logs), logs
    # sshd matched the same key both times: the refusal came from the account phase, after the key.
    assert logs.count("Accepted key ED25519 %s found at %s/.ssh/authorized_keys" % (fingerprint(key),
                                                                                 host.home("carol"))) == 2, logs
    assert logs.count("Accepted publickey for carol") == 1
    # Disabled, not deleted: the account keeps resolving (files keep their owner), expired.
    shadow = host.in_view("getent", "shadow", "carol")
    assert shadow.returncode == 0 and shadow.stdout.split(":")[7] == "1", shadow.stdout + shadow.stderr
    assert host.in_view("getent", "passwd", "carol").stdout.startswith("carol:x:%d:" % host.uid("carol"))


def test_sign_in_over_ssh_through_entra_authd(host):
    person, ok, output, status = sign_in(host, "alice", approve_as="alice")
    assert ok, host.sshd.logs()[-4000:] + host.authd.logs()[-2000:]
    assert CODE.search(person.text) and "Press Enter once you have signed in" in person.text
    user, primary, groups = parse_id(output)
    assert user == (host.uid("alice"), "alice") and groups == host.expected_groups("alice")
    logs = host.wait_for_sshd_log(r"Accepted keyboard-interactive/pam for alice")
    assert "signing alice in through entra-authd" in logs, logs
    assert "signed in with Microsoft Entra ID (oid %s" % host.oids["alice"] in logs
    # Another person's genuine token, verified by the broker, is still refused by the binding.
    person, ok, output, status = sign_in(host, "bob", approve_as="alice")
    assert not ok
    logs = host.wait_for_sshd_log(r"Failed keyboard-interactive/pam for bob")
    assert re.search(r"refusing sign-in of bob: token oid %s is not the Entra object id" % host.oids["alice"], logs)
    assert "eyJ" not in logs + host.authd.logs(), "a token reached a log"
