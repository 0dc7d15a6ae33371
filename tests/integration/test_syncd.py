"""entra-syncd as a process: start/stop, readiness, bearer tokens, SIGHUP, listen policy, TLS,
body and header limits, the access log and idle connections. The real daemon on loopback."""

import http.client
import json
import os
import signal
import socket
import ssl
import threading
import time
import urllib.parse

import pytest

import harness
import syncd_util
from harness import ScimClient, entra_group, entra_user

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"

# The TLS 1.1 client is deliberate: it proves the daemon refuses it.
pytestmark = pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1_1 is deprecated:DeprecationWarning")


def assert_scim_error(status, hdrs, body, expected):
    assert status == expected
    assert body is not None, "error responses carry a SCIM error body"
    assert body["schemas"] == [ERROR_SCHEMA]
    assert str(body["status"]) == str(expected)
    assert hdrs.get("Content-Type", "").startswith("application/scim+json")


# --- lifecycle ------------------------------------------------------------------------------

def test_sigterm_stops_cleanly_with_exit_0(syncd):
    syncd_util.wait_for_log(syncd.log_path, "listening on http://127.0.0.1:%d/scim/v2" % syncd.site.port)
    status, _, body, _ = syncd.client.get("/Users")
    assert status == 200 and body["totalResults"] == 0
    assert syncd.stop() == 0
    assert "stopped" in syncd.logs()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", syncd.site.port), timeout=1).close()


def test_sigint_also_exits_0(syncd):
    assert syncd.stop(signal.SIGINT) == 0


def test_acknowledged_write_survives_restart(syncd):
    status, _, user, _ = syncd.client.post("/Users", entra_user("alice@contoso.com"))
    assert status == 201
    syncd.restart()
    status, _, body, _ = syncd.client.get("/Users/" + user["id"])
    assert status == 200 and body["userName"] == "alice@contoso.com"


def test_sends_ready_to_notify_socket(site, procs):
    syncd_util.new_token(site)
    path = os.path.join(site.dir, "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(20)
    try:
        env = dict(os.environ, NOTIFY_SOCKET=path)
        proc, log = syncd_util.start_daemon(site, procs, env=env, wait=False)
        message = sock.recv(4096).decode()
        assert "READY=1" in message.split("\n")
        harness.wait_for_port(site.port, proc)
        syncd_util.wait_for_log(log, "listening on")
        procs.stop(proc)
        assert proc.returncode == 0
        assert "STOPPING=1" in sock.recv(4096).decode()
    finally:
        sock.close()


def test_usage_errors_exit_2(site):
    import subprocess
    r = subprocess.run([os.path.join(harness.BUILD, "entra-syncd"), "--bogus"], capture_output=True, text=True)
    assert r.returncode == 2 and "usage: entra-syncd" in r.stderr
    r = subprocess.run([os.path.join(harness.BUILD, "entra-syncd"), "-c", site.config, "extra"],
                       capture_output=True, text=True)
    assert r.returncode == 2


def test_refuses_a_broken_config_naming_the_line(site):
    with open(site.config, "a") as f:
        f.write("\n[sync]\nbogus_key = 1\n")
    r = syncd_util.run_daemon_expecting_exit(site)
    assert r.returncode == 1
    assert site.config in r.stderr and "bogus_key" in r.stderr


# --- bearer tokens --------------------------------------------------------------------------

def test_missing_or_wrong_token_gets_401_scim_error(syncd):
    client = syncd.client
    for token in ("", "wrong-token", syncd.token + "x", syncd.token[:-1]):
        status, hdrs, body, _ = client.get("/Users", token=token or "")
        if token == "":
            # ScimClient sends no Authorization header for an empty token
            status, hdrs, body, _ = ScimClient(client.base, "").get("/Users")
        assert_scim_error(status, hdrs, body, 401)
        assert hdrs.get("WWW-Authenticate", "").startswith("Bearer")
    status, _, _, _ = client.get("/Users", headers={"Authorization": "Basic " + syncd.token})
    assert status == 401
    # The scheme name is case-insensitive (RFC 7235); the token is not.
    status, _, _, _ = ScimClient(client.base, "").get("/Users", headers={"Authorization": "bearer " + syncd.token})
    assert status == 200
    status, _, _, _ = client.get("/Users", token=syncd.token.upper())
    assert status == 401


def test_401_before_any_write(syncd):
    status, _, body, _ = syncd.client.post("/Users", entra_user("mallory@contoso.com"), token="nope")
    assert_scim_error(status, {"Content-Type": "application/scim+json"}, body, 401)
    status, _, body, _ = syncd.client.get("/Users")
    assert body["totalResults"] == 0


def test_new_token_works_at_once_and_revoke_is_immediate(syncd):
    out = harness.cli(syncd.site, "token", "new", "--label", "second").stdout.strip().splitlines()
    second = out[-1]
    status, _, _, _ = syncd.client.get("/Users", token=second)
    assert status == 200
    listing = json.loads(harness.cli(syncd.site, "--json", "token", "list").stdout)
    second_id = [t["id"] for t in listing if t["label"] == "second"][0]
    harness.cli(syncd.site, "token", "revoke", second_id)
    status, _, body, _ = syncd.client.get("/Users", token=second)
    assert_scim_error(status, {"Content-Type": "application/scim+json"}, body, 401)
    status, _, _, _ = syncd.client.get("/Users")
    assert status == 200, "the first token still works"


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o620])
def test_refuses_token_file_open_to_group_or_others(site, mode):
    syncd_util.new_token(site)
    token_file = site.values["token_file"]
    os.chmod(token_file, mode)
    r = syncd_util.run_daemon_expecting_exit(site)
    assert r.returncode == 1
    assert "mode %04o" % mode in r.stderr
    assert "chmod 600 %s" % token_file in r.stderr


