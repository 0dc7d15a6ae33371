#include "http_parse.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int fail(struct pe_http_parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct pe_http_parser *p, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->error, sizeof(p->error), fmt, ap);
	va_end(ap);
	p->state = PE_HP_ERROR;
	p->keep_alive = false;
	return -1;
}

static int too_large(struct pe_http_parser *p)
{
	return fail(p, "response larger than %zu bytes", p->max_body);
}

void pe_http_parser_init(struct pe_http_parser *p, size_t max_body)
{
	memset(p, 0, offsetof(struct pe_http_parser, line));
	p->max_body = max_body;
	p->state = PE_HP_HEAD;
}

void pe_http_parser_free(struct pe_http_parser *p)
{
	free(p->body);
	p->body = NULL;
	p->body_len = p->body_cap = 0;
}

/* Room for NEED more body bytes and the final NUL; the caller checked max_body already. */
static int body_reserve(struct pe_http_parser *p, size_t need)
{
	size_t want = p->body_len + need + 1;
	if (want <= p->body_cap)
		return 0;
	size_t cap = p->body_cap ? p->body_cap : 4096;
	while (cap < want)
		cap *= 2;
	if (cap > p->max_body + 1)
		cap = p->max_body + 1;
	char *grown = realloc(p->body, cap);
	if (!grown)
		return fail(p, "out of memory for a %zu byte response", want);
	p->body = grown;
	p->body_cap = cap;
	return 0;
}

static int body_append(struct pe_http_parser *p, const char *data, size_t n)
{
	if (n > p->max_body - p->body_len)
		return too_large(p);
	if (body_reserve(p, n))
		return -1;
	memcpy(p->body + p->body_len, data, n);
	p->body_len += n;
	p->body[p->body_len] = '\0';
	return 0;
}

static bool is_tchar(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       strchr("!#$%&'*+-.^_`|~", c);
}

/* Strict "HTTP/1.x NNN[ reason]". */
static int status_line_parse(struct pe_http_parser *p, const char *line, size_t len, int *minor)
{
	if (len < 12 || memcmp(line, "HTTP/1.", 7) || (line[7] != '0' && line[7] != '1') || line[8] != ' ' ||
	    line[9] < '1' || line[9] > '5' || line[10] < '0' || line[10] > '9' || line[11] < '0' || line[11] > '9' ||
	    (len > 12 && line[12] != ' '))
		return fail(p, "malformed HTTP status line");
	*minor = line[7] - '0';
	p->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
	return 0;
}

static int content_length_parse(struct pe_http_parser *p, const char *v, size_t len)
{
	unsigned long long n = 0;
	if (len == 0)
		return fail(p, "malformed Content-Length");
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return fail(p, "malformed Content-Length");
		if (n > (~0ULL - 9) / 10)
			return fail(p, "Content-Length out of range");
		n = n * 10 + (unsigned long long)(v[i] - '0');
	}
	if (p->have_length && p->length != n)
		return fail(p, "two different Content-Length headers");
	p->have_length = true;
	p->length = n;
	return 0;
}

/* Calls FN on each comma-separated token of V (OWS trimmed); stops at the first nonzero. */
static int tokens_each(struct pe_http_parser *p, const char *v, size_t len,
                       int (*fn)(struct pe_http_parser *, const char *, size_t, void *), void *arg)
{
	const char *end = v + len;
	while (v < end) {
		const char *comma = memchr(v, ',', (size_t)(end - v)), *stop = comma ? comma : end;
		const char *a = v, *b = stop;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		int rc = a < b ? fn(p, a, (size_t)(b - a), arg) : 0;
		if (rc)
			return rc;
		v = comma ? comma + 1 : end;
	}
	return 0;
}

static bool token_is(const char *t, size_t len, const char *word)
{
	return len == strlen(word) && !strncasecmp(t, word, len);
}

static int transfer_coding(struct pe_http_parser *p, const char *t, size_t len, void *arg)
{
	(void)arg;
	if (!token_is(t, len, "chunked"))
		return fail(p, "unsupported Transfer-Encoding %.*s", (int)(len > 40 ? 40 : len), t);
	if (p->chunked)
		return fail(p, "chunked applied twice");
	p->chunked = true;
	return 0;
}

static int connection_option(struct pe_http_parser *p, const char *t, size_t len, void *close)
{
	(void)p;
	if (token_is(t, len, "close"))
		*(bool *)close = true;
	return 0;
}

