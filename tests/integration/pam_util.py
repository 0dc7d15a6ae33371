"""Helpers for the pam_entra tests: the test IdP (tests/idp/idp.py) as a process, a site whose
entra.conf points at it, and pamtester runs in a private mount namespace whose /etc/pam.d holds
one service file naming BUILD/pam_entra.so by absolute path, and whose nsswitch.conf and
/etc/entra make libnss_scim serve the site's cache.db."""

import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.request
import uuid

import pytest

import authd_util
import harness
import nss_util

IDP = os.path.join(harness.REPO, "tests", "idp", "idp.py")
SERVICE = "entra-test"
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
# Marker printed by pam_echo when pam_entra returned PAM_IGNORE (the stack goes on past it).
IGNORED = "pam_entra-ignored"


class TestIdp:
    def __init__(self, procs, directory, interval=1):
        self.procs = procs
        self.dir = os.path.join(directory, "idp")
        os.makedirs(self.dir, exist_ok=True)
        self.port = harness.free_port()
        self.log = open(os.path.join(directory, "idp.log"), "ab")
        self.proc = procs.start(["/usr/bin/python3", IDP, "--port", str(self.port), "--dir", self.dir,
                                 "--interval", str(interval), "--tenant", TENANT, "--client-id", CLIENT],
                                stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while not os.path.exists(os.path.join(self.dir, "ready")):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("test IdP did not start; see %s/idp.log" % directory)
            time.sleep(0.05)
        harness.wait_for_port(self.port, self.proc)
        self.ca = os.path.join(self.dir, "ca.pem")
        self.ssl = ssl.create_default_context(cafile=self.ca)
        self.authority = "https://127.0.0.1:%d" % self.port

    def control(self, **cmd):
        req = urllib.request.Request(self.authority + "/_control", data=json.dumps(cmd).encode(), method="POST")
        with urllib.request.urlopen(req, context=self.ssl, timeout=30) as resp:
            return json.loads(resp.read())

    def script(self, **behaviour):
        return self.control(op="script", behaviour=behaviour)

    def requests(self, suffix=None):
        reqs = self.control(op="requests")["requests"]
        return [r for r in reqs if suffix is None or r["path"].endswith(suffix)]

    def polls(self):
        return self.requests("/oauth2/v2.0/token")


def unrelated_ca(tmp_path):
    """A CA certificate that signed nothing the test IdP serves (a trust anchor that must not help)."""
    pem, key = str(tmp_path / "unrelated-ca.pem"), str(tmp_path / "unrelated-ca.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", key, "-out", pem, "-days", "2", "-subj", "/CN=Unrelated Test CA"],
                   capture_output=True, check=True)
    return pem


def new_user(name, object_id=True, **fields):
    """A cache.db row plus the Entra identity (oid, upn) that owns it."""
    oid = str(uuid.uuid4())
    row = dict(name=name, uid=fields.pop("uid", 200100 + (sum(name.encode()) % 1000)), upn=name + "@contoso.com",
               object_id=oid if object_id else None, **fields)
    return row, {"oid": oid, "upn": row["upn"], "name": name.title()}


