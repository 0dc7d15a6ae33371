#!/usr/bin/python3
"""A hostile OpenID provider for the hardening tests: tests/idp/idp.py (Entra's wire format,
real RS256 tokens, /_control) with one misbehaviour chosen by --mode:

    hang_discovery   the discovery request is accepted and never answered
    hang_token       discovery and devicecode work, every token poll hangs
    huge_discovery   discovery answers a 3 MiB JSON object
    malformed_discovery / malformed_devicecode / malformed_token
                     truncated or wrongly typed JSON from that endpoint
    huge_token       the token endpoint answers 5 MiB
    many_keys        the JWKS holds 400 extra 2048-bit keys before the real ones
    many_keys_no_match
                     the JWKS holds only 400 keys, none of them the signer
    wrong_ca         served with a certificate from a CA other than DIR/ca.pem

    /usr/bin/python3 tests/integration/hardening_idp.py --mode M --port P --dir D
"""

import argparse
import base64
import importlib.util
import json
import os
import secrets
import ssl
import sys
import time
import urllib.parse
from http.server import ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("entra_test_idp", os.path.join(HERE, "..", "idp", "idp.py"))
idp_mod = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(idp_mod)

MODES = ("hang_discovery", "hang_token", "huge_discovery", "malformed_discovery", "malformed_devicecode",
         "malformed_token", "huge_token", "many_keys", "many_keys_no_match", "wrong_ca")


def junk_key(i):
    n = (secrets.randbits(2048) | (1 << 2047) | 1).to_bytes(256, "big")
    return {"kty": "RSA", "use": "sig", "kid": "junk-%04d-%s" % (i, secrets.token_hex(8)),
            "n": base64.urlsafe_b64encode(n).rstrip(b"=").decode(), "e": "AQAB"}


class HostileHandler(idp_mod.Handler):
    def hang(self):
        # Hold the connection open without answering until the client gives up.
        while True:
            time.sleep(1)
            try:
                self.connection.settimeout(0.01)
                if self.connection.recv(1, 0) == b"":
                    return
            except (TimeoutError, ssl.SSLWantReadError, BlockingIOError):
                continue
            except (OSError, ValueError):
                return

    def raw(self, status, data):
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except OSError:
            pass

    def path_rest(self):
        return self.tenant_path(urllib.parse.urlsplit(self.path).path)[1]

    def do_GET(self):
        mode, rest = self.server.mode, self.path_rest()
        if rest == "/v2.0/.well-known/openid-configuration":
            if mode == "hang_discovery":
                return self.hang()
            if mode == "huge_discovery":
                doc = dict(self.server.idp.discovery(), padding="x" * (3 << 20))
                return self.raw(200, json.dumps(doc).encode())
            if mode == "malformed_discovery":
                return self.raw(200, json.dumps(self.server.idp.discovery()).encode()[:-40])
        if rest == "/discovery/v2.0/keys" and mode.startswith("many_keys"):
            keys = [junk_key(i) for i in range(400)]
            if mode == "many_keys":
                keys += self.server.idp.jwks()["keys"]
            return self.raw(200, json.dumps({"keys": keys}).encode())
        return super().do_GET()

    def do_POST(self):
        mode, rest = self.server.mode, self.path_rest()
        if rest == "/oauth2/v2.0/token" and mode in ("hang_token", "huge_token", "malformed_token"):
            self.read_body()
            if mode == "hang_token":
                return self.hang()
            if mode == "huge_token":
                return self.raw(200, b'{"id_token": "' + b"e" * (5 << 20) + b'"}')
            return self.raw(200, b'{"id_token": 5, "token_type": ["Bearer"]}')
        if rest == "/oauth2/v2.0/devicecode" and mode == "malformed_devicecode":
            self.read_body()
            return self.raw(200, b'{"device_code": "abc", "user_code": 7, "verification_uri": "\\u001b[2J')
        return super().do_POST()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--mode", choices=MODES, required=True)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--tenant", default="11111111-2222-3333-4444-555555555555")
    ap.add_argument("--client-id", default="aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    idp_mod.make_tls(args.dir)
    cert_dir = args.dir
    if args.mode == "wrong_ca":  # clients are told to trust DIR/ca.pem; we show another CA's certificate
        cert_dir = os.path.join(args.dir, "other-ca")
        os.makedirs(cert_dir, exist_ok=True)
        idp_mod.make_tls(cert_dir)
    idp = idp_mod.Idp("127.0.0.1:%d" % args.port, args.tenant, args.client_id)
    idp.interval = 1
    server = ThreadingHTTPServer(("127.0.0.1", args.port), HostileHandler)
    server.daemon_threads = True
    server.idp, server.mode, server.verbose = idp, args.mode, False
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(cert_dir, "server.pem"), os.path.join(cert_dir, "server.key"))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    with open(os.path.join(args.dir, "ready"), "w") as f:
        f.write("%d\n" % os.getpid())
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
