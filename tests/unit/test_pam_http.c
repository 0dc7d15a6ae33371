/* pam_entra's HTTP client without a network: the https URL parser, the HTTP/1.1 response parser
 * (every input also fed byte by byte, the way a slow TLS stream delivers it) and the
 * SIGPIPE-free socket BIO. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include "authd/http.h"
#include "authd/http_parse.h"
#include "authd/http_url.h"
#include "authd/ssl_lib.h"
#include "authd/tls_bio.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- URLs -------------------------------------------------------------------------------- */

static void url_ok(const char *url, const char *host, unsigned port, const char *target, bool ip)
{
	struct pe_url u;
	char err[256] = "";
	assert_int_equal(pe_url_parse(url, &u, err, sizeof(err)), 0);
	assert_string_equal(u.host, host);
	assert_int_equal(u.port, port);
	assert_int_equal(u.target_len, strlen(target));
	assert_memory_equal(u.target, target, strlen(target));
	assert_int_equal(u.ip_literal, ip);
}

static void url_bad(const char *url, const char *why)
{
	struct pe_url u;
	char err[256] = "";
	assert_int_equal(pe_url_parse(url, &u, err, sizeof(err)), -1);
	assert_non_null(strstr(err, why));
}

static void test_url_accepted(void **state)
{
	(void)state;
	url_ok("https://login.microsoftonline.com/t/oauth2/v2.0/token", "login.microsoftonline.com", 443,
	       "/t/oauth2/v2.0/token", false);
	url_ok("https://127.0.0.1:8443/a?b=c", "127.0.0.1", 8443, "/a?b=c", true);
	url_ok("HTTPS://Example.COM", "Example.COM", 443, "/", false);
	url_ok("https://[::1]:9/x", "::1", 9, "/x", true);
	url_ok("https://[2001:db8::1]/", "2001:db8::1", 443, "/", true);
	url_ok("https://h/p#frag", "h", 443, "/p", false);
	url_ok("https://h:65535/", "h", 65535, "/", false);
}

static void test_url_refused(void **state)
{
	(void)state;
	url_bad("http://login.microsoftonline.com/", "only https");
	url_bad("ftp://h/", "only https");
	url_bad("https://user:pw@h/", "user names or passwords");
	url_bad("https://evil.com@h/", "user names or passwords");
	url_bad("https://h/a b", "spaces or control");
	url_bad("https://h/a\r\nHost: x", "spaces or control");
	url_bad("https://h/\x7f", "spaces or control");
	url_bad("https://h/\xc3\xa9", "spaces or control");
	url_bad("https://h:0/", "bad host or port");
	url_bad("https://h:65536/", "bad host or port");
	url_bad("https://h:44a/", "bad host or port");
	url_bad("https://h:/", "bad host or port");
	url_bad("https:///x", "bad host or port");
	url_bad("https://[::1/", "bad host or port");
	url_bad("https://[::1]x/", "bad host or port");
	url_bad("https://[not-ip]/", "bad host or port");
	url_bad("https://a..b/", "bad host or port");
	url_bad("https://a%2fb/", "bad host or port");
	url_bad("https://h?q", "query without a path");
	char long_url[PE_URL_MAX + 64];
	memset(long_url, 'a', sizeof(long_url) - 1);
	long_url[sizeof(long_url) - 1] = '\0';
	memcpy(long_url, "https://h/", 10);
	url_bad(long_url, "longer than");
}

static void test_url_authority(void **state)
{
	(void)state;
	struct pe_url u;
	char err[64], buf[300];
	assert_int_equal(pe_url_parse("https://[::1]:8443/", &u, err, sizeof(err)), 0);
	pe_url_authority(&u, buf, sizeof(buf));
	assert_string_equal(buf, "[::1]:8443");
	assert_int_equal(pe_url_parse("https://h/", &u, err, sizeof(err)), 0);
	pe_url_authority(&u, buf, sizeof(buf));
	assert_string_equal(buf, "h:443");
}

/* ---- responses --------------------------------------------------------------------------- */

struct parsed {
	int rc;
	long status;
	bool keep_alive;
	char *body;
	size_t len, used;
	char error[160];
};

