"""Home directories at first login, on the default path (issue 16, item 3).

A real sshd with Debian's own /etc/pam.d/sshd and the common-* files `pam-auth-update --enable
entra` writes from the shipped profile (sshd_e2e_util.EntraHost.start_sshd_with_profile). The
Entra users were provisioned over SCIM and have no home directory yet: alice signs in with the
device code flow and her session starts in a new home, mode 0700, hers, filled from /etc/skel."""

import os
import re
import stat

import pytest

import sshd_e2e_util
import sshd_util
from test_sshd_e2e import Person

pytestmark = pytest.mark.needs_root

SKEL_MARKER = ".entra-skel-test"


@pytest.fixture
def host(procs):
    with sshd_e2e_util.entra_host(procs) as h:
        h.provision(make_homes=False)
        h.start_authd()
        h.start_sshd_with_profile(etc_files={"skel/" + SKEL_MARKER: "from /etc/skel\n"})
        yield h


def sign_in(host, command):
    """alice signs in with the device code flow (the IdP approves it as her) and runs COMMAND."""
    host.idp.script(user={"oid": host.oids["alice"], "upn": "alice@contoso.com", "name": "Alice"}, pending=0)
    return sshd_util.keyboard_interactive_login(host.sshd.port, "alice", Person(host.idp), command, timeout=60)


def test_first_sign_in_creates_a_private_home_from_skel(host):
    home = host.home("alice")
    assert not os.path.exists(home)
    ok, output, status = sign_in(host, "pwd; stat -c '%a %U %G' \"$HOME\"; ls -A \"$HOME\"")
    logs = host.wait_for_sshd_log(r"Accepted keyboard-interactive/pam for alice")
    assert ok, logs[-4000:]
    lines = output.splitlines()
    assert lines and lines[0] == home, output + logs[-2000:]  # sshd could chdir into it
    assert status == 0, output
    assert lines[1] == "700 alice alice", output
    assert SKEL_MARKER in lines[2:] and ".profile" in lines[2:], output
    st = os.stat(home)
    assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == host.uid("alice")
    assert open(os.path.join(home, SKEL_MARKER)).read() == "from /etc/skel\n"
    assert os.stat(os.path.join(home, SKEL_MARKER)).st_uid == host.uid("alice")
    assert "Could not chdir to home directory" not in logs, logs[-2000:]
    # The second sign-in finds it and changes nothing.
    ok, output, status = sign_in(host, "pwd; ls -A")
    assert ok and output.splitlines()[0] == home and SKEL_MARKER in output, output
    # It came from the profile's line in common-session, the file pam-auth-update wrote.
    common_session = host.in_view("cat", "/etc/pam.d/common-session").stdout
    assert re.search(r"^session\s+optional\s+pam_mkhomedir\.so\s+umask=0077\b", common_session, re.M), \
        common_session
