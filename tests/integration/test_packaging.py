"""The Debian packages through a sysadmin's lifecycle, with the real dpkg and the maintainer
scripts exactly as debhelper generated them (issue 16, items 1, 2, 6 and 7).

One throwaway root (deb_util.ThrowawayRoot) goes through install, an upgrade (the same version
again: dpkg runs the upgrade paths of every maintainer script), removal, purge and a reinstall
of libnss-scim alone. What the scripts asked of systemd is logged by stubs. Then lintian checks
the packages at the pedantic level, overrides included."""

import os
import re
import subprocess

import pytest

import deb_util
import harness

pytestmark = pytest.mark.needs_root

# Every binary package debian/control builds, in its order.
PACKAGES = re.findall(r"^Package: (\S+)$", open(os.path.join(harness.REPO, "debian", "control")).read(), re.M)
DAEMONS = ("entra-syncd", "entra-authd")
ALICE_UID = 200123


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    missing = deb_util.plain_build_missing()
    if missing:
        pytest.skip(missing)
    for tool in ("dpkg-buildpackage", "dh"):
        if subprocess.run(["sh", "-c", "command -v " + tool], capture_output=True).returncode:
            pytest.skip("%s is not installed (make deps)" % tool)
    changes, debs = deb_util.build_packages(str(tmp_path_factory.mktemp("debs")))
    assert sorted(debs) == sorted(PACKAGES)
    return changes, debs


def entra_conf():
    """The admin's /etc/entra/entra.conf, with the default paths."""
    values = dict(tenant_id="11111111-2222-3333-4444-555555555555", client_id="aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
                  authority="https://login.microsoftonline.com", ca_line="", cache_db="/var/lib/entra/cache.db",
                  state_db="/var/lib/entra/state.db", token_file="/etc/entra/scim.tokens", name_format="short",
                  home="/home/%u", uid_min=200000, uid_max=2000200000,
                  gid_lines="gid_min = 2001000000\ngid_max = 2147000000", host="web-01", port=9443,
                  publish_interval_ms=1000, extra_sync="", policy=harness.DEFAULT_POLICY)
    return harness.CONFIG_TEMPLATE.format(**values)


def set_up_a_provisioned_host(root):
    """What a running hub leaves: entra.conf, scim in nsswitch.conf, a token, state.db with
    its WAL files and a published cache.db that holds alice."""
    harness.write_cache(os.path.join(root.debs, "cache.db"),
                        users=[{"name": "alice", "uid": ALICE_UID, "upn": "alice@contoso.com"}])
    with open(os.path.join(root.debs, "entra.conf"), "w") as f:
        f.write(entra_conf())
    root.run("\n".join([
        "install -m 0644 /srv/entra-debs/entra.conf /etc/entra/entra.conf",
        "sed -i -E 's/^(passwd|group|shadow):.*/& scim/' /etc/nsswitch.conf",
        "echo 'sha256:0000' > /etc/entra/scim.tokens",
        "install -o entra-sync -g entra-sync -m 0644 /srv/entra-debs/cache.db /var/lib/entra/cache.db",
        "for f in state.db state.db-wal state.db-shm; do install -o entra-sync -g entra-sync -m 0600 /dev/null "
        "/var/lib/entra/$f; done",
        "mkdir -p /var/cache/entra && echo '{}' > /var/cache/entra/discovery.json",
    ]))


@pytest.fixture(scope="module")
def lifecycle(built):
    """Runs every step once; returns {step: (systemd calls, facts)}."""
    _changes, debs = built
    root = deb_util.ThrowawayRoot(debs)
    steps = {}

    def getent():
        r = root.run("getent passwd alice", check=False)
        return r.returncode, r.stdout

    try:
        # A host that has the packages installed starts the root from scratch, too.
        root.run("dpkg --purge %s >/dev/null 2>&1 || true" % " ".join(PACKAGES))
        root.take_calls()
        root.dpkg("-i", *PACKAGES)
        steps["install"] = (root.take_calls(), {"user": root.run("getent passwd entra-sync").stdout})
        set_up_a_provisioned_host(root)
        steps["provisioned"] = ([], {"getent": getent()})
        root.dpkg("-i", *PACKAGES)
        steps["upgrade"] = (root.take_calls(), {})
        root.dpkg("-r", *reversed(PACKAGES))
        steps["remove"] = (root.take_calls(), {"state": root.exists("/var/lib/entra/state.db"),
                                               "conf": root.exists("/etc/entra/entra.conf")})
        root.dpkg("-P", *reversed(PACKAGES))
        left = {p: root.exists(p) for p in ("/var/lib/entra", "/var/cache/entra", "/etc/entra/scim.tokens",
                                            "/etc/entra/entra.conf", "/etc/entra/entra.conf.example")}
        steps["purge"] = (root.take_calls(), left)
        root.dpkg("-i", *[p for p in PACKAGES if p in ("entra-common", "libnss-scim")])
        steps["nss-again"] = (root.take_calls(), {"getent": getent()})
        yield steps
    finally:
        root.cleanup()