/* Feeds TEXT in pieces of STEP bytes (0: all at once), then EOF when CLOSE and still unfinished. */
static struct parsed parse_in_steps(const char *text, size_t len, size_t step, size_t max_body, bool close)
{
	struct pe_http_parser *p = malloc(sizeof(*p));
	struct parsed r = {0};
	assert_non_null(p);
	pe_http_parser_init(p, max_body);
	size_t off = 0;
	int rc = 0;
	while (rc == 0 && off < len) {
		size_t n = step && len - off > step ? step : len - off, used = 0;
		rc = pe_http_parser_feed(p, text + off, n, &used);
		assert_true(used <= n);
		off += used;
		if (rc == 0)
			assert_int_equal(used, n);
	}
	if (rc == 0 && close)
		rc = pe_http_parser_eof(p);
	r.rc = rc;
	r.used = off;
	r.status = p->status;
	r.keep_alive = p->keep_alive;
	snprintf(r.error, sizeof(r.error), "%s", p->error);
	if (rc == 1)
		r.body = pe_http_parser_take_body(p, &r.len);
	pe_http_parser_free(p);
	free(p);
	return r;
}

/* Parses TEXT whole and byte by byte; both must agree; returns the whole-input result. */
static struct parsed parse(const char *text, size_t max_body, bool close)
{
	size_t len = strlen(text);
	struct parsed whole = parse_in_steps(text, len, 0, max_body, close);
	struct parsed bytes = parse_in_steps(text, len, 1, max_body, close);
	struct parsed sevens = parse_in_steps(text, len, 7, max_body, close);
	assert_int_equal(whole.rc, bytes.rc);
	assert_int_equal(whole.rc, sevens.rc);
	assert_string_equal(whole.error, bytes.error);
	if (whole.rc == 1) {
		assert_int_equal(whole.status, bytes.status);
		assert_int_equal(whole.keep_alive, bytes.keep_alive);
		assert_int_equal(whole.len, bytes.len);
		assert_int_equal(whole.used, bytes.used);
		assert_memory_equal(whole.body, bytes.body, whole.len);
		assert_memory_equal(whole.body, sevens.body, whole.len);
		assert_int_equal(whole.body[whole.len], '\0');
	}
	free(bytes.body);
	free(sevens.body);
	return whole;
}

static void expect_body(const char *text, long status, const char *body, bool keep_alive, bool close)
{
	struct parsed r = parse(text, PE_HTTP_MAX_RESPONSE, close);
	assert_int_equal(r.rc, 1);
	assert_int_equal(r.status, status);
	assert_int_equal(r.len, strlen(body));
	assert_string_equal(r.body, body);
	assert_int_equal(r.keep_alive, keep_alive);
	free(r.body);
}

static void expect_error(const char *text, size_t max_body, const char *why)
{
	struct parsed r = parse(text, max_body, true);
	assert_int_equal(r.rc, -1);
	if (!strstr(r.error, why))
		fail_msg("error \"%s\" lacks \"%s\"", r.error, why);
}

