/* doctor: the clock and the reachability of the tenant's OpenID Connect discovery document.
 * HTTPS with OpenSSL (entra-sync links it already): system trust store plus ca_file, TLS 1.2+,
 * host name verified, one HTTP/1.0 GET (no chunked encoding), bounded size and time. */
#include "doctor.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <time.h>
#include <unistd.h>

#define DISCOVERY_TIMEOUT_S 5
#define DISCOVERY_MAX       (256 * 1024)

void doctor_check_clock(struct doctor *d)
{
	struct timex tx = {0};
	int state = adjtimex(&tx);
	const char *fix = "enable time synchronisation: timedatectl set-ntp true (systemd-timesyncd) or install chrony";
	if (state < 0) {
		doctor_report(d, "clock", DOCTOR_WARN, fix,
		              "adjtimex: %s: cannot tell whether the clock is synchronised", strerror(errno));
	} else if (state == TIME_ERROR || (tx.status & STA_UNSYNC)) {
		doctor_report(d, "clock", DOCTOR_WARN, fix,
		              "the kernel clock is not synchronised: sign-in tokens are refused once it drifts more "
		              "than %d s",
		              DOCTOR_CLOCK_SKEW_S);
	} else if (tx.maxerror > (long)DOCTOR_CLOCK_SKEW_S * 1000000L) {
		doctor_report(d, "clock", DOCTOR_WARN, fix, "the clock's maximum error is %ld s (tokens allow %d s)",
		              tx.maxerror / 1000000L, DOCTOR_CLOCK_SKEW_S);
	} else {
		doctor_report(d, "clock", DOCTOR_OK, NULL, "synchronised (maximum error %ld ms)", tx.maxerror / 1000L);
	}
}

struct url {
	char host[256];
	char port[8];
	char path[1024];
};

/* https://HOST[:PORT]/PATH or https://[V6]:PORT/PATH */
static int url_parse(const char *text, struct url *u)
{
	if (strncmp(text, "https://", 8))
		return -1;
	const char *h = text + 8, *hend, *slash = strchr(h, '/');
	if (!slash)
		slash = h + strlen(h);
	const char *port = NULL;
	if (*h == '[') {
		hend = memchr(h, ']', (size_t)(slash - h));
		if (!hend)
			return -1;
		h++;
		port = hend[1] == ':' ? hend + 2 : NULL;
	} else {
		hend = memchr(h, ':', (size_t)(slash - h));
		if (hend)
			port = hend + 1;
		else
			hend = slash;
	}
	if (hend == h || (size_t)(hend - h) >= sizeof(u->host) || (port && (size_t)(slash - port) >= sizeof(u->port)))
		return -1;
	snprintf(u->host, sizeof(u->host), "%.*s", (int)(hend - h), h);
	snprintf(u->port, sizeof(u->port), "%.*s", port ? (int)(slash - port) : 3, port ? port : "443");
	if (snprintf(u->path, sizeof(u->path), "%s", *slash ? slash : "/") >= (int)sizeof(u->path))
		return -1;
	return 0;
}

static int tcp_connect(const struct url *u, char *err, size_t errlen)
{
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
	int rc = getaddrinfo(u->host, u->port, &hints, &res);
	if (rc) {
		snprintf(err, errlen, "cannot resolve %s: %s", u->host, gai_strerror(rc));
		return -1;
	}
	int fd = -1;
	struct timeval tv = {.tv_sec = DISCOVERY_TIMEOUT_S};
	for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0)
			continue;
		/* On Linux SO_SNDTIMEO also bounds connect(). */
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
			snprintf(err, errlen, "cannot connect to %s port %s: %s", u->host, u->port, strerror(errno));
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd;
}

static SSL_CTX *tls_context(const char *ca_file, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		snprintf(err, errlen, "OpenSSL: out of memory");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_default_verify_paths(ctx);
	if (ca_file && SSL_CTX_load_verify_locations(ctx, ca_file, NULL) != 1) {
		snprintf(err, errlen, "cannot load [entra] ca_file %s", ca_file);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

static int tls_handshake(SSL *ssl, const struct url *u, char *err, size_t errlen)
{
	unsigned char addr[16];
	bool literal = inet_pton(AF_INET, u->host, addr) == 1 || inet_pton(AF_INET6, u->host, addr) == 1;
	if (literal)
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), u->host);
	else
		SSL_set_tlsext_host_name(ssl, u->host), SSL_set1_host(ssl, u->host);
	if (SSL_connect(ssl) == 1)
		return 0;
	long verify = SSL_get_verify_result(ssl);
	unsigned long e = ERR_get_error();
	if (verify != X509_V_OK)
		snprintf(err, errlen, "TLS certificate of %s not trusted: %s", u->host,
		         X509_verify_cert_error_string(verify));
	else
		snprintf(err, errlen, "TLS handshake with %s failed: %s", u->host,
		         e ? ERR_reason_error_string(e) : "connection closed");
	return -1;
}

