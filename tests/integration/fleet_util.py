"""Helpers for the fleet tests: a hub (entra-syncd with TLS on loopback and a follower token)
and followers (entra-syncd with a [follow] section, each in its own directory)."""

import os
import signal
import ssl
import subprocess
import time

import harness
import syncd_util


class TlsClient(harness.ScimClient):
    """The harness's SCIM client over HTTPS, trusting the test CA."""

    def __init__(self, base_url, token, ca_path):
        super().__init__(base_url, token, ssl.create_default_context(cafile=ca_path), timeout=90)


class Hub:
    """entra-syncd serving SCIM and the feed over TLS on 127.0.0.1, with both kinds of token."""

    def __init__(self, procs, max_connections=64, ca=None, **overrides):
        """CA: another hub's TestCA to issue this one's certificate from (two hubs, one trust anchor)."""
        self.site = harness.Site(host="hub-01", **overrides)
        self.procs = procs
        self.ca = ca or syncd_util.TestCA(self.site.dir)
        cert, key, _der = self.ca.issue("hub-%d" % self.site.port if ca else "hub")
        self.site.write_config(extra_sync="tls_cert = %s\ntls_key = %s\nmax_connections = %d" % (
            cert, key, max_connections))
        self.token = syncd_util.new_token(self.site)
        self.follow_token = syncd_util.new_token(self.site, "--follow")
        self.url = "https://127.0.0.1:%d" % self.site.port
        self.scim = TlsClient(self.url + "/scim/v2", self.token, self.ca.path)
        self.feed = TlsClient(self.url + "/feed/v1", self.follow_token, self.ca.path)
        self.log_path = os.path.join(self.site.dir, "hub.log")
        self.proc = None
        self.start()

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = self.procs.start(syncd_util.syncd_argv(self.site), stdout=log, stderr=subprocess.STDOUT)
        harness.wait_for_port(self.site.port, self.proc)

    def stop(self, sig=signal.SIGTERM):
        return self.procs.stop(self.proc, sig)

    def logs(self):
        return syncd_util.read_log(self.log_path)

    def create_user(self, upn, **kw):
        status, _h, body, raw = self.scim.post("/Users", harness.entra_user(upn, **kw))
        assert status == 201, raw
        return body["id"]

    def create_group(self, name, object_id, members=()):
        status, _h, body, raw = self.scim.post("/Groups", harness.entra_group(name, object_id, members))
        assert status == 201, raw
        return body["id"]

    def cleanup(self):
        self.site.cleanup()


FOLLOW_SECTION = """\
[follow]
hub = {hubs}
token_file = {token_file}
ca_file = {ca_file}
wait = {wait}
max_silence = {max_silence}
"""


class Follower:
    """entra-syncd as a follower of HUB for host HOST, in its own directory."""

    def __init__(self, procs, hub, host, hubs=None, wait=20, max_silence=60, start=True):
        self.procs = procs
        self.hub = hub
        self.site = harness.Site(host=host)
        self.token_file = os.path.join(self.site.etc, "follow.token")
        with open(self.token_file, "w") as f:
            f.write(hub.follow_token + "\n")
        os.chmod(self.token_file, 0o600)
        follow = FOLLOW_SECTION.format(hubs=", ".join(hubs or [hub.url]), token_file=self.token_file,
                                       ca_file=hub.ca.path, wait=wait, max_silence=max_silence)
        self.site.write_config(policy=follow)
        self.log_path = os.path.join(self.site.dir, "follower.log")
        self.proc = None
        if start:
            self.start()

    def start(self):
        with open(self.log_path, "ab") as log:
            self.proc = self.procs.start(syncd_util.syncd_argv(self.site), stdout=log, stderr=subprocess.STDOUT)

    def stop(self, sig=signal.SIGTERM):
        return self.procs.stop(self.proc, sig)

    def logs(self):
        return syncd_util.read_log(self.log_path)

    def cache_rows(self, sql, args=()):
        import sqlite3
        try:
            con = sqlite3.connect("file:%s?mode=ro" % self.site.cache_db, uri=True)
        except sqlite3.Error:
            return None
        try:
            return con.execute(sql, args).fetchall()
        except sqlite3.Error:
            return None
        finally:
            con.close()

    def wait_for(self, predicate, timeout=15.0, what="the expected state"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return time.monotonic()
            time.sleep(0.05)
        raise AssertionError("follower %s never reached %s; its log:\n%s" % (self.site.values["host"], what,
                                                                            self.logs()[-3000:]))

    def cleanup(self):
        self.site.cleanup()


NGINX_CONF = """\
worker_processes 1;
user root;
error_log {dir}/error.log info;
pid {dir}/nginx.pid;
events {{ worker_connections 512; }}
http {{
    log_format feed '$request_uri $status $upstream_cache_status';
    access_log {dir}/access.log feed;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    proxy_cache_path {dir}/cache keys_zone=entra_feed:1m max_size=64m inactive=1h;
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location /feed/v1/ {{
            auth_request /feed-auth;
            proxy_pass {hub};
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate {ca};
            proxy_cache entra_feed;
            proxy_cache_key $request_uri;
            proxy_cache_lock on;
            proxy_cache_lock_age 1s;
            proxy_cache_lock_timeout 70s;
            proxy_read_timeout 70s;
        }}
        location = /feed-auth {{
            internal;
            proxy_pass {hub}/feed/v1/auth;
            proxy_ssl_verify on;
            proxy_ssl_trusted_certificate {ca};
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
        }}
    }}
}}
"""


class Nginx:
    """Debian's nginx with TLS on loopback, caching the hub's feed in front of it."""

    def __init__(self, procs, hub, directory):
        self.dir = os.path.join(directory, "nginx")
        os.makedirs(self.dir)
        self.port = harness.free_port()
        cert, key, _der = hub.ca.issue("nginx")
        self.conf = os.path.join(self.dir, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(NGINX_CONF.format(dir=self.dir, port=self.port, cert=cert, key=key, hub=hub.url, ca=hub.ca.path))
        self.url = "https://127.0.0.1:%d" % self.port
        self.proc = procs.start(["/usr/sbin/nginx", "-p", self.dir, "-c", self.conf, "-g", "daemon off;"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        harness.wait_for_port(self.port, self.proc)

    def access_log(self):
        with open(os.path.join(self.dir, "access.log")) as f:
            return f.read().splitlines()
