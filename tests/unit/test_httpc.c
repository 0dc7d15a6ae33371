/* httpc: what the client refuses before any request, and the messages of failed requests (a
 * closed port, a silent server, a proxy that is down or refuses the tunnel), against loopback
 * sockets of the test's own. Whole sign-ins through a real proxy: test_authd_proxy.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include "common/clock.h"
#include "httpc/httpc.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SYSTEM_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

static struct httpc_client *client_new(const char *proxy, const char *ca_file, char *err, size_t errlen)
{
	struct httpc_settings s = {.proxy = proxy, .ca_file = ca_file};
	return httpc_client_new(&s, err, errlen);
}

/* A TCP socket on 127.0.0.1 (*PORT), listening (BACKLOG > 0) or closed again (a port nothing
 * listens on: -1 returned). */
static int loopback_socket(int backlog, unsigned *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	if (backlog > 0) {
		assert_int_equal(listen(fd, backlog), 0);
		return fd;
	}
	close(fd);
	return -1;
}

static int get(struct httpc_client *c, const char *url, long timeout_ms, char *err, size_t errlen)
{
	struct httpc_opts o = {.client = c, .timeout_ms = timeout_ms};
	struct httpc_response r;
	int rc = httpc_get(&o, url, &r, err, errlen);
	httpc_response_free(&r);
	return rc;
}

static void refuses_other_schemes(void **state)
{
	char err[512] = "";
	struct httpc_client *c = client_new(NULL, NULL, err, sizeof(err));
	assert_non_null(c);
	assert_null(httpc_client_proxy(c));
	assert_int_equal(get(c, "http://127.0.0.1:9/", 2000, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "only https URLs are allowed"));
	assert_int_equal(get(c, "file:///etc/passwd", 2000, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "only https URLs are allowed"));
	struct httpc_opts o = {.client = c, .timeout_ms = 2000};
	struct httpc_response r;
	const char *fields[] = {"a", "b c&d", NULL};
	assert_int_equal(httpc_post_form(&o, "ftp://127.0.0.1/", fields, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "only https URLs are allowed"));
	o.client = NULL;
	assert_int_equal(httpc_get(&o, "https://127.0.0.1:9/", &r, err, sizeof(err)), -1);
	httpc_client_free(c);
}

/* A proxy is an http(s) URL with host and port; messages never quote the value (a password). */
static void proxy_settings_checked(void **state)
{
	static const struct {
		const char *url, *error;
	} bad[] = {
	    {"socks5://user:secret@127.0.0.1:1080", "is not an http:// or https:// URL"},
	    {"ftp://user:secret@127.0.0.1:21", "is not an http:// or https:// URL"},
	    {"proxy.example:3128", "is not an http:// or https:// URL"},
	    {"http://user:secret@proxy.example", "names no port"},
	    {"http://user:secret@proxy.example:3128/path", "takes no path"},
	    {"http://user:secret@proxy.example:3128/?q=1", "takes no path"},
	};
	char err[512];
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_null(client_new(bad[i].url, NULL, err, sizeof(err)));
		if (!strstr(err, bad[i].error) || strstr(err, "secret"))
			fail_msg("%s: %s", bad[i].url, err);
	}
	struct httpc_client *c = client_new("http://user:secret@127.0.0.1:3128", NULL, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(httpc_client_proxy(c), "127.0.0.1:3128");
	httpc_client_free(c);
	assert_non_null(c = client_new("HTTPS://[::1]:8443/", NULL, err, sizeof(err)));
	assert_string_equal(httpc_client_proxy(c), "[::1]:8443");
	httpc_client_free(c);
}

static void ca_file_checked(void **state)
{
	char err[512] = "", empty[] = "/tmp/test_httpc_empty_XXXXXX", text[] = "/tmp/test_httpc_text_XXXXXX";
	int e = mkstemp(empty), t = mkstemp(text);
	assert_true(e >= 0 && t >= 0);
	assert_int_equal(write(t, "not a certificate\n", 18), 18);
	assert_null(client_new(NULL, "/nonexistent/ca.pem", err, sizeof(err)));
	assert_non_null(strstr(err, "cannot open [entra] ca_file /nonexistent/ca.pem"));
	assert_null(client_new(NULL, empty, err, sizeof(err)));
	assert_non_null(strstr(err, "is not a PEM file of 1 to"));
	assert_null(client_new(NULL, text, err, sizeof(err)));
	assert_non_null(strstr(err, "holds no usable PEM certificate"));
	assert_null(client_new(NULL, "/tmp", err, sizeof(err))); /* a directory */
	close(e), close(t), unlink(empty), unlink(text);
	if (access(SYSTEM_BUNDLE, R_OK) == 0) {
		struct httpc_client *c = client_new(NULL, SYSTEM_BUNDLE, err, sizeof(err));
		assert_non_null(c);
		httpc_client_free(c);
	}
}

