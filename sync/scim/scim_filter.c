/* RFC 7644 3.4.2.2 filters: a recursive-descent parser into a small tree, and its evaluator. */
#include "common/casefold.h"
#include "sync/scim/scim_datetime.h"
#include "sync/scim/scim_internal.h"
#include "sync/scim/scim_resource.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum node_kind { NODE_AND, NODE_OR, NODE_NOT, NODE_COMPARE, NODE_VALUE_PATH };

enum compare_op { OP_EQ, OP_NE, OP_CO, OP_SW, OP_EW, OP_PR, OP_GT, OP_GE, OP_LT, OP_LE };

static const char *const op_names[] = {"eq", "ne", "co", "sw", "ew", "pr", "gt", "ge", "lt", "le"};

struct attr_ref {
	char *urn;          /* schema URN prefix or NULL */
	char *attr;         /* as written */
	char *sub;          /* sub-attribute or NULL */
	char *attr_lower;   /* lowercased attr, for scim_filter_simple_eq */
	bool case_exact[2]; /* indexed by enum scim_resource_type */
	bool date_time;     /* meta.created, meta.lastModified: compared chronologically */
};

struct scim_filter {
	enum node_kind kind;
	struct scim_filter **children; /* AND, OR (n >= 2), NOT (n == 1) */
	size_t n_children;
	struct attr_ref ref;       /* COMPARE, VALUE_PATH */
	enum compare_op op;        /* COMPARE */
	json_t *literal;           /* COMPARE, not for pr */
	struct scim_time when;     /* the literal as an instant, when ref.date_time orders it */
	struct scim_filter *inner; /* VALUE_PATH: evaluated against each element */
	bool nested;               /* parsed inside a value path */
};

struct parser {
	const char *text;
	size_t len;
	size_t pos;
	int depth;
	const char *parent; /* multi-valued attribute of a value filter, else NULL */
	struct scim_error *err;
};

/* ---------- tree ---------- */

void scim_filter_free(struct scim_filter *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n_children; i++)
		scim_filter_free(f->children[i]);
	free(f->children);
	free(f->ref.urn);
	free(f->ref.attr);
	free(f->ref.sub);
	free(f->ref.attr_lower);
	json_decref(f->literal);
	scim_filter_free(f->inner);
	free(f);
}

static struct scim_filter *node_new(enum node_kind kind)
{
	struct scim_filter *f = calloc(1, sizeof(*f));
	if (f)
		f->kind = kind;
	return f;
}

static int node_add_child(struct scim_filter *f, struct scim_filter *child)
{
	struct scim_filter **c = realloc(f->children, (f->n_children + 1) * sizeof(*c));
	if (!c)
		return -1;
	f->children = c;
	f->children[f->n_children++] = child;
	return 0;
}

/* ---------- lexing ---------- */

static int parse_fail(struct parser *p, const char *what)
{
	return scim_error_set(p->err, 400, "invalidFilter", "filter is not valid at offset %zu: %s", p->pos, what);
}

static int parse_oom(struct parser *p)
{
	return scim_error_set(p->err, 500, NULL, "out of memory while parsing filter");
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len && (p->text[p->pos] == ' ' || p->text[p->pos] == '\t' || p->text[p->pos] == '\r' ||
	                           p->text[p->pos] == '\n'))
		p->pos++;
}

static bool is_word_char(char c)
{
	return isalnum((unsigned char)c) || c == ':' || c == '.' || c == '_' || c == '-' || c == '$';
}

/* Length of the word at the current position (0 when none). */
static size_t word_len(const struct parser *p)
{
	size_t n = 0;
	while (p->pos + n < p->len && is_word_char(p->text[p->pos + n]))
		n++;
	return n;
}

/* Consumes keyword KW (case-insensitive, whole word) after optional whitespace. */
static bool accept_keyword(struct parser *p, const char *kw)
{
	size_t saved = p->pos, n;

	skip_ws(p);
	n = word_len(p);
	if (n && scim_ieq(p->text + p->pos, n, kw, strlen(kw))) {
		p->pos += n;
		return true;
	}
	p->pos = saved;
	return false;
}

