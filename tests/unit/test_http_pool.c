/* pe_http_pool against a real in-process TLS server on loopback (OpenSSL, one thread per
 * connection, a self-signed certificate made at start-up that the pool trusts through ca_file):
 * connections reused across shares and threads, the idle limits, servers that close idle
 * connections or drop a request unanswered, and clean-up with idle connections left. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* cmocka needs the four headers above first */
#include <cmocka.h>

#include "authd/http.h"
#include "authd/http_pool.h"
#include "authd/http_url.h"
#include "authd/net_connect.h"
#include "authd/ssl_lib.h"
#include "authd/tls.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* cmocka's assertions jump back into the test's own thread: other threads check with this. */
#define check(cond)                                                                                                    \
	do {                                                                                                           \
		if (!(cond)) {                                                                                         \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);                       \
			abort();                                                                                       \
		}                                                                                                      \
	} while (0)

#define MAX_SERVER_CONNS 256
#define REQUEST_MAX      8192
#define TIMEOUT_MS       10000

/* ---- the test server --------------------------------------------------------------------- */

struct server {
	SSL_CTX *ctx;
	int listen_fd;
	unsigned port;
	char url[64]; /* https://127.0.0.1:PORT */
	pthread_t acceptor;
	atomic_bool stop;
	long idle_close_ms;   /* > 0: a connection idle this long is closed by the server */
	int drop_request;     /* > 0: that request (counted over all connections) is read, then its
	                       * connection closed unanswered */
	pthread_mutex_t lock; /* guards everything below */
	pthread_t threads[MAX_SERVER_CONNS];
	int accepted; /* TCP connections, also the id of the newest */
	int requests; /* requests read */
	int answered; /* responses sent */
	int closed_by_client;
};

struct server_conn {
	struct server *srv;
	int fd, id;
};

static char ca_path[64];     /* the server's certificate in PEM, the client's ca_file */
static EVP_PKEY *server_key; /* made once per run */
static X509 *server_cert;

static int counter_add(struct server *s, int *counter)
{
	pthread_mutex_lock(&s->lock);
	int v = ++*counter;
	pthread_mutex_unlock(&s->lock);
	return v;
}

static int counter_get(struct server *s, const int *counter)
{
	pthread_mutex_lock(&s->lock);
	int v = *counter;
	pthread_mutex_unlock(&s->lock);
	return v;
}

/* 1 readable, 0 idle past idle_close_ms or the server stopping. */
static int conn_wait_readable(struct server_conn *c, SSL *ssl)
{
	long waited = 0;
	while (!atomic_load(&c->srv->stop)) {
		if (SSL_pending(ssl) > 0)
			return 1;
		struct pollfd p = {.fd = c->fd, .events = POLLIN};
		if (poll(&p, 1, 20) > 0)
			return 1;
		waited += 20;
		if (c->srv->idle_close_ms > 0 && waited >= c->srv->idle_close_ms)
			return 0;
	}
	return 0;
}

#define SERVER_CLOSES (-2)

/* Reads one request (head and Content-Length body) into BUF. Its length, 0 the client closed,
 * SERVER_CLOSES (idle too long, or stopping), -1 anything else. */
static int request_read(struct server_conn *c, SSL *ssl, char *buf, size_t cap)
{
	size_t got = 0;
	for (;;) {
		char *end = memmem(buf, got, "\r\n\r\n", 4);
		if (end) {
			const char *cl = strcasestr(buf, "\r\nContent-Length: ");
			size_t body = cl && cl < end ? strtoul(cl + 18, NULL, 10) : 0,
			       need = (size_t)(end + 4 - buf) + body;
			if (need >= cap)
				return -1;
			if (got >= need)
				return buf[need] = '\0', (int)need;
		}
		if (got + 1 >= cap)
			return -1;
		if (got == 0 && !conn_wait_readable(c, ssl))
			return SERVER_CLOSES;
		int n = SSL_read(ssl, buf + got, (int)(cap - 1 - got));
		if (n <= 0)
			return got ? -1 : 0;
		got += (size_t)n;
		buf[got] = '\0';
	}
}

