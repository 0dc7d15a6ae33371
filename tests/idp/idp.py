#!/usr/bin/python3
"""A test identity provider that speaks Microsoft Entra ID's wire format for the device code
flow: OIDC discovery, /devicecode, /token with Entra's error bodies, a JWKS with rotating RS256
keys, over HTTPS with its own test CA. Python 3 standard library + python3-cryptography.

    /usr/bin/python3 tests/idp/idp.py --port P --dir D [--tenant T] [--client-id C]

D receives ca.pem (the test CA to trust), server.pem, server.key and, once listening, a file
"ready". Tests script it through POST /_control with a JSON body:

    {"op": "script", "behaviour": {...}}  behaviour for the next device code issued (FIFO)
    {"op": "rotate", "drop_oldest": false} new signing key, old ones stay in the JWKS
    {"op": "config", "interval": 1, "issuer_placeholder": false, "expires_in": 900}
    {"op": "config", "close_after_response": true}  closes each connection after one answer,
                                          without saying so (no Connection: close)
    {"op": "requests"}                    the request log: [{"method","path","time","form","peer"}]
    {"op": "reset"}                       clears the request log

A behaviour: {"user": {"oid", "upn", "name"}, "pending": N (authorization_pending answers
before the result), "slow_down": true (first poll answers slow_down), "result": "approve" |
"authorization_declined" | "expired_token" | "bad_verification_code" | "invalid_grant",
"forge": one of FORGERIES, "interval": N, "expires_in": N, "user_code" and "verification_uri": the
text to answer instead of a random code and https://HOST/devicelogin}.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import json
import os
import secrets
import ssl
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

FORGERIES = ("alg_none", "hs256_pubkey", "alg_ps256", "wrong_aud", "wrong_iss", "wrong_tid", "expired",
             "nbf_future", "iat_future", "unknown_kid", "bad_signature", "foreign_key", "no_oid", "aud_array")

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def uint_b64(n):
    return b64url(n.to_bytes((n.bit_length() + 7) // 8, "big"))


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


def write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def make_tls(directory):
    """A test CA and a server certificate for 127.0.0.1 / localhost signed by it."""
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pam_entra test CA")])
    start = now_utc() - datetime.timedelta(days=1)
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start)
          .not_valid_after(start + datetime.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    import ipaddress
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
            .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    with open(os.path.join(directory, "ca.pem"), "wb") as f:
        f.write(ca.public_bytes(pem))
    with open(os.path.join(directory, "server.pem"), "wb") as f:
        f.write(cert.public_bytes(pem))
    write_private(os.path.join(directory, "server.key"),
                  key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


class SigningKey:
    """An RS256 key as Entra publishes it: kid, x5t and a self-signed x5c certificate."""

    def __init__(self, bits=2048):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "accounts.accesscontrol.windows.net")])
        start = now_utc() - datetime.timedelta(days=1)
        self.cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(start).not_valid_after(start + datetime.timedelta(days=365))
                     .sign(self.key, hashes.SHA256()))
        der = self.cert.public_bytes(serialization.Encoding.DER)
        self.x5t = b64url(hashlib.sha1(der).digest())
        self.kid = self.x5t  # Entra uses the certificate thumbprint as kid
        self.x5c = base64.b64encode(der).decode()

    def jwk(self, issuer):
        pub = self.key.public_key().public_numbers()
        return {"kty": "RSA", "use": "sig", "kid": self.kid, "x5t": self.x5t, "n": uint_b64(pub.n),
                "e": uint_b64(pub.e), "x5c": [self.x5c], "issuer": issuer}

    def public_pem(self):
        return self.key.public_key().public_bytes(serialization.Encoding.PEM,
                                                  serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, data, pss=False):
        pad = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32) if pss else padding.PKCS1v15()
        return self.key.sign(data, pad, hashes.SHA256())


class Idp:
    def __init__(self, host, tenant, client_id):
        self.host = host
        self.tenant = tenant
        self.client_id = client_id
        self.lock = threading.Lock()
        self.keys = [SigningKey(), SigningKey()]  # the last one signs; Entra publishes several
        self.outsider = SigningKey()               # never published: "foreign_key", "unknown_kid"
        self.interval = 5
        self.expires_in = 900
        self.issuer_placeholder = False
        self.close_after_response = False  # transfer behaviour of the non-control answers
        self.scripts = []
        self.codes = {}
        self.requests = []

    # ---- documents -------------------------------------------------------------------------
    def base(self):
        return "https://%s" % self.host

    def issuer(self):
        return "%s/%s/v2.0" % (self.base(), self.tenant)

    def discovery(self):
        b, t = self.base(), self.tenant
        issuer = "%s/{tenantid}/v2.0" % b if self.issuer_placeholder else self.issuer()
        return {
            "token_endpoint": "%s/%s/oauth2/v2.0/token" % (b, t),
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "jwks_uri": "%s/%s/discovery/v2.0/keys" % (b, t),
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": issuer,
            "request_uri_parameter_supported": False,
            "userinfo_endpoint": "%s/oidc/userinfo" % b,
            "authorization_endpoint": "%s/%s/oauth2/v2.0/authorize" % (b, t),
            "device_authorization_endpoint": "%s/%s/oauth2/v2.0/devicecode" % (b, t),
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "end_session_endpoint": "%s/%s/oauth2/v2.0/logout" % (b, t),
            "claims_supported": ["sub", "iss", "cloud_instance_name", "cloud_instance_host_name", "cloud_graph_host_name",
                                 "msgraph_host", "aud", "exp", "iat", "auth_time", "acr", "nonce", "preferred_username",
                                 "name", "tid", "ver", "at_hash", "c_hash", "email"],
            "kerberos_endpoint": "%s/%s/kerberos" % (b, t),
            "tenant_region_scope": "EU",
            "cloud_instance_name": "microsoftonline.com",
            "cloud_graph_host_name": "graph.windows.net",
            "msgraph_host": "graph.microsoft.com",
            "rbac_url": "https://pas.windows.net",
        }

    def jwks(self):
        issuer = "%s/{tenantid}/v2.0" % self.base()
        return {"keys": [k.jwk(issuer) for k in self.keys]}

    # ---- tokens ----------------------------------------------------------------------------
    def claims(self, user, forge):
        now = int(time.time())
        c = {
            "aud": self.client_id, "iss": self.issuer(), "iat": now, "nbf": now, "exp": now + 3600,
            "name": user.get("name", "Test User"), "oid": user["oid"], "preferred_username": user["upn"],
            "rh": "0.AAAA" + b64url(secrets.token_bytes(24)) + ".", "sub": b64url(secrets.token_bytes(32)),
            "tid": self.tenant, "uti": b64url(secrets.token_bytes(16)), "ver": "2.0",
        }
        if forge == "wrong_aud":
            c["aud"] = str(uuid.uuid4())
        elif forge == "aud_array":
            c["aud"] = [str(uuid.uuid4()), self.client_id]
        elif forge == "wrong_iss":
            c["iss"] = "https://sts.windows.net/%s/" % self.tenant
        elif forge == "wrong_tid":
            c["tid"] = str(uuid.uuid4())
        elif forge == "expired":
            c.update(iat=now - 7200, nbf=now - 7200, exp=now - 3600)
        elif forge == "nbf_future":
            c.update(nbf=now + 3600, exp=now + 7200)
        elif forge == "iat_future":
            c.update(iat=now + 3600, nbf=now, exp=now + 7200)
        elif forge == "no_oid":
            del c["oid"]
        return c

    def id_token(self, user, forge=None):
        key = self.keys[-1]
        header = {"typ": "JWT", "alg": "RS256", "kid": key.kid}
        if forge == "alg_none":
            header["alg"] = "none"
        elif forge == "hs256_pubkey":
            header["alg"] = "HS256"
        elif forge == "alg_ps256":
            header["alg"] = "PS256"
        elif forge == "unknown_kid":
            key = self.outsider
            header["kid"] = key.kid
        elif forge == "foreign_key":
            key = self.outsider  # header keeps the published kid
        enc = lambda obj: b64url(json.dumps(obj, separators=(",", ":")).encode())
        signing_input = (enc(header) + "." + enc(self.claims(user, forge))).encode()
        if forge == "alg_none":
            sig = b""
        elif forge == "hs256_pubkey":
            sig = hmac.new(self.keys[-1].public_pem(), signing_input, hashlib.sha256).digest()
        else:
            sig = key.sign(signing_input, pss=(forge == "alg_ps256"))
            if forge == "bad_signature":
                sig = sig[:-1] + bytes([sig[-1] ^ 1])
        return signing_input.decode() + "." + b64url(sig)

    def token_response(self, user, forge):
        now = int(time.time())
        access = {"aud": "00000003-0000-0000-c000-000000000000", "iss": "https://sts.windows.net/%s/" % self.tenant,
                  "iat": now, "exp": now + 3600, "oid": user["oid"], "tid": self.tenant}
        enc = lambda obj: b64url(json.dumps(obj).encode())
        return {"token_type": "Bearer", "scope": "openid profile email User.Read", "expires_in": 3599,
                "ext_expires_in": 3599,
                "access_token": enc({"typ": "JWT", "alg": "RS256"}) + "." + enc(access) + "." + b64url(b"sig"),
                "id_token": self.id_token(user, forge)}

    # ---- device code flow ------------------------------------------------------------------
    def new_device_code(self, scope):
        behaviour = self.scripts.pop(0) if self.scripts else {}
        random_code = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZ23456789") for _ in range(9))
        code = {
            "device_code": "DAQABAAEAAAD" + b64url(secrets.token_bytes(96)),
            "user_code": behaviour.get("user_code", random_code),
            "behaviour": behaviour, "polls": 0, "issued": time.time(), "done": False,
            "expires_in": behaviour.get("expires_in", self.expires_in),
            "interval": behaviour.get("interval", self.interval),
        }
        self.codes[code["device_code"]] = code
        uri = behaviour.get("verification_uri", "%s/devicelogin" % self.base())
        return {
            "user_code": code["user_code"], "device_code": code["device_code"], "verification_uri": uri,
            "expires_in": code["expires_in"], "interval": code["interval"],
            "message": "To sign in, use a web browser to open the page %s and enter the code %s to authenticate."
                       % (uri, code["user_code"]),
        }

    def poll(self, device_code):
        """(status, body) for one token request."""
        code = self.codes.get(device_code)
        if code is None:
            return 400, entra_error("bad_verification_code", 70019, "Verification code expired.")  # unknown code
        code["polls"] += 1
        b = code["behaviour"]
        if code["done"]:
            return 400, entra_error("invalid_grant", 54005, "OAuth2 Authorization code was already redeemed.")
        if time.time() > code["issued"] + code["expires_in"]:
            return 400, entra_error("expired_token", 70019, "Verification code expired.")
        if b.get("slow_down") and code["polls"] == 1:
            return 400, entra_error("slow_down", 70016, "Polling too frequently; slow down.")
        pending_before = b.get("pending", 0) + (1 if b.get("slow_down") else 0)
        if code["polls"] <= pending_before:
            return 400, entra_error("authorization_pending", 70016,
                                    "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
        result = b.get("result", "approve")
        if result == "approve":
            code["done"] = True
            user = b.get("user") or {"oid": str(uuid.uuid4()), "upn": "nobody@contoso.com"}
            return 200, self.token_response(user, b.get("forge"))
        descriptions = {
            "authorization_declined": (70000, "The user declined the authentication request."),
            "expired_token": (70019, "Verification code expired."),
            "bad_verification_code": (70019, "The verification code is not recognised."),
        }
        number, text = descriptions.get(result, (7000218, "The request body must contain client_assertion."))
        return 400, entra_error(result, number, text)


def entra_error(error, number, text):
    trace, corr = str(uuid.uuid4()), str(uuid.uuid4())
    stamp = now_utc().strftime("%Y-%m-%d %H:%M:%SZ")
    return {"error": error,
            "error_description": "AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s" % (number, text, trace, corr, stamp),
            "error_codes": [number], "timestamp": stamp, "trace_id": trace, "correlation_id": corr,
            "error_uri": "https://login.microsoftonline.com/error?code=%d" % number}


class Handler(BaseHTTPRequestHandler):
    server_version = "idp-test"
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        if self.server.verbose:
            sys.stderr.write("idp: " + fmt % args + "\n")

    def reply(self, status, body):
        data = json.dumps(body).encode()
        idp, path = self.server.idp, urllib.parse.urlsplit(self.path).path
        control = path == "/_control"
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Cache-Control", "no-store, no-cache")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        if idp.close_after_response and not control:
            self.close_connection = True

    def record(self, form=None):
        entry = {"method": self.command, "path": urllib.parse.urlsplit(self.path).path, "time": time.time(),
                 "form": form or {}, "peer": self.client_address[1]}  # client port: one per TCP connection
        with self.server.idp.lock:
            self.server.idp.requests.append(entry)

    def read_body(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length > 65536:
            raise ValueError("body too large")
        return self.rfile.read(length)

    def tenant_path(self, path):
        """(tenant, rest) of /{tenant}/rest."""
        parts = path.split("/", 2)
        return (parts[1], "/" + parts[2]) if len(parts) == 3 else (None, path)

    def do_GET(self):
        idp = self.server.idp
        path = urllib.parse.urlsplit(self.path).path
        self.record()
        tenant, rest = self.tenant_path(path)
        with idp.lock:
            if tenant == idp.tenant and rest == "/v2.0/.well-known/openid-configuration":
                return self.reply(200, idp.discovery())
            if tenant == idp.tenant and rest == "/discovery/v2.0/keys":
                return self.reply(200, idp.jwks())
            if rest == "/v2.0/.well-known/openid-configuration":
                return self.reply(400, entra_error("invalid_tenant", 90002, "Tenant '%s' not found." % tenant))
        if path == "/devicelogin":
            return self.reply(200, {"hint": "this test IdP approves device codes through /_control"})
        self.reply(404, {"error": "not_found"})

    def do_POST(self):
        idp = self.server.idp
        path = urllib.parse.urlsplit(self.path).path
        try:
            raw = self.read_body()
        except ValueError:
            return self.reply(413, {"error": "too_large"})
        if path == "/_control":
            return self.control(json.loads(raw or b"{}"))
        form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode(), keep_blank_values=True).items()}
        self.record(form)
        tenant, rest = self.tenant_path(path)
        with idp.lock:
            if tenant != idp.tenant:
                return self.reply(400, entra_error("invalid_request", 90002, "Tenant '%s' not found." % tenant))
            if form.get("client_id") != idp.client_id:
                return self.reply(400, entra_error("unauthorized_client", 700016,
                                                   "Application with identifier '%s' was not found in the directory."
                                                   % form.get("client_id")))
            if rest == "/oauth2/v2.0/devicecode":
                if "openid" not in form.get("scope", "").split():
                    return self.reply(400, entra_error("invalid_scope", 70011, "The scope must include openid."))
                return self.reply(200, idp.new_device_code(form["scope"]))
            if rest == "/oauth2/v2.0/token":
                if form.get("grant_type") != DEVICE_GRANT:
                    return self.reply(400, entra_error("unsupported_grant_type", 70003, "The grant type is not supported."))
                status, body = idp.poll(form.get("device_code", ""))
                return self.reply(status, body)
        self.reply(404, {"error": "not_found"})

    def control(self, cmd):
        idp = self.server.idp
        op = cmd.get("op")
        with idp.lock:
            if op == "script":
                b = cmd.get("behaviour", {})
                if b.get("forge") not in (None,) + FORGERIES:
                    return self.reply(400, {"error": "unknown forge %r" % b.get("forge")})
                idp.scripts.append(b)
                return self.reply(200, {"queued": len(idp.scripts)})
            if op == "rotate":
                idp.keys.append(SigningKey(cmd.get("bits", 2048)))
                if cmd.get("drop_oldest"):
                    idp.keys.pop(0)
                return self.reply(200, {"kids": [k.kid for k in idp.keys]})
            if op == "config":
                for name in ("interval", "expires_in", "issuer_placeholder", "close_after_response"):
                    if name in cmd:
                        setattr(idp, name, cmd[name])
                return self.reply(200, {})
            if op == "requests":
                return self.reply(200, {"requests": idp.requests})
            if op == "reset":
                idp.requests = []
                return self.reply(200, {})
            if op == "keys":
                return self.reply(200, {"kids": [k.kid for k in idp.keys], "outsider": idp.outsider.kid})
        self.reply(400, {"error": "unknown op %r" % op})


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--dir", required=True, help="where ca.pem, server.pem, server.key and 'ready' go")
    ap.add_argument("--tenant", default="11111111-2222-3333-4444-555555555555")
    ap.add_argument("--client-id", default="aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee")
    ap.add_argument("--interval", type=int, default=5)
    ap.add_argument("--verbose", action="store_true")
    args = ap.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    if not os.path.exists(os.path.join(args.dir, "server.key")):
        make_tls(args.dir)
    idp = Idp("127.0.0.1:%d" % args.port, args.tenant, args.client_id)
    idp.interval = args.interval
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.idp = idp
    server.verbose = args.verbose
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(os.path.join(args.dir, "server.pem"), os.path.join(args.dir, "server.key"))
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
    with open(os.path.join(args.dir, "ready"), "w") as f:
        f.write("%d\n" % os.getpid())
    server.serve_forever()


if __name__ == "__main__":
    main()