static void closed_port_named(void **state)
{
	char err[512] = "", url[64];
	unsigned port;
	loopback_socket(0, &port);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/x", port);
	struct httpc_client *c = client_new(NULL, NULL, err, sizeof(err));
	assert_int_equal(get(c, url, 5000, err, sizeof(err)), -1);
	if (!strstr(err, url) || !strstr(err, "cannot connect to 127.0.0.1"))
		fail_msg("%s", err);
	httpc_client_free(c);
}

/* A server that accepts (the kernel does) but never speaks: the request's deadline ends it. */
static void deadline_ends_a_silent_server(void **state)
{
	char err[512] = "", url[64];
	unsigned port;
	int fd = loopback_socket(4, &port);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/", port);
	struct httpc_client *c = client_new(NULL, NULL, err, sizeof(err));
	long long started = entra_now_ms();
	assert_int_equal(get(c, url, 300, err, sizeof(err)), -1);
	long long took = entra_now_ms() - started;
	if (!strstr(err, "timed out") || took < 250 || took > 3000)
		fail_msg("%lld ms: %s", took, err);
	httpc_client_free(c);
	close(fd);
}

static void proxy_down_named(void **state)
{
	char err[512] = "", proxy[96], name[64];
	unsigned port;
	loopback_socket(0, &port);
	snprintf(proxy, sizeof(proxy), "http://user:secret@127.0.0.1:%u", port);
	snprintf(name, sizeof(name), "cannot connect to the proxy 127.0.0.1:%u", port);
	struct httpc_client *c = client_new(proxy, NULL, err, sizeof(err));
	assert_non_null(c);
	assert_int_equal(
	    get(c, "https://login.example.invalid/t/v2.0/.well-known/openid-configuration", 5000, err, sizeof(err)),
	    -1);
	if (!strstr(err, name) || strstr(err, "secret"))
		fail_msg("%s", err);
	httpc_client_free(c);
}

/* A proxy that answers every CONNECT with ANSWER and closes. */
struct fake_proxy {
	int fd;
	const char *answer;
	char request[2048];
};

static void *fake_proxy_serve(void *arg)
{
	struct fake_proxy *p = arg;
	int conn = accept(p->fd, NULL, NULL);
	size_t got = 0;
	while (conn >= 0 && got < sizeof(p->request) - 1 && !strstr(p->request, "\r\n\r\n")) {
		ssize_t n = read(conn, p->request + got, sizeof(p->request) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		p->request[got] = '\0';
	}
	if (conn >= 0) {
		ssize_t w = write(conn, p->answer, strlen(p->answer));
		(void)w;
		close(conn);
	}
	return NULL;
}

static void through_fake_proxy(const char *answer, const char *expect)
{
	struct fake_proxy p = {.answer = answer};
	char err[512] = "", proxy[96], want[160];
	unsigned port;
	pthread_t t;
	p.fd = loopback_socket(4, &port);
	snprintf(proxy, sizeof(proxy), "http://user:secret@127.0.0.1:%u", port);
	assert_int_equal(pthread_create(&t, NULL, fake_proxy_serve, &p), 0);
	struct httpc_client *c = client_new(proxy, NULL, err, sizeof(err));
	assert_int_equal(get(c, "https://login.example.test/x", 5000, err, sizeof(err)), -1);
	pthread_join(t, NULL);
	close(p.fd);
	httpc_client_free(c);
	assert_non_null(strstr(p.request, "CONNECT login.example.test:443 HTTP/1.1\r\n"));
	assert_non_null(strstr(p.request, "Proxy-Authorization: Basic ")); /* the URL's credentials */
	snprintf(want, sizeof(want), "the proxy 127.0.0.1:%u refused the tunnel to login.example.test: %s", port,
	         expect);
	if (!strstr(err, want) || strstr(err, "secret"))
		fail_msg("%s", err);
}

static void proxy_refusal_named(void **state)
{
	through_fake_proxy("HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
	                   "HTTP 403 to CONNECT");
	through_fake_proxy("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\n"
	                   "Content-Length: 0\r\nConnection: close\r\n\r\n",
	                   "HTTP 407 (proxy authentication required); check the user and password");
}

int main(void)
{
	char err[256];
	if (httpc_global_init(err, sizeof(err)))
		return fprintf(stderr, "%s\n", err), 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(refuses_other_schemes),
	    cmocka_unit_test(proxy_settings_checked),
	    cmocka_unit_test(ca_file_checked),
	    cmocka_unit_test(closed_port_named),
	    cmocka_unit_test(deadline_ends_a_silent_server),
	    cmocka_unit_test(proxy_down_named),
	    cmocka_unit_test(proxy_refusal_named),
	};
	int rc = cmocka_run_group_tests_name("httpc", tests, NULL, NULL);
	httpc_global_cleanup();
	return rc;
}