/* The answer names the connection and echoes the request line and body, so a client can tell
 * that it got the answer to its own request. */
static int respond(struct server_conn *c, SSL *ssl, const char *req)
{
	char body[REQUEST_MAX + 64], resp[REQUEST_MAX + 256];
	const char *line_end = strstr(req, "\r\n"), *form = strstr(req, "\r\n\r\n") + 4;
	int blen = snprintf(body, sizeof(body), "conn=%d %.*s %s", c->id, (int)(line_end - req), req, form);
	int n = snprintf(resp, sizeof(resp),
	                 "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s", blen, body);
	counter_add(c->srv, &c->srv->answered); /* before the client can see the answer and count */
	return SSL_write(ssl, resp, n) == n ? 0 : -1;
}

static void *conn_serve(void *arg)
{
	struct server_conn *c = arg;
	struct server *s = c->srv;
	char *req = malloc(REQUEST_MAX);
	SSL *ssl = SSL_new(s->ctx);
	check(req && ssl);
	SSL_set_fd(ssl, c->fd);
	for (int ok = SSL_accept(ssl) == 1; ok;) {
		int n = request_read(c, ssl, req, REQUEST_MAX);
		if (n == 0)
			counter_add(s, &s->closed_by_client);
		if (n == SERVER_CLOSES)
			SSL_shutdown(ssl); /* close_notify, as a web server closing an idle connection sends */
		if (n <= 0)
			break;
		ok = counter_add(s, &s->requests) != s->drop_request && respond(c, ssl, req) == 0;
	}
	SSL_free(ssl);
	close(c->fd);
	free(req);
	free(c);
	return NULL;
}

static void *server_accept_loop(void *arg)
{
	struct server *s = arg;
	for (;;) {
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			return NULL; /* shut down by server_stop */
		struct timeval tv = {.tv_sec = 10};
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)); /* a stuck handshake ends the test */
		int one = 1; /* the session tickets' and the answer's records leave at once, as from a web server */
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		struct server_conn *c = calloc(1, sizeof(*c));
		check(c);
		pthread_mutex_lock(&s->lock);
		check(s->accepted < MAX_SERVER_CONNS);
		*c = (struct server_conn){.srv = s, .fd = fd, .id = s->accepted + 1};
		check(pthread_create(&s->threads[s->accepted], NULL, conn_serve, c) == 0);
		s->accepted++;
		pthread_mutex_unlock(&s->lock);
	}
}

static struct server *server_start(long idle_close_ms, int drop_request)
{
	struct server *s = calloc(1, sizeof(*s));
	assert_non_null(s);
	s->idle_close_ms = idle_close_ms;
	s->drop_request = drop_request;
	pthread_mutex_init(&s->lock, NULL);
	assert_non_null(s->ctx = SSL_CTX_new(TLS_server_method()));
	assert_int_equal(SSL_CTX_use_certificate(s->ctx, server_cert), 1);
	assert_int_equal(SSL_CTX_use_PrivateKey(s->ctx, server_key), 1);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(s->listen_fd, 64), 0);
	assert_int_equal(getsockname(s->listen_fd, (struct sockaddr *)&a, &alen), 0);
	s->port = ntohs(a.sin_port);
	snprintf(s->url, sizeof(s->url), "https://127.0.0.1:%u", s->port);
	assert_int_equal(pthread_create(&s->acceptor, NULL, server_accept_loop, s), 0);
	return s;
}

