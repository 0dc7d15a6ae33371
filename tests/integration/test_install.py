"""make install into a DESTDIR: every file in its Debian location with the right mode; the man
pages render without a warning; the systemd unit verifies; the pam-auth-update profile really
enables pam_entra (run in a private mount namespace over an overlay of /etc)."""

import os
import re
import shutil
import stat
import subprocess

import pytest

import harness

MULTIARCH = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True).stdout.strip() or \
    "x86_64-linux-gnu"
MANPAGES = ["man5/entra.conf.5", "man8/entra-syncd.8", "man8/entra-sync.8", "man8/nss_scim.8", "man8/pam_entra.8",
            "man8/entra-authd.8"]
EXPECTED = {
    "usr/sbin/entra-syncd": 0o755,
    "usr/bin/entra-sync": 0o755,
    "usr/sbin/entra-authd": 0o755,
    "lib/%s/libnss_scim.so.2" % MULTIARCH: 0o644,
    "lib/%s/security/pam_entra.so" % MULTIARCH: 0o644,
    "etc/entra/entra.conf.example": 0o644,
    "lib/systemd/system/entra-syncd.service": 0o644,
    "lib/systemd/system/entra-sessions.service": 0o644,
    "lib/systemd/system/entra-authd.service": 0o644,
    "lib/systemd/system/entra-authd.socket": 0o644,
    "usr/lib/sysusers.d/entra.conf": 0o644,
    "usr/lib/tmpfiles.d/entra.conf": 0o644,
    "usr/share/pam-configs/entra": 0o644,
    "etc/ssh/sshd_config.d/50-entra.conf": 0o644,
}
EXPECTED.update({"usr/share/man/" + m: 0o644 for m in MANPAGES})


def make_install(destdir, *extra):
    """make install with the build directory under test (never rebuilds it differently)."""
    args = ["make", "-C", harness.REPO, "install", "B=" + harness.BUILD, "DESTDIR=" + destdir] + list(extra)
    if harness.SANITIZED:
        args.append("SAN=1")
    return subprocess.run(args, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def destdir(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("destdir"))
    r = make_install(d, "MULTIARCH=" + MULTIARCH)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return d


def installed_files(root):
    found = {}
    for top, _dirs, files in os.walk(root):
        for name in files:
            path = os.path.join(top, name)
            found[os.path.relpath(path, root)] = stat.S_IMODE(os.lstat(path).st_mode)
    return found


def test_every_file_in_its_debian_location_with_its_mode(destdir):
    assert installed_files(destdir) == EXPECTED


def test_prefix_moves_programs_and_man_pages_only(tmp_path):
    r = make_install(str(tmp_path), "PREFIX=/usr/local", "MULTIARCH=" + MULTIARCH)
    assert r.returncode == 0, r.stderr[-2000:]
    files = installed_files(str(tmp_path))
    assert files["usr/local/sbin/entra-syncd"] == 0o755
    assert files["usr/local/sbin/entra-authd"] == 0o755
    assert "usr/local/share/man/man8/pam_entra.8" in files
    assert "usr/local/share/pam-configs/entra" in files
    # systemd only reads units, sysusers and tmpfiles from its own directories
    assert "lib/systemd/system/entra-syncd.service" in files
    assert "lib/systemd/system/entra-authd.service" in files
    assert "usr/lib/tmpfiles.d/entra.conf" in files


def test_installed_programs_are_the_build(destdir):
    for name, built in (("usr/sbin/entra-syncd", "entra-syncd"), ("usr/bin/entra-sync", "entra-sync"),
                        ("usr/sbin/entra-authd", "entra-authd")):
        with open(os.path.join(destdir, name), "rb") as a, open(os.path.join(harness.BUILD, built), "rb") as b:
            assert a.read() == b.read()


@pytest.mark.parametrize("page", MANPAGES)
def test_man_page_renders_without_warnings(destdir, page):
    path = os.path.join(destdir, "usr/share/man", page)
    groff = subprocess.run(["groff", "-man", "-z", "-ww", path], capture_output=True, text=True)
    assert groff.returncode == 0 and groff.stderr == "", groff.stderr
    man = subprocess.run(["man", "--warnings", "-l", path], capture_output=True, text=True,
                         env=dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="0"))
    assert man.returncode == 0 and man.stderr == "", man.stderr
    text = re.sub(r".\x08", "", man.stdout)  # man's overstrike bold/underline
    for section in ("NAME", "DESCRIPTION", "FILES", "SEE ALSO"):
        assert section in text, (page, section)