def test_missing_token_file_starts_with_warning_and_401(site, procs):
    proc, log = syncd_util.start_daemon(site, procs)
    text = syncd_util.read_log(log)
    assert "does not exist" in text and "entra-sync token new" in text
    status, hdrs, body, _ = ScimClient("http://127.0.0.1:%d/scim/v2" % site.port, "x" * 43).get("/Users")
    assert_scim_error(status, hdrs, body, 401)
    token = syncd_util.new_token(site)
    status, _, _, _ = ScimClient("http://127.0.0.1:%d/scim/v2" % site.port, token).get("/Users")
    assert status == 200


def test_token_file_made_world_readable_while_running_fails_closed(syncd):
    os.chmod(syncd.site.values["token_file"], 0o644)
    status, _, _, _ = syncd.client.get("/Users")
    assert status == 401
    assert "chmod 600" in syncd.logs()
    os.chmod(syncd.site.values["token_file"], 0o600)
    status, _, _, _ = syncd.client.get("/Users")
    assert status == 200


# --- routing and query decoding ------------------------------------------------------------

def test_404_outside_scim_prefix(syncd):
    root = "http://127.0.0.1:%d" % syncd.site.port
    for path in ("/", "/Users", "/scim/v2x/Users", "/scim/v1/Users", "/SCIM/V2/Users"):
        status, hdrs, body, _ = syncd.client.get(root + path)
        assert_scim_error(status, hdrs, body, 404)


def test_query_plus_and_percent20_decode_as_space(syncd):
    status, _, _, _ = syncd.client.post("/Users", entra_user("bob@contoso.com"))
    assert status == 201
    for query in ('filter=userName+eq+"bob@contoso.com"', 'filter=userName%20eq%20%22bob%40contoso.com%22'):
        status, _, body, _ = syncd.client.get("/Users?" + query)
        assert status == 200 and body["totalResults"] == 1, query
    status, _, body, _ = syncd.client.get("/Users?filter=userName+eq+%22nobody%40contoso.com%22&count=5")
    assert status == 200 and body["totalResults"] == 0


