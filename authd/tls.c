#include "tls.h"

#include "net_connect.h"
#include "ssl_lib.h"
#include "tls_bio.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Shared by the threads of a long-lived process (see http_pool.h): the SSL_CTX and the BIO
 * method are only read after creation; the session cache is guarded by session_lock. */
struct pe_tls_client {
	const struct pe_ssl_lib *lib;
	SSL_CTX *ctx;
	BIO_METHOD *bio_method;       /* send(MSG_NOSIGNAL)/recv() sockets, see tls_bio.h */
	pthread_mutex_t session_lock; /* guards session and session_for */
	SSL_SESSION *session;         /* the last connection's, resumed by the next one to the same server */
	char session_for[300];        /* "host:port" the session belongs to */
};

struct pe_tls_conn {
	SSL *ssl;
	int fd;
	char authority[300];
};

/* The last OpenSSL error as text, or FALLBACK. */
static const char *ssl_reason(const struct pe_ssl_lib *lib, char *buf, size_t len, const char *fallback)
{
	unsigned long e = lib->ERR_peek_last_error();
	if (!e)
		return fallback;
	lib->ERR_error_string_n(e, buf, len);
	return buf;
}

/* Adds every certificate of the PEM text to the context's trust store. */
static int ca_pem_add(const struct pe_ssl_lib *lib, SSL_CTX *ctx, const char *pem, size_t len, const char *ca_file,
                      char *err, size_t errlen)
{
	BIO *in = lib->BIO_new_mem_buf(pem, (int)len);
	X509_STORE *store = lib->SSL_CTX_get_cert_store(ctx);
	X509 *cert;
	int added = 0, bad = 0;
	if (!in)
		return snprintf(err, errlen, "out of memory reading [entra] ca_file %s", ca_file), -1;
	while (!bad && (cert = lib->PEM_read_bio_X509(in, NULL, NULL, NULL))) {
		bad = !lib->X509_STORE_add_cert(store, cert);
		added++;
		lib->X509_free(cert);
	}
	lib->BIO_free(in);
	lib->ERR_clear_error(); /* the end of the PEM text leaves a "no start line" error queued */
	if (bad || added == 0)
		return snprintf(err, errlen, "[entra] ca_file %s holds no usable PEM certificate", ca_file), -1;
	return 0;
}

/* System anchors come from the hashed certificate directory OpenSSL was built with (Debian:
 * /usr/lib/ssl/certs -> /etc/ssl/certs), where it reads only the anchor a chain needs; the
 * bundle file would cost a parse of every system CA (~20 ms of CPU). SSL_CERT_DIR and
 * SSL_CERT_FILE are never consulted: su's and sudo's callers control the environment. */
struct pe_tls_client *pe_tls_client_new(const char *ca_pem, size_t ca_len, const char *ca_file, char *err,
                                        size_t errlen)
{
	const struct pe_ssl_lib *lib = pe_ssl_lib(err, errlen);
	if (!lib)
		return NULL;
	struct pe_tls_client *c = calloc(1, sizeof(*c));
	if (!c || pthread_mutex_init(&c->session_lock, NULL)) {
		free(c);
		return snprintf(err, errlen, "out of memory"), NULL;
	}
	c->lib = lib;
	c->ctx = lib->SSL_CTX_new(lib->TLS_client_method());
	c->bio_method = pe_tls_bio_method_new(lib);
	if (!c->ctx || !c->bio_method) {
		snprintf(err, errlen, "cannot create a TLS context");
	} else if (!lib->SSL_CTX_ctrl(c->ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, TLS1_2_VERSION, NULL)) {
		snprintf(err, errlen, "cannot require TLS 1.2");
	} else {
		/* openssl.cnf is not read (see ssl_lib.c): Debian's system policy, level 2 (RSA and DH
		 * keys of 2048 bits or more, no SHA-1 signatures), is set here instead. */
		lib->SSL_CTX_set_security_level(c->ctx, 2);
		lib->SSL_CTX_set_verify(c->ctx, SSL_VERIFY_PEER, NULL);
		lib->SSL_CTX_load_verify_dir(c->ctx, lib->X509_get_default_cert_dir()); /* may be empty */
		lib->ERR_clear_error();
		if (!ca_len || !ca_pem_add(lib, c->ctx, ca_pem, ca_len, ca_file, err, errlen))
			return c;
	}
	pe_tls_client_free(c);
	return NULL;
}

void pe_tls_client_free(struct pe_tls_client *c)
{
	if (!c)
		return;
	if (c->session)
		c->lib->SSL_SESSION_free(c->session);
	if (c->ctx)
		c->lib->SSL_CTX_free(c->ctx);
	pe_tls_bio_method_free(c->lib, c->bio_method);
	pthread_mutex_destroy(&c->session_lock);
	free(c);
}

