"""entra-authd, the sign-in broker: pam_entra signs in through it when root serves its socket,
and signs in itself when it is absent, untrusted, busy or configured for another tenant."""

import json
import os
import socket
import shutil
import subprocess
import tempfile
import time

import pytest

import harness
import pam_util
from authd_util import Authd, config_variant, connect
from pam_util import alice, idp  # noqa: F401  (fixtures)


def wait_for_file(path, seconds=20):
    deadline = time.monotonic() + seconds
    while not os.path.exists(path):
        assert time.monotonic() < deadline, "%s never appeared" % path
        time.sleep(0.02)


@pytest.fixture
def broker_site(idp, alice):  # noqa: F811
    # Not under pytest's 0700 tmp_path: the untrusted-broker test binds it as another user.
    run_dir = tempfile.mkdtemp(prefix="entra-authd-test-")
    os.chmod(run_dir, 0o755)
    path = os.path.join(run_dir, "socket")
    s = pam_util.PamSite(idp, [alice[0]])
    s.set_pam(login_timeout=30, qr="no", authd_socket=path)
    s.authd_socket = path
    yield s
    s.cleanup()
    shutil.rmtree(run_dir)


@pytest.fixture
def authd(procs, broker_site, tmp_path):
    broker = Authd(procs, broker_site.site.config, broker_site.authd_socket,
                   os.path.join(str(tmp_path), "authd.log")).start()
    yield broker
    broker.stop_cleanly()


def test_sign_in_through_the_broker(idp, broker_site, alice, authd):  # noqa: F811
    idp.script(user=alice[1], pending=1)
    r = broker_site.pamtester("alice", "authenticate")
    assert r.returncode == 0, r.text
    assert "signing alice in through entra-authd" in r.text
    assert "open https://127.0.0.1" in r.text and "Sign-in not finished yet" in r.text
    assert [q["path"].rsplit("/", 1)[1] for q in idp.requests() if "oauth2" in q["path"]] == \
        ["devicecode", "token", "token"]


def test_the_pam_process_needs_no_tls_when_the_broker_serves(idp, broker_site, alice, procs, tmp_path):  # noqa: F811
    # Only the broker's config trusts the IdP's test CA: pam_entra could not reach the IdP itself.
    broker_conf = config_variant(broker_site.site.config, os.path.join(str(tmp_path), "authd.conf"))
    config_variant(broker_site.site.config, broker_site.site.config,
                   lambda text: "\n".join(line for line in text.split("\n") if not line.startswith("ca_file")))
    with open(broker_conf) as f, open(broker_site.site.config) as g:
        assert "ca_file" in f.read() and "ca_file" not in g.read()
    Authd(procs, broker_conf, broker_site.authd_socket, os.path.join(str(tmp_path), "authd.log")).start()
    idp.script(user=alice[1])
    r = broker_site.pamtester("alice", "authenticate")
    assert r.returncode == 0, r.text
    assert "signing alice in through entra-authd" in r.text


def test_token_for_someone_else_is_refused(idp, broker_site, authd):  # noqa: F811
    _, bob = pam_util.new_user("bob")
    idp.script(user=bob)
    r = broker_site.pamtester("alice", "authenticate")
    assert r.returncode != 0
    assert "refusing sign-in of alice" in r.text


@pytest.mark.parametrize("forge", ["bad_signature", "wrong_tid", "alg_none", "expired"])
def test_forged_token_is_refused_by_the_broker(idp, broker_site, alice, authd, forge):  # noqa: F811
    idp.script(user=alice[1], forge=forge)
    r = broker_site.pamtester("alice", "authenticate")
    assert r.returncode != 0
    assert "(entra-authd)" in r.text, r.text
    assert "refusing sign-in of alice" in authd.logs()


def test_declined_sign_in_is_refused(idp, broker_site, alice, authd):  # noqa: F811
    idp.script(user=alice[1], result="authorization_declined")
    r = broker_site.pamtester("alice", "authenticate")
    assert r.returncode != 0
    assert "authorization_declined" in authd.logs()


def test_without_a_broker_pam_entra_signs_in_itself(idp, broker_site, alice):  # noqa: F811
    idp.script(user=alice[1])
    r = broker_site.pamtester("alice", "authenticate")
    assert r.returncode == 0, r.text
    assert "entra-authd is not reachable" in r.text


FAKE_BROKER = r"""
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.bind(sys.argv[1]); s.listen(8)
open(sys.argv[2], "w").close()
while True:
    c, _ = s.accept()
    c.settimeout(5)
    try:
        msg = c.recv(16384)
    except OSError:
        msg = b""
    if msg:
        open(sys.argv[2], "a").write(msg.decode() + "\n")
        c.send(json.dumps({"result": "code", "user_code": "FAKE", "verification_uri": "https://evil"}).encode())
        c.recv(16384)
        c.send(json.dumps({"result": "signed_in", "claims": {}}).encode())
    c.close()
"""