/* ---------- attribute paths ---------- */

static char *lower_dup(const char *s)
{
	char *d = strdup(s);
	for (char *c = d; c && *c; c++)
		*c = (char)tolower((unsigned char)*c);
	return d;
}

/* Splits "[urn:]attr[.sub]" (N bytes at S) into REF. 0, or -1 with a reason in *WHY. */
static int split_attr_path(const char *s, size_t n, struct attr_ref *ref, const char **why)
{
	const char *name = s, *dot;
	size_t name_len = n;

	if (n > 4 && scim_ieq(s, 4, "urn:", 4)) {
		const char *colon = s + n;
		while (colon > s && colon[-1] != ':')
			colon--;
		ref->urn = strndup(s, (size_t)(colon - 1 - s));
		name = colon;
		name_len = n - (size_t)(colon - s);
	}
	dot = memchr(name, '.', name_len);
	if (dot) {
		ref->sub = strndup(dot + 1, name_len - (size_t)(dot + 1 - name));
		name_len = (size_t)(dot - name);
	}
	ref->attr = strndup(name, name_len);
	if (!ref->attr || (dot && !ref->sub)) {
		*why = "out of memory";
		return -1;
	}
	if (!scim_valid_attr_name(ref->attr, strlen(ref->attr)) ||
	    (ref->sub && !scim_valid_attr_name(ref->sub, strlen(ref->sub)))) {
		*why = "expected an attribute name";
		return -1;
	}
	return 0;
}

/* Full dotted path used for caseExact and dateTime: "[parent.][urn:]attr[.sub]". */
static void ref_set_types(struct attr_ref *ref, const char *parent)
{
	char path[SCIM_FILTER_MAX_LEN * 2 + 8];

	snprintf(path, sizeof(path), "%s%s%s%s%s%s%s", parent ? parent : "", parent ? "." : "",
	         ref->urn ? ref->urn : "", ref->urn ? ":" : "", ref->attr, ref->sub ? "." : "",
	         ref->sub ? ref->sub : "");
	ref->case_exact[SCIM_USER] = scim_attr_case_exact(SCIM_USER, path);
	ref->case_exact[SCIM_GROUP] = scim_attr_case_exact(SCIM_GROUP, path);
	ref->date_time = scim_attr_date_time(SCIM_USER, path) || scim_attr_date_time(SCIM_GROUP, path);
}

/* ---------- literals ---------- */

