"""The whole login chain on one host for the sshd end-to-end tests.

SCIM (the real entra-syncd, provisioned as Entra does) -> AUP -> cache.db -> libnss_scim.so.2
-> a real sshd (UsePAM, keyboard-interactive, public keys) -> pam_entra.so -> the test IdP.
sshd, its sessions, getent and id run in a sshd_util.MountView whose /etc is an overlay, so the
host's own files never change. Home directories live in a private temp dir (the config's home
template points there) so a test can give an account an authorized SSH key.

sshd loads the uninstrumented modules (harness.PLAIN_BUILD): a sanitizer runtime cannot be
preloaded into sshd's sandboxed children. entra-syncd comes from harness.BUILD."""

import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import time
import urllib.parse
import uuid

import harness
import pam_util
import sshd_util
from authd_util import Authd

TENANT_DOMAIN = "contoso.com"
PAM_CONFIG = "/etc/entra/entra.conf"
VIEW_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
# (local name, groups): DEFAULT_POLICY makes "Linux Users" users and "Linux Admins" admins (+ sudo);
# the lowest role wins, so alice is only in Linux Admins.
PEOPLE = [("alice", ["Linux Admins"]), ("bob", ["Linux Users"]), ("carol", ["Linux Users"])]


def plain_modules_missing():
    """The reason the plain build cannot serve sshd, or None."""
    for name in ("libnss_scim.so.2", "pam_entra.so"):
        if not os.path.exists(os.path.join(harness.PLAIN_BUILD, name)):
            return "no uninstrumented %s in %s (make all, or set ENTRA_PLAIN_BUILD)" % (name, harness.PLAIN_BUILD)
    return None


def scim_nsswitch():
    """The host's nsswitch.conf with scim appended to passwd, group and shadow."""
    lines = []
    for line in open("/etc/nsswitch.conf").read().splitlines():
        db = line.split(":", 1)[0].strip()
        lines.append(line + " scim" if db in ("passwd", "group", "shadow") and "scim" not in line else line)
    return "\n".join(lines) + "\n"