def test_man_pages_document_every_config_key_with_its_default():
    """Every key of common/config.c's tables appears in entra.conf(5)."""
    source = open(os.path.join(harness.REPO, "common", "config.c")).read()
    keys = set(re.findall(r'(?:CK|CN|KEY)\((?:struct \w+, )?"(\w+)"', source))
    assert len(keys) > 25
    page = open(os.path.join(harness.REPO, "man", "entra.conf.5")).read()
    missing = [k for k in keys if not re.search(r"\.BI? %s\b" % k, page)]
    assert missing == []
    for default in ("110", "200000", "2000200000", "127.0.0.1:9443", "/var/lib/entra/cache.db",
                    "/var/cache/entra", "1048576", "256", "1000"):
        assert default in page, default


def test_exit_status_sections():
    for page in ("entra-syncd.8", "entra-sync.8", "entra-authd.8"):
        assert ".SH \"EXIT STATUS\"" in open(os.path.join(harness.REPO, "man", page)).read()


def verified_unit(destdir, name):
    """The installed unit's text, after systemd-analyze verify found nothing to say about it."""
    if not shutil.which("systemd-analyze"):
        pytest.skip("systemd-analyze not installed")
    text = open(os.path.join(destdir, "lib/systemd/system", name)).read()
    # verify checks that ExecStart exists and that man can open Documentation=: point both at DESTDIR
    check_dir = os.path.join(destdir, "..", "unit-check")
    os.makedirs(check_dir, exist_ok=True)
    check = os.path.join(check_dir, name)
    # A socket unit and the service it starts are checked with each other beside them.
    stem = name.rsplit(".", 1)[0]
    units = os.listdir(os.path.join(destdir, "lib/systemd/system"))
    for unit in [u for u in units if u.rsplit(".", 1)[0] == stem]:
        with open(os.path.join(destdir, "lib/systemd/system", unit)) as src, \
                open(os.path.join(check_dir, unit), "w") as f:
            f.write(src.read().replace("ExecStart=/usr/sbin/", "ExecStart=%s/usr/sbin/" % destdir)
                    .replace("ExecStart=/usr/bin/", "ExecStart=%s/usr/bin/" % destdir))
    r = subprocess.run(["systemd-analyze", "verify", check], capture_output=True, text=True,
                       env=dict(os.environ, MANPATH=os.path.join(destdir, "usr/share/man")))
    assert r.returncode == 0 and name.split(".")[0] not in r.stdout + r.stderr, r.stdout + r.stderr
    return text


HARDENING = ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "ProtectHome=yes",
             "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n", "CapabilityBoundingSet=\n",
             "SystemCallFilter=@system-service\n", "MemoryDenyWriteExecute=yes", "Restart=on-failure",
             "Type=notify", "WantedBy=multi-user.target")


def test_systemd_unit_verifies(destdir):
    text = verified_unit(destdir, "entra-syncd.service")
    for line in HARDENING + ("ReadWritePaths=/var/lib/entra", "User=entra-sync"):
        assert line in text, line


def test_authd_unit_verifies_root_without_capabilities(destdir):
    """pam_entra trusts only a root peer: the broker runs as root, but with no capability and
    only the JWKS cache writable; systemd holds its socket (entra-authd.socket) and starts it on
    the first sign-in."""
    text = verified_unit(destdir, "entra-authd.service")
    hardening = [line for line in HARDENING if line != "WantedBy=multi-user.target"]
    for line in hardening + ["User=root\n", "ReadWritePaths=/var/cache/entra\n", "Requires=entra-authd.socket\n",
                             "Also=entra-authd.socket\n",
                             "ExecStart=/usr/sbin/entra-authd -c /etc/entra/entra.conf\n"]:
        assert line in text, line
    assert "AmbientCapabilities=\n" in text
    assert "ExecReload" not in text  # it does not reload on SIGHUP: restart it
    # a RuntimeDirectory= would be removed when the idle broker exits, and the socket with it
    assert "RuntimeDirectory" not in text and "WantedBy=" not in text


def test_sessions_unit_verifies_root_with_cap_kill_only(destdir):
    """The session watcher signals other users' processes and asks logind to end sessions: root
    with CAP_KILL alone, no network, nothing writable but its lock; it must see all of /proc."""
    text = verified_unit(destdir, "entra-sessions.service")
    hardening = [line for line in HARDENING if not line.startswith(("RestrictAddressFamilies", "CapabilityBounding"))]
    for line in hardening + ["User=root\n", "CapabilityBoundingSet=CAP_KILL\n", "AmbientCapabilities=\n",
                             "RestrictAddressFamilies=AF_UNIX\n", "PrivateNetwork=yes\n",
                             "ReadWritePaths=/run/entra-sessions\n", "RuntimeDirectory=entra-sessions\n",
                             "ExecStart=/usr/bin/entra-sync -c /etc/entra/entra.conf sessions --watch\n"]:
        assert line in text, line
    assert "\nProtectProc=" not in text and "\nProcSubset=" not in text