def test_nul_byte_in_query_is_refused_not_truncated(syncd):
    syncd.client.post("/Users", entra_user("carol@contoso.com"))
    status, hdrs, body, _ = syncd.client.get('/Users?filter=userName%20eq%20%22carol%40contoso.com%22%00%20or%20x')
    assert_scim_error(status, hdrs, body, 400)


def test_location_uses_host_header_and_rejects_odd_hosts(syncd):
    port = syncd.site.port
    status, hdrs, body, _ = syncd.client.post("/Users", entra_user("dave@contoso.com"),
                                              headers={"Host": "scim.example.com:8443"})
    assert status == 201
    assert body["meta"]["location"].startswith("http://scim.example.com:8443/scim/v2/Users/")
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.putrequest("GET", "/scim/v2/Users/" + body["id"], skip_host=True)
    conn.putheader("Host", "evil.example.com/<script>")
    conn.putheader("Authorization", "Bearer " + syncd.token)
    conn.endheaders()
    resp = conn.getresponse()
    got = json.loads(resp.read())
    conn.close()
    assert resp.status == 200
    assert got["meta"]["location"].startswith("http://127.0.0.1:%d/scim/v2/Users/" % port)


# --- limits ---------------------------------------------------------------------------------

@pytest.fixture
def small_body_site():
    s = harness.Site(extra_sync="max_body = 2048")
    yield s
    s.cleanup()


def test_body_over_max_body_gets_413(small_body_site, procs):
    syncd = harness.Syncd(small_body_site, procs)
    user = entra_user("erin@contoso.com")
    user["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"] = "x" * 3000
    status, hdrs, body, _ = syncd.client.post("/Users", user)
    assert_scim_error(status, hdrs, body, 413)
    assert "2048" in body["detail"]
    # Just under the limit is served.
    status, _, _, _ = syncd.client.post("/Users", entra_user("erin@contoso.com"))
    assert status == 201
    status, _, body, _ = syncd.client.get("/Users")
    assert body["totalResults"] == 1


def test_413_is_sent_without_reading_a_declared_huge_body(small_body_site, procs):
    syncd = harness.Syncd(small_body_site, procs)
    head = ("POST /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: application/scim+json\r\nContent-Length: 1073741824\r\n\r\n" % syncd.token).encode()
    started = time.monotonic()
    response = syncd_util.raw_http(small_body_site.port, head + b"{", timeout=10, read_all=False)
    assert syncd_util.status_of(response) == 413
    assert time.monotonic() - started < 5


def test_chunked_body_over_max_body_gets_413(small_body_site, procs):
    syncd = harness.Syncd(small_body_site, procs)
    conn = http.client.HTTPConnection("127.0.0.1", small_body_site.port, timeout=20)
    chunks = [b"{" + b" " * 1000 for _ in range(8)]
    conn.request("POST", "/scim/v2/Users", body=iter(chunks), encode_chunked=True,
                 headers={"Authorization": "Bearer " + syncd.token, "Content-Type": "application/scim+json"})
    resp = conn.getresponse()
    body = json.loads(resp.read())
    conn.close()
    assert resp.status == 413 and body["schemas"] == [ERROR_SCHEMA]
    status, _, _, _ = syncd.client.get("/Users")
    assert status == 200


def test_oversized_headers_are_refused_and_daemon_keeps_serving(syncd):
    head = ("GET /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\nX-Big: %s\r\n\r\n"
            % (syncd.token, "a" * 100000)).encode()
    response = syncd_util.raw_http(syncd.site.port, head, timeout=10)
    status = syncd_util.status_of(response)
    assert status is None or status in (400, 413, 431), response[:200]
    status, _, _, _ = syncd.client.get("/Users")
    assert status == 200


def test_many_idle_connections_do_not_block_a_request(syncd):
    idle = []
    try:
        for _ in range(40):
            idle.append(socket.create_connection(("127.0.0.1", syncd.site.port), timeout=5))
        # Half of them sent half a request and stalled.
        for s in idle[::2]:
            s.sendall(b"GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\n")
        started = time.monotonic()
        status, _, body, _ = syncd.client.get("/Users")
        assert status == 200 and body["totalResults"] == 0
        assert time.monotonic() - started < 3
    finally:
        for s in idle:
            s.close()


