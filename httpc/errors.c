/* A failed transfer in words an administrator can act on: which host or proxy, and which
 * setting to check. Never the proxy's credentials: proxies are named "host:port". */
#include "httpc/httpc_internal.h"

#include <openssl/x509_vfy.h>
#include <stdio.h>
#include <string.h>

/* A certificate the chain or name check refused: the proxy's (an https:// proxy, before the
 * tunnel opened) or the server's. */
static void certificate_text(const struct httpc_client *c, CURL *h, const char *host, long tunnel, const char *detail,
                             char *err, size_t errlen)
{
	bool at_proxy = c->proxy && c->proxy_https && tunnel == 0;
	long verify = X509_V_OK;
	curl_easy_getinfo(h, at_proxy ? CURLINFO_PROXY_SSL_VERIFYRESULT : CURLINFO_SSL_VERIFYRESULT, &verify);
	const char *who = at_proxy ? "the proxy " : "";
	const char *name = at_proxy ? c->proxy_name : host;
	/* libcurl checks the name itself once OpenSSL accepted the chain, and then leaves the result
	 * at its initial value (X509_V_OK or X509_V_ERR_UNSPECIFIED): its message tells. */
	bool chain_checked = verify != X509_V_OK && verify != X509_V_ERR_UNSPECIFIED;
	bool name_refused = verify == X509_V_ERR_HOSTNAME_MISMATCH || verify == X509_V_ERR_IP_ADDRESS_MISMATCH ||
	                    (!chain_checked && strstr(detail, "host name"));
	if (name_refused)
		snprintf(err, errlen, "TLS certificate of %s%s is for another host name or address; check [entra] %s",
		         who, name, at_proxy ? "proxy" : "authority");
	else if (chain_checked)
		snprintf(err, errlen, "TLS certificate of %s%s not trusted: %s; check [entra] ca_file", who, name,
		         X509_verify_cert_error_string(verify));
	else
		snprintf(err, errlen, "TLS certificate of %s%s refused: %s; check [entra] ca_file", who, name, detail);
}

/* What the proxy itself did wrong, or false when it was not the proxy. */
static bool proxy_text(const struct httpc_client *c, CURLcode rc, long tunnel, const char *host, const char *detail,
                       char *err, size_t errlen)
{
	if (!c->proxy)
		return false;
	if (tunnel == 407 || tunnel == 401) /* 401: what some proxies (tinyproxy) answer instead */
		snprintf(err, errlen,
		         "the proxy %s refused the tunnel to %s: HTTP %ld (proxy authentication required); check the "
		         "user and password in [entra] proxy",
		         c->proxy_name, host, tunnel);
	else if (tunnel >= 300)
		snprintf(err, errlen,
		         "the proxy %s refused the tunnel to %s: HTTP %ld to CONNECT; check [entra] proxy and the "
		         "proxy's rules for this host and port",
		         c->proxy_name, host, tunnel);
	else if (tunnel == 0 && (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_PROXY))
		snprintf(err, errlen, "cannot connect to the proxy %s: %s; check [entra] proxy and that the proxy runs",
		         c->proxy_name, detail);
	else
		return false;
	return true;
}

static void transfer_text(CURLcode rc, const char *host, const char *detail, bool too_large, char *err, size_t errlen)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_HOST:
		snprintf(err, errlen, "cannot resolve %s: %s", host, detail);
		break;
	case CURLE_COULDNT_CONNECT:
		snprintf(err, errlen, "cannot connect to %s: %s", host, detail);
		break;
	case CURLE_OPERATION_TIMEDOUT:
		snprintf(err, errlen, "timed out: %s", detail);
		break;
	case CURLE_SSL_CONNECT_ERROR:
		snprintf(err, errlen, "TLS handshake with %s failed: %s", host, detail);
		break;
	case CURLE_SSL_CACERT_BADFILE:
		snprintf(err, errlen, "cannot load the trust anchors (%s, [entra] ca_file): %s", HTTPC_SYSTEM_CA_DIR,
		         detail);
		break;
	case CURLE_FILESIZE_EXCEEDED:
	case CURLE_WRITE_ERROR: /* the write callback stops a body that grows too large, or out of memory */
		if (rc == CURLE_FILESIZE_EXCEEDED || too_large)
			snprintf(err, errlen,
			         "the response is larger than the limit (%d bytes unless the caller set one)",
			         HTTPC_MAX_RESPONSE);
		else
			snprintf(err, errlen, "out of memory");
		break;
	default:
		snprintf(err, errlen, "%s", detail);
	}
}

void httpc_error_text(const struct httpc_client *c, CURL *h, CURLcode rc, const char *curl_err, const char *host,
                      bool too_large, char *err, size_t errlen)
{
	const char *detail = *curl_err ? curl_err : curl_easy_strerror(rc);
	long tunnel = 0; /* the proxy's answer to this transfer's CONNECT; 0: none came */
	curl_easy_getinfo(h, CURLINFO_HTTP_CONNECTCODE, &tunnel);
	if (proxy_text(c, rc, tunnel, host, detail, err, errlen))
		return;
	char what[400];
	if (rc == CURLE_PEER_FAILED_VERIFICATION)
		certificate_text(c, h, host, tunnel, detail, what, sizeof(what));
	else
		transfer_text(rc, host, detail, too_large, what, sizeof(what));
	if (c->proxy)
		snprintf(err, errlen, "%s (through the proxy %s)", what, c->proxy_name);
	else
		snprintf(err, errlen, "%s", what);
}
