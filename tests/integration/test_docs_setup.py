"""What the README tells a sysadmin to do works as written (issue 16, item 6).

- sshd: the shipped drop-in copied into /etc/ssh/sshd_config.d/ is what sshd uses with Debian's
  own sshd_config; the same lines appended to that file are not (the first value wins).
- Ports: one story, the Tenant URL carries the port entra-syncd listens on (8443, its own TLS),
  or none when nginx answers on 443 in front of the default loopback listener.
- sudo: the sudoers rule is for a local group of Entra admins that the example config's admin
  role grants; `sudo -l` shows Entra admin alice NOPASSWD and a local member of `sudo` still
  asked for a password.
- Timing: "within seconds" counts from Entra's request; its cycles run about every 40 minutes."""

import os
import re
import subprocess

import pytest

import harness
import sshd_e2e_util
import sshd_util

REPO = harness.REPO
README = open(os.path.join(REPO, "README.md")).read()
DROP_IN = os.path.join(REPO, "etc", "ssh", "sshd_config.d", "50-entra.conf")


def section(number):
    return README.split("### %d. " % number, 1)[1].split("\n### ", 1)[0]


def code_blocks(text):
    return re.findall(r"```[a-z]*\n(.*?)```", text, re.S)


def sshd_values(tmp_path, sshd_config_text, drop_ins):
    """`sshd -T` with SSHD_CONFIG_TEXT as /etc/ssh/sshd_config and DROP_INS ({name: text}) as
    /etc/ssh/sshd_config.d, in a private mount namespace."""
    conf_d = tmp_path / "sshd_config.d"
    conf_d.mkdir(parents=True)
    for name, text in drop_ins.items():
        (conf_d / name).write_text(text)
    config = tmp_path / "sshd_config"
    config.write_text(sshd_config_text)
    key = str(tmp_path / "hostkey")
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", key], check=True)
    run = tmp_path / "run"
    (run / "sshd").mkdir(parents=True)
    r = harness.in_namespace(["/usr/sbin/sshd", "-T", "-f", "/etc/ssh/sshd_config", "-h", key],
                             [(str(conf_d), "/etc/ssh/sshd_config.d"), (str(config), "/etc/ssh/sshd_config"),
                              (str(run), "/run")])
    assert r.returncode == 0, r.stderr
    return dict(l.split(" ", 1) for l in r.stdout.splitlines() if " " in l)


@pytest.mark.needs_root
def test_the_drop_in_goes_to_sshd_config_d_where_debians_sshd_config_reads_it(tmp_path):
    debian = open("/etc/ssh/sshd_config").read()
    if not re.search(r"^Include /etc/ssh/sshd_config\.d/\*\.conf$", debian, re.M):
        pytest.skip("this host's sshd_config does not include sshd_config.d (not Debian's)")
    text = section(7)
    assert "cp /usr/share/doc/libpam-entra/examples/50-entra.conf /etc/ssh/sshd_config.d/" in text
    assert "etc/ssh/sshd_config.d/50-entra.conf" in open(os.path.join(REPO, "debian", "libpam-entra.examples")).read()
    drop_in = open(DROP_IN).read()
    values = sshd_values(tmp_path / "a", debian, {"50-entra.conf": drop_in})
    assert (values["usepam"], values["kbdinteractiveauthentication"], values["logingracetime"]) == ("yes", "yes", "150")
    if re.search(r"^KbdInteractiveAuthentication no$", debian, re.M):
        # Why the README says so: appended to Debian's file, the lines lose to its own.
        appended = sshd_values(tmp_path / "b", debian + "\n" + drop_in, {})
        assert appended["kbdinteractiveauthentication"] == "no"
    page = open(os.path.join(REPO, "man", "pam_entra.8")).read().split('.SH "SSH"', 1)[1].split(".SH ", 1)[0]
    assert "sshd_config.d" in page


def test_one_port_story_the_tenant_url_carries_the_port_entra_syncd_listens_on():
    rows = re.findall(r"^\| ([ab])\. .*?\| `([^`]+)`.*?\| `(https://[^`]+)` \|$", section(4), re.M)
    assert len(rows) == 2, section(4)
    for _which, listen, url in rows:
        port = int(listen.rsplit(":", 1)[1])
        host, _, rest = url[len("https://"):].partition("/")
        assert rest == "scim/v2", url
        if listen.startswith("127.0.0.1:"):  # behind nginx: Entra calls 443, nginx passes to the listener
            assert ":" not in host, url
            nginx = [b for b in code_blocks(section(4)) if "proxy_pass" in b][0]
            assert "listen 443 ssl;" in nginx and "proxy_pass http://127.0.0.1:%d;" % port in nginx
        else:  # entra-syncd's own TLS: the port is in the Tenant URL
            assert host.endswith(":%d" % port) and port >= 1024, (listen, url)
            assert any("listen   = %s" % listen in b for b in code_blocks(section(4)))
    step = section(3).split("**Tenant URL**", 1)[1].split("\n3. ", 1)[0]
    assert sorted(re.findall(r"`(https://[^`]+)`", step)) == sorted(url for _w, _l, url in rows)
    # The unit gets no capability, so the daemon itself cannot bind below 1024.
    unit = open(os.path.join(REPO, "etc", "systemd", "entra-syncd.service")).read()
    assert "CapabilityBoundingSet=\n" in unit and "CAP_NET_BIND_SERVICE" not in unit
    # The manual pages tell the same story.
    syncd_page = open(os.path.join(REPO, "man", "entra-syncd.8")).read()
    conf_page = open(os.path.join(REPO, "man", "entra.conf.5")).read()
    tenant = re.search(r"https://[\w.-]+:(\d+)/scim/v2", syncd_page)
    assert tenant and "listen   = 0.0.0.0:%s" % tenant.group(1) in conf_page


