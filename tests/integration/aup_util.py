"""Helpers for the AUP / identity / publisher tests: provisioning like Entra, reading the
published cache.db, and a daemon that sees a private /etc/passwd and /etc/group."""

import os
import sqlite3
import subprocess

import harness


# The object id of the group DEFAULT_POLICY's rules name ("Linux Users").
GUID_USERS = "3b0c6a6e-1111-4c1d-9d0e-000000000001"


def user_guid(n):
    """User N's Entra object id (externalId as objectId maps it)."""
    return "9e8d7c6b-0000-4000-8000-%012d" % n


def provision_user(scim, upn, external_id=None, active=True):
    status, _, body, raw = scim.post("/Users", harness.entra_user(upn, external_id=external_id, active=active))
    assert status == 201, raw
    return body["id"]


def provision_group(scim, display_name, external_id, members=()):
    status, _, body, raw = scim.post("/Groups", harness.entra_group(display_name, external_id, members))
    assert status == 201, raw
    return body["id"]


def add_members(scim, group_id, *user_ids):
    op = {"op": "Add", "path": "members", "value": [{"value": u} for u in user_ids]}
    status, _, _, raw = scim.patch("/Groups/" + group_id, harness.patch_body(op))
    assert status in (200, 204), raw


def replace(scim, resource, attr, value):
    status, _, _, raw = scim.patch(resource, harness.patch_body({"op": "Replace", "path": attr, "value": value}))
    assert status in (200, 204), raw


def query(site, sql, args=()):
    con = sqlite3.connect("file:%s?mode=ro" % site.cache_db, uri=True)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def passwd(site):
    """{name: (uid, role, login, expire, upn)} of the published cache."""
    return {r[0]: r[1:] for r in query(site, "SELECT name, uid, role, login, expire, upn FROM passwd")}


def generation(site):
    return int(query(site, "SELECT value FROM meta WHERE key = 'generation'")[0][0])


def state_ids(site):
    con = sqlite3.connect("file:%s?mode=ro" % site.state_db, uri=True)
    try:
        return {r[0]: r[1] for r in con.execute("SELECT key, id FROM unix_ids")}
    finally:
        con.close()


def wait_passwd(syncd, predicate, timeout=10.0):
    """Waits until PREDICATE(passwd dict) holds in the published cache."""
    syncd.wait_for_cache(lambda con: predicate(
        {r[0]: r[1:] for r in con.execute("SELECT name, uid, role, login, expire, upn FROM passwd")}), timeout)


def nss_ready():
    return os.path.exists(os.path.join(harness.BUILD, "libnss_scim.so.2"))


class NamespacedSyncd(harness.Syncd):
    """entra-syncd in a private mount namespace where /etc/passwd and /etc/group are the test's
    own files (bind-mounted), so a clash with a local account can be tested without touching
    the host."""

    def __init__(self, site, procs, passwd_text, group_text):
        self.binds = []
        for name, text in (("passwd", passwd_text), ("group", group_text)):
            path = os.path.join(site.dir, name)
            with open(path, "w") as f:
                f.write(text)
            self.binds.append((path, "/etc/" + name))
        super().__init__(site, procs)

    def start(self):
        script = ["set -e"] + ['mount --bind "%s" "%s"' % b for b in self.binds] + ['exec "$@"']
        argv = [os.path.join(harness.BUILD, "entra-syncd"), "-c", self.site.config] + self.extra_args
        self.log = open(self.log_path, "ab")
        self.proc = self.procs.start(["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c",
                                      "\n".join(script), "sh"] + argv, stdout=self.log, stderr=subprocess.STDOUT)
        harness.wait_for_port(self.site.port, self.proc)
