"""PAM and NSS under valgrind memcheck, on the plain (uninstrumented) build: no invalid reads or
writes, no definite leaks, and no file descriptor of ours left open in the calling process
(getent, pamtester) at exit. A failure prints the relevant part of the memcheck log."""

import os
import shutil

import pytest

import harness
import hardening_util as hu
import nss_util
import pam_util
from nss_util import NssHost

pytestmark = [pytest.mark.needs_root,
              pytest.mark.skipif(not shutil.which("valgrind"), reason="needs valgrind"),
              pytest.mark.skipif(not all(os.path.exists(os.path.join(harness.PLAIN_BUILD, f))
                                         for f in ("libnss_scim.so.2", "pam_entra.so")),
                                 reason="needs the plain build in ENTRA_PLAIN_BUILD (make all)")]


def memcheck(run, log_path, argv, allowed_fds=()):
    r = run(hu.valgrind_argv(log_path) + argv)
    problems, text = hu.valgrind_verdict(log_path, allowed_fds)
    assert not problems, "%s: %s\n%s" % (" ".join(argv), problems, text[-6000:])
    return r


# valgrind runs glibc's __libc_freeres at exit, which dlcloses the NSS modules: libnss_scim's
# destructor must then close its cache.db connection and free its parsed config, so nothing of
# ours is left as a definite leak or an open descriptor.
def getent_memcheck(site, host, log, argv):
    return memcheck(host.run, log, argv)


@pytest.fixture
def plain_host(site):
    nss_util.standard_cache(site)
    return NssHost(site, build=harness.PLAIN_BUILD)


@pytest.mark.parametrize("args,expect", [
    (["passwd", "alice"], "alice:x:200001:200001:Alice Admin:/home/alice:/bin/bash"),
    (["passwd", "200002"], "bob:x:200002"),
    (["passwd"], "carol:x:200003"),
    (["group", "web-team"], "web-team:*:300001:alice,bob"),
    (["group"], "linux-admins:*:300002:alice"),
    (["shadow", "carol"], "carol:*:"),
    (["initgroups", "alice"], "alice "),
    (["passwd", "nosuchuser"], None),
])
def test_getent_under_memcheck(site, plain_host, args, expect):
    log = os.path.join(site.dir, "vg-getent.log")
    r = getent_memcheck(site, plain_host, log, ["getent"] + args)
    if expect:
        assert expect in r.stdout, r.stdout + r.stderr
    else:
        assert r.returncode == 2, r.stdout + r.stderr


def test_getent_on_corrupt_and_missing_cache_under_memcheck(site, plain_host):
    with open(site.cache_db, "r+b") as f:
        f.seek(1024)
        f.write(b"\xff" * 2048)
    log = os.path.join(site.dir, "vg-corrupt.log")
    getent_memcheck(site, plain_host, log, ["getent", "passwd", "alice"])
    getent_memcheck(site, plain_host, log, ["getent", "passwd"])
    os.unlink(site.cache_db)
    r = getent_memcheck(site, plain_host, log, ["getent", "passwd", "alice"])
    assert r.returncode == 2


@pytest.mark.parametrize("unload", [True, False], ids=["libc_freeres", "plain_exit"])
def test_module_releases_its_state_at_exit(site, plain_host, unload):
    """The destructor runs whether the module is dlclosed (__libc_freeres) or the process simply
    exits (ELF fini): either way no cache.db descriptor and no definite leak of ours remain."""
    log = os.path.join(site.dir, "vg-unload.log")
    opts = [] if unload else ["--run-libc-freeres=no"]
    r = memcheck(plain_host.run, log, opts + ["getent", "passwd", "alice", "carol"])
    assert "alice:x:200001" in r.stdout and "carol:x:200003" in r.stdout, r.stdout + r.stderr


def plain_service(psite):
    """The pamtester service of PSITE with the plain build's module (valgrind cannot run ASan)."""
    module = "%s config=%s debug" % (os.path.join(harness.PLAIN_BUILD, "pam_entra.so"), psite.site.config)
    text = ""
    for phase in ("auth", "account"):
        text += "%s [success=done ignore=ignore default=die] %s\n" % (phase, module)
        text += "%s required pam_permit.so\n" % phase
    text += "session [success=ok ignore=ignore default=bad] %s\nsession required pam_permit.so\n" % module
    with open(os.path.join(psite.pamd, pam_util.SERVICE), "w") as f:
        f.write(text)