static int hex4(const char *s, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (unsigned)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t utf8_encode(unsigned cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

/* Decodes the \uXXXX escape (and a following low surrogate) at P->pos. */
static int parse_unicode_escape(struct parser *p, unsigned *cp)
{
	unsigned lo;

	if (p->pos + 4 > p->len || hex4(p->text + p->pos, cp) < 0)
		return parse_fail(p, "bad \\u escape in string");
	p->pos += 4;
	if (*cp >= 0xDC00 && *cp <= 0xDFFF)
		return parse_fail(p, "unpaired surrogate in string");
	if (*cp >= 0xD800 && *cp <= 0xDBFF) {
		if (p->pos + 6 > p->len || p->text[p->pos] != '\\' || p->text[p->pos + 1] != 'u' ||
		    hex4(p->text + p->pos + 2, &lo) < 0 || lo < 0xDC00 || lo > 0xDFFF)
			return parse_fail(p, "unpaired surrogate in string");
		p->pos += 6;
		*cp = 0x10000 + ((*cp - 0xD800) << 10) + (lo - 0xDC00);
	}
	if (*cp == 0)
		return parse_fail(p, "NUL character in string");
	return 0;
}

static int parse_escape(struct parser *p, char *buf, size_t *n)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	const char *hit;
	unsigned cp;
	char c;

	if (p->pos >= p->len)
		return parse_fail(p, "unterminated string");
	c = p->text[p->pos++];
	if (c == 'u') {
		if (parse_unicode_escape(p, &cp) < 0)
			return -1;
		*n += utf8_encode(cp, buf + *n);
		return 0;
	}
	hit = c ? strchr(from, c) : NULL;
	if (!hit)
		return parse_fail(p, "unknown escape in string");
	buf[(*n)++] = to[hit - from];
	return 0;
}

static json_t *parse_string(struct parser *p)
{
	size_t start = p->pos++, n = 0;
	char *buf = malloc(p->len - start + 4); /* decoding never grows the text */
	json_t *s = NULL;

	if (!buf) {
		parse_oom(p);
		return NULL;
	}
	for (;;) {
		char c;
		if (p->pos >= p->len) {
			p->pos = start;
			parse_fail(p, "unterminated string");
			goto out;
		}
		c = p->text[p->pos++];
		if (c == '"')
			break;
		if ((unsigned char)c < 0x20) {
			parse_fail(p, "control character in string");
			goto out;
		}
		if (c != '\\')
			buf[n++] = c;
		else if (parse_escape(p, buf, &n) < 0)
			goto out;
	}
	s = json_stringn(buf, n);
	if (!s) {
		p->pos = start;
		parse_fail(p, "string is not valid UTF-8");
	}
out:
	free(buf);
	return s;
}

/* JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static size_t scan_number(const char *s, size_t n, bool *is_int)
{
	size_t i = 0, d;

	*is_int = true;
	if (i < n && s[i] == '-')
		i++;
	for (d = i; i < n && isdigit((unsigned char)s[i]); i++)
		;
	if (i == d || (s[d] == '0' && i - d > 1))
		return 0;
	if (i < n && s[i] == '.') {
		*is_int = false;
		for (d = ++i; i < n && isdigit((unsigned char)s[i]); i++)
			;
		if (i == d)
			return 0;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		*is_int = false;
		if (++i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		for (d = i; i < n && isdigit((unsigned char)s[i]); i++)
			;
		if (i == d)
			return 0;
	}
	return i;
}

static json_t *parse_number(struct parser *p)
{
	bool is_int;
	size_t n = scan_number(p->text + p->pos, p->len - p->pos, &is_int);
	char buf[64];
	json_t *v = NULL;

	if (n == 0 || n >= sizeof(buf)) {
		parse_fail(p, "bad number");
		return NULL;
	}
	memcpy(buf, p->text + p->pos, n);
	buf[n] = '\0';
	errno = 0;
	if (is_int) {
		long long ll = strtoll(buf, NULL, 10);
		if (errno == 0)
			v = json_integer(ll);
	}
	if (!v) {
		double d = strtod(buf, NULL);
		if (!isfinite(d)) {
			parse_fail(p, "number out of range");
			return NULL;
		}
		v = json_real(d);
	}
	if (!v)
		parse_oom(p);
	p->pos += n;
	return v;
}

static json_t *parse_literal(struct parser *p)
{
	size_t n;
	char c;

	skip_ws(p);
	if (p->pos >= p->len) {
		parse_fail(p, "expected a value");
		return NULL;
	}
	c = p->text[p->pos];
	if (c == '"')
		return parse_string(p);
	if (c == '-' || isdigit((unsigned char)c))
		return parse_number(p);
	n = word_len(p);
	if (n == 4 && scim_ieq(p->text + p->pos, n, "true", 4)) {
		p->pos += n;
		return json_true();
	}
	if (n == 5 && scim_ieq(p->text + p->pos, n, "false", 5)) {
		p->pos += n;
		return json_false();
	}
	if (n == 4 && scim_ieq(p->text + p->pos, n, "null", 4)) {
		p->pos += n;
		return json_null();
	}
	parse_fail(p, "expected a value (string, number, true, false or null)");
	return NULL;
}

/* ---------- grammar ---------- */

static struct scim_filter *parse_or(struct parser *p);

static int parse_operator(struct parser *p, enum compare_op *op)
{
	size_t n;

	skip_ws(p);
	n = word_len(p);
	for (size_t i = 0; i < sizeof(op_names) / sizeof(op_names[0]); i++) {
		if (n == 2 && scim_ieq(p->text + p->pos, n, op_names[i], 2)) {
			*op = (enum compare_op)i;
			p->pos += n;
			return 0;
		}
	}
	return parse_fail(p, n ? "unknown operator" : "expected an operator");
}

static struct scim_filter *parse_attr_expr(struct parser *p);

/* Entra's `emails[type eq "work"].value eq "x"`: the `.sub op value` after ']' compares the same
 * element the bracket selected, so it is ANDed into F's value filter. P->pos is on the '.'. */
static int parse_value_path_sub(struct parser *p, struct scim_filter *f, const char *parent)
{
	const char *saved_parent = p->parent;
	struct scim_filter *cmp, *both;

	p->pos++;
	if (p->pos >= p->len || !is_word_char(p->text[p->pos]))
		return parse_fail(p, "expected a sub-attribute after ']'");
	p->parent = parent;
	cmp = parse_attr_expr(p);
	p->parent = saved_parent;
	if (!cmp)
		return -1;
	both = node_new(NODE_AND);
	if (!both || node_add_child(both, f->inner) < 0) {
		scim_filter_free(both);
		scim_filter_free(cmp);
		return parse_oom(p);
	}
	f->inner = both;
	if (node_add_child(both, cmp) < 0) {
		scim_filter_free(cmp);
		return parse_oom(p);
	}
	return 0;
}

/* The `[valFilter]` part of a value path, P->pos just past '['. */
static struct scim_filter *parse_value_path(struct parser *p, struct scim_filter *f)
{
	char parent[SCIM_FILTER_MAX_LEN + 2];
	const char *saved_parent = p->parent;

	if (p->parent) {
		parse_fail(p, "value paths cannot be nested");
		goto fail;
	}
	if (f->ref.sub) {
		parse_fail(p, "a value path needs a multi-valued attribute, not a sub-attribute");
		goto fail;
	}
	snprintf(parent, sizeof(parent), "%s%s%s", f->ref.urn ? f->ref.urn : "", f->ref.urn ? ":" : "", f->ref.attr);
	f->kind = NODE_VALUE_PATH;
	p->parent = parent;
	f->inner = parse_or(p);
	p->parent = saved_parent;
	if (!f->inner)
		goto fail;
	skip_ws(p);
	if (p->pos >= p->len || p->text[p->pos] != ']') {
		parse_fail(p, "expected ']'");
		goto fail;
	}
	p->pos++;
	if (p->pos < p->len && p->text[p->pos] == '.' && parse_value_path_sub(p, f, parent) < 0)
		goto fail;
	return f;
fail:
	scim_filter_free(f);
	return NULL;
}

/* RFC 7644 3.4.2.2: a dateTime compares chronologically, so its literal must be a dateTime
 * (co, sw and ew keep comparing text). P->pos is just past the literal. */
static int parse_date_time(struct parser *p, struct scim_filter *f)
{
	if (!f->ref.date_time || json_is_null(f->literal) || f->op == OP_CO || f->op == OP_SW || f->op == OP_EW)
		return 0;
	if (json_is_string(f->literal) &&
	    scim_time_parse(json_string_value(f->literal), json_string_length(f->literal), &f->when) == 0)
		return 0;
	return scim_error_set(p->err, 400, "invalidFilter",
	                      "filter is not valid before offset %zu: '%s' is a dateTime: compare it with a quoted "
	                      "xsd:dateTime such as \"2026-12-03T08:24:47.5Z\" or \"2026-12-03T07:24:47-01:00\"",
	                      p->pos, f->ref.sub ? f->ref.sub : f->ref.attr);
}

static struct scim_filter *parse_attr_expr(struct parser *p)
{
	struct scim_filter *f = node_new(NODE_COMPARE);
	const char *why = NULL;
	size_t start, n;

	if (!f) {
		parse_oom(p);
		return NULL;
	}
	f->nested = p->parent != NULL;
	skip_ws(p);
	start = p->pos;
	n = word_len(p);
	if (n == 0 || split_attr_path(p->text + start, n, &f->ref, &why) < 0) {
		parse_fail(p, why ? why : "expected an attribute name");
		goto fail;
	}
	p->pos += n;
	f->ref.attr_lower = lower_dup(f->ref.attr);
	if (!f->ref.attr_lower) {
		parse_oom(p);
		goto fail;
	}
	ref_set_types(&f->ref, p->parent);
	if (p->pos < p->len && p->text[p->pos] == '[') {
		p->pos++;
		return parse_value_path(p, f);
	}
	if (parse_operator(p, &f->op) < 0)
		goto fail;
	if (f->op == OP_PR)
		return f;
	f->literal = parse_literal(p);
	if (!f->literal || parse_date_time(p, f) < 0)
		goto fail;
	return f;
fail:
	scim_filter_free(f);
	return NULL;
}

static struct scim_filter *parse_group(struct parser *p)
{
	struct scim_filter *f;

	p->pos++; /* '(' */
	f = parse_or(p);
	if (!f)
		return NULL;
	skip_ws(p);
	if (p->pos >= p->len || p->text[p->pos] != ')') {
		parse_fail(p, "expected ')'");
		scim_filter_free(f);
		return NULL;
	}
	p->pos++;
	return f;
}

/* "not" counts as the operator only when a '(' follows; otherwise it is an attribute name. */
static bool at_not(struct parser *p)
{
	size_t saved = p->pos;
	if (accept_keyword(p, "not")) {
		skip_ws(p);
		if (p->pos < p->len && p->text[p->pos] == '(')
			return true;
	}
	p->pos = saved;
	return false;
}

static struct scim_filter *parse_unary(struct parser *p)
{
	struct scim_filter *f, *child;

	if (++p->depth > SCIM_FILTER_MAX_DEPTH) {
		parse_fail(p, "nesting too deep");
		return NULL;
	}
	skip_ws(p);
	if (at_not(p)) {
		f = node_new(NODE_NOT);
		child = f ? parse_group(p) : NULL;
		if (!f)
			parse_oom(p);
		if (!child || node_add_child(f, child) < 0) {
			if (child)
				parse_oom(p);
			scim_filter_free(child);
			scim_filter_free(f);
			return NULL;
		}
	} else if (p->pos < p->len && p->text[p->pos] == '(') {
		f = parse_group(p);
	} else {
		f = parse_attr_expr(p);
	}
	p->depth--;
	return f;
}

/* One level of `child (KEYWORD child)*`, left to right, flattened into one n-ary node. */
static struct scim_filter *parse_chain(struct parser *p, enum node_kind kind, const char *keyword,
                                       struct scim_filter *(*sub)(struct parser *))
{
	struct scim_filter *first = sub(p), *node, *next;

	if (!first)
		return NULL;
	if (!accept_keyword(p, keyword))
		return first;
	node = node_new(kind);
	if (!node || node_add_child(node, first) < 0) {
		parse_oom(p);
		scim_filter_free(first);
		scim_filter_free(node);
		return NULL;
	}
	do {
		next = sub(p);
		if (!next || node_add_child(node, next) < 0) {
			if (next)
				parse_oom(p);
			scim_filter_free(next);
			scim_filter_free(node);
			return NULL;
		}
	} while (accept_keyword(p, keyword));
	return node;
}

static struct scim_filter *parse_and(struct parser *p)
{
	return parse_chain(p, NODE_AND, "and", parse_unary);
}

static struct scim_filter *parse_or(struct parser *p)
{
	return parse_chain(p, NODE_OR, "or", parse_and);
}

static struct scim_filter *parse_all(struct parser *p)
{
	struct scim_filter *f;

	skip_ws(p);
	if (p->pos >= p->len) {
		parse_fail(p, "empty filter");
		return NULL;
	}
	f = parse_or(p);
	if (!f)
		return NULL;
	skip_ws(p);
	if (p->pos < p->len) {
		parse_fail(p, "unexpected text after the filter");
		scim_filter_free(f);
		return NULL;
	}
	return f;
}

struct scim_filter *scim_filter_parse(const char *text, struct scim_error *err)
{
	struct parser p = {.text = text, .err = err};

	if (!text)
		return parse_fail(&p, "no filter"), NULL;
	p.len = strnlen(text, SCIM_FILTER_MAX_LEN + 1);
	if (p.len > SCIM_FILTER_MAX_LEN) {
		scim_error_set(err, 400, "invalidFilter", "filter is longer than %d bytes", SCIM_FILTER_MAX_LEN);
		return NULL;
	}
	return parse_all(&p);
}

struct scim_filter *scim_filter_parse_value_filter(const char *text, size_t len, const char *parent,
                                                   struct scim_error *err)
{
	struct parser p = {.text = text, .len = len, .parent = parent, .err = err};

	if (len > SCIM_FILTER_MAX_LEN) {
		scim_error_set(err, 400, "invalidFilter", "filter is longer than %d bytes", SCIM_FILTER_MAX_LEN);
		return NULL;
	}
	return parse_all(&p);
}

/* ---------- evaluation ---------- */

static int bytes_compare(const char *a, size_t an, const char *b, size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);
	return c ? c : (an > bn) - (an < bn);
}