static void test_content_length(void **state)
{
	(void)state;
	expect_body("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 7\r\n\r\n{\"a\":1}", 200,
	            "{\"a\":1}", true, false);
	expect_body("HTTP/1.1 400 Bad Request\r\ncontent-length:  2 \r\n\r\n{}", 400, "{}", true, false);
	expect_body("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok", 200, "ok", true, false);
	expect_body("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 200, "", true, false);
	expect_body("HTTP/1.1 204 No Content\r\n\r\n", 204, "", true, false);
	expect_body("HTTP/1.1 200 OK\nContent-Length: 2\n\nok", 200, "ok", true, false); /* bare LF */
	expect_body("\r\nHTTP/1.1 200\r\nContent-Length: 2\r\n\r\nok", 200, "ok", true, false);
	expect_body("HTTP/1.1 302 Found\r\nLocation: https://evil/\r\nContent-Length: 0\r\n\r\n", 302, "", true, false);
}

static void test_connection_close_and_http10(void **state)
{
	(void)state;
	expect_body("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok", 200, "ok", false, false);
	expect_body("HTTP/1.1 200 OK\r\nConnection: keep-alive, Close\r\nContent-Length: 2\r\n\r\nok", 200, "ok", false,
	            false);
	expect_body("HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", 200, "ok", false, false);
	/* no length: the body runs to the end of the connection */
	expect_body("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nread to close", 200, "read to close", false,
	            true);
	expect_body("HTTP/1.1 200 OK\r\n\r\n", 200, "", false, true);
}

static void test_chunked(void **state)
{
	(void)state;
	expect_body("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n"
	            "\r\nchunks.\r\n0\r\n\r\n",
	            200, "Wikipedia in\r\n\r\nchunks.", true, false);
	/* extensions, upper-case hex, trailers */
	expect_body("HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n1A;name=value;x\r\nabcdefghijklmnopqrstuvwxyz"
	            "\r\n2 ; ext\r\n!!\r\n0;last\r\nX-Trailer: 1\r\nX-Other: two\r\n\r\n",
	            200, "abcdefghijklmnopqrstuvwxyz!!", true, false);
	/* Content-Length next to chunked: chunked wins and the connection is not reused */
	expect_body("HTTP/1.1 200 OK\r\nContent-Length: 99\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
	            200, "ok", false, false);
}

static void test_interim_responses_skipped(void **state)
{
	(void)state;
	expect_body("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"
	            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
	            200, "ok", true, false);
	expect_error("HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\n\r\n", 100, "protocol switch");
}

static void test_bytes_after_the_response_left_alone(void **state)
{
	(void)state;
	const char *text = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n";
	struct parsed r = parse_in_steps(text, strlen(text), 0, 100, false);
	assert_int_equal(r.rc, 1);
	assert_int_equal(r.used, strlen("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
	free(r.body);
}

static void test_malformed(void **state)
{
	(void)state;
	expect_error("HTTP/2 200 OK\r\n\r\n", 100, "status line");
	expect_error("HTTP/1.1 20 OK\r\n\r\n", 100, "status line");
	expect_error("HTTP/1.1 200OK\r\n\r\n", 100, "status line");
	expect_error("HTTP/1.1 600 Odd\r\n\r\n", 100, "status line");
	expect_error("ICY 200 OK\r\n\r\n", 100, "status line");
	expect_error("HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n", 100, "header line");
	expect_error("HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n", 100, "header name");
	expect_error("HTTP/1.1 200 OK\r\nA: b\r\n folded\r\n\r\n", 100, "folded");
	expect_error("HTTP/1.1 200 OK\r\nA: b\x01\r\n\r\n", 100, "control character");
	expect_error("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 100, "malformed Content-Length");
	expect_error("HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\nhello", 100, "malformed Content-Length");
	expect_error("HTTP/1.1 200 OK\r\nContent-Length: 5, 5\r\n\r\nhello", 100, "malformed Content-Length");
	expect_error("HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", 100, "malformed Content-Length");
	expect_error("HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n", 100, "out of range");
	expect_error("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", 100,
	             "two different Content-Length");
	expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 100, "unsupported");
	expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", 100, "twice");
	expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 100, "malformed chunk size");
	expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n", 100, "malformed chunk size");
	expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\r\n", 100, "malformed chunk size");
	expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4x\r\n", 100, "malformed chunk size");
	expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n11111111111111111\r\n", 100, "out of range");
	expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n", 100,
	             "longer than its size");
}

static void test_truncated(void **state)
{
	(void)state;
	expect_error("", 100, "before any response");
	expect_error("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc", 100, "in the middle of the response");
	expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 100, "in the middle");
	expect_error("HTTP/1.1 200 OK\r\nContent-Le", 100, "in the middle");
}

