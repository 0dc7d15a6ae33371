"""entra-authd's HTTPS client (httpc/, on libcurl) against the test IdP, through whole sign-ins:
connections kept warm across sign-ins, reconnection when the IdP drops them, certificate name and
trust checks (the broker's own view of /etc/hosts and /etc/ssl/certs; the environment's CA
variables add nothing); and the PAM process, which loads no network, TLS or HTTP library at all.
HTTP framing (chunked answers, a connection closed mid-answer) is libcurl's: not tested here.
The proxy: test_authd_proxy.py."""

import concurrent.futures
import os
import subprocess

import pytest

import harness
import pam_util
from pam_util import alice, idp, site  # noqa: F401  (shared pytest fixtures)

pytestmark = pytest.mark.needs_root


def peers(reqs):
    return {r["peer"] for r in reqs}  # the client port: one per TCP connection


def sign_in(idp, site, alice, **behaviour):
    idp.script(user=alice[1], **behaviour)
    return site.pamtester("alice")


def test_device_code_request_and_polls_share_one_warm_connection(idp, site, alice):
    r = sign_in(idp, site, alice)  # warms the broker's discovery/JWKS memo and its connection
    assert r.returncode == 0, r.text
    first = peers(idp.requests())
    idp.control(op="reset")
    r = sign_in(idp, site, alice, pending=2)
    assert r.returncode == 0, r.text
    reqs = idp.requests()
    assert [q["path"].rsplit("/", 1)[-1] for q in reqs] == ["devicecode", "token", "token", "token"], reqs
    assert len(peers(reqs)) == 1, reqs
    assert peers(reqs) <= first, "the broker did not keep its connection to the IdP warm between sign-ins"


def test_concurrent_sign_ins_each_take_a_warm_connection_of_their_own(idp, site, alice):
    """Sign-ins on several broker threads at once: each request takes an idle connection (a
    libcurl handle) no other thread holds, or opens one; all are kept for the next sign-ins."""
    r = sign_in(idp, site, alice)
    assert r.returncode == 0, r.text
    n = 6
    for _ in range(n):
        idp.script(user=alice[1], pending=1)
    idp.control(op="reset")
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        results = list(pool.map(lambda _: site.pamtester("alice"), range(n)))
    for r in results:
        assert r.returncode == 0 and "successfully authenticated" in r.text, r.text
    reqs = idp.requests()
    assert len(idp.requests("/devicecode")) == n and len(idp.polls()) == 2 * n, reqs
    assert len(peers(reqs)) <= n, reqs  # never more connections than requests in flight
    warm = peers(reqs)
    idp.control(op="reset")
    r = sign_in(idp, site, alice, pending=1)
    assert r.returncode == 0, r.text
    assert peers(idp.requests()) <= warm, "the connections of the concurrent sign-ins were not kept"


def test_idp_closing_the_connection_between_requests(idp, site, alice):
    """Every answer ends its connection without a Connection: close header: each next request
    meets a closed connection, reconnects once and is sent exactly once."""
    idp.control(op="config", close_after_response=True)
    r = sign_in(idp, site, alice, pending=2)
    assert r.returncode == 0 and "successfully authenticated" in r.text, r.text
    reqs = idp.requests()
    assert len(reqs) == 6, reqs  # discovery, JWKS, devicecode, 3 polls: none sent twice
    assert len(idp.requests("/devicecode")) == 1
    assert len(peers(reqs)) == 6, reqs


def hosts_file(tmp_path, name):
    path = str(tmp_path / "hosts")
    with open(path, "w") as f:
        f.write("127.0.0.1 localhost %s\n::1 localhost ip6-localhost\n" % name)
    return path


def site_at(idp, alice, authority, **kw):
    """A site whose [entra] authority is AUTHORITY (the IdP still answers on 127.0.0.1)."""
    own = idp.authority
    idp.authority = authority
    try:
        return pam_util.PamSite(idp, [alice[0]], **kw)
    finally:
        idp.authority = own


def test_host_name_authority_resolved_and_verified(idp, alice, tmp_path):
    """A host name goes through the resolver, SNI and the certificate's DNS names (the test
    certificate names localhost)."""
    s = site_at(idp, alice, "https://localhost:%d" % idp.port)
    try:
        idp.script(user=alice[1])
        s.broker_binds = [(hosts_file(tmp_path, "unused.test"), "/etc/hosts")]
        r = s.pamtester("alice")
        assert r.returncode == 0 and "successfully authenticated" in r.text, r.text
    finally:
        s.cleanup()