def test_idle_connection_is_dropped_after_connection_timeout(site, procs):
    site.write_config(extra_sync="connection_timeout = 1")
    harness.Syncd(site, procs)
    s = socket.create_connection(("127.0.0.1", site.port), timeout=10)
    try:
        started = time.monotonic()
        assert s.recv(1) == b""
        assert time.monotonic() - started < 8
    finally:
        s.close()


# --- access log -----------------------------------------------------------------------------

def test_access_log_line_per_request_without_token(syncd):
    syncd.client.get('/Users?filter=userName+eq+"zed@contoso.com"')
    syncd.client.get("/Users", token="not-the-token")
    syncd.client.get("http://127.0.0.1:%d/elsewhere" % syncd.site.port)
    # Each line is written when its connection finishes, so they may come in any order.
    syncd_util.wait_for_log(syncd.log_path, "GET /elsewhere 404")
    syncd_util.wait_for_log(syncd.log_path, " 401 ")
    text = syncd_util.wait_for_log(syncd.log_path, 'filter=userName+eq+"zed@contoso.com" 200 ')
    lines = [l for l in text.splitlines() if "GET /scim/v2/Users" in l]
    ok = [l for l in lines if 'filter=userName+eq+"zed@contoso.com" 200 ' in l]
    assert ok, text
    assert ok[0].rstrip().endswith("127.0.0.1")
    assert any(" 401 " in l for l in lines)
    assert "ms 127.0.0.1" in ok[0]
    assert syncd.token not in text
    assert "not-the-token" not in text


# --- SIGHUP ---------------------------------------------------------------------------------

def test_sighup_switches_token_file_and_keeps_serving_on_a_broken_config(syncd):
    site = syncd.site
    old_token = syncd.token
    other = os.path.join(site.etc, "other.tokens")
    site.write_config(token_file=other)
    new = syncd_util.new_token(site)
    syncd.reload()
    syncd_util.wait_for_log(syncd.log_path, "configuration reloaded")
    assert syncd.client.get("/Users", token=new)[0] == 200
    assert syncd.client.get("/Users", token=old_token)[0] == 401

    with open(site.config, "a") as f:
        f.write("\n[sync]\nnot_a_key = 1\n")
    syncd.reload()
    text = syncd_util.wait_for_log(syncd.log_path, "keeping the previous configuration")
    assert "not_a_key" in text
    assert syncd.proc.poll() is None
    assert syncd.client.get("/Users", token=new)[0] == 200
    assert syncd.stop() == 0


def test_sighup_reevaluates_accounts_with_new_policy(syncd):
    client = syncd.client
    status, _, user, _ = client.post("/Users", entra_user("frank@contoso.com"))
    assert status == 201
    status, _, _, _ = client.post("/Groups", entra_group("Linux Users", "g-users", [user["id"]]))
    assert status == 201
    syncd.wait_for_cache(lambda con: con.execute("SELECT count(*) FROM passwd WHERE name='frank'").fetchone()[0] == 1)
    # The rule now grants access only on db-* hosts: frank loses his account on web-01.
    rule = "[rule everyone]\nmatch = any\ngroups = Linux Users\nrole = user\nous = "
    policy = harness.DEFAULT_POLICY.replace(rule + "global", "[ou db]\nhosts = db-*\n\n" + rule + "db")
    assert policy != harness.DEFAULT_POLICY
    syncd.site.write_config(policy=policy)
    syncd.reload()
    syncd.wait_for_cache(lambda con: con.execute("SELECT count(*) FROM passwd WHERE name='frank'").fetchone()[0] == 0)


# --- listen policy and TLS ------------------------------------------------------------------