static void test_limits(void **state)
{
	(void)state;
	expect_error("HTTP/1.1 200 OK\r\nContent-Length: 101\r\n\r\n", 100, "response larger than 100 bytes");
	expect_error("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n50\r\n", 79, "larger than 79 bytes");
	/* chunks that add up past the limit */
	char chunked[2048] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
	for (int i = 0; i < 11; i++)
		strcat(chunked, "a\r\n0123456789\r\n");
	expect_error(chunked, 100, "larger than 100 bytes");
	/* read-to-close body past the limit */
	char close_body[400] = "HTTP/1.0 200 OK\r\n\r\n";
	memset(close_body + strlen(close_body), 'x', 150);
	expect_error(close_body, 100, "larger than 100 bytes");
	/* exactly at the limit passes */
	char at_limit[300] = "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n";
	memset(at_limit + strlen(at_limit), 'y', 100);
	struct parsed r = parse(at_limit, 100, false);
	assert_int_equal(r.rc, 1);
	assert_int_equal(r.len, 100);
	free(r.body);
	/* a header block past 16 KiB, and an endless trailer section */
	size_t big = 2 * PE_HTTP_MAX_HEADER;
	char *huge = malloc(big + 1);
	assert_non_null(huge);
	strcpy(huge, "HTTP/1.1 200 OK\r\nX-Pad: ");
	memset(huge + strlen(huge), 'p', big - strlen(huge));
	huge[big] = '\0';
	expect_error(huge, 100, "header block larger than 16384 bytes");
	strcpy(huge, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n");
	for (size_t n = strlen(huge); n + 13 < big; n += 12)
		strcat(huge + n, "X-T: 12345\r\n");
	expect_error(huge, 100, "trailers larger than");
	strcpy(huge, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;");
	memset(huge + strlen(huge), 'e', 2000);
	huge[strlen("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1;") + 2000] = '\0';
	expect_error(huge, 100, "framing line longer than");
	free(huge);
}

/* ---- transport --------------------------------------------------------------------------- */

/* Writing through the module's socket BIO to a reset peer fails with EPIPE instead of raising
 * SIGPIPE (whose default action would kill this test, as it would kill sshd or sudo). */
static void test_socket_bio_no_sigpipe(void **state)
{
	(void)state;
	int sv[2];
	char err[256];
	assert_non_null(pe_ssl_lib(err, sizeof(err)));
	assert_ptr_equal(signal(SIGPIPE, SIG_DFL), signal(SIGPIPE, SIG_DFL));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
	close(sv[1]);
	const struct pe_ssl_lib *lib = pe_ssl_lib(err, sizeof(err));
	BIO_METHOD *m = pe_tls_bio_method_new(lib);
	assert_non_null(m);
	BIO *b = pe_tls_socket_bio(lib, m, sv[0]);
	assert_non_null(b);
	assert_int_equal(lib->BIO_write(b, "hello", 5), -1);
	assert_int_equal(lib->BIO_write(b, "again", 5), -1);
	char buf[8];
	assert_int_equal(lib->BIO_read(b, buf, sizeof(buf)), 0); /* EOF */
	lib->BIO_free(b);
	pe_tls_bio_method_free(lib, m);
	close(sv[0]);
}

static void test_non_https_refused_before_any_connection(void **state)
{
	(void)state;
	struct pe_http_opts opts = {.timeout_ms = 1000};
	struct pe_http_response resp;
	char err[256];
	assert_int_equal(pe_http_get(&opts, "http://127.0.0.1:1/", &resp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "only https"));
	assert_null(resp.body);
}

static void test_refused_connection_named(void **state)
{
	(void)state;
	struct pe_http_share share = {0};
	struct pe_http_opts opts = {.timeout_ms = 2000, .share = &share};
	struct pe_http_response resp;
	char err[256];
	int fd = socket(AF_INET, SOCK_STREAM, 0); /* a port nobody listens on: bound, never listening */
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
	char url[64];
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/x", ntohs(a.sin_port));
	assert_int_equal(pe_http_get(&opts, url, &resp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, url));
	assert_non_null(strstr(err, "cannot connect to 127.0.0.1:"));
	pe_http_share_release(&share);
	close(fd);
}

static void test_ca_file_errors(void **state)
{
	(void)state;
	struct pe_http_opts opts = {.timeout_ms = 1000, .ca_file = "/nonexistent/ca.pem"};
	struct pe_http_response resp;
	char err[256];
	assert_int_equal(pe_http_get(&opts, "https://127.0.0.1:1/", &resp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open [entra] ca_file /nonexistent/ca.pem"));
	char path[] = "/tmp/test_pam_http_ca_XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "not a certificate\n", 18), 18);
	close(fd);
	opts.ca_file = path;
	assert_int_equal(pe_http_get(&opts, "https://127.0.0.1:1/", &resp, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "holds no usable PEM certificate"));
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_url_accepted),
	    cmocka_unit_test(test_url_refused),
	    cmocka_unit_test(test_url_authority),
	    cmocka_unit_test(test_content_length),
	    cmocka_unit_test(test_connection_close_and_http10),
	    cmocka_unit_test(test_chunked),
	    cmocka_unit_test(test_interim_responses_skipped),
	    cmocka_unit_test(test_bytes_after_the_response_left_alone),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_socket_bio_no_sigpipe),
	    cmocka_unit_test(test_non_https_refused_before_any_connection),
	    cmocka_unit_test(test_refused_connection_named),
	    cmocka_unit_test(test_ca_file_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
