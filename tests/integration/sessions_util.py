"""Live SSH sessions and the session watcher for test_sessions.py.

HeldSession keeps a real SSH session open (sshd, PAM, a `cat` running as the account) so a
test can tell whether it ended or still answers. Watcher runs `entra-sync sessions --watch`
inside the host's MountView (its /run is a private tmpfs: the lock lives there, and there is
no systemd-logind, so the watcher ends sessions by signal)."""

import json
import os
import socket
import subprocess
import time

import harness

VIEW_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}


def with_end_sessions(config, value="yes"):
    """Sets [accounts] end_sessions in the entra.conf at CONFIG."""
    text = open(config).read()
    assert "end_sessions" not in text
    with open(config, "w") as f:
        f.write(text.replace("[accounts]\n", "[accounts]\nend_sessions = %s\n" % value, 1))


class HeldSession:
    """USER signed in with KEY_FILE, running `cat` in a session channel (no pty)."""

    def __init__(self, port, user, key_file, timeout=30):
        import paramiko
        key = paramiko.Ed25519Key.from_private_key_file(key_file)
        self.transport = paramiko.Transport(socket.create_connection(("127.0.0.1", port), timeout=timeout))
        self.transport.start_client(timeout=timeout)
        self.transport.auth_publickey(user, key)
        assert self.transport.is_authenticated()
        self.chan = self.transport.open_session(timeout=timeout)
        self.chan.settimeout(timeout)
        self.chan.exec_command("echo ready; exec cat")
        assert self.read_until(b"ready\n", timeout), "the session never started"

    def read_until(self, marker, timeout):
        data, deadline = b"", time.monotonic() + timeout
        while marker not in data and time.monotonic() < deadline:
            self.chan.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                chunk = self.chan.recv(4096)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
        return marker in data

    def answers(self, timeout=10):
        """Whether the session's `cat` still echoes a line back."""
        word = b"ping-%d\n" % time.monotonic_ns()
        try:
            self.chan.sendall(word)
        except (OSError, EOFError):
            return False
        return self.read_until(word, timeout)

    def wait_ended(self, timeout):
        """Seconds until the server closed the channel (EOF), or None if it did not in TIMEOUT."""
        start = time.monotonic()
        deadline = start + timeout
        while time.monotonic() < deadline:
            self.chan.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                if not self.chan.recv(4096):
                    return time.monotonic() - start
            except socket.timeout:
                return None
            except (OSError, EOFError):
                return time.monotonic() - start
        return None

    def close(self):
        self.transport.close()


class Watcher:
    """entra-sync sessions --watch in VIEW, logging to DIR/sessions.log."""

    def __init__(self, procs, view, config, workdir, grace=2, interval=3, env=None):
        self.procs, self.log_path = procs, os.path.join(workdir, "sessions.log")
        argv = [os.path.join(harness.BUILD, "entra-sync"), "-c", config, "sessions", "--watch",
                "--grace", str(grace), "--interval", str(interval)]
        with open(self.log_path, "ab") as log:
            self.proc = procs.start(view.argv(argv), env=dict(VIEW_ENV, **(env or {})), stdout=log,
                                    stderr=subprocess.STDOUT)
        self.wait_for_log("watching ")

    def logs(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def wait_for_log(self, text, timeout=15):
        deadline = time.monotonic() + timeout
        while text not in self.logs():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("no '%s' in the watcher's log:\n%s" % (text, self.logs()))
            time.sleep(0.05)
        return self.logs()

    def stop(self):
        return self.procs.stop(self.proc)


def processes_of(uid):
    """Pids whose real uid is UID, from /proc (the whole host: one pid namespace); zombies,
    which only wait for a parent to reap them (the test host's PID 1 may never), are not counted."""
    pids = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open("/proc/%s/status" % name) as f:
                fields = dict(line.split(":", 1) for line in f if ":" in line)
        except OSError:
            continue
        if fields.get("State", "").strip().startswith(("Z", "X")) or "Uid" not in fields:
            continue
        if int(fields["Uid"].split()[0]) == uid:
            pids.append(int(name))
    return pids


BUS_CONFIG = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
"""


class FakeLogind:
    """A private D-Bus bus (the real dbus-daemon) with fake_logind.py owning
    org.freedesktop.login1 on it; ADDRESS goes into the watcher's DBUS_SYSTEM_BUS_ADDRESS."""

    def __init__(self, procs, workdir, sessions, deny=False):
        self.dir = os.path.join(workdir, "logind")
        os.makedirs(self.dir)
        socket_path = os.path.join(self.dir, "bus")
        self.address = "unix:path=" + socket_path
        config = os.path.join(self.dir, "bus.conf")
        with open(config, "w") as f:
            f.write(BUS_CONFIG % socket_path)
        self.bus = procs.start(["dbus-daemon", "--nofork", "--nopidfile", "--config-file=" + config],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not os.path.exists(socket_path):
            assert self.bus.poll() is None and time.monotonic() < deadline, "dbus-daemon did not start"
            time.sleep(0.05)
        self.calls_path = os.path.join(self.dir, "calls")
        argv = ["/usr/bin/python3", os.path.join(os.path.dirname(__file__), "fake_logind.py"), self.address,
                json.dumps(sessions), self.calls_path] + (["deny"] if deny else [])
        self.log_path = os.path.join(self.dir, "fake_logind.log")
        with open(self.log_path, "wb") as log:
            self.proc = procs.start(argv, stdout=log, stderr=subprocess.STDOUT)
        while "ready" not in open(self.log_path).read():
            assert self.proc.poll() is None and time.monotonic() < deadline, open(self.log_path).read()
            time.sleep(0.05)

    def calls(self):
        if not os.path.exists(self.calls_path):
            return []
        with open(self.calls_path) as f:
            return [json.loads(line) for line in f if line.strip()]