def test_a_broker_not_run_by_root_is_never_trusted(idp, broker_site, alice, procs, tmp_path):  # noqa: F811
    run_dir = os.path.dirname(broker_site.authd_socket)
    os.chmod(run_dir, 0o777)
    heard = os.path.join(run_dir, "heard")
    procs.start(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c",
                 FAKE_BROKER, broker_site.authd_socket, heard])
    wait_for_file(heard)
    idp.script(user=alice[1])
    r = broker_site.pamtester("alice", "authenticate")
    assert r.returncode == 0, r.text
    assert "not root" in r.text
    assert open(heard).read() == "", "pam_entra told an untrusted broker about the sign-in"
    assert idp.requests("/devicecode"), "pam_entra should have signed in itself"


def test_a_broker_for_another_tenant_is_not_used(idp, broker_site, alice, procs, tmp_path):  # noqa: F811
    other = os.path.join(str(tmp_path), "other.conf")
    config_variant(broker_site.site.config, other,
                   lambda text: text.replace(pam_util.TENANT, "99999999-2222-3333-4444-555555555555"))
    broker = Authd(procs, other, broker_site.authd_socket, os.path.join(str(tmp_path), "authd.log")).start()
    idp.script(user=alice[1])
    r = broker_site.pamtester("alice", "authenticate")
    assert r.returncode == 0, r.text
    assert "serves another [entra] tenant_id" in r.text
    assert "serves another" in broker.logs()


def test_a_non_root_caller_is_turned_away(authd, broker_site, idp):  # noqa: F811
    # An unprivileged user can neither make the broker talk to Entra nor hold its slots.
    script = r"""
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.settimeout(5); s.connect(sys.argv[1])
print(json.loads(s.recv(16384))["result"])  # answered at once, before any request
try:
    s.send(json.dumps({"op": "start", "v": 1, "user": "alice"}).encode())
    print(s.recv(16384))
except OSError as e:
    print("closed", e.errno)
"""
    idp.control(op="reset")
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c",
                        script, broker_site.authd_socket], capture_output=True, text=True, timeout=30)
    lines = r.stdout.split("\n")
    assert lines[0] == "not_served", r.stdout + r.stderr
    assert lines[1] in ("b''", "closed 32", "closed 104"), r.stdout
    assert not idp.requests(), "the broker talked to the IdP for an unprivileged caller"


def test_garbage_gets_an_answer_and_the_broker_keeps_serving(idp, broker_site, alice, authd):  # noqa: F811
    for payload in (b"not json", b"[1,2]", json.dumps({"op": "poll"}).encode(), b"x" * 20000):
        s = connect(broker_site.authd_socket)
        try:
            s.send(payload)
            try:
                answer = s.recv(16384)
            except (socket.timeout, ConnectionResetError):
                answer = b""
            assert answer in (b"",) or json.loads(answer)["result"] in ("mismatch", "unavailable")
        finally:
            s.close()
    idp.script(user=alice[1])
    r = broker_site.pamtester("alice", "authenticate")
    assert r.returncode == 0, r.text
    assert "signing alice in through entra-authd" in r.text


def test_sigterm_removes_the_socket(authd, broker_site):
    assert authd.stop() == 0
    assert not os.path.exists(broker_site.authd_socket)


def test_key_rotation_through_the_broker_and_its_memo(idp, broker_site, alice, authd):  # noqa: F811
    idp.script(user=alice[1])
    assert broker_site.pamtester("alice").returncode == 0  # the broker now holds the JWKS in memory
    idp.control(op="rotate")  # tokens are now signed by a key the memo and the file cache lack
    idp.control(op="reset")
    idp.script(user=alice[1])
    r = broker_site.pamtester("alice")
    assert r.returncode != 0 and "JWKS refetched less than 300 s ago" in r.text, r.text
    assert idp.requests("/discovery/v2.0/keys") == []
    jwks = [n for n in os.listdir(broker_site.cache_dir) if n.startswith("jwks-")][0]
    old = time.time() - 600
    os.utime(os.path.join(broker_site.cache_dir, jwks), (old, old))
    idp.script(user=alice[1])
    r = broker_site.pamtester("alice")
    assert r.returncode == 0, r.text + authd.logs()
    assert "refetching the JWKS" in authd.logs()
    assert len(idp.requests("/discovery/v2.0/keys")) == 1
    idp.control(op="reset")
    idp.script(user=alice[1])
    assert broker_site.pamtester("alice").returncode == 0  # the new keys, from memory
    assert idp.requests("/discovery/v2.0/keys") == []
