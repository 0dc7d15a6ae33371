"""The PAM lines the docs give for a hand-edited /etc/pam.d/sshd survive the removal of
pam_entra.so (issue 16, item 5).

Each documented stack (README, pam_entra(8), the shipped example) is taken as written, with
pam_entra.so pointing at a file that does not exist, as after `apt remove libpam-entra`; the
common-* files are the host's. pamtester runs it in a private mount namespace whose /etc/pam.d,
/etc/passwd, /etc/shadow and /etc/group are copies: a local user and root still sign in with
their passwords and pass the account phase (the one an SSH key login runs); a wrong password is
still refused. The same stack without module_unknown=ignore, the control, locks them out."""

import os
import re
import shutil
import subprocess

import pytest

import harness

pytestmark = pytest.mark.needs_root

MISSING = "/nonexistent/security/pam_entra.so"
SERVICE = "entra-removed"
PASSWORD = "correct horse battery staple"
PHASES = ("auth", "account", "session", "password")


def readme_lines():
    text = open(os.path.join(harness.REPO, "README.md")).read()
    section = text.split("### 6. PAM", 1)[1].split("\n### ", 1)[0]
    block = section.split("in `/etc/pam.d/sshd`", 1)[1].split("```\n", 1)[1].split("```", 1)[0]
    return block.splitlines()


def man_lines():
    text = open(os.path.join(harness.REPO, "man", "pam_entra.8")).read()
    section = text.split(".SH EXAMPLES", 1)[1]
    block = section.split("/etc/pam.d/sshd", 1)[1].split(".nf\n", 1)[1].split(".fi", 1)[0]
    return block.replace("\\-", "-").splitlines()


def example_lines():
    text = open(os.path.join(harness.REPO, "etc", "pam.d", "entra-sshd.example")).read()
    return [l for l in text.splitlines() if l and not l.startswith("#")]


DOCUMENTED = {"README": readme_lines, "pam_entra(8)": man_lines, "entra-sshd.example": example_lines}


def service_text(lines):
    """The stack of /etc/pam.d/sshd with LINES added: pam_entra.so gone, every common-* file
    included once (sshd's own file includes all four)."""
    out = [l.replace("pam_entra.so", MISSING) for l in lines if l.strip()]
    assert any(MISSING in l for l in out), lines
    for phase in PHASES:
        include = "@include common-" + phase
        if include not in out:
            out.append(include)
    return "\n".join(out) + "\n"


def sha512_crypt(password):
    return subprocess.run(["openssl", "passwd", "-6", "-stdin"], input=password, capture_output=True, text=True,
                          check=True).stdout.strip()


@pytest.fixture
def etc(tmp_path):
    """Copies of /etc/pam.d and the account files, with a local user `localbob` and root both
    having PASSWORD."""
    pamd = tmp_path / "pam.d"
    pamd.mkdir()
    for name in os.listdir("/etc/pam.d"):
        if name.startswith("common-") or name == "other":
            shutil.copy(os.path.join("/etc/pam.d", name), str(pamd / name))
    home = tmp_path / "home-localbob"
    home.mkdir()
    digest = sha512_crypt(PASSWORD)
    passwd = [l for l in open("/etc/passwd").read().splitlines() if not l.startswith("localbob:")]
    passwd.append("localbob:x:4242:4242:Local Bob:%s:/bin/sh" % home)
    shadow = [("root:%s:19000:0:99999:7:::" % digest) if l.startswith("root:") else l
              for l in open("/etc/shadow").read().splitlines() if not l.startswith("localbob:")]
    shadow.append("localbob:%s:19000:0:99999:7:::" % digest)
    group = [l for l in open("/etc/group").read().splitlines() if not l.startswith("localbob:")]
    group.append("localbob:x:4242:")
    files = {}
    for name, lines, mode in (("passwd", passwd, 0o644), ("shadow", shadow, 0o640), ("group", group, 0o644)):
        path = tmp_path / name
        path.write_text("\n".join(lines) + "\n")
        os.chmod(str(path), mode)
        files[name] = str(path)
    return dict(pamd=str(pamd), **files)


def pamtester(etc, stack, user, password, *ops):
    with open(os.path.join(etc["pamd"], SERVICE), "w") as f:
        f.write(stack)
    binds = [(etc["pamd"], "/etc/pam.d"), (etc["passwd"], "/etc/passwd"), (etc["shadow"], "/etc/shadow"),
             (etc["group"], "/etc/group")]
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"}
    r = harness.in_namespace(["pamtester", "-v", SERVICE, user] + list(ops), binds, env=env, input=password + "\n",
                             timeout=60)
    r.text = r.stdout + r.stderr
    return r


OPS = ("authenticate", "acct_mgmt", "open_session", "close_session")


@pytest.mark.parametrize("doc", sorted(DOCUMENTED))
def test_documented_lines_let_local_users_and_root_in_without_the_module(etc, doc):
    lines = DOCUMENTED[doc]()
    stack = service_text(lines)
    for user in ("localbob", "root"):
        r = pamtester(etc, stack, user, PASSWORD, *OPS)
        assert r.returncode == 0, (doc, user, stack, r.text)
        assert "successfully authenticated" in r.text and "account management done" in r.text, r.text
    wrong = pamtester(etc, stack, "localbob", "not the password", "authenticate")
    assert wrong.returncode != 0, wrong.text
    # With the module installed the lines keep their meaning: pam_entra decides for Entra accounts.
    for phase, control in (("auth", "default=die"), ("account", "default=bad")):
        entra = [l for l in lines if l.startswith(phase) and "pam_entra.so" in l]
        assert len(entra) == 1 and "module_unknown=ignore" in entra[0] and control in entra[0], (doc, lines)


def test_control_without_module_unknown_the_same_stack_locks_everybody_out(etc):
    """What the docs used to show: a missing module fails the auth and account phases."""
    lines = [re.sub(r"\s*module_unknown=ignore", "", l) for l in readme_lines()]
    stack = service_text(lines)
    for user in ("localbob", "root"):
        r = pamtester(etc, stack, user, PASSWORD, "authenticate")
        assert r.returncode != 0, r.text
        r = pamtester(etc, stack, user, PASSWORD, "acct_mgmt")
        assert r.returncode != 0, r.text