static bool ordering_op(enum compare_op op)
{
	return op == OP_GT || op == OP_GE || op == OP_LT || op == OP_LE;
}

static bool order_holds(enum compare_op op, int cmp)
{
	switch (op) {
	case OP_GT:
		return cmp > 0;
	case OP_GE:
		return cmp >= 0;
	case OP_LT:
		return cmp < 0;
	case OP_LE:
		return cmp <= 0;
	default:
		return cmp == 0;
	}
}

/* co, sw, ew on the bytes as given (folded text when case-insensitive): UTF-8 is
 * self-synchronising, so a byte match of valid text starts and ends on character boundaries. */
static int text_match(enum compare_op op, const char *a, size_t an, const char *b, size_t bn)
{
	switch (op) {
	case OP_CO:
		return memmem(a, an, b, bn) != NULL;
	case OP_SW:
		return an >= bn && memcmp(a, b, bn) == 0;
	case OP_EW:
		return an >= bn && memcmp(a + an - bn, b, bn) == 0;
	default:
		return order_holds(op, bytes_compare(a, an, b, bn));
	}
}

/* caseExact=false: Unicode simple case folding (casefold.h), so "MÜLLER" eq "Müller". */
static int folded_match(enum compare_op op, const char *a, size_t an, const char *b, size_t bn, struct scim_error *err)
{
	if (op != OP_CO && op != OP_SW && op != OP_EW)
		return order_holds(op, casefold_cmp(a, an, b, bn));
	char *fa = malloc(CASEFOLD_MAX_LEN(an)), *fb = malloc(CASEFOLD_MAX_LEN(bn));
	int r = fa && fb ? text_match(op, fa, casefold_utf8(a, an, fa), fb, casefold_utf8(b, bn, fb))
	                 : scim_error_set(err, 500, NULL, "out of memory comparing strings");
	free(fa);
	free(fb);
	return r;
}