/* Sends the GET and reads the whole response into *OUT (NUL-terminated); returns its length. */
static long https_get(const struct url *u, const char *ca_file, char **out, char *err, size_t errlen)
{
	long len = -1;
	SSL_CTX *ctx = tls_context(ca_file, err, errlen);
	int fd = ctx ? tcp_connect(u, err, errlen) : -1;
	SSL *ssl = fd >= 0 ? SSL_new(ctx) : NULL;
	char *buf = ssl ? malloc(DISCOVERY_MAX + 1) : NULL;
	if (!buf || !SSL_set_fd(ssl, fd) || tls_handshake(ssl, u, err, errlen))
		goto done;
	char req[1500];
	int n =
	    snprintf(req, sizeof(req),
	             "GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: entra-sync-doctor\r\nAccept: application/json\r\n\r\n",
	             u->path, u->host);
	if (n >= (int)sizeof(req) || SSL_write(ssl, req, n) != n) {
		snprintf(err, errlen, "cannot send the request to %s", u->host);
		goto done;
	}
	time_t deadline = time(NULL) + DISCOVERY_TIMEOUT_S;
	size_t got = 0;
	int r;
	while (got < DISCOVERY_MAX && time(NULL) <= deadline &&
	       (r = SSL_read(ssl, buf + got, (int)(DISCOVERY_MAX - got))) > 0)
		got += (size_t)r;
	buf[got] = '\0';
	*out = buf, buf = NULL, len = (long)got;
done:
	free(buf);
	if (ssl)
		SSL_free(ssl);
	if (fd >= 0)
		close(fd);
	SSL_CTX_free(ctx);
	return len;
}

static void discovery_document(struct doctor *d, const char *url, const char *response)
{
	int status = 0;
	const char *body = strstr(response, "\r\n\r\n");
	if (sscanf(response, "HTTP/%*d.%*d %d", &status) != 1 || !body) {
		doctor_report(d, "discovery", DOCTOR_FAIL, "check [entra] authority", "%s: not an HTTP response", url);
		return;
	}
	json_error_t jerr;
	json_t *doc = json_loads(body + 4, 0, &jerr);
	if (status != 200) {
		const char *why = json_string_value(json_object_get(doc, "error_description"));
		doctor_report(d, "discovery", DOCTOR_FAIL,
		              "check [entra] tenant_id (Directory (tenant) ID) and authority", "%s: HTTP %d%s%.300s",
		              url, status, why ? ": " : "", why ? why : "");
	} else if (!doc || !json_is_string(json_object_get(doc, "device_authorization_endpoint")) ||
	           !json_is_string(json_object_get(doc, "token_endpoint")) ||
	           !json_is_string(json_object_get(doc, "jwks_uri"))) {
		doctor_report(d, "discovery", DOCTOR_FAIL,
		              "check [entra] authority: it must be an OpenID Connect provider",
		              "%s: no device_authorization_endpoint, token_endpoint and jwks_uri in the response", url);
	} else {
		const char *issuer = json_string_value(json_object_get(doc, "issuer"));
		doctor_report(d, "discovery", DOCTOR_OK, NULL, "%s reachable, issuer %s", url,
		              issuer ? issuer : "(none)");
	}
	json_decref(doc);
}

void doctor_check_discovery(struct doctor *d)
{
	const struct entra_config *c = d->cfg;
	char url[1200], err[512] = "", *response = NULL;
	struct url u;
	size_t alen = strlen(c->authority);
	while (alen && c->authority[alen - 1] == '/')
		alen--;
	snprintf(url, sizeof(url), "%.*s/%s/v2.0/.well-known/openid-configuration", (int)alen, c->authority,
	         c->tenant_id ? c->tenant_id : "");
	if (!c->tenant_id || url_parse(url, &u)) {
		doctor_report(d, "discovery", DOCTOR_FAIL, "set [entra] authority to an https:// URL and tenant_id",
		              "cannot build an https:// discovery URL from authority %s", c->authority);
		return;
	}
	if (https_get(&u, c->ca_file, &response, err, sizeof(err)) < 0) {
		doctor_report(
		    d, "discovery", DOCTOR_FAIL,
		    "allow HTTPS from this host to the authority (firewall, DNS); for a private CA set [entra] "
		    "ca_file",
		    "%s: %s", url, err);
		return;
	}
	discovery_document(d, url, response);
	free(response);
}