def test_authd_socket_unit_verifies(destdir):
    text = verified_unit(destdir, "entra-authd.socket")
    for line in ("ListenSequentialPacket=/run/entra-authd/socket\n", "SocketMode=0666\n", "DirectoryMode=0755\n",
                 "WantedBy=sockets.target\n"):
        assert line in text, line
    assert "Accept=no" in text  # one broker for all connections, not one per connection


def test_debian_packages_cover_every_installed_file(destdir):
    """Each file make install writes belongs to one package's .install (or debian/not-installed)."""
    debian = os.path.join(harness.REPO, "debian")
    claimed = {}
    for name in sorted(os.listdir(debian)):
        if name.endswith(".install") or name == "not-installed":
            for line in open(os.path.join(debian, name)).read().split("\n"):
                if line.strip():
                    path = line.strip().replace("${DEB_HOST_MULTIARCH}", MULTIARCH)
                    assert path not in claimed, (path, name, claimed.get(path))
                    claimed[path] = name
    assert set(claimed) == set(installed_files(destdir))
    assert claimed["usr/sbin/entra-authd"] == "entra-authd.install"
    control = open(os.path.join(debian, "control")).read()
    assert "\nPackage: entra-authd\n" in control
    libpam = control.split("Package: libpam-entra\n")[1].split("\n\n")[0]
    assert re.search(r"^Recommends:.*\bentra-authd\b", libpam, re.M)


def test_sshd_drop_in_fits_the_default_login_timeout(tmp_path, destdir):
    hostkey = str(tmp_path / "hk")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostkey], check=True)
    cfg = tmp_path / "sshd_config"
    cfg.write_text("HostKey %s\nInclude %s\n" % (hostkey, os.path.join(destdir, "etc/ssh/sshd_config.d/*.conf")))
    run = tmp_path / "run"
    (run / "sshd").mkdir(parents=True)
    r = harness.in_namespace(["/usr/sbin/sshd", "-T", "-f", str(cfg)], [(str(run), "/run")])
    assert r.returncode == 0, r.stderr
    values = dict(l.split(" ", 1) for l in r.stdout.splitlines() if " " in l)
    assert values["usepam"] == "yes"
    assert values["kbdinteractiveauthentication"] == "yes"
    assert int(values["logingracetime"]) >= 110 + 10  # [pam] login_timeout default + margin


@pytest.mark.needs_root
def test_pam_auth_update_profile_enables_pam_entra(tmp_path, destdir):
    """pam-auth-update --enable entra on an overlay of /etc: common-auth and common-account
    gain pam_entra.so with the profile's controls, local modules stay."""
    upper, work, lib_pam, configs = (tmp_path / n for n in ("upper", "work", "var-lib-pam", "pam-configs"))
    for d in (upper, work, lib_pam):
        d.mkdir()
    shutil.copytree("/usr/share/pam-configs", str(configs))
    shutil.copy(os.path.join(destdir, "usr/share/pam-configs/entra"), str(configs / "entra"))
    if os.path.isdir("/var/lib/pam"):
        shutil.copytree("/var/lib/pam", str(lib_pam), dirs_exist_ok=True)
    script = "\n".join([
        "set -e",
        "mount -t overlay overlay -o lowerdir=/etc,upperdir=%s,workdir=%s /etc" % (upper, work),
        "mount --bind %s /var/lib/pam" % lib_pam,
        "mount --bind %s /usr/share/pam-configs" % configs,
        "DEBIAN_FRONTEND=noninteractive pam-auth-update --package --enable entra",
        "cat /etc/pam.d/common-auth; echo ====; cat /etc/pam.d/common-account",
    ])
    r = subprocess.run(["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    auth, account = r.stdout.split("====")
    auth_lines = [l for l in auth.splitlines() if l and not l.startswith("#")]
    entra = [l for l in auth_lines if "pam_entra.so" in l]
    assert len(entra) == 1 and "default=die" in entra[0]
    # pam_entra comes first (priority 320 > pam_unix's 256) and local users fall through to pam_unix
    assert auth_lines.index(entra[0]) < [i for i, l in enumerate(auth_lines) if "pam_unix.so" in l][0]
    assert any("pam_entra.so" in l for l in account.splitlines())
    assert any("pam_unix.so" in l for l in account.splitlines())
    assert not os.path.exists("/etc/pam.d/common-auth") or "pam_entra" not in open("/etc/pam.d/common-auth").read()
