/* libFuzzer target: HTTP/1.1 responses as pam_entra's client parses them from a TLS stream.
 *
 * Input: the raw bytes a server sends. The first byte picks how they are split into reads (1 to
 * 64 bytes, or all at once), the rest is the response. The whole input is parsed at once and
 * in pieces and both runs must agree (status, body, keep-alive, error), the body never exceeds
 * the limit and is NUL-terminated, and the parser never claims more bytes than it was given.
 * An unfinished response is then ended with EOF. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authd/http_parse.h"

#define FUZZ_MAX_BODY 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int ok)
{
	if (!ok)
		abort();
}

struct outcome {
	int rc;
	long status;
	int keep_alive;
	size_t used, len;
	char *body;
	char error[160];
};

static struct outcome run(struct pe_http_parser *p, const char *in, size_t len, size_t step)
{
	struct outcome o = {0};
	pe_http_parser_init(p, FUZZ_MAX_BODY);
	int rc = 0;
	while (rc == 0 && o.used < len) {
		size_t n = len - o.used < step ? len - o.used : step, used = 0;
		rc = pe_http_parser_feed(p, in + o.used, n, &used);
		require(used <= n);
		require(rc != 0 || used == n);
		o.used += used;
	}
	if (rc == 0)
		rc = pe_http_parser_eof(p);
	require(rc == 1 || rc == -1);
	o.rc = rc;
	o.status = p->status;
	o.keep_alive = p->keep_alive;
	memcpy(o.error, p->error, sizeof(o.error));
	if (rc == 1) {
		o.body = pe_http_parser_take_body(p, &o.len);
		require(o.body && o.len <= FUZZ_MAX_BODY && o.body[o.len] == '\0');
		require(o.status >= 200 && o.status <= 599);
	} else {
		require(o.error[0] != '\0');
	}
	pe_http_parser_free(p);
	return o;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	size_t step = data[0] % 65 ? data[0] % 65 : size;
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	struct pe_http_parser *p = malloc(sizeof(*p));
	if (!p)
		return 0;
	struct outcome whole = run(p, in, len, len ? len : 1), pieces = run(p, in, len, step);
	require(whole.rc == pieces.rc && whole.status == pieces.status);
	require(!strcmp(whole.error, pieces.error));
	if (whole.rc == 1) {
		require(whole.keep_alive == pieces.keep_alive && whole.used == pieces.used && whole.len == pieces.len);
		require(!memcmp(whole.body, pieces.body, whole.len));
	}
	free(whole.body);
	free(pieces.body);
	free(p);
	return 0;
}