def units_shipped(debs):
    """Every .service and .socket unit the daemon packages ship (a socket-activated broker adds
    entra-authd.socket, which must be stopped and restarted alike)."""
    units = []
    for name in DAEMONS:
        listing = subprocess.run(["dpkg-deb", "-c", debs[name]], capture_output=True, text=True, check=True).stdout
        units += re.findall(r"/lib/systemd/system/([^/\s]+\.(?:service|socket))$", listing, re.M)
    assert "entra-syncd.service" in units and "entra-authd.service" in units, units
    return sorted(units)


def invoked(calls, action):
    """Units given to `deb-systemd-invoke ACTION`."""
    units = []
    for line in calls:
        words = line.split()
        if words[:2] == ["deb-systemd-invoke", action]:
            units += [w.strip("'") for w in words[2:]]
    return sorted(units)


def test_install_enables_and_starts_nothing(lifecycle):
    calls, facts = lifecycle["install"]
    assert "entra-sync:" in facts["user"]  # sysusers ran
    assert not [c for c in calls if c.startswith("deb-systemd-invoke")], calls
    assert not [c for c in calls if re.match(r"(systemctl|deb-systemd-helper) .*\b(enable|start)\b", c)], calls


def test_upgrade_try_restarts_both_daemons_and_stops_neither(lifecycle, built):
    """An upgrade must restart a daemon that was running; try-restart leaves a stopped one stopped."""
    calls, _ = lifecycle["upgrade"]
    assert invoked(calls, "try-restart") == units_shipped(built[1]), calls
    assert invoked(calls, "stop") == [] and invoked(calls, "restart") == [], calls


def test_remove_stops_both_daemons_and_keeps_the_data(lifecycle, built):
    calls, facts = lifecycle["remove"]
    assert invoked(calls, "stop") == units_shipped(built[1]), calls
    assert facts == {"state": True, "conf": True}  # removal is not purge


def test_the_provisioned_host_serves_alice_before_purge(lifecycle):
    """The control for the purge test: the module does serve the copied directory."""
    rc, out = lifecycle["provisioned"][1]["getent"]
    assert rc == 0 and out.startswith("alice:x:%d:" % ALICE_UID), out


def test_purge_removes_the_directory_copy_tokens_and_cache(lifecycle):
    calls, left = lifecycle["purge"]
    assert left == {"/var/lib/entra": False, "/var/cache/entra": False, "/etc/entra/scim.tokens": False,
                    "/etc/entra/entra.conf": True,  # the admin's own file
                    "/etc/entra/entra.conf.example": False}
    purge = [c for c in calls if c.startswith("deb-systemd-helper purge ")]
    assert any(sorted(c.split()[2:]) == ["entra-sessions.service", "entra-syncd.service"] for c in purge), calls
    assert "deb-systemd-helper purge entra-authd.service entra-authd.socket" in calls


def test_reinstalling_libnss_scim_alone_after_purge_brings_nobody_back(lifecycle):
    rc, out = lifecycle["nss-again"][1]["getent"]
    assert rc == 2 and out == "", out


def test_every_package_that_reads_entra_conf_brings_its_manual_page_and_example(built):
    _changes, debs = built
    contents = {}
    for name, deb in debs.items():
        listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True, check=True).stdout
        contents[name] = [l.split()[-1] for l in listing.splitlines()]
    assert "entra-common" in contents, sorted(contents)
    assert "./usr/share/man/man5/entra.conf.5.gz" in contents["entra-common"]
    assert "./etc/entra/entra.conf.example" in contents["entra-common"]
    for name in set(PACKAGES) - {"entra-common"}:
        depends = subprocess.run(["dpkg-deb", "-f", debs[name], "Depends"], capture_output=True, text=True,
                                 check=True).stdout
        assert re.search(r"\bentra-common \(= [^)]+\)", depends), (name, depends)