class PamSite:
    """A site (entra.conf, cache.db, pam.d) pointing pam_entra at a test IdP, and the site's own
    entra-authd (pam_entra signs in only through it), started on the first pamtester run and
    restarted when the config changed since (it reads the file once, as in production)."""

    def __init__(self, idp, users=(), login_timeout=30, qr="no", ca=True, pam_extra=""):
        self.idp = idp
        self.broker = None
        self.auto_broker = True
        self.broker_binds = []  # (source, target) pairs for the broker's own mount namespace
        self.broker_env = {}    # variables added to the broker's environment
        # Not under pytest's 0700 tmp_path: a test binds it for a caller that is not root.
        self.run_dir = tempfile.mkdtemp(prefix="entra-authd-test-")
        os.chmod(self.run_dir, 0o755)
        self.authd_socket = os.path.join(self.run_dir, "socket")
        # ca: True trusts the IdP's CA through ca_file, a path names another ca_file, False none.
        ca_file = idp.ca if ca is True else ca
        self.site = harness.Site(authority=idp.authority, ca_line=("ca_file = %s" % ca_file) if ca_file else "")
        self.cache_dir = os.path.join(self.site.dir, "cache")
        self.pam_extra = pam_extra
        self.set_pam(login_timeout=login_timeout, qr=qr)
        harness.write_cache(self.site.cache_db, users)
        self.pamd = os.path.join(self.site.dir, "pam.d")
        os.makedirs(self.pamd)
        self.write_service()
        self.nsswitch = os.path.join(self.site.dir, "nsswitch.conf")
        with open(self.nsswitch, "w") as f:
            f.write(nss_util.NSSWITCH)

    def binds(self):
        """What a host with the stack configured has: our PAM service, nsswitch.conf naming scim
        (pam_entra resolves the user through NSS) and /etc/entra for libnss_scim."""
        return [(self.pamd, "/etc/pam.d"), (self.nsswitch, "/etc/nsswitch.conf"), (self.site.etc, "/etc/entra")]

    def set_pam(self, **values):
        values.setdefault("authd_socket", self.authd_socket)
        lines = ["[pam]", "cache_dir = %s" % self.cache_dir]
        lines += ["%s = %s" % kv for kv in values.items()]
        self.site.write_config(policy=harness.DEFAULT_POLICY + "\n" + "\n".join(lines) + "\n" + self.pam_extra)

    def write_service(self, args="debug"):
        module = "%s config=%s %s" % (os.path.join(harness.BUILD, "pam_entra.so"), self.site.config, args)
        text = ""
        for phase in ("auth", "account"):
            text += "%s [success=done ignore=ignore default=die] %s\n" % (phase, module)
            text += "%s optional pam_echo.so %s\n" % (phase, IGNORED)
            text += "%s required pam_permit.so\n" % phase
        text += "session [success=ok ignore=ignore default=bad] %s\nsession required pam_permit.so\n" % module
        text += "password [success=ok ignore=ignore default=bad] %s\npassword required pam_permit.so\n" % module
        with open(os.path.join(self.pamd, SERVICE), "w") as f:
            f.write(text)

    def pamtester(self, user, *ops, enters=10, timeout=120, binds=()):
        """Runs pamtester USER OPS (default authenticate) with ENTERS newlines on stdin, with
        /etc/pam.d and each (source, target) of BINDS bind-mounted.
        Returns CompletedProcess; .text has pamtester's results, the prompts and the module's debug log."""
        ops = ops or ("authenticate",)
        argv = ["pamtester", "-v", SERVICE, user] + list(ops)
        seen = self.broker_ready()
        r = harness.in_namespace(argv, self.binds() + list(binds), env=harness.module_env(),
                                 input="\n" * enters, timeout=timeout)
        # The broker's log lines of this sign-in follow pam_entra's, as both reach the journal.
        r.stderr += self.broker.logs()[seen:] if self.broker else ""
        r.text = r.stdout + r.stderr  # pamtester's conversation writes prompts to stderr
        return r

    def broker_ready(self):
        """Starts (or restarts, after a config change) the site's entra-authd unless a test
        manages its own (auto_broker false); returns the length of its log so far."""
        with open(self.site.config) as f:
            config = f.read()
        state = (config, list(self.broker_binds), dict(self.broker_env))
        if self.broker and (self.broker_state != state or self.broker.proc.poll() is not None):
            self.stop_broker()
        if not self.broker and self.auto_broker:
            log = os.path.join(self.site.dir, "authd.log")
            self.broker = authd_util.Authd(self.idp.procs, self.site.config, self.authd_socket, log,
                                           self.broker_binds, self.broker_env).start()
            self.broker_state = state
        return len(self.broker.logs()) if self.broker else 0

    def stop_broker(self):
        """Stops the site's entra-authd and checks its exit (0, and no leak under ASan)."""
        if self.broker:
            broker, self.broker = self.broker, None
            broker.stop_cleanly()

    def cleanup(self):
        try:
            self.stop_broker()
        finally:
            self.site.cleanup()
            shutil.rmtree(self.run_dir, ignore_errors=True)


# Fixtures shared by the pam_entra test modules (imported there; conftest's `site` is another).
@pytest.fixture
def idp(procs, tmp_path):
    return TestIdp(procs, str(tmp_path))


@pytest.fixture
def alice():
    return new_user("alice")


@pytest.fixture
def site(idp, alice):
    s = PamSite(idp, [alice[0]])
    yield s
    s.cleanup()