@pytest.mark.parametrize("listen", ["0.0.0.0:{port}", "[::]:{port}", "192.0.2.10:{port}"])
def test_refuses_plain_http_on_non_loopback(site, listen):
    syncd_util.new_token(site)
    site.write_config(extra_sync="")
    text = open(site.config).read().replace("listen = 127.0.0.1:%d" % site.port,
                                            "listen = " + listen.format(port=site.port))
    with open(site.config, "w") as f:
        f.write(text)
    r = syncd_util.run_daemon_expecting_exit(site)
    assert r.returncode == 1
    assert "not a loopback address" in r.stderr and "tls_cert" in r.stderr
    assert "listening" not in r.stderr
    assert not os.path.exists(site.state_db), "refused before opening anything"


@pytest.mark.parametrize("listen", ["[::1]:{port}", "localhost:{port}", "127.0.0.2:{port}"])
def test_plain_http_on_other_loopback_forms(site, procs, listen):
    token = syncd_util.new_token(site)
    text = open(site.config).read().replace("listen = 127.0.0.1:%d" % site.port,
                                            "listen = " + listen.format(port=site.port))
    with open(site.config, "w") as f:
        f.write(text)
    proc, log = syncd_util.start_daemon(site, procs, wait=False)
    syncd_util.wait_for_log(log, "listening on")
    host = "[::1]" if listen.startswith("[") else ("127.0.0.2" if "127.0.0.2" in listen else "127.0.0.1")
    status, _, _, _ = ScimClient("http://%s:%d/scim/v2" % (host, site.port), token).get("/Users")
    assert status == 200


@pytest.mark.parametrize("listen", ["127.0.0.1", "127.0.0.1:0", "127.0.0.1:99999", "::1:9443", ":9443"])
def test_refuses_malformed_listen(site, listen):
    syncd_util.new_token(site)
    text = open(site.config).read().replace("listen = 127.0.0.1:%d" % site.port, "listen = " + listen)
    with open(site.config, "w") as f:
        f.write(text)
    r = syncd_util.run_daemon_expecting_exit(site)
    assert r.returncode == 1 and "listen = " + listen in r.stderr


def test_refuses_tls_cert_without_key(site):
    syncd_util.new_token(site)
    site.write_config(extra_sync="tls_cert = /nonexistent/cert.pem")
    r = syncd_util.run_daemon_expecting_exit(site)
    assert r.returncode == 1 and "tls_key" in r.stderr


@pytest.fixture
def tls_site():
    s = harness.Site()
    ca, cert, key = syncd_util.make_tls_files(s.etc)
    s.write_config(extra_sync="tls_cert = %s\ntls_key = %s" % (cert, key))
    s.ca = ca
    yield s
    s.cleanup()


def tls_get(site, token, context):
    conn = http.client.HTTPSConnection("127.0.0.1", site.port, context=context, timeout=10)
    try:
        conn.request("GET", "/scim/v2/Users", headers={"Authorization": "Bearer " + token})
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read()), conn.sock.version()
    finally:
        conn.close()


def client_context(ca, minimum, maximum):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.minimum_version = minimum
    ctx.maximum_version = maximum
    return ctx


def tls11_client_works_somewhere(ca, cert, key):
    """Control: can this Python/OpenSSL speak TLS 1.1 at all? (so a refusal means something)"""
    server_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_ctx.minimum_version = ssl.TLSVersion.TLSv1_1
    server_ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    server_ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    server_ctx.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    result = {}

    def serve():
        try:
            conn, _ = listener.accept()
            with server_ctx.wrap_socket(conn, server_side=True) as s:
                result["version"] = s.version()
        except (OSError, ssl.SSLError) as e:
            result["error"] = str(e)

    t = threading.Thread(target=serve)
    t.start()
    try:
        ctx = tls11_context(ca)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="127.0.0.1"):
                pass
        return True
    except (OSError, ssl.SSLError):
        return False
    finally:
        t.join(timeout=5)
        listener.close()


def tls11_context(ca):
    ctx = client_context(ca, ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1_1)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


