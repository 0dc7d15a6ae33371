"""entra-sync doctor against good and broken hosts. Every host file doctor reads
(/etc/nsswitch.conf, /etc/pam.d, /run/sshd for sshd -T) is bind-mounted in a private mount
namespace; discovery is fetched from the test IdP over verified HTTPS."""

import json
import os
import shutil
import subprocess
import time

import pytest

import harness
import pam_util
from authd_util import Authd, config_variant
from proxy_util import Tinyproxy

pytestmark = pytest.mark.needs_root

GOOD_SSHD = "UsePAM yes\nKbdInteractiveAuthentication yes\nLoginGraceTime 150\n"
ALICE_OID = "9e8d7c6b-0000-4000-8000-000000000001"
GOOD_NSSWITCH = "passwd: files systemd scim\ngroup: files [SUCCESS=merge] scim\nshadow: files scim\nhosts: files dns\n"


class Host:
    """A site plus the host files doctor inspects, all in temp dirs."""

    def __init__(self, procs, idp):
        self.site = harness.Site(authority=idp.authority, ca_line="ca_file = %s" % idp.ca)
        self.dir = self.site.dir
        harness.write_cache(self.site.cache_db, [dict(name="alice", uid=200123, object_id=ALICE_OID)])
        harness.cli(self.site, "token", "new")
        self.nsswitch = os.path.join(self.dir, "nsswitch.conf")
        self.write(self.nsswitch, GOOD_NSSWITCH)
        self.pamd = os.path.join(self.dir, "pam.d")
        os.makedirs(self.pamd)
        module = os.path.join(harness.BUILD, "pam_entra.so")
        self.write(os.path.join(self.pamd, "sshd"), "# sshd\n@include common-auth\naccount include common-account\n")
        self.write(os.path.join(self.pamd, "common-auth"),
                   "auth [success=done ignore=ignore default=die] %s config=%s\nauth required pam_unix.so\n"
                   % (module, self.site.config))
        self.write(os.path.join(self.pamd, "common-account"),
                   "account [success=ok ignore=ignore default=bad] %s\naccount required pam_unix.so\n" % module)
        self.run = os.path.join(self.dir, "run")
        os.makedirs(os.path.join(self.run, "sshd"))
        self.hostkey = os.path.join(self.dir, "hostkey")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.hostkey], check=True)
        self.sshd_config = os.path.join(self.dir, "sshd_config")
        self.set_sshd(GOOD_SSHD)

    @staticmethod
    def write(path, text, mode=0o644):
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)

    def set_sshd(self, text):
        self.write(self.sshd_config, "HostKey %s\n%s" % (self.hostkey, text))

    def doctor(self, *extra, json_out=True, skip="clock", env=None):
        argv = [os.path.join(harness.BUILD, "entra-sync"), "-c", self.site.config]
        argv += ["--json"] if json_out else []
        argv += ["doctor", "--sshd-config", self.sshd_config, "--daemon-user", "root"]
        argv += (["--skip", skip] if skip else []) + list(extra)
        binds = [(self.nsswitch, "/etc/nsswitch.conf"), (self.pamd, "/etc/pam.d"), (self.run, "/run")]
        r = harness.in_namespace(argv, binds, env=env, timeout=60)
        r.report = json.loads(r.stdout) if json_out and r.stdout.startswith("{") else None
        return r

    def start_broker(self, procs):
        """entra-authd on the default socket path, as doctor sees /run: a good host has one."""
        run_dir = os.path.join(self.run, "entra-authd")
        os.makedirs(run_dir)
        line = "authd_socket = %s/socket" % run_dir
        config = config_variant(self.site.config, os.path.join(self.dir, "authd.conf"),
                                lambda text: text.replace("[pam]", "[pam]\n" + line, 1) if "[pam]" in text
                                else text + "\n[pam]\n" + line + "\n")
        self.broker = Authd(procs, config, os.path.join(run_dir, "socket"), os.path.join(self.dir, "authd.log"))
        return self.broker.start()

    def stop_broker(self):
        self.broker.stop_cleanly()
        shutil.rmtree(os.path.join(self.run, "entra-authd"))

    def cleanup(self):
        self.site.cleanup()


def by_check(report, name):
    return [c for c in report["checks"] if c["check"] == name]


def statuses(report, name):
    return sorted({c["status"] for c in by_check(report, name)})


@pytest.fixture
def idp(procs, tmp_path):
    return pam_util.TestIdp(procs, str(tmp_path))


@pytest.fixture
def host(procs, idp):
    h = Host(procs, idp)
    h.start_broker(procs)
    yield h
    h.cleanup()


