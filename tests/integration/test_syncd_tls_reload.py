"""A renewed certificate is served after a reload, without a restart (issue 16, item 4).

Two certificates from one test CA; entra-syncd serves the first; the files are replaced at the
same paths (as a certbot deploy hook does) and the daemon gets SIGHUP, or the unit's own
ExecReload command: the certificate a new TLS client sees changes. A bad new pair (a key of
another certificate, a file that is not PEM, an unreadable key, an expired certificate) is not
used: the daemon keeps serving the pair in use and logs why."""

import os
import re
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import time
import urllib.request

import pytest

import harness
import syncd_util

UNIT = os.path.join(harness.REPO, "etc", "systemd", "entra-syncd.service")


@pytest.fixture
def tls(procs):
    site = harness.Site()
    tls_dir = os.path.join(site.etc, "tls")
    os.makedirs(tls_dir)
    ca = syncd_util.TestCA(site.dir)
    pairs = {name: ca.issue(name, common_name="scim-%s.test" % name) for name in ("old", "new")}
    cert, key = os.path.join(tls_dir, "fullchain.pem"), os.path.join(tls_dir, "key.pem")
    install_pair(pairs["old"], cert, key)
    site.write_config(extra_sync="tls_cert = %s\ntls_key = %s" % (cert, key))
    token = syncd_util.new_token(site)
    proc, log = syncd_util.start_daemon(site, procs)
    syncd_util.wait_for_log(log, "listening on https://")
    yield dict(site=site, ca=ca, pairs=pairs, cert=cert, key=key, proc=proc, log=log, token=token)
    procs.stop_all()
    site.cleanup()


def install_pair(pair, cert, key):
    """Replaces the files at the configured paths, the way a deploy hook copies renewed ones."""
    shutil.copyfile(pair[0], cert)
    shutil.copyfile(pair[1], key)
    os.chmod(key, 0o640)


def served_cert(port, ca):
    """The DER certificate a new, verifying TLS client gets on 127.0.0.1:PORT."""
    ctx = ssl.create_default_context(cafile=ca)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return s.getpeercert(binary_form=True)


def scim_status(t):
    ctx = ssl.create_default_context(cafile=t["ca"].path)
    req = urllib.request.Request("https://127.0.0.1:%d/scim/v2/Users" % t["site"].port,
                                 headers={"Authorization": "Bearer " + t["token"]})
    with urllib.request.urlopen(req, context=ctx, timeout=10) as resp:
        return resp.status


def reload_and_wait(t, how=None):
    """Sends SIGHUP (or runs HOW) and returns the log lines of that reload, once it logged its
    configuration outcome and its TLS outcome (or 2 s after the former, for a daemon that
    says nothing about TLS)."""
    before = len(syncd_util.read_log(t["log"]))
    if how is None:
        t["proc"].send_signal(signal.SIGHUP)
    else:
        how()
    deadline, text = time.monotonic() + 10, ""
    while time.monotonic() < deadline:
        text = syncd_util.read_log(t["log"])[before:]
        if "reloaded TLS" in text or "keeping the certificate in use" in text:
            if "configuration reloaded" in text or "keeping the previous configuration" in text:
                return text
        elif "configuration reloaded" in text or "keeping the previous configuration" in text:
            deadline = min(deadline, time.monotonic() + 2)
        time.sleep(0.05)
    return text


def test_sighup_serves_the_renewed_certificate_at_the_same_paths(tls):
    port, ca = tls["site"].port, tls["ca"].path
    assert served_cert(port, ca) == tls["pairs"]["old"][2]
    install_pair(tls["pairs"]["new"], tls["cert"], tls["key"])
    assert served_cert(port, ca) == tls["pairs"]["old"][2]  # nothing changes before the reload
    text = reload_and_wait(tls)
    assert served_cert(port, ca) == tls["pairs"]["new"][2], text
    assert scim_status(tls) == 200
    assert "reloaded TLS: serving certificate CN=scim-new.test, valid until" in text, text
    assert "restart" not in text, text
    assert "serving certificate CN=scim-old.test, valid until" in syncd_util.read_log(tls["log"])
    assert tls["proc"].poll() is None