static int header_parse(struct pe_http_parser *p, const char *line, size_t len, bool *close)
{
	const char *colon = memchr(line, ':', len);
	if (!colon || colon == line)
		return fail(p, "malformed HTTP header line");
	for (const char *c = line; c < colon; c++)
		if (!is_tchar(*c))
			return fail(p, "malformed HTTP header name");
	size_t name_len = (size_t)(colon - line);
	const char *v = colon + 1, *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (const char *c = v; c < end; c++)
		if ((unsigned char)*c < 0x20 && *c != '\t')
			return fail(p, "control character in an HTTP header");
	if (token_is(line, name_len, "content-length"))
		return content_length_parse(p, v, (size_t)(end - v));
	if (token_is(line, name_len, "transfer-encoding"))
		return tokens_each(p, v, (size_t)(end - v), transfer_coding, NULL);
	if (token_is(line, name_len, "connection"))
		return tokens_each(p, v, (size_t)(end - v), connection_option, close);
	return 0;
}

/* The next line of the header block at *POS (without its CR LF); false at the end. */
static bool head_line(const struct pe_http_parser *p, size_t *pos, const char **line, size_t *len)
{
	const char *start = p->head + *pos, *nl = memchr(start, '\n', p->head_len - *pos);
	if (!nl)
		return false;
	*line = start;
	*len = (size_t)(nl - start);
	if (*len && start[*len - 1] == '\r')
		(*len)--;
	*pos = (size_t)(nl - p->head) + 1;
	return true;
}

/* Picks how the body is delimited once the header block is complete. */
static int body_start(struct pe_http_parser *p, int minor, bool close)
{
	p->keep_alive = minor == 1 && !close;
	if (p->status == 204 || p->status == 304)
		return p->state = PE_HP_DONE, 1;
	if (p->chunked) {
		p->keep_alive = p->keep_alive && !p->have_length; /* both: a smuggling attempt, never reuse */
		p->have_length = false;
		p->length = 0;
		return p->state = PE_HP_CHUNK_SIZE, 0;
	}
	if (p->have_length) {
		if (p->length > p->max_body)
			return too_large(p);
		if (p->length == 0)
			return p->state = PE_HP_DONE, 1;
		if (body_reserve(p, (size_t)p->length))
			return -1;
		return p->state = PE_HP_BODY_LENGTH, 0;
	}
	p->keep_alive = false;
	return p->state = PE_HP_BODY_CLOSE, 0;
}

/* 1: response without body done, 0: body follows or (1xx) the next head, -1 error. */
static int head_parse(struct pe_http_parser *p)
{
	size_t pos = 0, len;
	const char *line;
	int minor = 0;
	bool close = false;
	if (!head_line(p, &pos, &line, &len) || status_line_parse(p, line, len, &minor))
		return p->state == PE_HP_ERROR ? -1 : fail(p, "malformed HTTP status line");
	while (head_line(p, &pos, &line, &len) && len) {
		if (line[0] == ' ' || line[0] == '\t')
			return fail(p, "folded HTTP header line");
		if (header_parse(p, line, len, &close))
			return -1;
	}
	if (p->status == 101)
		return fail(p, "unexpected protocol switch (HTTP 101)");
	if (p->status < 200) { /* interim (100 Continue, 103 Early Hints): the real answer follows */
		p->head_len = 0;
		p->chunked = p->have_length = false;
		p->length = 0;
		return 0;
	}
	return body_start(p, minor, close);
}

static int head_feed(struct pe_http_parser *p, const char *data, size_t len, size_t *used)
{
	for (size_t i = 0; i < len; i++) {
		if (p->head_len == sizeof(p->head))
			return fail(p, "HTTP header block larger than %d bytes", PE_HTTP_MAX_HEADER);
		char c = data[i];
		p->head[p->head_len++] = c;
		if (c != '\n')
			continue;
		size_t n = p->head_len;
		bool blank =
		    (n >= 2 && p->head[n - 2] == '\n') || (n >= 3 && p->head[n - 2] == '\r' && p->head[n - 3] == '\n');
		if (n == 1 || (n == 2 && p->head[0] == '\r')) { /* blank lines before a response: tolerated */
			p->head_len = 0;
			continue;
		}
		if (blank) {
			*used += i + 1;
			return head_parse(p);
		}
	}
	*used += len;
	return 0;
}

/* Collects one CR LF terminated line of the chunked framing into p->line. 1: complete. */
static int line_feed(struct pe_http_parser *p, char c)
{
	if (c == '\n') {
		if (p->line_len && p->line[p->line_len - 1] == '\r')
			p->line_len--;
		p->line[p->line_len] = '\0';
		return 1;
	}
	if (p->line_len + 1 >= sizeof(p->line))
		return fail(p, "chunked framing line longer than %d bytes", PE_HTTP_MAX_CHUNK_LINE);
	p->line[p->line_len++] = c;
	return 0;
}

