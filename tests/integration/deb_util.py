"""The Debian packages of this tree as dpkg-buildpackage builds them, and a throwaway root in
which the real dpkg installs, upgrades, removes and purges them.

build_packages() copies the tree (modification times kept) and seeds the copy's build/deb with
the plain build this test run already made, so make finds nothing to compile; then
`dpkg-buildpackage -us -uc -nc` does everything else as on a build machine: the source package,
every binary package, the maintainer scripts debhelper generates from debian/.

ThrowawayRoot is the host's / seen through an overlay whose upper layer is a temp dir: each
step mounts it in a private mount namespace, with /run and /tmp fresh, and chroots into it, so
dpkg, systemd-sysusers, systemd-tmpfiles and pam-auth-update write only the upper layer. No
service manager runs there: systemctl and deb-systemd-invoke are stubs that log their
arguments (and /run/systemd/system exists, so the maintainer scripts act as on a booted
system); deb-systemd-helper is the real one, logged."""

import os
import shutil
import subprocess
import tempfile

import harness

SRC_NAME = "entra-login"
# What never belongs in a source package (the tree's .gitignore, plus VCS data).
IGNORE = shutil.ignore_patterns(".git", "build", "__pycache__", "*.pyc", "corpus-*")
CALLS = "/var/log/entra-test-calls"
STUB = """#!/bin/sh
echo "$(basename "$0") $*" >> %s
""" % CALLS
LOGGED_HELPER = """#!/bin/sh
echo "deb-systemd-helper $*" >> %s
exec /usr/bin/deb-systemd-helper.real "$@"
""" % CALLS


def version():
    first = open(os.path.join(harness.REPO, "debian", "changelog")).readline()
    return first.split("(", 1)[1].split(")", 1)[0]


def plain_build_missing():
    """Why the plain build cannot seed the package build, or None."""
    for name in ("entra-syncd", "entra-sync", "entra-authd", "libnss_scim.so.2", "pam_entra.so"):
        if not os.path.exists(os.path.join(harness.PLAIN_BUILD, name)):
            return "no %s in %s (make all, or set ENTRA_PLAIN_BUILD)" % (name, harness.PLAIN_BUILD)
    return None


def build_packages(workdir):
    """Returns (the .changes path, {package name: .deb path}) for the packages built in WORKDIR."""
    src = os.path.join(workdir, "%s-%s" % (SRC_NAME, version()))
    shutil.copytree(harness.REPO, src, ignore=IGNORE, symlinks=True)
    shutil.copytree(harness.PLAIN_BUILD, os.path.join(src, "build", "deb"), symlinks=True,
                    ignore=shutil.ignore_patterns("tests", "bench", "fuzz", "*.log", "*.json"))
    # -nc: no `debian/rules clean` first, it would remove the seeded build/deb.
    r = subprocess.run(["dpkg-buildpackage", "-us", "-uc", "-nc", "--source-option=-Ibuild"], cwd=src,
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-4000:]
    assert "\ncc " not in r.stdout, "the package build compiled again: the seeded build/deb was not used"
    debs = {}
    for name in os.listdir(workdir):
        if name.endswith(".deb") and "-dbgsym_" not in name:
            debs[name.split("_", 1)[0]] = os.path.join(workdir, name)
    changes = [n for n in os.listdir(workdir) if n.endswith(".changes")]
    assert len(changes) == 1, os.listdir(workdir)
    return os.path.join(workdir, changes[0]), debs


def control_scripts(deb, dest):
    """{script name: text} of the maintainer scripts inside DEB."""
    os.makedirs(dest)
    subprocess.run(["dpkg-deb", "-e", deb, dest], check=True)
    return {n: open(os.path.join(dest, n)).read() for n in os.listdir(dest)
            if n in ("preinst", "postinst", "prerm", "postrm")}


class ThrowawayRoot:
    def __init__(self, debs):
        self.dir = tempfile.mkdtemp(prefix="entra-dpkg-root-")
        self.upper, self.work, self.root = (os.path.join(self.dir, n) for n in ("upper", "work", "root"))
        for d in (self.upper, self.work, self.root):
            os.makedirs(d)
        self.debs = os.path.join(self.dir, "debs")
        os.makedirs(self.debs)
        for name, path in debs.items():
            shutil.copy(path, os.path.join(self.debs, os.path.basename(path)))
        self.deb_names = {name: os.path.basename(path) for name, path in debs.items()}
        self._write_upper("usr/bin/systemctl", STUB)
        self._write_upper("usr/bin/deb-systemd-invoke", STUB)
        shutil.copy("/usr/bin/deb-systemd-helper", os.path.join(self.upper, "usr/bin/deb-systemd-helper.real"))
        self._write_upper("usr/bin/deb-systemd-helper", LOGGED_HELPER)
        os.makedirs(os.path.join(self.upper, "srv", "entra-debs"))

    def _write_upper(self, rel, text, mode=0o755):
        path = os.path.join(self.upper, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)

    def run(self, script, check=True, timeout=300):
        """Runs SCRIPT (sh) as root inside the root; /srv/entra-debs holds the packages."""
        mounts = "\n".join([
            "set -e",
            "mount -t overlay overlay -o lowerdir=/,upperdir=%s,workdir=%s %s" % (self.upper, self.work, self.root),
            "mount --rbind /dev %s/dev" % self.root,
            "mount --rbind /proc %s/proc" % self.root,
            "mount -t tmpfs -o mode=0755 tmpfs %s/run" % self.root,
            "mkdir -p %s/run/systemd/system %s/run/lock" % (self.root, self.root),
            "mount -t tmpfs -o mode=1777 tmpfs %s/tmp" % self.root,
            "mount --bind %s %s/srv/entra-debs" % (self.debs, self.root),
            'exec chroot %s /bin/sh -c "$1"' % self.root,
        ])
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
               "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C.UTF-8", "HOME": "/root"}
        r = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", mounts, "sh",
                            "set -e\n" + script], capture_output=True, text=True, timeout=timeout, env=env)
        if check:
            assert r.returncode == 0, "%s\n--- stdout\n%s\n--- stderr\n%s" % (script, r.stdout[-4000:],
                                                                            r.stderr[-4000:])
        return r

    def dpkg(self, action, *packages):
        """dpkg -i PACKAGES' .deb files, or dpkg -r/-P PACKAGES by name."""
        if action == "-i":
            args = " ".join("/srv/entra-debs/" + self.deb_names[p] for p in packages)
        else:
            args = " ".join(packages)
        # man-db's trigger would rebuild the whole man database on every step.
        return self.run("rm -f /var/lib/man-db/auto-update\ndpkg %s %s" % (action, args))

    def take_calls(self):
        """The systemctl, deb-systemd-invoke and deb-systemd-helper calls since the last take."""
        path = os.path.join(self.upper, CALLS.lstrip("/"))
        if not os.path.exists(path):
            return []
        with open(path) as f:
            lines = f.read().splitlines()
        os.unlink(path)
        return lines

    def exists(self, path):
        return self.run('test -e "%s"' % path, check=False).returncode == 0

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)