def test_the_units_exec_reload_reloads_the_certificate(tls):
    """systemctl reload runs the unit's ExecReload with $MAINPID: run that very command."""
    lines = [l for l in open(UNIT).read().splitlines() if l.startswith("ExecReload=")]
    assert len(lines) == 1, lines
    argv = [a.replace("$MAINPID", str(tls["proc"].pid)) for a in shlex.split(lines[0].split("=", 1)[1])]
    install_pair(tls["pairs"]["new"], tls["cert"], tls["key"])
    text = reload_and_wait(tls, how=lambda: subprocess.run(argv, check=True))
    assert served_cert(tls["site"].port, tls["ca"].path) == tls["pairs"]["new"][2], text


def test_a_live_connection_keeps_working_across_the_reload(tls):
    ctx = ssl.create_default_context(cafile=tls["ca"].path)
    raw = socket.create_connection(("127.0.0.1", tls["site"].port), timeout=10)
    with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
        install_pair(tls["pairs"]["new"], tls["cert"], tls["key"])
        reload_and_wait(tls)
        assert served_cert(tls["site"].port, tls["ca"].path) == tls["pairs"]["new"][2]
        s.sendall(b"GET /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                  b"Connection: close\r\n\r\n" % tls["token"].encode())
        answer = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            answer += chunk
        assert syncd_util.status_of(answer) == 200, answer[:200]
        assert s.getpeercert(binary_form=True) == tls["pairs"]["old"][2]


def bad_pairs(t, tmp):
    """(what, cert text, key text or None for an unreadable key, expected reason)."""
    old, new = t["pairs"]["old"], t["pairs"]["new"]
    expired = t["ca"].issue("expired", common_name="scim-expired.test", expired=True)
    read = lambda p: open(p, "rb").read()
    return [
        ("a key of another certificate", read(new[0]), read(old[1]), r"do not match|does not match"),
        ("a certificate file that is not PEM", b"renewal failed\n", read(new[1]), r"is not PEM"),
        ("an empty key file", read(new[0]), b"", r"is not a PEM file"),
        ("an expired certificate", read(expired[0]), read(expired[1]), r"has expired"),
        ("a key the daemon cannot read", read(new[0]), None, r"cannot open tls_key .*(Permission denied|"
                                                             r"No such file)"),
    ]


def test_a_bad_new_pair_keeps_the_certificate_in_use_and_says_why(tls, tmp_path):
    port, ca = tls["site"].port, tls["ca"].path
    for what, cert_text, key_text, reason in bad_pairs(tls, tmp_path):
        with open(tls["cert"], "wb") as f:
            f.write(cert_text)
        if key_text is None:
            os.unlink(tls["key"])  # the daemon runs as root here: a missing file stands for EACCES
        else:
            with open(tls["key"], "wb") as f:
                f.write(key_text)
        text = reload_and_wait(tls)
        assert served_cert(port, ca) == tls["pairs"]["old"][2], what
        assert scim_status(tls) == 200, what
        assert "keeping the certificate in use (CN=scim-old.test" in text, (what, text)
        assert re.search(reason, text), (what, text)
    # A good pair afterwards is taken as usual.
    install_pair(tls["pairs"]["new"], tls["cert"], tls["key"])
    text = reload_and_wait(tls)
    assert served_cert(port, ca) == tls["pairs"]["new"][2], text


def test_a_config_that_fails_to_read_still_reloads_the_certificate(tls):
    """A typo elsewhere in entra.conf must not let the certificate expire: the pair is read
    again from the paths in use."""
    with open(tls["site"].config, "a") as f:
        f.write("\n[sync]\nno_such_key = 1\n")
    install_pair(tls["pairs"]["new"], tls["cert"], tls["key"])
    text = reload_and_wait(tls)
    assert served_cert(tls["site"].port, tls["ca"].path) == tls["pairs"]["new"][2], text
    assert "keeping the previous configuration" in text and "reloaded TLS: serving certificate CN=scim-new" in text