def test_good_host_passes_every_check(host):
    r = host.doctor()
    assert r.returncode == 0, r.stdout + r.stderr
    for name in ("config", "cache", "identity", "nsswitch", "pam", "sshd", "discovery", "tokens"):
        assert statuses(r.report, name) == ["ok"], (name, r.stdout)
    assert statuses(r.report, "clock") == ["skip"]
    assert r.report["ok"] is True and r.report["failures"] == 0
    assert "issuer https://127.0.0.1:%d/" % int(host.site.values["authority"].rsplit(":", 1)[1]) in \
        by_check(r.report, "discovery")[0]["message"]
    assert "LoginGraceTime 150 s" in by_check(r.report, "sshd")[0]["message"]


def test_text_output_names_each_problem_with_a_fix(host):
    host.write(host.nsswitch, "passwd: files scim\ngroup: files\n")
    r = host.doctor(json_out=False)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    fail = [i for i, l in enumerate(lines) if l.startswith("[FAIL] nsswitch")]
    assert len(fail) == 1 and "group:" in lines[fail[0]]
    assert lines[fail[0] + 1].strip().startswith("fix: add \"scim\" after \"files\" on the group: line")
    assert "problem(s)" in lines[-1]


def test_nsswitch_without_scim_fails(host):
    host.write(host.nsswitch, "passwd: files systemd\ngroup: files scim\n# passwd: scim\nshadow: files scim\n")
    r = host.doctor()
    assert r.returncode == 1
    fails = [c for c in by_check(r.report, "nsswitch") if c["status"] == "fail"]
    assert len(fails) == 1 and fails[0]["message"].startswith("passwd:")


def test_world_readable_token_file_fails(host):
    os.chmod(host.site.values["token_file"], 0o644)
    r = host.doctor()
    assert r.returncode == 1
    (tok,) = by_check(r.report, "tokens")
    assert tok["status"] == "fail" and "0644" in tok["message"]
    assert tok["fix"] == "chmod 600 %s" % host.site.values["token_file"]


def test_token_file_of_another_owner_fails(host):
    r = host.doctor("--daemon-user", "nobody")
    (tok,) = by_check(r.report, "tokens")
    assert r.returncode == 1 and tok["status"] == "fail"
    assert tok["fix"].startswith("chown nobody ")


def test_stale_cache_is_a_warning(host):
    harness.write_cache(host.site.cache_db, [dict(name="alice", uid=200123)],
                        meta={"published_at": str(int(time.time()) - 7200), "generation": "41"})
    r = host.doctor()
    assert r.returncode == 0, r.stdout
    (cache,) = by_check(r.report, "cache")
    assert cache["status"] == "warn" and "generation 41" in cache["message"]
    assert r.report["warnings"] >= 1
    assert host.doctor("--max-age", "10000").report and \
        statuses(host.doctor("--max-age", "10000").report, "cache") == ["ok"]


def test_accounts_without_object_id_warn_with_the_mapping_fix(host):
    users = [dict(name="alice", uid=200123, object_id=ALICE_OID)]
    users += [dict(name="user%d" % i, uid=200200 + i) for i in range(6)]  # externalId was mailNickname
    harness.write_cache(host.site.cache_db, users)
    r = host.doctor()
    assert r.returncode == 0, r.stdout  # a warning: such accounts need [pam] allow_upn_binding
    (ident,) = by_check(r.report, "identity")
    assert ident["status"] == "warn", ident
    assert ident["message"].startswith("6 of 7 account(s) have no Entra object id (user0, user1, user2, user3, "
                                       "user4, ...)"), ident
    assert "allow_upn_binding = yes" in ident["message"]
    assert "map objectId to externalId" in ident["fix"]
    text = host.doctor(json_out=False).stdout
    assert "[WARN] identity" in text and "fix: in the Entra enterprise app" in text, text


def test_missing_cache_fails(host):
    os.unlink(host.site.cache_db)
    r = host.doctor()
    (cache,) = by_check(r.report, "cache")
    assert r.returncode == 1 and cache["status"] == "fail"
    assert "entra-syncd" in cache["fix"]


def test_private_or_foreign_cache_fails(host):
    os.chmod(host.site.cache_db, 0o600)
    r = host.doctor()
    assert r.returncode == 1 and "0600" in by_check(r.report, "cache")[0]["message"]
    harness.write_cache(host.site.cache_db, [], meta={"schema_version": "99"})
    r = host.doctor()
    assert r.returncode == 1
    assert any("schema version 99" in c["message"] for c in by_check(r.report, "cache"))