static int string_match(enum compare_op op, const json_t *lit, const json_t *v, bool case_exact, struct scim_error *err)
{
	const char *a = json_string_value(v), *b = json_string_value(lit);
	size_t an = json_string_length(v), bn = json_string_length(lit);
	return case_exact ? text_match(op, a, an, b, bn) : folded_match(op, a, an, b, bn, err);
}

/* A stored dateTime against the filter's instant; text that is no dateTime matches nothing. */
static int time_match(const struct scim_filter *f, const json_t *v)
{
	struct scim_time t;
	if (!json_is_string(v) || scim_time_parse(json_string_value(v), json_string_length(v), &t) < 0)
		return 0;
	return order_holds(f->op, scim_time_cmp(&t, &f->when));
}

/* Entra writes booleans as strings: `primary eq "True"` matches a stored true, in any case. */
static int bool_text_match(const struct scim_filter *f, const json_t *v)
{
	bool b;
	return f->op == OP_EQ && scim_json_as_bool(f->literal, &b) == 1 && b == json_is_true(v);
}

static int cannot_evaluate(const struct scim_filter *f, struct scim_error *err, const char *why)
{
	return scim_error_set(err, 400, "invalidFilter", "cannot apply '%s' to attribute '%s': %s", op_names[f->op],
	                      f->ref.attr, why);
}

