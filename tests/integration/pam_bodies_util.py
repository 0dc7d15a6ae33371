#!/usr/bin/python3
"""The test IdP (tests/idp/idp.py) with canned bodies: when DIR/canned-devicecode or
DIR/canned-token exists, that endpoint answers HTTP 200 with the file's bytes, read on every
request; otherwise it behaves as usual. Used by test_pam.py to check what pam_entra logs for
malformed device code and token answers.

    /usr/bin/python3 tests/integration/pam_bodies_util.py --port P --dir D
"""

import argparse
import importlib.util
import os
import ssl
import subprocess
import sys
import time
import urllib.parse
from http.server import ThreadingHTTPServer

HERE = os.path.dirname(os.path.abspath(__file__))
ENDPOINTS = {"/oauth2/v2.0/devicecode": "canned-devicecode", "/oauth2/v2.0/token": "canned-token"}


def idp_module():
    spec = importlib.util.spec_from_file_location("entra_test_idp", os.path.join(HERE, "..", "idp", "idp.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class CannedIdp:
    """Starts this file as an IdP process (stopped by PROCS) with pam_util.TestIdp's interface."""

    def __init__(self, procs, directory):
        import harness
        import pam_util
        self.procs = procs
        self.dir = os.path.join(directory, "canned-idp")
        os.makedirs(self.dir, exist_ok=True)
        self.port = harness.free_port()
        self.log = open(os.path.join(directory, "canned-idp.log"), "ab")
        self.proc = procs.start(["/usr/bin/python3", os.path.abspath(__file__), "--port", str(self.port),
                                 "--dir", self.dir, "--tenant", pam_util.TENANT, "--client-id", pam_util.CLIENT],
                                stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(self.dir, "ready")):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("canned IdP did not start; see %s/canned-idp.log" % directory)
            time.sleep(0.05)
        harness.wait_for_port(self.port, self.proc)
        self.ca = os.path.join(self.dir, "ca.pem")
        self.authority = "https://127.0.0.1:%d" % self.port

    def serve(self, endpoint, body):
        """ENDPOINT ("devicecode" or "token") answers 200 with BODY (bytes) from now on."""
        with open(os.path.join(self.dir, "canned-" + endpoint), "wb") as f:
            f.write(body)


def main():
    idp_mod = idp_module()

    class CannedHandler(idp_mod.Handler):
        def do_POST(self):
            rest = self.tenant_path(urllib.parse.urlsplit(self.path).path)[1]
            canned = os.path.join(self.server.dir, ENDPOINTS.get(rest, "-"))
            if not os.path.exists(canned):
                return super().do_POST()
            self.read_body()
            with open(canned, "rb") as f:
                data = f.read()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True)
    ap.add_argument("--tenant", required=True)
    ap.add_argument("--client-id", required=True)
    args = ap.parse_args()
    idp_mod.make_tls(args.dir)
    idp = idp_mod.Idp("127.0.0.1:%d" % args.port, args.tenant, args.client_id)
    idp.interval = 1
    server = ThreadingHTTPServer(("127.0.0.1", args.port), CannedHandler)
    server.daemon_threads = True
    server.idp, server.dir, server.verbose = idp, args.dir, False
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(args.dir, "server.pem"), os.path.join(args.dir, "server.key"))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    with open(os.path.join(args.dir, "ready"), "w") as f:
        f.write("%d\n" % os.getpid())
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