const char *pe_tls_authority(const struct pe_tls_conn *conn)
{
	return conn->authority;
}

/* An idle keep-alive connection has nothing to read, or only TLS 1.3 session tickets the
 * server sent after the handshake. A close_notify, EOF, reset or unasked data: the server is
 * done with it, and a request sent over it would be lost. */
bool pe_tls_idle_usable(struct pe_tls_conn *conn)
{
	struct pollfd p = {.fd = conn->fd, .events = POLLIN};
	if (poll(&p, 1, 0) == 0)
		return true;
	char e_unused[8], byte;
	const struct pe_ssl_lib *lib = pe_ssl_lib(e_unused, sizeof(e_unused));
	size_t n = 0;
	lib->ERR_clear_error();
	int rc = lib->SSL_read_ex(conn->ssl, &byte, 1, &n); /* non-blocking: handles the records waiting */
	return rc != 1 && lib->SSL_get_error(conn->ssl, rc) == SSL_ERROR_WANT_READ;
}

/* Waits for what SSL_get_error asked for. 0 ready, -1 with ERR set (timeout or failure). */
static int ssl_wait(struct pe_tls_conn *conn, int ssl_error, long long deadline_ms, const char *doing, char *err,
                    size_t errlen)
{
	short events = ssl_error == SSL_ERROR_WANT_WRITE ? POLLOUT : POLLIN;
	int ready = entra_wait_fd(conn->fd, events, deadline_ms);
	if (ready > 0)
		return 0;
	if (ready == 0)
		return snprintf(err, errlen, "connection to %s timed out %s", conn->authority, doing), -1;
	return snprintf(err, errlen, "connection to %s failed %s: %s", conn->authority, doing, strerror(errno)), -1;
}

static int handshake_error(const struct pe_ssl_lib *lib, struct pe_tls_conn *conn, const struct pe_url *u, char *err,
                           size_t errlen)
{
	long verify = lib->SSL_get_verify_result(conn->ssl);
	char reason[256];
	if (verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH)
		return snprintf(err, errlen,
		                "TLS certificate of %s is for another host name or address; check "
		                "[entra] authority",
		                u->host),
		       -1;
	if (verify != X509_V_OK)
		return snprintf(err, errlen, "TLS certificate of %s not trusted: %s; check [entra] ca_file", u->host,
		                lib->X509_verify_cert_error_string(verify)),
		       -1;
	return snprintf(err, errlen, "TLS handshake with %s failed: %s", conn->authority,
	                ssl_reason(lib, reason, sizeof(reason), "connection closed")),
	       -1;
}

static int handshake(const struct pe_ssl_lib *lib, struct pe_tls_conn *conn, const struct pe_url *u,
                     long long deadline_ms, char *err, size_t errlen)
{
	for (;;) {
		lib->ERR_clear_error();
		int rc = lib->SSL_connect(conn->ssl);
		if (rc == 1)
			return 0;
		int e = lib->SSL_get_error(conn->ssl, rc);
		if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE)
			return handshake_error(lib, conn, u, err, errlen);
		if (ssl_wait(conn, e, deadline_ms, "during the TLS handshake", err, errlen))
			return -1;
	}
}

/* SNI and the name check for host names; IP literals are matched against IP SANs instead. */
static int ssl_setup(struct pe_tls_client *c, struct pe_tls_conn *conn, const struct pe_url *u)
{
	const struct pe_ssl_lib *lib = c->lib;
	BIO *bio = pe_tls_socket_bio(lib, c->bio_method, conn->fd);
	if (!bio)
		return -1;
	lib->SSL_set_bio(conn->ssl, bio, bio);
	if (u->ip_literal) {
		if (!lib->X509_VERIFY_PARAM_set1_ip_asc(lib->SSL_get0_param(conn->ssl), u->host))
			return -1;
	} else if (!lib->SSL_ctrl(conn->ssl, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
	                          (void *)u->host) ||
	           !lib->SSL_set1_host(conn->ssl, u->host)) {
		return -1;
	}
	/* Under the lock: another thread's pe_tls_close may replace and free the cached session;
	 * SSL_set_session takes its own reference before the lock is released. */
	pthread_mutex_lock(&c->session_lock);
	if (c->session && !strcmp(c->session_for, conn->authority))
		lib->SSL_set_session(conn->ssl, c->session);
	pthread_mutex_unlock(&c->session_lock);
	return 0;
}