/* One candidate value V against F's operator and literal: 1, 0 or -1. */
static int compare_one(const struct scim_filter *f, const json_t *v, bool case_exact, struct scim_error *err)
{
	const json_t *lit = f->literal;
	bool b;

	if (json_is_boolean(v) && ordering_op(f->op))
		return cannot_evaluate(f, err, "it is a boolean");
	if (json_is_string(lit) && f->ref.date_time && f->op != OP_CO && f->op != OP_SW && f->op != OP_EW)
		return time_match(f, v);
	if (json_is_string(lit)) {
		if (json_is_boolean(v))
			return bool_text_match(f, v);
		if (!json_is_string(v))
			return 0;
		return string_match(f->op, lit, v, case_exact, err);
	}
	if (json_is_number(lit)) {
		double x, y;
		if (!json_is_number(v))
			return 0;
		x = json_number_value(v);
		y = json_number_value(lit);
		return order_holds(f->op, x < y ? -1 : (x > y ? 1 : 0));
	}
	if (json_is_boolean(lit))
		return scim_json_as_bool(v, &b) == 1 && b == json_is_true(lit);
	return 0;
}

static bool is_present(const json_t *v)
{
	if (json_is_null(v))
		return false;
	if (json_is_string(v))
		return json_string_length(v) > 0;
	if (json_is_array(v))
		return json_array_size(v) > 0;
	if (json_is_object(v))
		return json_object_size(v) > 0;
	return true;
}

