/* An incremental HTTP/1.1 response parser: bytes go in as they arrive (any split), the status,
 * body and whether the connection may carry another request come out. Content-Length, chunked
 * transfer coding (extensions and trailers skipped), HTTP/1.0 read-to-close bodies; 1xx interim
 * responses are skipped. Bounded: header block PE_HTTP_MAX_HEADER, body the caller's limit. */
#ifndef PE_HTTP_PARSE_H
#define PE_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#define PE_HTTP_MAX_HEADER     (16 * 1024)
#define PE_HTTP_MAX_CHUNK_LINE 1024

enum pe_http_parse_state {
	PE_HP_HEAD,
	PE_HP_BODY_LENGTH,
	PE_HP_CHUNK_SIZE,
	PE_HP_CHUNK_DATA,
	PE_HP_CHUNK_END,
	PE_HP_TRAILER,
	PE_HP_BODY_CLOSE,
	PE_HP_DONE,
	PE_HP_ERROR,
};

struct pe_http_parser {
	enum pe_http_parse_state state;
	size_t max_body;
	bool any_byte; /* a response byte arrived (a reused connection must not be retried) */
	long status;
	bool keep_alive; /* the connection may carry the next request once this response is done */
	bool chunked, have_length;
	unsigned long long length; /* Content-Length, or the bytes left in the current chunk */
	size_t head_len, line_len, trailer_len;
	char *body;
	size_t body_len, body_cap;
	char error[160];
	char line[PE_HTTP_MAX_CHUNK_LINE];
	char head[PE_HTTP_MAX_HEADER];
};

void pe_http_parser_init(struct pe_http_parser *p, size_t max_body);
/* Feeds LEN bytes; *USED says how many belong to this response. 1: response complete,
 * 0: more needed, -1: malformed or too large (reason in p->error). */
int pe_http_parser_feed(struct pe_http_parser *p, const char *data, size_t len, size_t *used);
/* The peer closed the connection: 1 when that ends a read-to-close body, else -1 (p->error). */
int pe_http_parser_eof(struct pe_http_parser *p);
/* The complete body, NUL-terminated, now the caller's (never NULL unless out of memory). */
char *pe_http_parser_take_body(struct pe_http_parser *p, size_t *len);
void pe_http_parser_free(struct pe_http_parser *p);

#endif