struct pe_tls_conn *pe_tls_connect(struct pe_tls_client *c, const struct pe_url *u, long long deadline_ms, char *err,
                                   size_t errlen)
{
	struct pe_tls_conn *conn = calloc(1, sizeof(*conn));
	bool timed_out;
	if (!conn)
		return snprintf(err, errlen, "out of memory"), NULL;
	pe_url_authority(u, conn->authority, sizeof(conn->authority));
	conn->fd =
	    pe_net_connect(u->host, u->port, u->ip_literal, conn->authority, deadline_ms, &timed_out, err, errlen);
	if (conn->fd < 0) {
		free(conn);
		return NULL;
	}
	conn->ssl = c->lib->SSL_new(c->ctx);
	if (!conn->ssl || ssl_setup(c, conn, u)) {
		snprintf(err, errlen, "cannot set up a TLS connection to %s", conn->authority);
		pe_tls_close(c, conn);
		return NULL;
	}
	if (handshake(c->lib, conn, u, deadline_ms, err, errlen)) {
		pe_tls_close(c, conn);
		return NULL;
	}
	return conn;
}

/* Keeps CONN's session in C when it can be resumed; the one it replaces is freed. */
static void session_keep(struct pe_tls_client *c, const struct pe_tls_conn *conn)
{
	SSL_SESSION *s = c->lib->SSL_get1_session(conn->ssl);
	if (s && c->lib->SSL_SESSION_is_resumable(s)) {
		pthread_mutex_lock(&c->session_lock);
		SSL_SESSION *old = c->session;
		c->session = s;
		snprintf(c->session_for, sizeof(c->session_for), "%s", conn->authority);
		pthread_mutex_unlock(&c->session_lock);
		s = old;
	}
	if (s)
		c->lib->SSL_SESSION_free(s);
}

void pe_tls_close(struct pe_tls_client *c, struct pe_tls_conn *conn)
{
	if (!conn)
		return;
	if (conn->ssl) {
		session_keep(c, conn);
		c->lib->SSL_free(conn->ssl); /* frees the BIO; no close_notify: the socket closes anyway */
	}
	if (conn->fd >= 0)
		close(conn->fd);
	free(conn);
}

/* Closed-peer outcomes of SSL_read/SSL_write: EOF, reset, or TLS 1.3's unexpected EOF. */
static bool peer_closed(const struct pe_ssl_lib *lib, int e)
{
	if (e == SSL_ERROR_ZERO_RETURN || e == SSL_ERROR_SYSCALL)
		return true;
	return e == SSL_ERROR_SSL && ERR_GET_REASON(lib->ERR_peek_last_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING;
}

static int io_error(struct pe_tls_conn *conn, const struct pe_ssl_lib *lib, const char *doing, char *err, size_t errlen)
{
	char reason[256];
	return snprintf(err, errlen, "TLS error %s %s: %s", doing, conn->authority,
	                ssl_reason(lib, reason, sizeof(reason), "unknown error")),
	       -1;
}

int pe_tls_write(struct pe_tls_conn *conn, const char *buf, size_t len, long long deadline_ms, char *err, size_t errlen)
{
	char e_unused[8];
	const struct pe_ssl_lib *lib = pe_ssl_lib(e_unused, sizeof(e_unused));
	size_t done = 0;
	while (done < len) {
		size_t n = 0;
		lib->ERR_clear_error();
		int rc = lib->SSL_write_ex(conn->ssl, buf + done, len - done, &n);
		if (rc == 1) {
			done += n;
			continue;
		}
		int e = lib->SSL_get_error(conn->ssl, rc);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (ssl_wait(conn, e, deadline_ms, "sending the request", err, errlen))
				return -1;
		} else if (peer_closed(lib, e)) {
			snprintf(err, errlen, "%s closed the connection", conn->authority);
			return PE_TLS_CLOSED;
		} else {
			return io_error(conn, lib, "writing to", err, errlen);
		}
	}
	return 0;
}

ssize_t pe_tls_read(struct pe_tls_conn *conn, char *buf, size_t cap, long long deadline_ms, char *err, size_t errlen)
{
	char e_unused[8];
	const struct pe_ssl_lib *lib = pe_ssl_lib(e_unused, sizeof(e_unused));
	for (;;) {
		size_t n = 0;
		lib->ERR_clear_error();
		int rc = lib->SSL_read_ex(conn->ssl, buf, cap, &n);
		if (rc == 1)
			return (ssize_t)n;
		int e = lib->SSL_get_error(conn->ssl, rc);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
			if (ssl_wait(conn, e, deadline_ms, "waiting for the response", err, errlen))
				return -1;
		} else if (peer_closed(lib, e)) {
			snprintf(err, errlen, "%s closed the connection", conn->authority);
			return PE_TLS_CLOSED;
		} else {
			return io_error(conn, lib, "reading from", err, errlen);
		}
	}
}