def test_tls_serves_1_2_and_1_3_and_refuses_1_1(tls_site, procs):
    token = syncd_util.new_token(tls_site)
    proc, log = syncd_util.start_daemon(tls_site, procs)
    syncd_util.wait_for_log(log, "listening on https://127.0.0.1:%d/scim/v2" % tls_site.port)
    status, body, version = tls_get(tls_site, token, client_context(tls_site.ca, ssl.TLSVersion.TLSv1_2,
                                                                     ssl.TLSVersion.TLSv1_2))
    assert status == 200 and version == "TLSv1.2" and body["totalResults"] == 0
    status, _, version = tls_get(tls_site, token, client_context(tls_site.ca, ssl.TLSVersion.TLSv1_3,
                                                                 ssl.TLSVersion.TLSv1_3))
    assert status == 200 and version == "TLSv1.3"
    # Plain HTTP on the TLS port gets nothing useful.
    status = syncd_util.status_of(syncd_util.raw_http(tls_site.port, b"GET /scim/v2/Users HTTP/1.1\r\nHost: x\r\n\r\n",
                                                      timeout=5))
    assert status != 200
    cert = tls_site.values["extra_sync"].split("tls_cert = ")[1].split("\n")[0]
    key = tls_site.values["extra_sync"].split("tls_key = ")[1].strip()
    if not tls11_client_works_somewhere(tls_site.ca, cert, key):
        pytest.skip("this Python/OpenSSL cannot speak TLS 1.1 at all, so its refusal proves nothing")
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        tls_get(tls_site, token, tls11_context(tls_site.ca))
    assert proc.poll() is None


def test_tls_refuses_unreadable_or_non_pem_files(tls_site):
    syncd_util.new_token(tls_site)
    bogus = os.path.join(tls_site.etc, "bogus.pem")
    with open(bogus, "w") as f:
        f.write("not a certificate\n")
    cert = tls_site.values["extra_sync"].split("tls_cert = ")[1].split("\n")[0]
    tls_site.write_config(extra_sync="tls_cert = %s\ntls_key = %s" % (cert, bogus))
    r = syncd_util.run_daemon_expecting_exit(tls_site)
    assert r.returncode == 1 and "not PEM" in r.stderr
    tls_site.write_config(extra_sync="tls_cert = %s\ntls_key = %s" % (cert, "/nonexistent/key.pem"))
    r = syncd_util.run_daemon_expecting_exit(tls_site)
    assert r.returncode == 1 and "/nonexistent/key.pem" in r.stderr


def test_tls_with_non_loopback_listen_passes_the_policy(tls_site):
    """With TLS configured, 0.0.0.0 is allowed by the policy (we do not bind it here: the
    address below is TEST-NET-1, so the bind itself fails after the policy check)."""
    syncd_util.new_token(tls_site)
    text = open(tls_site.config).read().replace("listen = 127.0.0.1:", "listen = 192.0.2.10:")
    with open(tls_site.config, "w") as f:
        f.write(text)
    r = syncd_util.run_daemon_expecting_exit(tls_site)
    assert r.returncode == 1
    assert "not a loopback address" not in r.stderr
    assert "cannot serve on 192.0.2.10" in r.stderr


def test_concurrent_clients_all_served_and_clean_exit(syncd):
    """16 clients at once, reads and writes mixed, some with a wrong token; then a clean stop
    (a sanitized build turns any race or leak in the daemon into a non-zero exit)."""
    results = []
    lock = threading.Lock()

    def client(n):
        c = ScimClient(syncd.client.base, syncd.token)
        got = []
        for i in range(10):
            got.append(c.post("/Users", entra_user("user%d-%d@contoso.com" % (n, i)))[0])
            got.append(c.get("/Users?count=5")[0])
            got.append(c.get("/Users", token="wrong")[0])
        with lock:
            results.extend(got)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(results) == 16 * 30
    assert results.count(201) == 160 and results.count(200) == 160 and results.count(401) == 160
    status, _, body, _ = syncd.client.get("/Users?count=1")
    assert body["totalResults"] == 160
    assert syncd.stop() == 0


def test_tiny_connection_limit_still_serves(site, procs):
    site.write_config(extra_sync="max_connections = 1")
    syncd = harness.Syncd(site, procs)
    for _ in range(3):
        assert syncd.client.get("/Users")[0] == 200