static void server_stop(struct server *s)
{
	atomic_store(&s->stop, true);
	shutdown(s->listen_fd, SHUT_RDWR); /* accept() returns: the acceptor ends */
	pthread_join(s->acceptor, NULL);
	for (int i = 0; i < s->accepted; i++)
		pthread_join(s->threads[i], NULL);
	close(s->listen_fd);
	SSL_CTX_free(s->ctx);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Waits up to 3 s for *COUNTER to reach WANT (the server notices a close a moment later). */
static int counter_wait(struct server *s, const int *counter, int want)
{
	for (int i = 0; i < 300 && counter_get(s, counter) < want; i++)
		usleep(10000);
	return counter_get(s, counter);
}

/* ---- the certificate --------------------------------------------------------------------- */

static void cert_extension_add(X509 *cert, int nid, const char *value)
{
	X509V3_CTX ctx;
	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, cert, cert, NULL, NULL, 0);
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
	assert_non_null(ext);
	assert_int_equal(X509_add_ext(cert, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* A self-signed P-256 certificate for IP address 127.0.0.1, written to ca_path. */
static int cert_make(void **state)
{
	(void)state;
	char err[256];
	assert_non_null(pe_ssl_lib(err, sizeof(err))); /* libssl initialised the module's way first */
	assert_non_null(server_key = EVP_EC_gen("P-256"));
	assert_non_null(server_cert = X509_new());
	X509_set_version(server_cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(server_cert), 1);
	X509_gmtime_adj(X509_getm_notBefore(server_cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(server_cert), 3600);
	X509_NAME *name = X509_get_subject_name(server_cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)"pool test", -1, -1, 0);
	X509_set_issuer_name(server_cert, name);
	X509_set_pubkey(server_cert, server_key);
	cert_extension_add(server_cert, NID_basic_constraints, "critical,CA:TRUE");
	cert_extension_add(server_cert, NID_subject_alt_name, "IP:127.0.0.1");
	assert_true(X509_sign(server_cert, server_key, EVP_sha256()) > 0);
	snprintf(ca_path, sizeof(ca_path), "/tmp/test_http_pool_ca_XXXXXX");
	int fd = mkstemp(ca_path);
	FILE *f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, server_cert), 1);
	fclose(f);
	return 0;
}

static int cert_remove(void **state)
{
	(void)state;
	unlink(ca_path);
	X509_free(server_cert);
	EVP_PKEY_free(server_key);
	return 0;
}

/* ---- client helpers ---------------------------------------------------------------------- */

static struct pe_http_pool *pool_new(void)
{
	char err[256] = "";
	struct pe_http_pool *pool = pe_http_pool_new(ca_path, err, sizeof(err));
	if (!pool)
		fail_msg("pe_http_pool_new: %s", err);
	return pool;
}

/* One request to SRV's PATH through POOL from a share of its own (a sign-in of its own), POST
 * when FORM_VALUE is set; returns the id of the connection that answered (-1 on failure, with
 * the reason in ERR). The answer must echo this very request. */
static int pooled_request(struct pe_http_pool *pool, const struct server *srv, const char *path, const char *form_value,
                          char *err, size_t errlen)
{
	struct pe_http_share share = {.pool = pool};
	struct pe_http_opts opts = {.timeout_ms = TIMEOUT_MS, .share = &share};
	struct pe_http_response resp;
	const char *fields[] = {"code", form_value, NULL};
	char url[128], want[256];
	int conn_id = -1;
	snprintf(url, sizeof(url), "%s%s", srv->url, path);
	int rc = form_value ? pe_http_post_form(&opts, url, fields, &resp, err, errlen)
	                    : pe_http_get(&opts, url, &resp, err, errlen);
	snprintf(want, sizeof(want), " %s %s HTTP/1.1 %s%s", form_value ? "POST" : "GET", path,
	         form_value ? "code=" : "", form_value ? form_value : "");
	if (rc == 0 && resp.status == 200 && strstr(resp.body, want) && !strcmp(strstr(resp.body, want), want))
		sscanf(resp.body, "conn=%d", &conn_id);
	else if (rc == 0)
		snprintf(err, errlen, "unexpected answer %ld \"%s\" (wanted \"...%s\")", resp.status, resp.body, want);
	check(!share.tls && !share.conn); /* the pool's TLS client and connections never land in the share */
	pe_http_response_free(&resp);
	pe_http_share_release(&share);
	return conn_id;
}

static int request_ok(struct pe_http_pool *pool, const struct server *srv, const char *path, const char *form_value)
{
	char err[512] = "";
	int id = pooled_request(pool, srv, path, form_value, err, sizeof(err));
	if (id < 0)
		fail_msg("request %s failed: %s", path, err);
	return id;
}

/* ---- tests ------------------------------------------------------------------------------- */

static void test_sequential_requests_share_one_connection(void **state)
{
	(void)state;
	struct server *srv = server_start(0, 0);
	struct pe_http_pool *pool = pool_new();
	for (int i = 0; i < 6; i++) {
		char path[32];
		snprintf(path, sizeof(path), "/seq/%d", i);
		assert_int_equal(request_ok(pool, srv, path, i % 2 ? "v" : NULL), 1);
	}
	assert_int_equal(counter_get(srv, &srv->accepted), 1);
	assert_int_equal(counter_get(srv, &srv->answered), 6);
	pe_http_pool_free(pool); /* closes the idle connection: the server sees the client go */
	assert_int_equal(counter_wait(srv, &srv->closed_by_client, 1), 1);
	server_stop(srv);
}

struct worker {
	struct pe_http_pool *pool;
	const struct server *srv;
	int index, failures;
	char first_error[512];
};

#define THREADS             8
#define REQUESTS_PER_THREAD 20

static void *worker_run(void *arg)
{
	struct worker *w = arg;
	for (int i = 0; i < REQUESTS_PER_THREAD; i++) {
		char path[64], form[32], err[512] = "";
		snprintf(path, sizeof(path), "/thread/%d/request/%d", w->index, i);
		snprintf(form, sizeof(form), "t%d-r%d", w->index, i);
		if (pooled_request(w->pool, w->srv, path, i % 3 ? form : NULL, err, sizeof(err)) < 0 &&
		    w->failures++ == 0)
			snprintf(w->first_error, sizeof(w->first_error), "%.64s: %.400s", path, err);
	}
	return NULL;
}

/* THREADS threads each send REQUESTS_PER_THREAD requests through POOL to SRV; all must succeed. */
static void workers_run(struct pe_http_pool *pool, const struct server *srv)
{
	struct worker workers[THREADS];
	pthread_t threads[THREADS];
	for (int i = 0; i < THREADS; i++) {
		workers[i] = (struct worker){.pool = pool, .srv = srv, .index = i};
		assert_int_equal(pthread_create(&threads[i], NULL, worker_run, &workers[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		pthread_join(threads[i], NULL);
		if (workers[i].failures)
			fail_msg("thread %d: %d failures, first %s", i, workers[i].failures, workers[i].first_error);
	}
}

static void test_threads_share_the_pool(void **state)
{
	(void)state;
	struct server *srv = server_start(0, 0);
	struct pe_http_pool *pool = pool_new();
	workers_run(pool, srv);
	assert_int_equal(counter_get(srv, &srv->answered), THREADS * REQUESTS_PER_THREAD);
	/* a new connection is made only while every other one is busy: never more than the threads */
	int accepted = counter_get(srv, &srv->accepted);
	print_message("%d requests over %d connections\n", THREADS * REQUESTS_PER_THREAD, accepted);
	assert_true(accepted >= 1 && accepted <= THREADS);
	pe_http_pool_free(pool);
	assert_int_equal(counter_wait(srv, &srv->closed_by_client, accepted), accepted);
	server_stop(srv);
}

/* No idle connection kept: every request connects (resuming the TLS session another thread's
 * connection left) and closes, so threads read and replace the cached session at once. */
static void test_threads_connecting_at_once(void **state)
{
	(void)state;
	struct server *srv = server_start(0, 0);
	struct pe_http_pool *pool = pool_new();
	pe_http_pool_set_limits(pool, 0, PE_HTTP_POOL_MAX_IDLE_MS);
	workers_run(pool, srv);
	assert_int_equal(counter_get(srv, &srv->answered), THREADS * REQUESTS_PER_THREAD);
	assert_int_equal(counter_get(srv, &srv->accepted), THREADS * REQUESTS_PER_THREAD);
	pe_http_pool_free(pool);
	server_stop(srv);
}

static void test_connection_the_server_closed_when_idle(void **state)
{
	(void)state;
	struct server *srv = server_start(100, 0);
	struct pe_http_pool *pool = pool_new();
	assert_int_equal(request_ok(pool, srv, "/before", NULL), 1);
	usleep(400 * 1000); /* the server closes the idle connection after 100 ms */
	assert_int_equal(request_ok(pool, srv, "/after", "x"), 2);
	assert_int_equal(counter_get(srv, &srv->requests), 2); /* nothing was sent into the closed one */
	pe_http_pool_free(pool);
	server_stop(srv);
}

/* The server reads the second request and closes without an answer (as when it drops an idle
 * connection just as a request arrives): sent again once, over a new connection. */
static void test_request_retried_once_when_dropped_unanswered(void **state)
{
	(void)state;
	struct server *srv = server_start(0, 2);
	struct pe_http_pool *pool = pool_new();
	assert_int_equal(request_ok(pool, srv, "/one", NULL), 1);
	assert_int_equal(request_ok(pool, srv, "/two", "again"), 2);
	assert_int_equal(counter_get(srv, &srv->requests), 3);
	assert_int_equal(counter_get(srv, &srv->answered), 2);
	assert_int_equal(request_ok(pool, srv, "/three", NULL), 2); /* the new connection went back to the pool */
	pe_http_pool_free(pool);
	server_stop(srv);
}

/* A connection opened straight on the pool's TLS client, as http.c opens them. */
static struct pe_tls_conn *conn_open(struct pe_http_pool *pool, const struct server *srv)
{
	struct pe_url u;
	char err[256] = "";
	assert_int_equal(pe_url_parse(srv->url, &u, err, sizeof(err)), 0);
	struct pe_tls_conn *conn =
	    pe_tls_connect(pe_http_pool_tls(pool), &u, entra_now_ms() + TIMEOUT_MS, err, sizeof(err));
	if (!conn)
		fail_msg("connect: %s", err);
	return conn;
}

/* Session tickets waiting on a new connection leave it usable; the server's close does not. */
static void test_idle_usable(void **state)
{
	(void)state;
	struct server *srv = server_start(200, 0);
	struct pe_http_pool *pool = pool_new();
	struct pe_tls_conn *conn = conn_open(pool, srv);
	usleep(50 * 1000); /* the server's TLS 1.3 tickets arrive, unread */
	assert_true(pe_tls_idle_usable(conn));
	assert_true(pe_tls_idle_usable(conn));
	usleep(400 * 1000); /* the server closes it, idle for 200 ms */
	assert_false(pe_tls_idle_usable(conn));
	pe_tls_close(pe_http_pool_tls(pool), conn);
	pe_http_pool_free(pool);
	server_stop(srv);
}

static void test_idle_overflow_closes_the_oldest(void **state)
{
	(void)state;
	struct server *srv = server_start(0, 0);
	struct pe_http_pool *pool = pool_new();
	struct pe_tls_conn *conns[PE_HTTP_POOL_MAX_IDLE + 2];
	for (int i = 0; i < PE_HTTP_POOL_MAX_IDLE + 2; i++)
		conns[i] = conn_open(pool, srv);
	for (int i = 0; i < PE_HTTP_POOL_MAX_IDLE + 2; i++)
		pe_http_pool_put(pool, conns[i]);
	/* connections 1 and 2 were closed; requests go over the newest first */
	assert_int_equal(counter_wait(srv, &srv->closed_by_client, 2), 2);
	assert_int_equal(request_ok(pool, srv, "/newest", NULL), PE_HTTP_POOL_MAX_IDLE + 2);
	pe_http_pool_set_limits(pool, 3, PE_HTTP_POOL_MAX_IDLE_MS); /* five more closed at once */
	assert_int_equal(counter_wait(srv, &srv->closed_by_client, 7), 7);
	assert_int_equal(request_ok(pool, srv, "/still", NULL), PE_HTTP_POOL_MAX_IDLE + 2);
	assert_int_equal(counter_get(srv, &srv->accepted), PE_HTTP_POOL_MAX_IDLE + 2);
	pe_http_pool_free(pool);
	assert_int_equal(counter_wait(srv, &srv->closed_by_client, 10), 10);
	server_stop(srv);
}

static void test_idle_too_long_not_reused(void **state)
{
	(void)state;
	struct server *srv = server_start(0, 0);
	struct pe_http_pool *pool = pool_new();
	pe_http_pool_set_limits(pool, PE_HTTP_POOL_MAX_IDLE, 150);
	assert_int_equal(request_ok(pool, srv, "/a", NULL), 1);
	assert_int_equal(request_ok(pool, srv, "/b", NULL), 1); /* within 150 ms: reused */
	usleep(300 * 1000);
	assert_int_equal(request_ok(pool, srv, "/c", NULL), 2);
	assert_int_equal(counter_wait(srv, &srv->closed_by_client, 1), 1); /* the stale one was closed */
	pe_http_pool_set_limits(pool, 0, PE_HTTP_POOL_MAX_IDLE_MS);        /* keep nothing idle */
	assert_int_equal(counter_wait(srv, &srv->closed_by_client, 2), 2);
	assert_int_equal(request_ok(pool, srv, "/d", NULL), 3);
	assert_int_equal(counter_wait(srv, &srv->closed_by_client, 3), 3);
	pe_http_pool_free(pool);
	server_stop(srv);
}

/* Idle connections to two servers: each request takes one to its own server; pe_http_pool_free
 * closes both (ASan's leak check covers what they hold). */
static void test_connections_per_server_and_free(void **state)
{
	(void)state;
	struct server *a = server_start(0, 0), *b = server_start(0, 0);
	struct pe_http_pool *pool = pool_new();
	for (int i = 0; i < 3; i++) {
		assert_int_equal(request_ok(pool, a, "/a", NULL), 1);
		assert_int_equal(request_ok(pool, b, "/b", "b"), 1);
	}
	assert_int_equal(counter_get(a, &a->accepted), 1);
	assert_int_equal(counter_get(b, &b->accepted), 1);
	pe_http_pool_free(pool);
	assert_int_equal(counter_wait(a, &a->closed_by_client, 1), 1);
	assert_int_equal(counter_wait(b, &b->closed_by_client, 1), 1);
	server_stop(a);
	server_stop(b);
}

static void test_pool_trust(void **state)
{
	(void)state;
	char err[512] = "";
	assert_null(pe_http_pool_new("/nonexistent/ca.pem", err, sizeof(err)));
	assert_non_null(strstr(err, "cannot open [entra] ca_file /nonexistent/ca.pem"));
	struct server *srv = server_start(0, 0);
	struct pe_http_pool *pool = pe_http_pool_new(NULL, err, sizeof(err)); /* system anchors only */
	assert_non_null(pool);
	assert_int_equal(pooled_request(pool, srv, "/untrusted", NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not trusted"));
	pe_http_pool_free(pool);
	assert_int_equal(counter_get(srv, &srv->answered), 0);
	server_stop(srv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sequential_requests_share_one_connection),
	    cmocka_unit_test(test_threads_share_the_pool),
	    cmocka_unit_test(test_threads_connecting_at_once),
	    cmocka_unit_test(test_connection_the_server_closed_when_idle),
	    cmocka_unit_test(test_request_retried_once_when_dropped_unanswered),
	    cmocka_unit_test(test_idle_usable),
	    cmocka_unit_test(test_idle_overflow_closes_the_oldest),
	    cmocka_unit_test(test_idle_too_long_not_reused),
	    cmocka_unit_test(test_connections_per_server_and_free),
	    cmocka_unit_test(test_pool_trust),
	};
	return cmocka_run_group_tests(tests, cert_make, cert_remove);
}
