/* libcurl, loaded on first use. pam_entra.so does not link libcurl: libcurl drags in some thirty
 * libraries (GnuTLS, Kerberos, LDAP, SSH...) whose relocation cost ~5 ms of CPU in every process
 * that loads the module, even for local users that never need HTTP. They load only when an
 * Entra account actually signs in. */
#ifndef PE_CURL_LIB_H
#define PE_CURL_LIB_H

#include <curl/curl.h>
#include <stddef.h>

/* The libcurl functions pam_entra calls; the variadic ones take the documented argument types
 * (long, pointer, curl_off_t) exactly as with the linked API. */
struct pe_curl_lib {
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
	CURLcode (*easy_perform)(CURL *curl);
	CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
	void (*easy_cleanup)(CURL *curl);
	const char *(*easy_strerror)(CURLcode code);
	CURLSH *(*share_init)(void);
	CURLSHcode (*share_setopt)(CURLSH *share, CURLSHoption option, ...);
	CURLSHcode (*share_cleanup)(CURLSH *share);
};

/* libcurl loaded and globally initialised (once per process, thread-safe), or NULL with the
 * reason in ERR. */
const struct pe_curl_lib *pe_curl_lib(char *err, size_t errlen);

#endif