static int candidate(const struct scim_filter *f, enum compare_op op, const json_t *v, bool case_exact,
                     struct scim_error *err)
{
	if (op == OP_PR)
		return is_present(v);
	return compare_one(f, v, case_exact, err);
}

/* Visits each value F's attribute path selects in OBJ; multi-valued attributes match if any value does. */
static int match_any(const struct scim_filter *f, enum compare_op op, enum scim_resource_type type, const json_t *obj,
                     struct scim_error *err)
{
	const json_t *container = obj, *v;
	bool exact = f->ref.case_exact[type];
	size_t i;
	json_t *e;

	if (f->ref.urn && !scim_urn_is_core(type, f->ref.urn))
		container = scim_json_get_ci(obj, f->ref.urn, NULL);
	v = scim_json_get_ci(container, f->ref.attr, NULL);
	if (!v)
		return 0;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			const json_t *c = e;
			int r;
			if (json_is_object(e))
				c = scim_json_get_ci(e, f->ref.sub ? f->ref.sub : "value", NULL);
			else if (f->ref.sub)
				c = NULL;
			r = c ? candidate(f, op, c, exact, err) : 0;
			if (r != 0)
				return r;
		}
		return 0;
	}
	if (f->ref.sub || (json_is_object(v) && op != OP_PR))
		v = scim_json_get_ci(v, f->ref.sub ? f->ref.sub : "value", NULL);
	return v ? candidate(f, op, v, exact, err) : 0;
}

/* Literal-type errors that do not depend on the data. */
static int check_literal(const struct scim_filter *f, struct scim_error *err)
{
	if (ordering_op(f->op) && (json_is_boolean(f->literal) || json_is_null(f->literal)))
		return cannot_evaluate(f, err, "booleans and null have no order");
	if ((f->op == OP_CO || f->op == OP_SW || f->op == OP_EW) && !json_is_string(f->literal))
		return cannot_evaluate(f, err, "the value must be a string");
	return 0;
}

static int eval(const struct scim_filter *f, enum scim_resource_type type, const json_t *obj, struct scim_error *err);

static int eval_compare(const struct scim_filter *f, enum scim_resource_type type, const json_t *obj,
                        struct scim_error *err)
{
	int r;

	if (f->op == OP_PR)
		return match_any(f, OP_PR, type, obj, err);
	if (check_literal(f, err) < 0)
		return -1;
	if (json_is_null(f->literal)) { /* eq null: absent; ne null: present */
		r = match_any(f, OP_PR, type, obj, err);
		return f->op == OP_EQ ? !r : r;
	}
	if (f->op == OP_NE) {
		r = match_any(f, OP_EQ, type, obj, err);
		return r < 0 ? r : !r;
	}
	return match_any(f, f->op, type, obj, err);
}