def test_sshd_without_pam_and_short_grace_fails(host):
    host.set_sshd("UsePAM no\nKbdInteractiveAuthentication no\nLoginGraceTime 1m\n")
    r = host.doctor()
    assert r.returncode == 1
    msgs = [c["message"] for c in by_check(r.report, "sshd") if c["status"] == "fail"]
    assert any(m.startswith("UsePAM is no") for m in msgs)
    assert any("KbdInteractiveAuthentication" in m for m in msgs)
    assert any("LoginGraceTime 60 s" in m for m in msgs)


def test_sshd_unlimited_grace_and_methods(host):
    host.set_sshd(GOOD_SSHD.replace("150", "0") + "AuthenticationMethods publickey\n")
    r = host.doctor()
    fails = [c["message"] for c in by_check(r.report, "sshd") if c["status"] == "fail"]
    assert fails == ["AuthenticationMethods publickey excludes keyboard-interactive"]


def test_sshd_keys_command(host):
    assert statuses(host.doctor().report, "sshd-keys") == ["skip"]  # optional: not configured
    cases = [
        ("AuthorizedKeysCommand /usr/bin/entra-sync authorized-keys %u\nAuthorizedKeysCommandUser nobody\n", "ok",
         "as nobody"),
        ("AuthorizedKeysCommand /usr/bin/entra-sync authorized-keys\nAuthorizedKeysCommandUser nobody\n", "fail",
         "does not pass the user name"),
        ("AuthorizedKeysCommand /usr/bin/entra-sync authorized-keys %u\nAuthorizedKeysCommandUser root\n", "warn",
         "run it as nobody"),
        ("AuthorizedKeysCommand /usr/bin/sss_ssh_authorizedkeys %u\nAuthorizedKeysCommandUser nobody\n", "skip",
         "not entra-sync"),
    ]
    for extra, status, words in cases:
        host.set_sshd(GOOD_SSHD + extra)
        (check,) = by_check(host.doctor().report, "sshd-keys")
        assert check["status"] == status and words in check["message"], (extra, check)


def test_broken_sshd_config_reports_sshd_error(host):
    host.set_sshd("UsePAM yes\nNoSuchOption 1\n")
    r = host.doctor()
    (sshd,) = by_check(r.report, "sshd")
    assert sshd["status"] == "fail" and "NoSuchOption" in sshd["message"]


def test_pam_stack_without_account_phase_fails(host):
    host.write(os.path.join(host.pamd, "common-account"), "account required pam_unix.so\n")
    r = host.doctor()
    fails = [c["message"] for c in by_check(r.report, "pam") if c["status"] == "fail"]
    assert len(fails) == 1 and "account stack" in fails[0]


def test_pam_stack_naming_a_missing_module_fails(host):
    host.write(os.path.join(host.pamd, "sshd"), "auth substack entra\naccount required /nonexistent/pam_entra.so\n")
    host.write(os.path.join(host.pamd, "entra"), "auth sufficient /nonexistent/pam_entra.so\n")
    r = host.doctor()
    fails = [c["message"] for c in by_check(r.report, "pam") if c["status"] == "fail"]
    assert len(fails) == 1 and "not installed" in fails[0]


def test_discovery_needs_the_ca_and_a_listener(host, idp):
    host.site.write_config(ca_line="")
    r = host.doctor()
    (disc,) = by_check(r.report, "discovery")
    assert disc["status"] == "fail" and "not trusted" in disc["message"]
    host.site.write_config(ca_line="ca_file = %s" % idp.ca, authority="https://127.0.0.1:%d" % harness.free_port())
    r = host.doctor()
    (disc,) = by_check(r.report, "discovery")
    assert disc["status"] == "fail" and "cannot connect" in disc["message"]


def test_certificate_variables_add_no_trust_to_discovery(host, idp):
    """doctor trusts what entra-authd trusts: SSL_CERT_FILE, SSL_CERT_DIR and CURL_CA_BUNDLE in
    the admin's shell name no anchor, so they cannot make the check pass."""
    host.site.write_config(ca_line="")
    hashed = os.path.join(host.dir, "user-certs")
    os.makedirs(hashed)
    digest = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", idp.ca], capture_output=True, text=True,
                            check=True).stdout.strip()
    os.symlink(idp.ca, os.path.join(hashed, digest + ".0"))
    r = host.doctor(env=dict(os.environ, SSL_CERT_FILE=idp.ca, SSL_CERT_DIR=hashed, CURL_CA_BUNDLE=idp.ca))
    (disc,) = by_check(r.report, "discovery")
    assert disc["status"] == "fail" and "not trusted" in disc["message"], disc