def test_certificate_for_another_host_name_refused(idp, alice, tmp_path):
    s = site_at(idp, alice, "https://idp.other.test:%d" % idp.port)
    try:
        idp.script(user=alice[1])
        s.broker_binds = [(hosts_file(tmp_path, "idp.other.test"), "/etc/hosts")]
        r = s.pamtester("alice")
        assert r.returncode != 0, r.text
        assert "TLS certificate of idp.other.test is for another host name or address" in r.stderr, r.stderr
        assert idp.requests() == []
    finally:
        s.cleanup()


def test_ca_neither_in_ca_file_nor_system_refused(idp, alice, tmp_path):
    empty = str(tmp_path / "certs")
    os.makedirs(empty)
    s = pam_util.PamSite(idp, [alice[0]], ca=pam_util.unrelated_ca(tmp_path))
    try:
        idp.script(user=alice[1])
        s.broker_binds = [(empty, "/etc/ssl/certs")]
        r = s.pamtester("alice")
        assert r.returncode != 0, r.text
        assert "TLS certificate of 127.0.0.1 not trusted: unable to get local issuer certificate; " \
               "check [entra] ca_file" in r.stderr, r.stderr
        assert idp.requests() == []
    finally:
        s.cleanup()


def test_certificate_environment_variables_ignored(idp, alice, tmp_path):
    """SSL_CERT_FILE/SSL_CERT_DIR/CURL_CA_BUNDLE in the broker's environment (a unit's
    Environment=, a proxy wrapper) name no trust anchor: naming the IdP's CA there must not make
    it trusted."""
    empty = str(tmp_path / "certs")
    os.makedirs(empty)
    hashed = str(tmp_path / "user-certs")  # what SSL_CERT_DIR would need: <subject hash>.0
    os.makedirs(hashed)
    digest = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", idp.ca], capture_output=True, text=True,
                            check=True).stdout.strip()
    os.symlink(idp.ca, os.path.join(hashed, digest + ".0"))
    s = pam_util.PamSite(idp, [alice[0]], ca=False)
    try:
        idp.script(user=alice[1])
        s.broker_env = {"SSL_CERT_FILE": idp.ca, "SSL_CERT_DIR": hashed, "CURL_CA_BUNDLE": idp.ca}
        s.broker_binds = [(empty, "/etc/ssl/certs")]
        r = s.pamtester("alice")
        assert r.returncode != 0, r.stdout + r.stderr
        assert "not trusted" in r.stderr, r.stderr
    finally:
        s.cleanup()


NETWORK_LIBRARIES = ("libssl", "libcrypto", "libcurl", "libgnutls", "libnss3", "libjwt")


def test_the_pam_process_loads_no_network_code(idp, site, alice):
    """pam_entra.so names no TLS, HTTP or JWT library, and the loader's own log of a whole
    sign-in shows none loaded into the PAM process: entra-authd does that work."""
    so = os.path.join(harness.BUILD, "pam_entra.so")
    needed = subprocess.run(["readelf", "-d", so], capture_output=True, text=True, check=True).stdout
    strings = subprocess.run(["strings", so], capture_output=True, text=True, check=True).stdout
    for lib in NETWORK_LIBRARIES:
        assert lib not in needed and lib not in strings, lib
    assert "HTTP/1.1" not in strings and "RS256" not in strings
    idp.script(user=alice[1])
    site.broker_ready()
    argv = ["pamtester", "-v", pam_util.SERVICE, "alice", "authenticate"]
    r = harness.in_namespace(argv, site.binds(), env=harness.module_env({"LD_DEBUG": "files"}),
                             input="\n" * 5, timeout=120)
    assert r.returncode == 0 and "successfully authenticated" in r.stdout + r.stderr, r.stderr[-3000:]
    loaded = [line for line in r.stderr.splitlines() if "file=" in line]
    assert any("pam_entra.so" in line for line in loaded), loaded
    assert not [line for line in loaded if any(lib in line for lib in NETWORK_LIBRARIES)], loaded
