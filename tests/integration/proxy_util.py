"""Debian's tinyproxy as a test process: a forward HTTP proxy on a free loopback port, with its
own config file and log in the test's directory, stopped by PID like every test process."""

import os
import shutil
import subprocess

import pytest

import harness


class Tinyproxy:
    def __init__(self, procs, directory, connect_ports=(), basic_auth=None):
        """CONNECT_PORTS: the only ports CONNECT may reach (tinyproxy answers 403 to any other);
        none given: every port. BASIC_AUTH: (user, password) the proxy requires (else 407)."""
        binary = shutil.which("tinyproxy")
        if not binary:
            pytest.skip("tinyproxy is not installed (make deps installs tinyproxy-bin)")
        os.makedirs(directory, exist_ok=True)
        self.port = harness.free_port()
        self.name = "127.0.0.1:%d" % self.port  # how entra-authd and doctor name it
        self.url = "http://" + self.name
        self.log_path = os.path.join(directory, "tinyproxy.log")
        lines = ["Port %d" % self.port, "Listen 127.0.0.1", "Timeout 60", 'LogFile "%s"' % self.log_path,
                 "LogLevel Connect", "MaxClients 64", "Allow 127.0.0.1"]
        lines += ["ConnectPort %d" % port for port in connect_ports]
        if basic_auth:
            lines.append("BasicAuth %s %s" % basic_auth)
        config = os.path.join(directory, "tinyproxy.conf")
        with open(config, "w") as f:
            f.write("\n".join(lines) + "\n")
        self.out = open(os.path.join(directory, "tinyproxy.out"), "ab")
        self.proc = procs.start([binary, "-d", "-c", config], stdout=self.out, stderr=subprocess.STDOUT)
        harness.wait_for_port(self.port, self.proc)

    def with_credentials(self, user, password):
        return "http://%s:%s@%s" % (user, password, self.name)

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def connects(self):
        """The CONNECT requests the proxy received, e.g. 'CONNECT 127.0.0.1:8443 HTTP/1.1'."""
        return [line.split("): ", 1)[1] for line in self.log().splitlines()
                if "Request (file descriptor" in line and ": CONNECT " in line]


TLS_CONNECT_PROXY = r"""
import socket, ssl, sys, threading
port, cert, key, log = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
server = socket.create_server(("127.0.0.1", port))

def pipe(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

def serve(raw):
    try:
        conn = ctx.wrap_socket(raw, server_side=True)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = conn.recv(4096)
            if not chunk:
                return
            head += chunk
        line = head.split(b"\r\n")[0].decode()
        with open(log, "a") as f:
            f.write(line + "\n")
        host, _, target_port = line.split(" ")[1].rpartition(":")
        upstream = socket.create_connection((host, int(target_port)))
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        threading.Thread(target=pipe, args=(upstream, conn), daemon=True).start()
        pipe(conn, upstream)
    except (OSError, ValueError, ssl.SSLError):
        pass

while True:
    raw, _ = server.accept()
    threading.Thread(target=serve, args=(raw,), daemon=True).start()
"""


class TlsConnectProxy:
    """A CONNECT proxy reached over TLS (an https:// proxy), with CERT and KEY, logging each
    request line: tinyproxy speaks plain HTTP only."""

    def __init__(self, procs, directory, cert, key):
        os.makedirs(directory, exist_ok=True)
        self.port = harness.free_port()
        self.log_path = os.path.join(directory, "tls-proxy.log")
        open(self.log_path, "w").close()
        self.proc = procs.start(["/usr/bin/python3", "-c", TLS_CONNECT_PROXY, str(self.port), cert, key,
                                 self.log_path])
        harness.wait_for_port(self.port, self.proc)

    def connects(self):
        with open(self.log_path) as f:
            return f.read().splitlines()