def test_discovery_through_the_proxy(procs, tmp_path, host, idp):
    """doctor reaches the authority the way entra-authd does: through [entra] proxy."""
    proxy = Tinyproxy(procs, str(tmp_path / "proxy"))
    host.site.write_config(ca_line="ca_file = %s\nproxy = %s" % (idp.ca, proxy.url))
    r = host.doctor(env=dict(os.environ, no_proxy="*"))
    (disc,) = by_check(r.report, "discovery")
    assert disc["status"] == "ok" and "through the proxy %s" % proxy.name in disc["message"], disc
    assert proxy.connects() == ["CONNECT 127.0.0.1:%d HTTP/1.1" % idp.port], proxy.log()


def test_discovery_names_a_refusing_or_missing_proxy(procs, tmp_path, host, idp):
    proxy = Tinyproxy(procs, str(tmp_path / "proxy"), connect_ports=(443,))
    host.site.write_config(ca_line="ca_file = %s\nproxy = %s" % (idp.ca, proxy.url))
    (disc,) = by_check(host.doctor().report, "discovery")
    assert disc["status"] == "fail", disc
    assert "the proxy %s refused the tunnel to 127.0.0.1: HTTP 403" % proxy.name in disc["message"], disc
    assert "[entra] proxy" in disc["fix"]
    host.site.write_config(ca_line="ca_file = %s\nproxy = http://user:d0wn-s3cret@127.0.0.1:9" % idp.ca)
    r = host.doctor()
    (disc,) = by_check(r.report, "discovery")
    assert disc["status"] == "fail" and "cannot connect to the proxy 127.0.0.1:9" in disc["message"], disc
    assert "d0wn-s3cret" not in r.stdout + r.stderr


def test_unknown_tenant_reports_the_idp_error(host, idp):
    host.site.write_config(tenant_id="99999999-2222-3333-4444-555555555555")
    r = host.doctor()
    (disc,) = by_check(r.report, "discovery")
    assert disc["status"] == "fail" and "HTTP 4" in disc["message"]


def test_placeholder_tenant_and_writable_config_fail(host):
    host.site.write_config(tenant_id="00000000-0000-0000-0000-000000000000")
    os.chmod(host.site.config, 0o666)
    r = host.doctor("--skip", "discovery")
    msgs = [c["message"] for c in by_check(r.report, "config") if c["status"] == "fail"]
    assert r.returncode == 1 and len(msgs) == 2


def test_clock_check_reads_the_kernel_state(host):
    r = host.doctor(skip=None)
    (clock,) = by_check(r.report, "clock")
    assert clock["status"] in ("ok", "warn")
    assert "synchronised" in clock["message"]


def test_usage_errors_exit_2(host):
    assert host.doctor("--skip", "nonsense").returncode == 2
    assert host.doctor("--max-age", "soon").returncode == 2
    assert host.doctor("--pam-service", "../etc/shadow").returncode == 2


def test_authd_missing_fails_with_the_command_to_start_it(host):
    host.stop_broker()
    r = host.doctor()
    (authd,) = by_check(r.report, "authd")
    assert authd["status"] == "fail", authd
    assert "entra-authd is not listening (no /run/entra-authd/socket" in authd["message"]
    assert "Entra users cannot sign in" in authd["message"]
    assert authd["fix"] == "systemctl enable --now entra-authd.socket"
    assert r.returncode == 1


def test_authd_running_as_root_is_ok(procs, host):
    # /run inside doctor's namespace is host.run: the broker listens there under the default path.
    r = host.doctor()
    (authd,) = by_check(r.report, "authd")
    assert authd["status"] == "ok", authd
    assert "entra-authd answers on /run/entra-authd/socket (pid %d)" % host.broker.proc.pid == authd["message"]


def test_authd_socket_served_by_another_user_fails(procs, host):
    host.stop_broker()
    run_dir = os.path.join(host.run, "entra-authd")
    os.makedirs(run_dir)
    for path in (host.dir, host.run):  # the fake binds its socket as uid 65534
        os.chmod(path, 0o755)
    os.chmod(run_dir, 0o777)
    script = ("import socket, sys, time\ns = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)\n"
              "s.bind(sys.argv[1]); s.listen(4)\nwhile True: time.sleep(1)\n")
    fake = procs.start(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "/usr/bin/python3", "-c",
                        script, os.path.join(run_dir, "socket")])
    deadline = time.monotonic() + 20
    while not os.path.exists(os.path.join(run_dir, "socket")):
        assert fake.poll() is None and time.monotonic() < deadline
        time.sleep(0.02)
    r = host.doctor()
    (authd,) = by_check(r.report, "authd")
    assert authd["status"] == "fail", authd
    assert "runs as uid 65534, not root: pam_entra refuses to use it" in authd["message"]
    assert r.returncode == 1
