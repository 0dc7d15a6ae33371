/* The options every request of the client carries: what may be fetched, how TLS is verified,
 * where trust comes from and whether a proxy is used. */
#include "httpc/httpc_internal.h"

CURL *httpc_easy_new(const struct httpc_client *c)
{
	CURL *h = curl_easy_init();
	CURLcode rc = h ? CURLE_OK : CURLE_OUT_OF_MEMORY;
#define SET(option, value)                                                                                             \
	if (rc == CURLE_OK)                                                                                            \
	rc = curl_easy_setopt(h, option, value)
	SET(CURLOPT_NOSIGNAL, 1L); /* threads: no SIGALRM around name resolution */
	SET(CURLOPT_PROTOCOLS_STR, "https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1); /* one request at a time per connection */
	SET(CURLOPT_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	/* Both trust sources are set, so libcurl's built-in bundle and OpenSSL's SSL_CERT_FILE /
	 * SSL_CERT_DIR never count; the hashed directory is read only for the anchors a chain needs. */
	SET(CURLOPT_CAPATH, HTTPC_SYSTEM_CA_DIR);
	SET(CURLOPT_CAINFO, c->ca_file);
	/* "" when no proxy is configured: libcurl then reads no proxy variable of the environment;
	 * NOPROXY "" keeps no_proxy from exempting a host from the configured one. */
	SET(CURLOPT_PROXY, c->proxy ? c->proxy : "");
	SET(CURLOPT_NOPROXY, "");
	SET(CURLOPT_HTTPPROXYTUNNEL, 1L);
	SET(CURLOPT_PROXY_SSL_VERIFYPEER, 1L);
	SET(CURLOPT_PROXY_SSL_VERIFYHOST, 2L);
	SET(CURLOPT_PROXY_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	SET(CURLOPT_PROXY_CAPATH, HTTPC_SYSTEM_CA_DIR);
	SET(CURLOPT_PROXY_CAINFO, c->ca_file);
	SET(CURLOPT_SHARE, c->share);
	SET(CURLOPT_MAXAGE_CONN, (long)HTTPC_MAX_IDLE_S);
	SET(CURLOPT_MAXCONNECTS, 2L);
	SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTPC_MAX_RESPONSE);
	SET(CURLOPT_CONNECTTIMEOUT_MS, c->connect_timeout_ms);
	SET(CURLOPT_USERAGENT, c->user_agent);
	SET(CURLOPT_HTTPHEADER, c->headers);
#undef SET
	if (rc != CURLE_OK && h) {
		curl_easy_cleanup(h);
		h = NULL;
	}
	return h;
}
