"""A real sshd on a loopback port for end-to-end sign-in, and a scripted SSH client.

MountView is a long-lived process that holds a private mount namespace in which /etc is the
host's /etc overlaid with the files we give (entra.conf, nsswitch.conf, pam.d/sshd), and /run
and /var/log are fresh tmpfs (sshd's privilege separation directory; btmp/wtmp). Programs run in
it through nsenter, so sshd, getent and id all see the same view; the host's own files are
never written. Sshd starts /usr/sbin/sshd -D in that view with UsePAM and keyboard-interactive.
keyboard_interactive_login() signs in with python3-paramiko and hands every prompt to a callback,
which is exactly what a person at an OpenSSH terminal would see."""

import os
import shutil
import socket
import subprocess
import time

import harness

MARKER = ".entra-mount-view"
MULTIARCH = subprocess.run(["gcc", "-print-multiarch"], capture_output=True, text=True).stdout.strip() or \
    "x86_64-linux-gnu"


class MountView:
    def __init__(self, procs, workdir, etc_files, libs=()):
        """ETC_FILES: {relative path under /etc: text}. LIBS: shared objects that appear in the
        multiarch library directory (as `make install` puts libnss_scim.so.2), so every process
        of the view, sshd's sessions included, finds them without LD_LIBRARY_PATH; an item
        (path, "security/pam_entra.so") names its place under that directory."""
        self.upper = os.path.join(workdir, "etc-upper")
        self.work = os.path.join(workdir, "etc-work")
        os.makedirs(self.work)
        for rel, text in dict(etc_files, **{MARKER: ""}).items():
            path = os.path.join(self.upper, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
            os.chmod(path, 0o644)
        script = ["set -e"]
        if libs:
            libdir = os.path.realpath("/lib/" + MULTIARCH)
            lib_upper, lib_work = os.path.join(workdir, "lib-upper"), os.path.join(workdir, "lib-work")
            os.makedirs(lib_upper)
            os.makedirs(lib_work)
            for lib in libs:
                lib, rel = lib if isinstance(lib, tuple) else (lib, os.path.basename(lib))
                dest = os.path.join(lib_upper, rel)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                shutil.copy(lib, dest)
                os.chmod(dest, 0o644)
            script.append("mount -t overlay overlay -o lowerdir=%s,upperdir=%s,workdir=%s %s"
                          % (libdir, lib_upper, lib_work, libdir))
        script = "\n".join(script + [
            "mount -t overlay overlay -o lowerdir=/etc,upperdir=%s,workdir=%s /etc" % (self.upper, self.work),
            "mount -t tmpfs -o mode=0755 tmpfs /run",
            "mkdir -m 0755 /run/sshd",
            "mount -t tmpfs -o mode=0755 tmpfs /var/log",
            "exec sleep 86400",
        ])
        self.holder = procs.start(["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", script])
        deadline = time.monotonic() + 10
        while self.run(["test", "-e", "/etc/" + MARKER]).returncode != 0:
            if self.holder.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("could not set up the private mount namespace (overlayfs, tmpfs)")
            time.sleep(0.05)

    def argv(self, cmd):
        return ["nsenter", "-t", str(self.holder.pid), "-m", "--"] + list(cmd)

    def run(self, cmd, env=None, timeout=60, input=None):
        return subprocess.run(self.argv(cmd), env=env, capture_output=True, text=True, timeout=timeout, input=input)


def pam_sshd_stack(build, config, args=""):
    """/etc/pam.d/sshd: pam_entra for Entra accounts, nothing else signs anyone in. ARGS are
    extra module arguments ("debug" also writes the module's log lines to sshd's stderr)."""
    module = ("%s config=%s %s" % (os.path.join(build, "pam_entra.so"), config, args)).rstrip()
    return "\n".join([
        "# Entra accounts sign in with the device code flow; a refusal ends the stack.",
        "auth     [success=done ignore=ignore default=die]  %s" % module,
        "auth     requisite                                 pam_deny.so",
        "account  [success=ok ignore=ignore default=bad]    %s" % module,
        "account  required                                  pam_permit.so",
        "session  optional                                  %s" % module,
        "session  required                                  pam_permit.so",
        "password required                                  pam_deny.so",
        "",
    ])


class Sshd:
    """/usr/sbin/sshd -D on 127.0.0.1:PORT inside VIEW, loading our NSS module from BUILD."""

    def __init__(self, procs, view, workdir, build, port=None, login_grace=150, extra_config="", env=None,
                 pubkey=False):
        """PUBKEY enables public-key logins (~/.ssh/authorized_keys; sshd keeps the first value
        of a keyword, so EXTRA_CONFIG cannot turn it on)."""
        self.procs = procs
        self.port = port or harness.free_port()
        self.hostkey = os.path.join(workdir, "ssh_host_ed25519_key")
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", self.hostkey], check=True)
        self.config = os.path.join(workdir, "sshd_config")
        with open(self.config, "w") as f:
            f.write("\n".join([
                "ListenAddress 127.0.0.1", "Port %d" % self.port, "HostKey %s" % self.hostkey,
                "PidFile none", "UsePAM yes", "KbdInteractiveAuthentication yes", "PasswordAuthentication no",
                "PubkeyAuthentication %s" % ("yes" if pubkey else "no"), "PermitRootLogin no",
                "LoginGraceTime %d" % login_grace,
                "UseDNS no", "PrintMotd no", "PrintLastLog no", "LogLevel VERBOSE", extra_config, ""]))
        self.log_path = os.path.join(workdir, "sshd.log")
        env = env or {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LD_LIBRARY_PATH": build}
        with open(self.log_path, "wb") as log:
            self.proc = procs.start(view.argv(["/usr/sbin/sshd", "-D", "-e", "-f", self.config]), env=env,
                                    stdout=log, stderr=subprocess.STDOUT)
        harness.wait_for_port(self.port, self.proc)

    def logs(self):
        with open(self.log_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self):
        return self.procs.stop(self.proc)


def run_command(transport, command, timeout):
    """Runs COMMAND on an authenticated TRANSPORT without a pty; returns (output, exit status)."""
    chan = transport.open_session(timeout=timeout)
    chan.settimeout(timeout)
    chan.exec_command(command)
    output = b""
    while True:
        data = chan.recv(65536)
        if not data:
            break
        output += data
    return output.decode(errors="replace"), chan.recv_exit_status()


def publickey_login(port, user, key_file, command, timeout=60):
    """Signs USER in with the ed25519 private key in KEY_FILE (ssh-keygen's format) and runs COMMAND.
    Returns (authenticated, output, exit status). A refusal after the key was accepted (sshd
    closes the connection when PAM's account phase says no) counts as not authenticated."""
    import paramiko
    key = paramiko.Ed25519Key.from_private_key_file(key_file)
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=timeout)
        try:
            transport.auth_publickey(user, key)
        except (paramiko.SSHException, EOFError):  # AuthenticationException is an SSHException
            return False, "", None
        if not transport.is_authenticated():
            return False, "", None
        return (True,) + run_command(transport, command, timeout)
    finally:
        transport.close()


def keyboard_interactive_login(port, user, on_prompt, command, timeout=180):
    """Signs USER in over keyboard-interactive; ON_PROMPT(title, instructions, prompt) returns
    the answer. Runs COMMAND without a pty. Returns (authenticated, output, exit status)."""
    import paramiko
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    transport = paramiko.Transport(sock)
    try:
        transport.start_client(timeout=timeout)

        def handler(title, instructions, prompts):
            return [on_prompt(title, instructions, text) for text, _echo in prompts]

        try:
            transport.auth_interactive(user, handler)
        except paramiko.AuthenticationException:
            return False, "", None
        return (True,) + run_command(transport, command, timeout)
    finally:
        transport.close()
