#!/usr/bin/python3
"""make demo: the whole job end to end on this machine, with no outside service.

entra-syncd on loopback with its SQLite store, the test IdP in place of Entra, users and groups
provisioned over SCIM exactly as Entra's provisioning service sends them, the accounts seen
through glibc (getent, id), the AUP decisions explained, and real SSH sign-ins through the
device code flow. Everything that reads /etc runs in a private mount namespace whose /etc is an
overlay: the host's own files are never touched. Every process is stopped by PID at the end and
the temp directory removed."""

import argparse
import os
import shutil
import sys
import tempfile
import textwrap
import urllib.parse
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))

POLICY = """\
[role admin]
rank   = 30
groups = sudo

[role developer]
rank = 10

[ou web]
hosts = web-*

[ou db]
hosts = db-*

[rule admins]
match  = any
groups = Linux Admins
role   = admin
ous    = global

[rule web-developers]
match  = any
groups = Web Team
role   = developer
ous    = web

[rule dbas]
match  = any
groups = DBA
role   = developer
ous    = db
"""

PEOPLE = [  # (upn, groups, active, what the demo shows)
    ("alice@contoso.com", ["Linux Admins"], True, "admin everywhere: gets sudo"),
    ("bob@contoso.com", ["Web Team"], True, "developer on web-* hosts"),
    ("dave@contoso.com", ["Linux Admins", "Web Team"], True, "in both: the lower role (developer) wins"),
    ("carol@contoso.com", ["DBA"], True, "DBA: db-* hosts only, so no account on web-01"),
    ("erin@contoso.com", ["Web Team"], False, "disabled in Entra: account kept, expired"),
]


def users_filter(user_name):
    """Entra's look-up: GET /Users?filter=userName+eq+"..." (form-encoded)."""
    return "/Users?filter=" + urllib.parse.quote_plus('userName eq "%s"' % user_name)