def test_copyright_carries_the_licence_text(built):
    """debian/copyright (DEP-5) names the licence and gives its full text."""
    _changes, debs = built
    copyright_text = subprocess.run(["sh", "-c", "dpkg-deb --fsys-tarfile %s | tar -xO "
                                     "./usr/share/doc/entra-syncd/copyright" % debs["entra-syncd"]],
                                    capture_output=True, text=True, check=True).stdout
    short = re.findall(r"^License: (\S+)$", copyright_text, re.M)
    assert short and "see" not in short, copyright_text
    texts = re.findall(r"^License: (\S+)\n((?: .*\n)+)", copyright_text, re.M)
    assert [name for name, text in texts if len(text) > 500] == short[:1], copyright_text


def test_lintian_is_clean_at_the_pedantic_level(built):
    """Every tag lintian reports, up to pedantic and experimental, is either fixed or
    overridden with its reason (debian/source/lintian-overrides, debian/*.lintian-overrides);
    an override that no longer matches anything is reported too."""
    if subprocess.run(["sh", "-c", "command -v lintian"], capture_output=True).returncode:
        pytest.skip("lintian is not installed (make deps)")
    changes, _ = built
    r = subprocess.run(["lintian", "--pedantic", "-I", "-E", "--fail-on", "error,warning,info,pedantic,experimental",
                        "--tag-display-limit", "0", changes], capture_output=True, text=True, timeout=900)
    tags = [l for l in r.stdout.splitlines() if re.match(r"^[EWIPXO]: ", l)]
    assert r.returncode == 0 and tags == [], r.stdout + r.stderr


def override_files():
    debian = os.path.join(harness.REPO, "debian")
    files = [os.path.join(debian, "source", "lintian-overrides")]
    files += [os.path.join(debian, n) for n in sorted(os.listdir(debian)) if n.endswith(".lintian-overrides")]
    return [f for f in files if os.path.exists(f)]


def test_lintian_overrides_are_well_formed_and_each_says_why():
    """Each override names a tag lintian knows, for this source or one of its packages, and
    sits under a comment with the reason."""
    control = open(os.path.join(harness.REPO, "debian", "control")).read()
    packages = set(re.findall(r"^Package: (\S+)$", control, re.M)) | {deb_util.SRC_NAME}
    known = None
    if not subprocess.run(["sh", "-c", "command -v lintian-explain-tags"], capture_output=True).returncode:
        known = set(subprocess.run(["lintian-explain-tags", "--list-tags"], capture_output=True, text=True,
                                   check=True).stdout.split())
    files = override_files()
    assert os.path.join(harness.REPO, "debian", "source", "lintian-overrides") in files
    for path in files:
        owner = deb_util.SRC_NAME if "/source/" in path else os.path.basename(path).split(".lintian-overrides")[0]
        assert owner in packages, path
        reason = False
        for line in open(path).read().splitlines():
            if not line.strip():
                reason = False
                continue
            if line.startswith("#"):
                reason = reason or len(line.strip("# ")) > 10
                continue
            m = re.fullmatch(r"(?:(\S+?)(?: source)?(?: \[[^\]]+\])?: )?([a-z0-9][a-z0-9.+-]*)(?: (.+))?", line)
            assert m, (path, line)
            assert m.group(1) in (None, owner), (path, line)
            assert reason, "%s: no comment gives the reason for %r" % (path, line)
            if known is not None:
                assert m.group(2) in known, (path, m.group(2))


def test_files_the_readme_tells_to_copy_are_in_the_packages(built):
    """README: `cp /usr/share/doc/...` sources exist, uncompressed, in some package."""
    _changes, debs = built
    shipped = set()
    for deb in debs.values():
        listing = subprocess.run(["dpkg-deb", "-c", deb], capture_output=True, text=True, check=True).stdout
        shipped |= {l.split()[-1].lstrip(".") for l in listing.splitlines()}
    readme = open(os.path.join(harness.REPO, "README.md")).read()
    sources = re.findall(r"^cp (/usr/share/doc/\S+) ", readme, re.M)
    assert sources, "the README copies nothing from /usr/share/doc"
    for path in sources:
        assert path in shipped, path
