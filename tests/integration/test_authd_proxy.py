"""entra-authd through [entra] proxy: a real forward proxy on loopback (Debian's tinyproxy) that
sees only CONNECT (TLS runs end to end inside the tunnel), credentials in the proxy URL, a proxy
that refuses the tunnel or is down (the sign-in is unavailable and the broker's log names the
proxy, never its password), and the environment's proxy variables, which the broker never reads:
the config key is the one source. doctor through the proxy: test_doctor.py."""

import os
import re

import pytest

from pam_util import alice, idp, site  # noqa: F401  (shared pytest fixtures)
from proxy_util import TlsConnectProxy, Tinyproxy

pytestmark = pytest.mark.needs_root

UNAVAILABLE = "Authentication service cannot retrieve authentication info"
DEAD_PROXY = "http://127.0.0.1:9"  # discard: nothing listens there on a test host


def use_proxy(site, idp, proxy_url):
    site.site.write_config(ca_line="ca_file = %s\nproxy = %s" % (idp.ca, proxy_url))


def sign_in(idp, site, alice, **behaviour):
    idp.script(user=alice[1], **behaviour)
    return site.pamtester("alice")


def test_sign_in_through_the_proxy(procs, tmp_path, idp, site, alice):
    proxy = Tinyproxy(procs, str(tmp_path / "proxy"))
    use_proxy(site, idp, proxy.url)
    r = sign_in(idp, site, alice, pending=1)
    assert r.returncode == 0 and "successfully authenticated" in r.text, r.text
    assert "HTTPS through the proxy %s" % proxy.name in site.broker.logs()
    assert proxy.connects() == ["CONNECT 127.0.0.1:%d HTTP/1.1" % idp.port], proxy.log()
    assert " GET " not in proxy.log() and " POST " not in proxy.log()  # the requests stay inside TLS
    assert [q["path"].rsplit("/", 1)[1] for q in idp.requests() if "oauth2" in q["path"]] == \
        ["devicecode", "token", "token"]
    r = sign_in(idp, site, alice)
    assert r.returncode == 0, r.text
    assert len(proxy.connects()) == 1, "the tunnel was not kept warm for the next sign-in: %s" % proxy.log()


def test_proxy_credentials_from_the_url(procs, tmp_path, idp, site, alice):
    proxy = Tinyproxy(procs, str(tmp_path / "proxy"), basic_auth=("entra", "pr0xy-s3cret"))
    use_proxy(site, idp, proxy.with_credentials("entra", "pr0xy-s3cret"))
    r = sign_in(idp, site, alice)
    assert r.returncode == 0 and "successfully authenticated" in r.text, r.text
    use_proxy(site, idp, proxy.with_credentials("entra", "wr0ng-s3cret"))
    r = sign_in(idp, site, alice)
    assert r.returncode != 0 and UNAVAILABLE in r.text, r.text
    # tinyproxy answers 401 where RFC 9110 says 407: either is an authentication failure.
    assert re.search(r"the proxy %s refused the tunnel to 127\.0\.0\.1: HTTP 40[17] \(proxy authentication "
                     r"required\)" % re.escape(proxy.name), r.stderr), r.stderr
    assert "check the user and password in [entra] proxy" in r.stderr
    logs = site.broker.logs() + r.text
    assert "s3cret" not in logs, "a proxy password reached a log"


def test_a_refusing_proxy_fails_the_sign_in_naming_the_proxy(procs, tmp_path, idp, site, alice):
    proxy = Tinyproxy(procs, str(tmp_path / "proxy"), connect_ports=(443,))  # the IdP listens elsewhere
    use_proxy(site, idp, proxy.url)
    r = sign_in(idp, site, alice)
    assert r.returncode != 0 and UNAVAILABLE in r.text, r.text
    assert "the proxy %s refused the tunnel to 127.0.0.1: HTTP 403 to CONNECT" % proxy.name in r.stderr, r.stderr
    assert proxy.connects() == ["CONNECT 127.0.0.1:%d HTTP/1.1" % idp.port], proxy.log()
    assert idp.requests() == []


