/* Unit tests for the listen address parser and the plain-HTTP-only-on-loopback policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h> /* needs the four headers above first */

#include <stdio.h>
#include <string.h>

#include "sync/http/http_listen.h"

static void parses_loopback_forms(void **state)
{
	struct http_listen l;
	char err[512] = "";
	assert_int_equal(http_listen_parse("127.0.0.1:9443", &l, err, sizeof(err)), 0);
	assert_true(l.loopback);
	assert_false(l.ipv6);
	assert_int_equal(l.port, 9443);
	assert_string_equal(l.text, "127.0.0.1:9443");
	assert_int_equal(http_listen_parse("127.10.0.3:1", &l, err, sizeof(err)), 0);
	assert_true(l.loopback);
	assert_int_equal(http_listen_parse("[::1]:65535", &l, err, sizeof(err)), 0);
	assert_true(l.loopback);
	assert_true(l.ipv6);
	assert_string_equal(l.text, "[::1]:65535");
	assert_int_equal(http_listen_parse("[::ffff:127.0.0.1]:80", &l, err, sizeof(err)), 0);
	assert_true(l.loopback);
	assert_int_equal(http_listen_parse("localhost:9443", &l, err, sizeof(err)), 0);
	assert_true(l.loopback);
	assert_string_equal(l.text, "127.0.0.1:9443");
}

static void non_loopback_addresses(void **state)
{
	struct http_listen l;
	char err[512] = "";
	const char *const addrs[] = {"0.0.0.0:443",       "[::]:443",    "192.0.2.1:443",
	                             "[2001:db8::1]:443", "128.0.0.1:1", "[::ffff:10.0.0.1]:1"};
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		assert_int_equal(http_listen_parse(addrs[i], &l, err, sizeof(err)), 0);
		assert_false(l.loopback);
	}
}

static void expect_bad(const char *listen, const char *needle)
{
	struct http_listen l;
	char err[512] = "";
	assert_int_equal(http_listen_parse(listen, &l, err, sizeof(err)), -1);
	if (!strstr(err, needle))
		fail_msg("'%s': error '%s' lacks '%s'", listen, err, needle);
}

static void malformed_addresses(void **state)
{
	expect_bad("", "listen is empty");
	expect_bad("127.0.0.1", "expected HOST:PORT");
	expect_bad(":9443", "expected HOST:PORT");
	expect_bad("127.0.0.1:0", "port must be a number from 1 to 65535");
	expect_bad("127.0.0.1:65536", "port");
	expect_bad("127.0.0.1:+80", "port");
	expect_bad("127.0.0.1:80x", "port");
	expect_bad("::1:9443", "in brackets");
	expect_bad("[::1]9443", "[ADDRESS]:PORT");
	expect_bad("[127.0.0.1]:9443", "cannot resolve");
	expect_bad("[::1:9443", "[ADDRESS]:PORT");
}

static void policy_requires_tls_off_loopback(void **state)
{
	struct entra_config cfg;
	struct http_listen l;
	char err[512] = "";
	memset(&cfg, 0, sizeof(cfg));
	cfg.listen = "0.0.0.0:9443";
	assert_int_equal(http_listen_plan(&cfg, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not a loopback address"));
	assert_non_null(strstr(err, "tls_cert"));
	cfg.tls_cert = "/etc/entra/cert.pem";
	assert_int_equal(http_listen_plan(&cfg, &l, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "sets tls_cert but not tls_key"));
	cfg.tls_key = "/etc/entra/key.pem";
	assert_int_equal(http_listen_plan(&cfg, &l, err, sizeof(err)), 0);
	assert_true(l.tls);
	cfg.tls_cert = cfg.tls_key = NULL;
	cfg.listen = "127.0.0.1:9443";
	assert_int_equal(http_listen_plan(&cfg, &l, err, sizeof(err)), 0);
	assert_false(l.tls);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(parses_loopback_forms),
	    cmocka_unit_test(non_loopback_addresses),
	    cmocka_unit_test(malformed_addresses),
	    cmocka_unit_test(policy_requires_tls_off_loopback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