class EntraHost:
    def __init__(self, procs):
        self.procs = procs
        # Not pytest's tmp_path: its parents are 0700, and sessions run as the Entra users.
        self.dir = tempfile.mkdtemp(prefix="entra-sshd-e2e-")
        os.chmod(self.dir, 0o755)
        self.homes = os.path.join(self.dir, "home")
        os.makedirs(self.homes, mode=0o755)
        self.site = None
        self.idp = pam_util.TestIdp(procs, self.dir, interval=1)
        # Sign-ins go through an entra-authd of this test (started by start_authd).
        self.authd_socket = os.path.join(self.dir, "authd", "socket")
        self.site = harness.Site(authority=self.idp.authority, ca_line="ca_file = %s" % self.idp.ca,
                                 home=os.path.join(self.homes, "%u"), policy=harness.DEFAULT_POLICY +
                                 "\n[pam]\nlogin_timeout = 60\nqr = no\ncache_dir = %s\nauthd_socket = %s\n"
                                 % (os.path.join(self.dir, "pam-cache"), self.authd_socket))
        os.chmod(self.site.dir, 0o755)  # the signed-in session's id reads cache.db through NSS
        self.syncd = harness.Syncd(self.site, procs)
        self.scim = self.syncd.client
        self.oids, self.scim_ids = {}, {}

    # ---- SCIM, as Entra's provisioning service sends it ---------------------------------------
    def provision(self, make_homes=True):
        for name, _groups in PEOPLE:
            upn = "%s@%s" % (name, TENANT_DOMAIN)
            oid = str(uuid.uuid4())
            status, _, body, raw = self.scim.get("/Users?filter=" + urllib.parse.quote_plus('userName eq "%s"' % upn))
            assert status == 200 and body["totalResults"] == 0, raw
            status, _, body, raw = self.scim.post("/Users", harness.entra_user(upn, external_id=oid,
                                                                               given=name.title()))
            assert status == 201, raw
            self.oids[name], self.scim_ids[name] = oid, body["id"]
        for group in sorted({g for _n, groups in PEOPLE for g in groups}):
            members = [self.scim_ids[n] for n, groups in PEOPLE if group in groups]
            status, _, _, raw = self.scim.post("/Groups", harness.entra_group(group, str(uuid.uuid4()), members))
            assert status == 201, raw
        self.syncd.wait_for_cache(lambda con: con.execute(
            "SELECT count(*) FROM passwd WHERE expire = -1 AND login = 1").fetchone()[0] == len(PEOPLE) and
            con.execute("SELECT count(*) FROM local_members").fetchone()[0] == 1)
        if make_homes:
            for name, _groups in PEOPLE:
                self.make_home(name)

    def disable(self, name):
        """PATCH active "False" (a string, as Entra sends it), then wait for the published cache."""
        status, _, _, raw = self.scim.patch("/Users/" + self.scim_ids[name], harness.patch_body(
            {"op": "Replace", "path": "active", "value": "False"}))
        assert status in (200, 204), raw
        self.syncd.wait_for_cache(lambda con: con.execute(
            "SELECT expire FROM passwd WHERE name = ?", (name,)).fetchone() == (1,))

    # ---- cache.db ------------------------------------------------------------------------------
    def cache(self, sql, *args):
        con = sqlite3.connect("file:%s?mode=ro" % self.site.cache_db, uri=True)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()

    def uid(self, name):
        return self.cache("SELECT uid FROM passwd WHERE name = ?", name)[0][0]

    def expected_groups(self, name):
        """{gid: name} the session of NAME must have: its private group, its SCIM groups and the
        local groups its role grants, all as cache.db says."""
        uid = self.uid(name)
        groups = {uid: name}
        groups.update(self.cache("SELECT g.gid, g.name FROM members m JOIN groups g ON g.gid = m.gid "
                                 "WHERE m.uid = ?", uid))
        groups.update((gid, local) for gid, local in self.cache("SELECT gid, name FROM local_members WHERE uid = ?",
                                                                uid))
        return groups

    # ---- homes and keys -----------------------------------------------------------------------
    def home(self, name):
        return os.path.join(self.homes, name)

    def make_home(self, name):
        uid = self.uid(name)
        os.makedirs(self.home(name), mode=0o755)
        os.chown(self.home(name), uid, uid)

    def authorize_new_key(self, name):
        """Generates an ed25519 key pair and puts its public half into NAME's authorized_keys,
        owned by the account with the modes StrictModes wants. Returns the private key's path."""
        key = os.path.join(self.dir, "id_ed25519_" + name)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", key], check=True)
        ssh_dir = os.path.join(self.home(name), ".ssh")
        os.makedirs(ssh_dir, mode=0o700)
        authorized = os.path.join(ssh_dir, "authorized_keys")
        shutil.copy(key + ".pub", authorized)
        os.chmod(authorized, 0o600)
        uid = self.uid(name)
        for path in (ssh_dir, authorized):
            os.chown(path, uid, uid)
        return key

    # ---- the host's view and sshd --------------------------------------------------------------
    def start_sshd(self, keys_from_entra=False):
        """KEYS_FROM_ENTRA: sshd also asks `entra-sync authorized-keys %u` (as nobody) for keys,
        besides ~/.ssh/authorized_keys, as README's sshd lines say."""
        build = harness.PLAIN_BUILD
        config = open(self.site.config).read()
        self.view = sshd_util.MountView(self.procs, self.dir, {
            "entra/entra.conf": config,
            "nsswitch.conf": scim_nsswitch(),
            # debug: pam_entra's refusal reasons reach sshd's -e log (no syslog daemon in tests)
            "pam.d/sshd": sshd_util.pam_sshd_stack(build, PAM_CONFIG, args="debug"),
        }, libs=[os.path.join(build, "libnss_scim.so.2")])
        extra = self.install_entra_sync(build) if keys_from_entra else ""
        self.sshd = sshd_util.Sshd(self.procs, self.view, self.dir, build, env=dict(VIEW_ENV), pubkey=True,
                                   extra_config=extra)

    def install_entra_sync(self, build):
        """Copies entra-sync to /etc/entra/entra-sync in the view (sshd wants the command and every
        directory above it owned by root and writable by nobody else, which a build tree under
        /tmp is not); returns the sshd_config lines that run it."""
        r = self.in_view("install", "-o", "root", "-g", "root", "-m", "0755", os.path.join(build, "entra-sync"),
                         "/etc/entra/entra-sync")
        assert r.returncode == 0, r.stderr
        return ("AuthorizedKeysCommand /etc/entra/entra-sync -c %s authorized-keys %%u\n"
                "AuthorizedKeysCommandUser nobody" % PAM_CONFIG)

    def set_ssh_keys(self, name, value):
        """PATCHes NAME's sshPublicKey (the entra-login extension) as Entra sends it; None removes it."""
        path = "urn:ietf:params:scim:schemas:extension:entra-login:2.0:User:sshPublicKey"
        op = {"op": "Remove", "path": path} if value is None else {"op": "Replace", "path": path, "value": value}
        status, _, _, raw = self.scim.patch("/Users/" + self.scim_ids[name], harness.patch_body(op))
        assert status in (200, 204), raw

    def new_key(self, name):
        """A fresh ed25519 key pair; returns (private key path, public key line)."""
        key = os.path.join(self.dir, "id_ed25519_entra_%s_%s" % (name, uuid.uuid4().hex[:8]))
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name + "@entra", "-f", key], check=True)
        return key, open(key + ".pub").read().strip()

    def start_sshd_with_profile(self, etc_files=None):
        """sshd with Debian's own /etc/pam.d/sshd, its common-* files written by
        `pam-auth-update --enable entra` from the shipped profile, and the uninstrumented
        modules where `make install` puts them, so the profile's bare `pam_entra.so` and
        `pam_mkhomedir.so` load as on an installed host. /usr/share/pam-configs and
        /var/lib/pam are private copies in the view."""
        build = harness.PLAIN_BUILD
        files = {"entra/entra.conf": open(self.site.config).read(), "nsswitch.conf": scim_nsswitch()}
        files.update(etc_files or {})
        self.view = sshd_util.MountView(self.procs, self.dir, files, libs=[
            os.path.join(build, "libnss_scim.so.2"), (os.path.join(build, "pam_entra.so"), "security/pam_entra.so")])
        configs, lib_pam = os.path.join(self.dir, "pam-configs"), os.path.join(self.dir, "var-lib-pam")
        shutil.copytree("/usr/share/pam-configs", configs)
        shutil.copy(os.path.join(harness.REPO, "etc", "pam-configs", "entra"), os.path.join(configs, "entra"))
        if os.path.isdir("/var/lib/pam"):
            shutil.copytree("/var/lib/pam", lib_pam)
        else:
            os.makedirs(lib_pam)
        r = self.view.run(["sh", "-c", "mount --bind %s /usr/share/pam-configs && mount --bind %s /var/lib/pam && "
                           "DEBIAN_FRONTEND=noninteractive pam-auth-update --package --enable entra" %
                           (configs, lib_pam)], env=dict(VIEW_ENV))
        assert r.returncode == 0, r.stdout + r.stderr
        self.sshd = sshd_util.Sshd(self.procs, self.view, self.dir, build, env=dict(VIEW_ENV))

    def start_authd(self):
        os.makedirs(os.path.dirname(self.authd_socket))
        self.authd = Authd(self.procs, self.site.config, self.authd_socket,
                           os.path.join(self.dir, "authd.log")).start()

    def in_view(self, *cmd):
        return self.view.run(list(cmd), env=dict(VIEW_ENV))

    def wait_for_sshd_log(self, pattern, timeout=10.0):
        """sshd writes its log lines after the client has seen the result: wait for PATTERN."""
        deadline = time.monotonic() + timeout
        while True:
            logs = self.sshd.logs()
            if re.search(pattern, logs) or time.monotonic() > deadline:
                return logs
            time.sleep(0.05)

    def cleanup(self):
        if self.site is not None:
            self.site.cleanup()
        shutil.rmtree(self.dir, ignore_errors=True)


@contextlib.contextmanager
def entra_host(procs):
    """An EntraHost for one test (skipped where the plain modules are missing); when the test
    ends, every process it started (sshd, the mount namespace) is stopped first, then its files
    are removed."""
    missing = plain_modules_missing()
    if missing:
        import pytest
        pytest.skip(missing)
    h = EntraHost(procs)
    try:
        yield h
    finally:
        procs.stop_all()
        h.cleanup()