static int chunk_size_parse(struct pe_http_parser *p)
{
	unsigned long long n = 0;
	size_t i = 0;
	for (; i < p->line_len; i++) {
		char c = p->line[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
		        : c >= 'a' && c <= 'f' ? c - 'a' + 10
		        : c >= 'A' && c <= 'F' ? c - 'A' + 10
		                               : -1;
		if (d < 0)
			break;
		if (n > (~0ULL >> 4))
			return fail(p, "chunk size out of range");
		n = n << 4 | (unsigned long long)d;
	}
	char next = i < p->line_len ? p->line[i] : '\0';
	if (i == 0 || (next != '\0' && next != ';' && next != ' ' && next != '\t'))
		return fail(p, "malformed chunk size");
	if (n > p->max_body - p->body_len)
		return too_large(p);
	p->length = n;
	p->state = n ? PE_HP_CHUNK_DATA : PE_HP_TRAILER;
	return 0;
}

/* One framing line (chunk size, CR LF after data, trailer) ended. 1: response done. */
static int framing_line(struct pe_http_parser *p)
{
	if (p->state == PE_HP_CHUNK_SIZE)
		return chunk_size_parse(p);
	if (p->state == PE_HP_CHUNK_END) {
		if (p->line_len)
			return fail(p, "chunk data longer than its size");
		p->state = PE_HP_CHUNK_SIZE;
		return 0;
	}
	if (p->line_len == 0) /* trailer section ends */
		return p->state = PE_HP_DONE, 1;
	p->trailer_len += p->line_len + 2; /* with its CR LF */
	if (p->trailer_len > PE_HTTP_MAX_HEADER)
		return fail(p, "HTTP trailers larger than %d bytes", PE_HTTP_MAX_HEADER);
	return 0;
}

/* Content-Length or chunk data: up to the bytes the framing announced. */
static size_t counted_feed(struct pe_http_parser *p, const char *data, size_t len, int *rc)
{
	size_t n = len < p->length ? len : (size_t)p->length;
	if ((*rc = body_append(p, data, n)))
		return n;
	p->length -= n;
	if (p->length == 0 && p->state == PE_HP_BODY_LENGTH)
		*rc = (p->state = PE_HP_DONE, 1);
	else if (p->length == 0)
		p->state = PE_HP_CHUNK_END;
	return n;
}

static int body_feed(struct pe_http_parser *p, const char *data, size_t len, size_t *used)
{
	size_t i = 0;
	int rc = 0;
	while (i < len && rc == 0) {
		if (p->state == PE_HP_BODY_CLOSE) {
			rc = body_append(p, data + i, len - i);
			i = len;
		} else if (p->state == PE_HP_BODY_LENGTH || p->state == PE_HP_CHUNK_DATA) {
			i += counted_feed(p, data + i, len - i, &rc);
		} else if ((rc = line_feed(p, data[i++])) == 1) {
			rc = framing_line(p);
			p->line_len = 0;
		}
	}
	*used += i;
	return rc;
}

int pe_http_parser_feed(struct pe_http_parser *p, const char *data, size_t len, size_t *used)
{
	*used = 0;
	if (len)
		p->any_byte = true;
	while (*used < len && p->state != PE_HP_DONE && p->state != PE_HP_ERROR) {
		int rc = p->state == PE_HP_HEAD ? head_feed(p, data + *used, len - *used, used)
		                                : body_feed(p, data + *used, len - *used, used);
		if (rc)
			return rc;
	}
	return p->state == PE_HP_DONE ? 1 : p->state == PE_HP_ERROR ? -1 : 0;
}

int pe_http_parser_eof(struct pe_http_parser *p)
{
	if (p->state == PE_HP_DONE || p->state == PE_HP_BODY_CLOSE) {
		p->state = PE_HP_DONE;
		return 1;
	}
	if (p->state == PE_HP_ERROR)
		return -1;
	return fail(p, p->any_byte ? "connection closed in the middle of the response"
	                           : "connection closed before any response");
}

char *pe_http_parser_take_body(struct pe_http_parser *p, size_t *len)
{
	char *body = p->body ? p->body : strdup("");
	*len = p->body ? p->body_len : 0;
	p->body = NULL;
	p->body_len = p->body_cap = 0;
	return body;
}
