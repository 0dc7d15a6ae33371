/* HTTPS requests with libcurl: a fresh handle per request, TLS always verified, https only,
 * bounded time and response size. */
#ifndef PE_HTTP_H
#define PE_HTTP_H

#include <stddef.h>

#define PE_HTTP_MAX_RESPONSE (1024 * 1024)

struct pe_http_opts {
	const char *ca_file; /* extra trust anchor added to the system's, or NULL */
	long timeout_ms;     /* whole request, connect included */
};

struct pe_http_response {
	long status;
	char *body; /* NUL-terminated */
	size_t len;
};

int pe_http_get(const struct pe_http_opts *opts, const char *url, struct pe_http_response *resp, char *err,
                size_t errlen);
/* POSTs application/x-www-form-urlencoded FIELDS: NULL-terminated name, value, name, value... */
int pe_http_post_form(const struct pe_http_opts *opts, const char *url, const char *const *fields,
                      struct pe_http_response *resp, char *err, size_t errlen);
void pe_http_response_free(struct pe_http_response *resp);

#endif
