"""Pre-authentication slowloris on the SCIM port. Connections that never present a bearer token
must not be able to hold the slots Entra's requests need: they get a short deadline for their
request head (min(request_timeout, 5 s), counted from the connection's start), they share at
most half of max_connections, and when that share is full the oldest connection of the source
holding the most (an IPv4 address or an IPv6 /64) makes room for the newcomer. Every figure
below uses the default [sync] limits (max_connections = 256, request_timeout = 30)."""

import http.client
import threading
import time

import hardening_util as hu
import syncd_util

FLOOD_SOURCES = ["127.0.0.%d" % i for i in range(2, 7)]  # loopback only
FLOOD_PER_SOURCE = 64  # today's per-address limit: 5 x 64 = 320 > 256 slots
PREAUTH_S = 5  # min(request_timeout, 5 s) with the default request_timeout of 30 s
SLOW_HEAD = b"GET /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4000


class SlowFlood(threading.Thread):
    """Holds FLOOD_PER_SOURCE connections from each of FLOOD_SOURCES, each sending SLOW_HEAD one
    byte per round and never a token; like a real attacker it reconnects every connection the
    daemon closes. Records how many connections it opened and the longest any lived."""

    def __init__(self, port, interval=0.25):
        super().__init__(daemon=True)
        self.port, self.interval = port, interval
        self.slots = [[src, None, 0, 0.0] for src in FLOOD_SOURCES for _ in range(FLOOD_PER_SOURCE)]
        self.opened = self.closed_by_daemon = 0
        self.longest = 0.0
        self.first_round = threading.Event()
        self.stopping = threading.Event()

    def connect(self, slot):
        try:
            s = hu.loopback_socket(slot[0], self.port, timeout=1)
        except OSError:
            slot[1] = None
            return
        s.setblocking(False)
        slot[1], slot[2], slot[3] = s, 0, time.monotonic()
        self.opened += 1

    def daemon_closed(self, s):
        try:
            s.recv(4096)  # EOF, or an answer (a 408): either way the daemon is done with it
            return True
        except BlockingIOError:
            return False
        except OSError:
            return True

    def tick(self, slot):
        s = slot[1]
        if s is None:
            self.connect(slot)
            return
        if self.daemon_closed(s) or slot[2] >= len(SLOW_HEAD):
            self.longest = max(self.longest, time.monotonic() - slot[3])
            self.closed_by_daemon += 1
            s.close()
            self.connect(slot)
            return
        try:
            slot[2] += s.send(SLOW_HEAD[slot[2]:slot[2] + 1])
        except BlockingIOError:
            pass
        except OSError:
            pass  # reset: seen as closed on the next round

    def run(self):
        while not self.stopping.is_set():
            for slot in self.slots:
                self.tick(slot)
            self.first_round.set()
            self.stopping.wait(self.interval)

    def stop(self):
        self.stopping.set()
        self.join(timeout=10)
        for slot in self.slots:
            if slot[1] is not None:
                slot[1].close()


def timed_get(port, token, timeout=3.0):
    """GET /Users?count=1 with TOKEN on a fresh connection from 127.0.0.1; (status, seconds).
    Status None: no answer within TIMEOUT."""
    started = time.monotonic()
    request = ("GET /scim/v2/Users?count=1 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
               "Connection: close\r\n\r\n" % token).encode()
    try:
        response = syncd_util.raw_http(port, request, timeout=timeout, read_all=False)
    except OSError:
        response = b""
    return syncd_util.status_of(response), time.monotonic() - started


def keep_alive_get(con, token):
    started = time.monotonic()
    con.request("GET", "/scim/v2/Users?count=1", headers={"Authorization": "Bearer " + token})
    response = con.getresponse()
    response.read()
    return response.status, time.monotonic() - started


def test_valid_token_is_answered_within_2s_while_320_slow_connections_are_held(syncd):
    port, token = syncd.site.port, syncd.token
    # Entra's own keep-alive connection, authenticated before the flood: it must keep its slot.
    entra = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    assert keep_alive_get(entra, token)[0] == 200
    flood = SlowFlood(port)
    flood.start()
    try:
        assert flood.first_round.wait(timeout=20), "the flood never opened its connections"
        assert flood.opened >= len(flood.slots)
        times = []
        for _ in range(4):
            status, took = timed_get(port, token)
            times.append(took)
            assert status == 200 and took < 2.0, "valid request: status %s after %.2f s behind %d slow connections" % (
                status, took, len(flood.slots))
            time.sleep(0.3)
        status, took = keep_alive_get(entra, token)
        assert status == 200 and took < 2.0, "the authenticated keep-alive connection: %s after %.2f s" % (status, took)
        print("valid requests behind %d slow connections: %s s; flood opened %d connections, %d closed by the daemon"
              % (len(flood.slots), ", ".join("%.3f" % t for t in times), flood.opened, flood.closed_by_daemon))
    finally:
        flood.stop()
        entra.close()
    # The daemon still serves once the flood is gone.
    assert timed_get(port, token)[0] == 200


def test_unauthenticated_head_has_a_short_deadline_authenticated_body_keeps_request_timeout(syncd):
    port, token = syncd.site.port, syncd.token
    head = b"GET /scim/v2/Users?count=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    unauth = hu.Trickler(port, head, b"X-Slow: " + b"a" * 100 + b"\r\n\r\n", source="127.0.0.7")
    silent = hu.Trickler(port, b"", b"", interval=PREAUTH_S + 3, source="127.0.0.8")  # connects, sends nothing
    body = b'{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"slow@contoso.com"}'
    authed_head = ("POST /scim/v2/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                   "Content-Type: application/scim+json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                   % (token, len(body))).encode()
    authed = hu.Trickler(port, authed_head, body, source="127.0.0.9")
    for t in (unauth, silent, authed):
        t.start()
    unauth.join(timeout=PREAUTH_S + 4)
    silent.join(timeout=2)
    assert unauth.closed_after is not None, "an unauthenticated trickled head was not cut within %d s" % (
        PREAUTH_S + 4)
    assert PREAUTH_S - 0.5 <= unauth.closed_after <= PREAUTH_S + 1.5, unauth.closed_after
    assert syncd_util.status_of(unauth.received) == 408, unauth.received[:300]
    assert b"urn:ietf:params:scim:api:messages:2.0:Error" in unauth.received
    assert silent.closed_after is not None and silent.closed_after <= PREAUTH_S + 1.5, silent.closed_after
    assert silent.received == b""
    # The authenticated request trickling its body is still open: request_timeout (30 s) applies.
    authed.hold.set()
    authed.join(timeout=2)
    assert authed.closed_after is None and authed.received == b"", authed.received[:300]
    assert 0 < authed.sent < len(body)
    authed.sock.settimeout(5)
    authed.sock.sendall(body[authed.sent:])
    answer = b""
    while b"\r\n\r\n" not in answer:
        chunk = authed.sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    authed.sock.close()
    assert syncd_util.status_of(answer) == 201, answer[:300]
    log = syncd.logs()
    assert "not complete within %d s and not authenticated yet" % PREAUTH_S in log, log[-2000:]
