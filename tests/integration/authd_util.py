"""entra-authd as a test process: started on a socket in the test's directory, stopped by PID."""

import os
import socket
import subprocess
import time

import harness


class Authd:
    def __init__(self, procs, config, socket_path, log_path, binds=(), env=None):
        """BINDS: (source, target) pairs bind-mounted in the broker's own mount namespace; ENV:
        variables added to its environment."""
        self.procs, self.config, self.socket, self.log_path = procs, config, socket_path, log_path
        self.binds = list(binds)
        self.env = dict(os.environ, **(env or {}))
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "ab")
        argv = [os.path.join(harness.BUILD, "entra-authd"), "-c", self.config]
        if self.binds:
            script = ["set -e"] + ['mount --bind "%s" "%s"' % b for b in self.binds] + ['exec "$@"']
            argv = ["unshare", "--mount", "--propagation", "private", "--", "/bin/sh", "-c", "\n".join(script),
                    "sh"] + argv
        self.proc = self.procs.start(argv, stdout=self.log, stderr=subprocess.STDOUT, env=self.env)
        deadline = time.monotonic() + 20
        while not os.path.exists(self.socket):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("entra-authd did not start:\n" + self.logs())
            time.sleep(0.02)
        return self

    def stop(self):
        rc = self.procs.stop(self.proc)
        self.log.close()
        return rc

    def stop_cleanly(self):
        """Stops it and checks the exit: 0, and under ASan no leak (LeakSanitizer exits 1)."""
        if self.proc.poll() is None:
            rc = self.stop()
            assert rc == 0, "entra-authd exited %d:\n%s" % (rc, self.logs()[-4000:])

    def logs(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def cpu_seconds(self):
        """CPU the daemon has used so far, all its threads (ended ones too), to the nanosecond:
        its process CPU clock, as clock_getcpuclockid(3) names it (CPUCLOCK_SCHED of the PID)."""
        return time.clock_gettime(((~self.proc.pid) << 3) | 2)


def config_variant(source, target, edit=lambda text: text):
    """Writes TARGET as SOURCE's entra.conf passed through EDIT (text -> text); returns TARGET."""
    with open(source) as f:
        text = f.read()
    with open(target, "w") as f:
        f.write(edit(text))
    return target


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.settimeout(10)
    s.connect(path)
    return s