def test_a_proxy_that_is_down_fails_the_sign_in_naming_the_proxy(idp, site, alice):
    use_proxy(site, idp, "http://user:d0wn-s3cret@127.0.0.1:9")
    r = sign_in(idp, site, alice)
    assert r.returncode != 0 and UNAVAILABLE in r.text, r.text
    assert "cannot connect to the proxy 127.0.0.1:9" in r.stderr, r.stderr
    assert "d0wn-s3cret" not in site.broker.logs() + r.text
    assert idp.requests() == []


PROXY_VARIABLES = ("https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY", "http_proxy")


def test_proxy_variables_of_the_environment_are_ignored(idp, site, alice):
    """Without [entra] proxy the broker connects directly, whatever a unit's Environment= says."""
    site.broker_env = {name: DEAD_PROXY for name in PROXY_VARIABLES}
    r = sign_in(idp, site, alice)
    assert r.returncode == 0 and "successfully authenticated" in r.text, r.text
    assert "direct HTTPS (no [entra] proxy)" in site.broker.logs()


def test_no_proxy_of_the_environment_exempts_nothing(procs, tmp_path, idp, site, alice):
    """With [entra] proxy every request goes through it: no_proxy cannot route one around it, and
    https_proxy cannot send it to another proxy."""
    proxy = Tinyproxy(procs, str(tmp_path / "proxy"))
    use_proxy(site, idp, proxy.url)
    site.broker_env = dict({name: DEAD_PROXY for name in PROXY_VARIABLES}, no_proxy="*", NO_PROXY="127.0.0.1")
    r = sign_in(idp, site, alice)
    assert r.returncode == 0 and "successfully authenticated" in r.text, r.text
    assert proxy.connects() == ["CONNECT 127.0.0.1:%d HTTP/1.1" % idp.port], proxy.log()


def test_a_proxy_that_is_not_an_http_proxy_stops_the_broker(idp, site):
    """socks5:// (or a typing error) never becomes a way around the CONNECT proxy the admin
    meant: entra-authd refuses to start and says why."""
    use_proxy(site, idp, "socks5://127.0.0.1:1080")
    with pytest.raises(RuntimeError, match=r"\[entra\] proxy must be an http:// or https:// URL"):
        site.broker_ready()
    use_proxy(site, idp, "http://proxy.example")
    with pytest.raises(RuntimeError, match=r"cannot set up HTTPS: \[entra\] proxy names no port"):
        site.broker_ready()


def hosts_file(tmp_path, name):
    path = str(tmp_path / "hosts")
    with open(path, "w") as f:
        f.write("127.0.0.1 localhost %s\n::1 localhost ip6-localhost\n" % name)
    return path


def test_an_https_proxy_is_verified_like_the_authority(procs, tmp_path, idp, site, alice):
    """https:// makes the hop to the proxy TLS too: its certificate must chain to the system's
    anchors or ca_file (here the IdP's test CA, which also signed the proxy's) and name it."""
    proxy = TlsConnectProxy(procs, str(tmp_path / "proxy"), os.path.join(idp.dir, "server.pem"),
                            os.path.join(idp.dir, "server.key"))
    use_proxy(site, idp, "https://127.0.0.1:%d" % proxy.port)
    r = sign_in(idp, site, alice)
    assert r.returncode == 0 and "successfully authenticated" in r.text, r.text
    assert proxy.connects() == ["CONNECT 127.0.0.1:%d HTTP/1.1" % idp.port]
    site.site.write_config(ca_line="proxy = https://127.0.0.1:%d" % proxy.port)  # no ca_file
    r = sign_in(idp, site, alice)
    assert r.returncode != 0 and UNAVAILABLE in r.text, r.text
    assert "TLS certificate of the proxy 127.0.0.1:%d not trusted" % proxy.port in r.stderr, r.stderr
    site.broker_binds = [(hosts_file(tmp_path, "proxy.other.test"), "/etc/hosts")]
    use_proxy(site, idp, "https://proxy.other.test:%d" % proxy.port)
    r = sign_in(idp, site, alice)
    assert r.returncode != 0 and UNAVAILABLE in r.text, r.text
    assert "TLS certificate of the proxy proxy.other.test:%d is for another host name or address; check " \
           "[entra] proxy" % proxy.port in r.stderr, r.stderr
    assert len(proxy.connects()) == 1
