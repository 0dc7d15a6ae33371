"""make demo end to end (the uninstrumented build: sshd loads the NSS module, and an ASan
runtime cannot be preloaded into sshd's sandboxed children)."""

import os
import subprocess

import pytest

import harness

pytestmark = pytest.mark.needs_root


def test_demo_runs_end_to_end_and_cleans_up():
    build = harness.PLAIN_BUILD
    if not os.path.exists(os.path.join(build, "pam_entra.so")):
        pytest.skip("no uninstrumented build in %s (make all)" % build)
    before = set(os.listdir("/tmp"))
    r = subprocess.run(["/usr/bin/python3", os.path.join(harness.REPO, "tests", "demo", "demo.py"), "--build", build],
                       capture_output=True, text=True, timeout=300)
    out = r.stdout
    assert r.returncode == 0, out[-4000:] + r.stderr[-2000:]
    assert "alice:x:" in out and "(sudo)" in out
    assert "getent passwd carol      # no account on web-01\n     (no output)" in out
    assert "login here:   no: disabled in Entra" in out
    assert "Press Enter once you have signed in" in out
    assert "entra-authd listening on" in out
    steps = out.split("\x1b[1m== ")
    signed = [step for step in steps if "Sign in over SSH with the device code flow (alice)" in step][0]
    assert "(alice) gid=" in signed and "signed in, exit 0" in signed
    wrong = [step for step in steps if "A valid token of the wrong person is refused" in step][0]
    assert "Permission denied" in wrong
    assert not [d for d in set(os.listdir("/tmp")) - before if d.startswith("entra-demo-")]
