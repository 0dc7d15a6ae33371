"""Helpers for the libnss_scim tests: a private namespace whose /etc/nsswitch.conf says
`files scim` and whose /etc/entra holds the test site's config, plus typical cache contents."""

import grp
import os
import subprocess

import harness

NSSWITCH = """\
passwd: files scim
group: files scim
shadow: files scim
hosts: files
"""

BASE_UID = 200001
# Local groups of the host (Debian numbers them 27, 42, 4); read, never changed.
SUDO_GID = grp.getgrnam("sudo").gr_gid
SHADOW_GID = grp.getgrnam("shadow").gr_gid
ADM_GID = grp.getgrnam("adm").gr_gid


class NssHost:
    """Runs programs as if the host had libnss_scim configured, without touching the host."""

    def __init__(self, site, extra_binds=(), build=None):
        self.site = site
        self.build = build or harness.BUILD
        self.nsswitch = os.path.join(site.dir, "nsswitch.conf")
        with open(self.nsswitch, "w") as f:
            f.write(NSSWITCH)
        self.binds = [(self.nsswitch, "/etc/nsswitch.conf"), (site.etc, "/etc/entra")] + list(extra_binds)
        if self.build == harness.BUILD:
            self.env = harness.module_env()
        else:  # an uninstrumented build: no sanitizer preload
            self.env = dict(os.environ, LD_LIBRARY_PATH=self.build)

    def run(self, argv, input=None, timeout=60):
        return harness.in_namespace(argv, self.binds, env=self.env, input=input, timeout=timeout)

    def getent(self, *args):
        return self.run(["getent"] + list(args))

    def tool(self, name):
        return os.path.join(self.build, "tests", "tools", name)

    def start(self, procs, argv, **kw):
        """Starts a long-running program in the namespace (stopped by the procs fixture)."""
        script = ["set -e"] + ['mount --bind "%s" "%s"' % (s, t) for s, t in self.binds] + ['exec "$@"']
        cmd = ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", "\n".join(script),
               "sh"] + list(argv)
        kw.setdefault("stdout", subprocess.PIPE)
        kw.setdefault("stderr", subprocess.PIPE)
        return procs.start(cmd, env=self.env, text=True, **kw)


def uninstrumented_build():
    """A build directory whose module and nss_threads carry no sanitizer, or None. Forking a
    threaded process is only testable there: GCC 12's libasan allocator is not fork-safe."""
    for build in (harness.BUILD, harness.PLAIN_BUILD):
        if "/san" in build:
            continue
        if all(os.path.exists(os.path.join(build, f)) for f in ("libnss_scim.so.2", "tests/tools/nss_threads")):
            return build
    return None


def user(n, **kw):
    """Account number N (uid BASE_UID + N) with fields that encode the uid, so a torn entry shows."""
    uid = BASE_UID + n
    u = {"name": "user%d" % n, "uid": uid, "gecos": "User %d,uid=%d" % (n, uid), "dir": "/home/user%d" % n}
    u.update(kw)
    return u


def standard_cache(site, **kw):
    """alice (admin, sudo), bob (user), carol (disabled) and two SCIM groups."""
    users = [
        {"name": "alice", "uid": 200001, "gecos": "Alice Admin", "role": "admin"},
        {"name": "bob", "uid": 200002, "gecos": "Bob Builder"},
        {"name": "carol", "uid": 200003, "gecos": "Carol Gone", "expire": 1},
    ]
    groups = [{"name": "web-team", "gid": 300001}, {"name": "linux-admins", "gid": 300002},
              {"name": "empty-group", "gid": 300003}]
    members = [(300001, 200001), (300001, 200002), (300002, 200001)]
    local = [(200001, SUDO_GID, "sudo")]
    args = dict(users=users, groups=groups, members=members, local_members=local)
    args.update(kw)
    harness.write_cache(site.cache_db, **args)