def plain_env():
    """The plain build's libnss_scim for the NSS look-ups pam_entra makes (no sanitizer preload)."""
    return dict(os.environ, LD_LIBRARY_PATH=harness.PLAIN_BUILD)


def pamtester_run(psite, enters=10):
    def run(argv):
        psite.broker_ready()  # the site's entra-authd (sanitized or not, it is not under memcheck)
        return harness.in_namespace(argv, psite.binds(), env=plain_env(), input="\n" * enters, timeout=600)
    return run


@pytest.mark.parametrize("forge", [None, "bad_signature", "wrong_tid"])
def test_pamtester_sign_in_under_memcheck(procs, tmp_path, forge):
    idp = pam_util.TestIdp(procs, str(tmp_path))
    alice = pam_util.new_user("alice")
    psite = pam_util.PamSite(idp, [alice[0]], login_timeout=300)
    try:
        plain_service(psite)
        idp.script(user=alice[1], pending=1, forge=forge)
        log = os.path.join(psite.site.dir, "vg-pam.log")
        argv = ["pamtester", "-v", pam_util.SERVICE, "alice", "authenticate", "acct_mgmt", "open_session",
                "close_session"]
        r = memcheck(pamtester_run(psite), log, argv)
        text = r.stdout + r.stderr
        if forge:
            assert r.returncode != 0 and "refusing sign-in of alice" in text, text[-3000:]
        else:
            assert r.returncode == 0 and "successfully authenticated" in text, text[-3000:]
        # Second run: discovery and JWKS now come from the file cache (another code path).
        idp.script(user=alice[1], forge=forge)
        memcheck(pamtester_run(psite), log, argv)
    finally:
        psite.cleanup()


def test_pamtester_unknown_user_and_unreachable_idp_under_memcheck(procs, tmp_path):
    idp = pam_util.TestIdp(procs, str(tmp_path))
    alice = pam_util.new_user("alice")
    psite = pam_util.PamSite(idp, [alice[0]], login_timeout=300)
    try:
        plain_service(psite)
        log = os.path.join(psite.site.dir, "vg-pam2.log")
        memcheck(pamtester_run(psite), log, ["pamtester", pam_util.SERVICE, "nobody", "authenticate"])
        procs.stop(idp.proc)  # the IdP is gone: connection refused, nothing cached yet
        r = memcheck(pamtester_run(psite), log, ["pamtester", pam_util.SERVICE, "alice", "authenticate"])
        assert r.returncode != 0
    finally:
        psite.cleanup()


@pytest.mark.parametrize("forge", [None, "wrong_aud"])
def test_no_threads_or_descriptors_left_in_the_caller(procs, tmp_path, forge):
    """OpenSSL, jansson and SQLite run inside the caller (sshd, login): after pam_end the process
    has exactly the threads and descriptors it had before pam_start."""
    import json
    idp = pam_util.TestIdp(procs, str(tmp_path))
    alice = pam_util.new_user("alice")
    psite = pam_util.PamSite(idp, [alice[0]], login_timeout=60)
    try:
        plain_service(psite)
        idp.script(user=alice[1], pending=1, forge=forge)
        driver = os.path.join(os.path.dirname(os.path.abspath(__file__)), "hardening_pam_driver.py")
        psite.broker_ready()
        r = harness.in_namespace(["/usr/bin/python3", driver, pam_util.SERVICE, "alice"], psite.binds(),
                                 env=plain_env(), timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        got = json.loads(r.stdout.strip().splitlines()[-1])
        assert (got["rc"] == 0) == (forge is None), r.stderr[-2000:]
        assert got["threads"][0] == got["threads"][1], "threads left behind: %s" % got["threads"]
        assert got["fds"][0] == got["fds"][1], "descriptors left behind: %s" % got["fds"]
    finally:
        psite.cleanup()