def example_admin_groups():
    text = open(os.path.join(REPO, "etc", "entra.conf")).read()
    role = text.split("[role admin]", 1)[1].split("\n[", 1)[0]
    value = re.search(r"^groups\s*=\s*([^;\n]+)", role, re.M).group(1)
    return [g.strip() for g in value.split(",") if g.strip()]


def sudoers_lines():
    block = [b for b in code_blocks(section(8)) if "/etc/sudoers.d/" in b]
    assert len(block) == 1, section(8)
    return [l for l in block[0].splitlines() if l.strip() and not l.startswith("#")]


def test_no_document_gives_the_sudo_group_nopasswd():
    docs = [README] + [open(os.path.join(REPO, "man", p)).read() for p in sorted(os.listdir(os.path.join(REPO, "man")))]
    for text in docs:
        for line in text.splitlines():
            if re.match(r"^\s*%sudo\b.*NOPASSWD", line):
                raise AssertionError("a sudoers line that drops local sudo users' passwords: " + line)


@pytest.mark.needs_root
def test_sudo_rule_covers_the_entra_admins_group_and_no_local_sudo_user(procs, tmp_path):
    missing = sshd_e2e_util.plain_modules_missing()
    if missing:
        pytest.skip(missing)
    if subprocess.run(["sh", "-c", "command -v sudo"], capture_output=True).returncode:
        pytest.skip("sudo is not installed (make deps)")
    lines = sudoers_lines()
    groups = example_admin_groups()
    granted = [re.match(r"^%(\S+)\s", l).group(1) for l in lines]
    assert granted and set(granted) <= set(groups), (granted, groups)
    admins = granted[0]
    etc_group = [l for l in open("/etc/group").read().splitlines() if not l.startswith(admins + ":")]
    etc_group.append("%s:x:4990:" % admins)
    etc_group = [l + ("," if not l.endswith(":") else "") + "localbob" if l.startswith("sudo:") else l
                 for l in etc_group]
    passwd = open("/etc/passwd").read() + "localbob:x:4242:4242:Local Bob:/nonexistent:/bin/sh\n"
    site = harness.Site(policy="[role admin]\nrank = 30\ngroups = %s\n" % ", ".join(groups))
    os.chmod(site.dir, 0o755)
    try:
        harness.write_cache(site.cache_db, users=[{"name": "alice", "uid": 200001, "role": "admin"}],
                            local_members=[(200001, 4990, admins)])
        view = sshd_util.MountView(procs, str(tmp_path), {
            "entra/entra.conf": open(site.config).read(),
            "nsswitch.conf": sshd_e2e_util.scim_nsswitch(),
            "group": "\n".join(etc_group) + "\n",
            "passwd": passwd,
            "sudoers.d/entra-admins": "\n".join(lines) + "\n",
        }, libs=[os.path.join(harness.PLAIN_BUILD, "libnss_scim.so.2")])
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
        ids = view.run(["id", "alice"], env=env)
        assert "(%s)" % admins in ids.stdout, ids.stdout + ids.stderr
        alice = view.run(["sudo", "-l", "-U", "alice"], env=env)
        assert re.search(r"\(ALL ?: ?ALL\) NOPASSWD: ALL", alice.stdout), alice.stdout + alice.stderr
        bob = view.run(["sudo", "-l", "-U", "localbob"], env=env)
        assert re.search(r"\(ALL ?: ?ALL\) ALL", bob.stdout), bob.stdout + bob.stderr
        assert "NOPASSWD" not in bob.stdout, bob.stdout
        assert not set(granted) & {"sudo", "admin", "wheel"}, granted
    finally:
        procs.stop_all()
        site.cleanup()


def test_timing_counts_from_entras_request():
    intro = README.split("## Quick start", 1)[0]
    assert "within seconds" in intro and "40 minutes" in intro and "Provision on demand" in intro
    step = section(3).split("\n5. ", 1)[1]
    assert "40" in step and "minutes" in step and "Provision on demand" in step
    assert "pushed at once" not in README
