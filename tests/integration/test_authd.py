"""entra-authd, the sign-in broker and pam_entra's one way to sign in: it must run as root and
serve pam_entra's tenant; when it is absent, untrusted or configured for another tenant the
sign-in is unavailable (PAM_AUTHINFO_UNAVAIL) with a log line that says what to do."""

import json
import os
import socket
import shutil
import subprocess
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
    s = pam_util.PamSite(idp, [alice[0]])  # its socket's directory is 0755, not under pytest's 0700 tmp_path
    s.auto_broker = False  # these tests start (or withhold) the broker themselves
    yield s
    s.cleanup()


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


UNAVAILABLE = "Authentication service cannot retrieve authentication info"

# A caller of the broker's socket (run as another user with setpriv): one connection per user
# name given, each asking for a sign-in and held open; prints the broker's first answers.
CALLER = r"""
import json, socket, sys
answers, conns = [], []
for user in sys.argv[2:]:
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); s.settimeout(20); s.connect(sys.argv[1])
    try:
        s.send(json.dumps({"op": "start", "v": 1, "user": user, "tenant_id": "%s", "client_id": "%s",
                           "authority": "%s"}).encode())
    except OSError:
        pass  # turned away at once (busy): the answer is already there
    answers.append(json.loads(s.recv(16384))["result"])
    conns.append(s)  # held open: each one holds a slot
print(" ".join(answers))
"""


def test_without_a_broker_the_sign_in_is_unavailable(idp, broker_site, alice):  # noqa: F811
    idp.script(user=alice[1])
    r = broker_site.pamtester("alice", "authenticate")
    assert r.returncode != 0 and UNAVAILABLE in r.text, r.text
    assert "entra-authd is not reachable at %s" % broker_site.authd_socket in r.text
    assert "systemctl enable --now entra-authd.socket" in r.text
    assert idp.requests() == [], "pam_entra must never talk to the IdP itself"


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
    assert r.returncode != 0 and UNAVAILABLE in r.text, r.text
    assert "runs as uid 65534, not root: it is not entra-authd" in r.text
    assert open(heard).read() == "", "pam_entra told an untrusted broker about the sign-in"
    assert idp.requests() == []


def test_a_broker_for_another_tenant_is_refused(idp, broker_site, alice, procs, tmp_path):  # noqa: F811
    other = os.path.join(str(tmp_path), "other.conf")
    config_variant(broker_site.site.config, other,
                   lambda text: text.replace(pam_util.TENANT, "99999999-2222-3333-4444-555555555555"))
    broker = Authd(procs, other, broker_site.authd_socket, os.path.join(str(tmp_path), "authd.log")).start()
    idp.script(user=alice[1])
    r = broker_site.pamtester("alice", "authenticate")
    assert r.returncode != 0 and UNAVAILABLE in r.text, r.text
    assert "serves another [entra] tenant_id" in r.text
    assert "serves another" in broker.logs()
    assert idp.requests() == []


def test_a_caller_that_is_not_root_cannot_sign_in_someone_else(authd, broker_site, idp):  # noqa: F811
    # An unprivileged user can make the broker talk to Entra only for its own account.
    script = CALLER % (pam_util.TENANT, pam_util.CLIENT, idp.authority)
    idp.control(op="reset")
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c",
                        script, broker_site.authd_socket, "alice"], capture_output=True, text=True, timeout=30)
    assert r.stdout.split() == ["not_served"], r.stdout + r.stderr
    assert not idp.requests(), "the broker talked to the IdP for another account"


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


def test_socket_activation_starts_the_broker_on_the_first_sign_in(idp, broker_site, alice, procs, tmp_path):  # noqa: F811
    """systemd's sd_listen_fds protocol, through systemd's own systemd-socket-activate: the
    socket exists before the broker runs, the first connection starts it, and with nothing to do
    it exits (0, no leak) after --idle-exit seconds."""
    activate = shutil.which("systemd-socket-activate")
    if not activate:
        pytest.skip("systemd-socket-activate not installed")
    log = open(os.path.join(str(tmp_path), "authd.log"), "ab")
    proc = procs.start([activate, "--seqpacket", "-l", broker_site.authd_socket,
                        os.path.join(harness.BUILD, "entra-authd"), "-c", broker_site.site.config, "--idle-exit", "2"],
                       stdout=log, stderr=subprocess.STDOUT)
    wait_for_file(broker_site.authd_socket)
    idp.script(user=alice[1])
    r = broker_site.pamtester("alice", "authenticate")
    assert r.returncode == 0, r.text + open(log.name).read()
    assert proc.wait(timeout=20) == 0, open(log.name).read()
    text = open(log.name).read()
    assert "(passed by systemd)" in text and "idle for 2 s: exiting" in text, text


def test_a_passed_descriptor_that_is_not_a_seqpacket_listener_is_refused(broker_site, procs, tmp_path):
    activate = shutil.which("systemd-socket-activate")
    if not activate:
        pytest.skip("systemd-socket-activate not installed")
    log = open(os.path.join(str(tmp_path), "authd.log"), "ab")
    proc = procs.start([activate, "-l", broker_site.authd_socket,  # a stream socket, not SEQPACKET
                        os.path.join(harness.BUILD, "entra-authd"), "-c", broker_site.site.config],
                       stdout=log, stderr=subprocess.STDOUT)
    wait_for_file(broker_site.authd_socket)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(broker_site.authd_socket)
    assert proc.wait(timeout=20) == 1
    s.close()
    assert "not one listening AF_UNIX SOCK_SEQPACKET socket" in open(log.name).read()




def test_a_caller_that_is_not_root_signs_in_only_as_itself(idp, broker_site, alice, procs, tmp_path):  # noqa: F811
    """A screen locker runs PAM as the user: the broker serves it for the account NSS resolves
    to its own uid, at most 4 at once, and never for another account."""
    _, bob = pam_util.new_user("bob")
    broker_site.broker_binds = [b for b in broker_site.binds() if b[1] != "/etc/pam.d"]  # NSS sees the cache
    env = {"LD_LIBRARY_PATH": harness.BUILD}
    broker = Authd(procs, broker_site.site.config, broker_site.authd_socket, os.path.join(str(tmp_path), "a.log"),
                   broker_site.broker_binds, env).start()
    script = CALLER % (pam_util.TENANT, pam_util.CLIENT, idp.authority)
    as_alice = ["setpriv", "--reuid=%d" % alice[0]["uid"], "--regid=%d" % alice[0]["uid"], "--clear-groups",
                "/usr/bin/python3", "-c", script, broker_site.authd_socket]
    r = subprocess.run(as_alice + ["bob", "root"], capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ["not_served", "not_served"], r.stdout + r.stderr
    assert idp.requests() == [], "the broker talked to the IdP for another account"
    r = subprocess.run(as_alice + ["alice"] * 5, capture_output=True, text=True, timeout=60)
    assert r.stdout.split() == ["code"] * 4 + ["busy"], r.stdout + r.stderr + broker.logs()[-2000:]
    assert len(idp.requests("/devicecode")) == 4
    assert "refused a sign-in for another account from uid %d" % alice[0]["uid"] in broker.logs()
    time.sleep(1)  # the callers hung up: their sign-ins end
    broker.stop_cleanly()