class Demo:
    def __init__(self, build):
        os.environ["ENTRA_BUILD"] = build
        sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
        import authd_util
        import harness
        import pam_util
        import sshd_util
        self.h, self.pam_util, self.sshd_util, self.authd_util = harness, pam_util, sshd_util, authd_util
        self.build = build
        self.procs = harness.Processes()
        self.tmp = tempfile.mkdtemp(prefix="entra-demo-")
        self.step_no = 0
        self.oids = {}

    # ---- output -----------------------------------------------------------------------------
    def step(self, title, why):
        self.step_no += 1
        print("\n\033[1m== %d. %s\033[0m" % (self.step_no, title))
        print(textwrap.fill(why, 96, initial_indent="   ", subsequent_indent="   "))

    @staticmethod
    def show(cmd, result):
        print("   $ %s" % cmd)
        for line in (result.stdout + result.stderr).rstrip("\n").splitlines() or ["(no output)"]:
            print("     " + line)

    def in_view(self, cmd, shown=None):
        r = self.view.run(cmd, env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        self.show(shown or " ".join(cmd), r)
        return r

    # ---- the story ---------------------------------------------------------------------------
    def start_services(self):
        h = self.h
        self.step("Start the test identity provider",
                  "tests/idp/idp.py speaks Entra's wire format (OIDC discovery, device code, token, JWKS with RS256 "
                  "keys) over HTTPS with its own CA; it stands in for login.microsoftonline.com.")
        self.idp = self.pam_util.TestIdp(self.procs, self.tmp, interval=1)
        print("   authority %s (tenant %s)" % (self.idp.authority, self.pam_util.TENANT))
        self.site = h.Site(authority=self.idp.authority, ca_line="ca_file = %s" % self.idp.ca, host="web-01",
                           policy=POLICY + "\n[pam]\nlogin_timeout = 60\ncache_dir = %s\nauthd_socket = %s\n"
                           % (os.path.join(self.tmp, "pam-cache"), os.path.join(self.tmp, "authd", "socket")),
                           publish_interval_ms=200)
        # cache.db must be reachable by every user, as /var/lib/entra is (the signed-in session reads it)
        os.chmod(self.site.dir, 0o755)
        self.step("Start entra-syncd and create the SCIM token",
                  "entra-sync token new prints a bearer token once and keeps only its hash; in production you "
                  "paste it into the Entra enterprise app as the Secret Token. entra-syncd serves SCIM 2.0 on "
                  "loopback and keeps what Entra sends in its private SQLite store (state.db).")
        self.syncd = h.Syncd(self.site, self.procs)
        print("   token %s...  (shown once)" % self.syncd.token[:12])
        print("   entra-syncd listening on http://127.0.0.1:%d/scim/v2, host name web-01" % self.site.port)
        self.scim = self.syncd.client
        self.step("Start entra-authd, the sign-in broker",
                  "pam_entra signs in only through entra-authd (root, no capabilities): the broker runs the device "
                  "code flow against the identity provider and verifies the ID token, so sshd itself loads no "
                  "network, TLS or JWT code. In production systemd starts it on the first sign-in "
                  "(entra-authd.socket).")
        socket_path = os.path.join(self.tmp, "authd", "socket")
        os.makedirs(os.path.dirname(socket_path))
        self.authd = self.authd_util.Authd(self.procs, self.site.config, socket_path,
                                      os.path.join(self.tmp, "authd.log")).start()
        print("   entra-authd listening on %s" % socket_path)

    def provision(self):
        h = self.h
        self.step("Provision users and groups over SCIM, as Entra does",
                  "Test connection (a filter on a random userName that must return nothing), then per user: "
                  "look up by userName, POST, groups with members, and a PATCH that disables a user with "
                  "active \"False\" (a string, as Entra sends it).")
        status, _, body, _ = self.scim.get(users_filter(uuid.uuid4()))
        print("   GET /Users?filter=userName eq \"<random>\" -> %d, totalResults %s" % (status, body["totalResults"]))
        ids = {}
        for upn, _groups, _active, _why in PEOPLE:
            oid = str(uuid.uuid4())
            self.oids[upn] = oid
            self.scim.get(users_filter(upn))
            given = upn.split("@")[0].title()
            status, _, body, _ = self.scim.post("/Users", h.entra_user(upn, external_id=oid, given=given, family="Example"))
            ids[upn] = body["id"]
            print("   POST /Users %-20s -> %d  id %s externalId (object id) %s" % (upn, status, body["id"][:8], oid[:8]))
        for name in ("Linux Admins", "Web Team", "DBA"):
            members = [ids[u] for u, groups, _a, _w in PEOPLE if name in groups]
            status, _, body, _ = self.scim.post("/Groups", h.entra_group(name, str(uuid.uuid4()), members))
            print("   POST /Groups %-14s -> %d  %d member(s)" % (name, status, len(members)))
        for upn, _groups, active, _why in PEOPLE:
            if not active:
                status = self.scim.patch("/Users/" + ids[upn], h.patch_body(
                    {"op": "Replace", "path": "active", "value": "False"}))[0]
                print("   PATCH /Users/%s active \"False\" (%s) -> %d" % (ids[upn][:8], upn, status))
        self.syncd.wait_for_cache(lambda con: con.execute(
            "SELECT count(*) FROM passwd WHERE name='erin' AND expire=1").fetchone()[0] == 1)
        gen = self.syncd_meta("generation")
        print("   cache.db published (generation %s): AUP rules evaluated, only accounts allowed on web-01" % gen)

    def syncd_meta(self, key):
        import sqlite3
        con = sqlite3.connect("file:%s?mode=ro" % self.site.cache_db, uri=True)
        try:
            return con.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()[0]
        finally:
            con.close()

    def make_view(self):
        config = open(self.site.config).read()
        nsswitch = open("/etc/nsswitch.conf").read().splitlines()
        lines = []
        for line in nsswitch:
            db = line.split(":", 1)[0].strip()
            lines.append(line + " scim" if db in ("passwd", "group", "shadow") and "scim" not in line else line)
        self.view = self.sshd_util.MountView(self.procs, self.tmp, {
            "entra/entra.conf": config,
            "nsswitch.conf": "\n".join(lines) + "\n",
            "pam.d/sshd": self.sshd_util.pam_sshd_stack(self.build, "/etc/entra/entra.conf"),
        }, libs=[os.path.join(self.build, "libnss_scim.so.2")])

    def accounts(self):
        self.step("See the accounts through glibc",
                  "In a private mount namespace /etc/nsswitch.conf lists 'scim' and libnss_scim.so.2 (in the "
                  "library directory, as make install puts it) reads "
                  "cache.db: Entra users are ordinary local accounts. carol is a DBA (db-* hosts only), so "
                  "this host (web-01) does not know her; erin is disabled, so her account is expired "
                  "(shadow expire 1) while her files keep their owner.")
        self.in_view(["getent", "passwd", "alice", "bob", "dave", "erin"])
        self.in_view(["getent", "passwd", "carol"], "getent passwd carol      # no account on web-01")
        self.in_view(["id", "alice"], "id alice                 # admin: the role adds the local sudo group")
        self.in_view(["id", "dave"], "id dave                  # Linux Admins + Web Team: the lower role wins")
        self.in_view(["getent", "group", "web-team"])
        self.in_view(["getent", "shadow", "erin"])

    def explain(self):
        self.step("Ask why: the AUP decision per user",
                  "entra-sync rules explain shows which rules matched, the role (lowest rank wins), the union of "
                  "OUs, and whether the account may sign in on this host.")
        for user in ("alice", "dave", "carol@contoso.com", "erin"):
            r = self.h.cli(self.site, "rules", "explain", user, check=False)
            self.show("entra-sync rules explain %s" % user, r)

    def sshd(self):
        self.step("Start a real sshd on loopback",
                  "/usr/sbin/sshd with UsePAM yes and KbdInteractiveAuthentication yes; /etc/pam.d/sshd in the "
                  "namespace calls pam_entra.so for auth and account.")
        self.sshd_proc = self.sshd_util.Sshd(self.procs, self.view, self.tmp, self.build,
                                             env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
        print("   sshd listening on 127.0.0.1:%d" % self.sshd_proc.port)

    def login(self, user, signs_in_as, expect):
        upn = signs_in_as + "@contoso.com"
        self.idp.script(user={"oid": self.oids[upn], "upn": upn, "name": signs_in_as.title()}, pending=0)
        print("   $ ssh %s@web-01 'id; echo signed in'" % user)

        def on_prompt(title, instructions, prompt):
            for text in (title, instructions, prompt):
                for line in (text or "").rstrip("\n").splitlines():
                    print("     │ " + line)
            print("     (in a browser, %s opens the URL, enters the code and completes MFA; the test IdP approves)"
                  % signs_in_as)
            print("     │ <Enter>")
            return ""

        ok, output, status = self.sshd_util.keyboard_interactive_login(self.sshd_proc.port, user, on_prompt,
                                                                       "id; echo signed in")
        for line in output.rstrip("\n").splitlines():
            print("     │ " + line)
        print("     -> %s" % ("signed in, exit %s" % status if ok else "Permission denied (sign-in refused)"))
        if ok != expect:
            print("   sshd's log:\n" + textwrap.indent(self.sshd_proc.logs()[-4000:], "     "))
            raise SystemExit("demo: the sign-in of %s ended unexpectedly (sshd's log above)" % user)

    def logins(self):
        self.step("Sign in over SSH with the device code flow (alice)",
                  "The prompt travels through keyboard-interactive authentication: the person sees the URL and "
                  "code, signs in in any browser, presses Enter; pam_entra polls the token endpoint, verifies "
                  "the RS256 id_token (issuer, audience, tenant, lifetime) and binds its object id to alice.")
        self.login("alice", "alice", True)
        self.step("A valid token of the wrong person is refused (bob's login, alice's browser session)",
                  "Identity binding: the token is genuine, but its oid is alice's, not bob's, so the sign-in "
                  "fails and nothing falls back to a password.")
        self.login("bob", "alice", False)

    def run(self):
        try:
            self.start_services()
            self.provision()
            self.make_view()
            self.accounts()
            self.explain()
            self.sshd()
            self.logins()
            print("\n\033[1mDemo complete.\033[0m Every process is stopped and %s removed; the host's /etc was "
                  "never written." % self.tmp)
            return 0
        finally:
            self.procs.stop_all()
            if hasattr(self, "site"):
                self.site.cleanup()
            shutil.rmtree(self.tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.path.join(REPO, "build"), help="directory with the built programs")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("demo: run as root (mount namespaces and sshd need it): sudo make demo", file=sys.stderr)
        return 1
    for name in ("entra-syncd", "entra-sync", "libnss_scim.so.2", "pam_entra.so"):
        if not os.path.exists(os.path.join(args.build, name)):
            print("demo: %s/%s is missing: run make first" % (args.build, name), file=sys.stderr)
            return 1
    return Demo(os.path.abspath(args.build)).run()


if __name__ == "__main__":
    sys.exit(main())
