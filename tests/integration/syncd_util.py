"""Helpers for the entra-syncd and entra-sync tests: raw daemon starts (custom env, expected
failures), raw HTTP on a socket, and a throw-away CA + server certificate."""

import datetime
import ipaddress
import os
import socket
import subprocess
import time

import harness


def syncd_argv(site):
    return [os.path.join(harness.BUILD, "entra-syncd"), "-c", site.config]


def start_daemon(site, procs, env=None, wait=True):
    """Starts entra-syncd with its output in a log file; returns (proc, log_path)."""
    log_path = os.path.join(site.dir, "syncd-%d.log" % time.monotonic_ns())
    log = open(log_path, "wb")
    proc = procs.start(syncd_argv(site), stdout=log, stderr=subprocess.STDOUT, env=env)
    log.close()
    if wait:
        harness.wait_for_port(site.port, proc)
    return proc, log_path


def run_daemon_expecting_exit(site, timeout=20):
    """Runs entra-syncd that must refuse to start; returns CompletedProcess."""
    return subprocess.run(syncd_argv(site), capture_output=True, text=True, timeout=timeout)


def read_log(path):
    with open(path, "rb") as f:
        return f.read().decode(errors="replace")


def wait_for_log(path, needle, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = read_log(path)
        if needle in text:
            return text
        time.sleep(0.05)
    raise AssertionError("%r never appeared in the log:\n%s" % (needle, read_log(path)))


def new_token(site, *extra):
    out = harness.cli(site, "token", "new", *extra).stdout.strip().splitlines()
    return out[-1].strip()


def raw_http(port, data, timeout=10.0, read_all=True):
    """Sends DATA on a fresh connection and returns what comes back until close or timeout."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if not read_all and b"\r\n\r\n" in b"".join(chunks):
                break
        return b"".join(chunks)


def status_of(response):
    line = response.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


class TestCA:
    """A throw-away CA that issues server certificates for 127.0.0.1 (python3-cryptography)."""

    def __init__(self, directory, name="entra-syncd test CA"):
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        self.directory = directory
        now = datetime.datetime.now(datetime.timezone.utc)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        ca = (x509.CertificateBuilder().subject_name(self.name).issuer_name(self.name)
              .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
              .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
              .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                           data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                           crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
              .sign(self.key, hashes.SHA256()))
        self.path = os.path.join(directory, "ca.pem")
        with open(self.path, "wb") as f:
            f.write(ca.public_bytes(serialization.Encoding.PEM))

    def issue(self, prefix, host="127.0.0.1", common_name=None, valid_days=1, expired=False):
        """Writes PREFIX-cert.pem and PREFIX-key.pem (0600); returns (cert path, key path, cert DER)."""
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.x509.oid import NameOID

        now = datetime.datetime.now(datetime.timezone.utc)
        start, end = now - datetime.timedelta(minutes=5), now + datetime.timedelta(days=valid_days)
        if expired:
            start, end = now - datetime.timedelta(days=2), now - datetime.timedelta(days=1)
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name or host)]))
                .issuer_name(self.name).public_key(key.public_key()).serial_number(x509.random_serial_number())
                .not_valid_before(start).not_valid_after(end)
                .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(host))]),
                               critical=False)
                .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                .sign(self.key, hashes.SHA256()))
        cert_path = os.path.join(self.directory, prefix + "-cert.pem")
        key_path = os.path.join(self.directory, prefix + "-key.pem")
        with open(cert_path, "wb") as f:
            f.write(cert.public_bytes(serialization.Encoding.PEM))
        with open(key_path, "wb") as f:
            f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                      serialization.NoEncryption()))
        os.chmod(key_path, 0o600)
        return cert_path, key_path, cert.public_bytes(serialization.Encoding.DER)


def make_tls_files(directory, host="127.0.0.1"):
    """A CA and a server certificate for HOST signed by it; returns (ca, cert, key) paths."""
    ca = TestCA(directory)
    cert, key, _der = ca.issue("server", host)
    return ca.path, cert, key