static int eval_value_path(const struct scim_filter *f, enum scim_resource_type type, const json_t *obj,
                           struct scim_error *err)
{
	const json_t *container = obj, *v;
	size_t i;
	json_t *e;

	if (f->ref.urn && !scim_urn_is_core(type, f->ref.urn))
		container = scim_json_get_ci(obj, f->ref.urn, NULL);
	v = scim_json_get_ci(container, f->ref.attr, NULL);
	if (json_is_object(v))
		return eval(f->inner, type, v, err);
	json_array_foreach(v, i, e) {
		int r = json_is_object(e) ? eval(f->inner, type, e, err) : 0;
		if (r != 0)
			return r;
	}
	return 0;
}

static int eval(const struct scim_filter *f, enum scim_resource_type type, const json_t *obj, struct scim_error *err)
{
	int r;

	switch (f->kind) {
	case NODE_AND:
		for (size_t i = 0; i < f->n_children; i++)
			if ((r = eval(f->children[i], type, obj, err)) <= 0)
				return r;
		return 1;
	case NODE_OR:
		for (size_t i = 0; i < f->n_children; i++)
			if ((r = eval(f->children[i], type, obj, err)) != 0)
				return r;
		return 0;
	case NODE_NOT:
		r = eval(f->children[0], type, obj, err);
		return r < 0 ? r : !r;
	case NODE_VALUE_PATH:
		return eval_value_path(f, type, obj, err);
	case NODE_COMPARE:
		return eval_compare(f, type, obj, err);
	}
	return scim_error_set(err, 500, NULL, "corrupt filter");
}

int scim_filter_match(const struct scim_filter *f, enum scim_resource_type type, const json_t *resource,
                      struct scim_error *err)
{
	if (!f || !json_is_object(resource))
		return scim_error_set(err, 400, "invalidFilter", "nothing to match");
	return eval(f, type, resource, err);
}

/* ---------- helpers for the store and PATCH ---------- */

bool scim_filter_simple_eq(const struct scim_filter *f, const char **attr, const char **value)
{
	if (!f || f->kind != NODE_COMPARE || f->op != OP_EQ || f->nested || f->ref.sub || !json_is_string(f->literal))
		return false;
	if (f->ref.urn && !scim_urn_is_core(SCIM_USER, f->ref.urn) && !scim_urn_is_core(SCIM_GROUP, f->ref.urn))
		return false;
	*attr = f->ref.attr_lower;
	*value = json_string_value(f->literal);
	return true;
}

int scim_filter_eq_clauses(const struct scim_filter *f, json_t *out)
{
	if (f->kind == NODE_AND) {
		for (size_t i = 0; i < f->n_children; i++)
			if (scim_filter_eq_clauses(f->children[i], out) < 0)
				return -1;
		return 0;
	}
	if (f->kind != NODE_COMPARE || f->op != OP_EQ || f->ref.urn || f->ref.sub || json_is_null(f->literal))
		return -1;
	return json_object_set_new(out, f->ref.attr, json_deep_copy(f->literal));
}

bool scim_attr_date_time(enum scim_resource_type type, const char *attr_path)
{
	const struct scim_attr *a = scim_attr_at_path(type, attr_path, NULL);
	return a && a->type == SCIM_TYPE_DATETIME;
}

/* The schema's caseExact; any "$ref" is a reference, which RFC 7643 2.3.7 compares exactly; a
 * sub-attribute the schema does not list compares like its parent (meta.*). */
bool scim_attr_case_exact(enum scim_resource_type type, const char *attr_path)
{
	const struct scim_attr *parent, *a;
	size_t n = attr_path ? strlen(attr_path) : 0;

	if (!attr_path)
		return false;
	if (scim_ieq_str(attr_path, "$ref") || (n >= 5 && scim_ieq(attr_path + n - 5, 5, ".$ref", 5)))
		return true;
	a = scim_attr_at_path(type, attr_path, &parent);
	if (a)
		return a->case_exact;
	return parent && parent->case_exact;
}
