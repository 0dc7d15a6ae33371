#include "device_flow.h"

#include "prompt.h"
#include "qr.h"
#include "text_safe.h"

#include <security/pam_ext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOW_DOWN_MS 5000
#define MAX_PROMPT   16384

static long long clamp(long long v, long long lo, long long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static const char *json_kind(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	default:
		return "null";
	}
}

/* FIELD of DOC when it is a non-empty string of at most MAX bytes, else NULL with WHY saying
 * what is wrong with it ("user_code (it is a number, not a string)"). */
static const char *bounded_string(const json_t *doc, const char *field, size_t max, char *why, size_t whylen)
{
	const json_t *v = json_object_get(doc, field);
	const char *text = json_string_value(v);
	if (!v)
		snprintf(why, whylen, "%s", field);
	else if (!text)
		snprintf(why, whylen, "%s (it is %s, not a string)", field, json_kind(v));
	else if (!*text)
		snprintf(why, whylen, "%s (it is empty)", field);
	else if (strlen(text) > max)
		snprintf(why, whylen, "%s (longer than %zu bytes)", field, max);
	else
		return text;
	return NULL;
}

/* DOC parsed from BODY when it is a JSON object, else NULL with WHY saying why not. */
static json_t *json_object_load(const char *body, size_t len, char *why, size_t whylen)
{
	json_error_t jerr;
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (json_is_object(doc))
		return doc;
	char detail[sizeof(jerr.text)];
	if (doc)
		snprintf(detail, sizeof(detail), "it is %s", json_kind(doc));
	else /* jansson quotes the offending input: keep it printable */
		pe_printable(detail, sizeof(detail), jerr.text);
	snprintf(why, whylen, "a JSON object body (%s)", detail);
	json_decref(doc);
	return NULL;
}

int pe_device_code_from_json(json_t *doc, bool need_device_code, struct pe_device_code *dc, char *why, size_t whylen)
{
	char ignored[128];
	memset(dc, 0, sizeof(*dc));
	dc->doc = doc;
	dc->device_code = bounded_string(doc, "device_code", PE_DEVICE_CODE_MAX, why, whylen);
	if ((!dc->device_code && need_device_code) ||
	    !(dc->user_code = bounded_string(doc, "user_code", PE_USER_CODE_MAX, why, whylen)) ||
	    !(dc->verification_uri = bounded_string(doc, "verification_uri", PE_URI_MAX, why, whylen))) {
		pe_device_code_free(dc);
		return -1;
	}
	dc->verification_uri_complete =
	    bounded_string(doc, "verification_uri_complete", PE_URI_MAX, ignored, sizeof(ignored));
	json_t *expires = json_object_get(doc, "expires_in"), *interval = json_object_get(doc, "interval");
	dc->expires_in = json_is_integer(expires) ? clamp(json_integer_value(expires), 1, 3600) : 900;
	dc->interval = json_is_integer(interval) ? clamp(json_integer_value(interval), 1, 60) : 5;
	return 0;
}

int pe_device_code_parse(const char *body, size_t len, struct pe_device_code *dc, char *why, size_t whylen)
{
	memset(dc, 0, sizeof(*dc));
	json_t *doc = json_object_load(body, len, why, whylen);
	return doc ? pe_device_code_from_json(doc, true, dc, why, whylen) : -1;
}

void pe_device_code_free(struct pe_device_code *dc)
{
	json_decref(dc->doc);
	memset(dc, 0, sizeof(*dc));
}

static void oauth_error_read(const json_t *doc, struct pe_token_response *t)
{
	pe_printable(t->error, sizeof(t->error), json_string_value(json_object_get(doc, "error")));
	pe_printable(t->description, sizeof(t->description),
	             json_string_value(json_object_get(doc, "error_description")));
}

static enum pe_token_outcome oauth_error_outcome(const char *error)
{
	static const struct {
		const char *code;
		enum pe_token_outcome outcome;
	} known[] = {
	    {"authorization_pending", PE_TOKEN_PENDING},   {"slow_down", PE_TOKEN_SLOW_DOWN},
	    {"authorization_declined", PE_TOKEN_DECLINED}, {"expired_token", PE_TOKEN_EXPIRED},
	    {"bad_verification_code", PE_TOKEN_BAD_CODE},
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(error, known[i].code))
			return known[i].outcome;
	return PE_TOKEN_OTHER_ERROR;
}

/* A 200 answer without an error: the id_token, or why there is none. */
static int id_token_read(const json_t *doc, struct pe_token_response *t)
{
	const json_t *v = json_object_get(doc, "id_token");
	const char *text = json_string_value(v);
	t->outcome = PE_TOKEN_MALFORMED;
	t->id_token_absent = !v;
	if (!v)
		snprintf(t->why, sizeof(t->why), "the token response has no id_token");
	else if (!text)
		snprintf(t->why, sizeof(t->why), "the token response has no id_token string: its id_token is %s",
		         json_kind(v));
	else if (!*text)
		snprintf(t->why, sizeof(t->why), "the token response has no id_token string: its id_token is empty");
	else if (!(t->id_token = strdup(text)))
		return -1;
	else
		t->outcome = PE_TOKEN_ID_TOKEN;
	return 0;
}

int pe_token_response_parse(long status, const char *body, size_t len, struct pe_token_response *t)
{
	memset(t, 0, sizeof(*t));
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	const char *error = json_string_value(json_object_get(doc, "error"));
	int rc = 0;
	oauth_error_read(doc, t);
	if (error) {
		t->outcome = oauth_error_outcome(error);
	} else if (status != 200) {
		t->outcome = PE_TOKEN_OTHER_ERROR;
	} else if (!json_is_object(doc)) {
		t->outcome = PE_TOKEN_MALFORMED; /* not a missing scope: the answer itself is broken */
		snprintf(t->why, sizeof(t->why), "the token response (HTTP 200) is not a JSON object");
	} else {
		rc = id_token_read(doc, t);
	}
	json_decref(doc);
	return rc;
}

void pe_token_response_free(struct pe_token_response *t)
{
	free(t->id_token);
	t->id_token = NULL;
}

/* Logs an OAuth error answer: the status, "error" and the start of "error_description" (Entra's
 * AADSTS code), then HINT on what to do. */
static void log_oauth_error(struct pe_session *s, const char *what, long status, const struct pe_token_response *t,
                            const char *hint)
{
	entra_log(&s->log, LOG_ERR, "refusing sign-in of %s: %s failed: HTTP %ld %s %s%s%s", s->user, what, status,
	          t->error[0] ? t->error : "(no error code)", t->description, hint ? "; " : "", hint ? hint : "");
}

static void log_device_code_error(struct pe_session *s, const struct pe_http_response *r)
{
	struct pe_token_response t;
	memset(&t, 0, sizeof(t));
	json_t *doc = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
	oauth_error_read(doc, &t);
	json_decref(doc);
	log_oauth_error(s, "device code request", r->status, &t,
	                t.error[0] ? "check [entra] client_id and tenant_id and the app registration's "
	                             "'Allow public client flows' setting"
	                           : "check [entra] authority");
}

int pe_device_code_request(struct pe_session *s, const struct pe_oidc_provider *p, struct pe_device_code *dc)
{
	char err[512], why[256];
	const char *fields[] = {"client_id", s->cfg.client_id, "scope", s->cfg.scope, NULL};
	struct pe_http_opts opts = pe_http_opts(s);
	struct pe_http_response r;
	memset(dc, 0, sizeof(*dc));
	if (pe_http_post_form(&opts, p->device_authorization_endpoint, fields, &r, err, sizeof(err))) {
		entra_log(&s->log, LOG_ERR, "device code request failed: %s; check the network and [entra] ca_file",
		          err);
		return PAM_AUTHINFO_UNAVAIL;
	}
	int rc = PAM_SUCCESS;
	if (r.status != 200) {
		log_device_code_error(s, &r);
		rc = PAM_AUTHINFO_UNAVAIL;
	} else if (pe_device_code_parse(r.body, r.len, dc, why, sizeof(why))) {
		char endpoint[256]; /* from the discovery document: printable only */
		pe_printable(endpoint, sizeof(endpoint), p->device_authorization_endpoint);
		entra_log(&s->log, LOG_ERR,
		          "refusing sign-in of %s: device code response lacks %s: the HTTP 200 body from %s is not a "
		          "valid device code response; check that [entra] authority names Entra ID or an RFC 8628 IdP",
		          s->user, why, endpoint);
		rc = PAM_AUTHINFO_UNAVAIL;
	}
	pe_http_response_free(&r);
	return rc;
}

/* Whether the locale (PAM's environment first, then the process's) says the terminal decodes UTF-8. */
static bool utf8_terminal(struct pe_session *s)
{
	const char *vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};
	for (size_t i = 0; i < 3; i++) {
		const char *v = pam_getenv(s->pamh, vars[i]);
		if (!v)
			v = getenv(vars[i]);
		if (v && *v)
			return strcasestr(v, "UTF-8") || strcasestr(v, "utf8");
	}
	return false;
}

static bool want_qr(struct pe_session *s)
{
	return s->cfg.qr >= 0 ? s->cfg.qr == 1 : utf8_terminal(s);
}

static char *first_prompt(struct pe_session *s, const struct pe_device_code *dc)
{
	char uri[1100], code[80], full[1100], host[256], user[256];
	/* The IdP's text reaches a terminal: never a control, bidi or format character, and
	 * non-ASCII letters only where the locale says UTF-8 (text_safe.h). */
	unsigned flags = utf8_terminal(s) ? 0 : ENTRA_TEXT_ASCII;
	entra_text_safe(uri, sizeof(uri), dc->verification_uri, flags);
	entra_text_safe(code, sizeof(code), dc->user_code, flags);
	entra_text_safe(full, sizeof(full), dc->verification_uri_complete, flags);
	entra_text_safe(host, sizeof(host), s->cfg.host, flags);
	entra_text_safe(user, sizeof(user), s->user, flags);
	char *qr = want_qr(s) ? pe_qr_render(full[0] ? full : uri) : NULL;
	char *text = malloc(MAX_PROMPT);
	if (text)
		snprintf(text, MAX_PROMPT,
		         "Sign in to %s as %s with Microsoft Entra ID:\n"
		         "open %s in a browser and enter the code %s%s%s\n%s"
		         "Press Enter once you have signed in",
		         host, user, uri, code, full[0] ? "\nor open " : "", full, qr ? qr : "");
	free(qr);
	return text;
}

/* What to do next after a final answer (NULL: the error text says enough). */
static const char *final_hint(enum pe_token_outcome outcome)
{
	switch (outcome) {
	case PE_TOKEN_DECLINED:
		return "the user declined the sign-in request";
	case PE_TOKEN_EXPIRED:
		return "the code expired before sign-in was completed: log in again and finish sooner";
	case PE_TOKEN_BAD_CODE:
		return "the IdP does not recognise the device code: log in again";
	default:
		return NULL;
	}
}

static enum pe_poll_result poll_answer(struct pe_session *s, const struct pe_http_response *r, char **id_token)
{
	struct pe_token_response t;
	if (pe_token_response_parse(r->status, r->body, r->len, &t)) {
		entra_log(&s->log, LOG_ERR, "refusing sign-in of %s: out of memory reading the token response",
		          s->user);
		return PE_POLL_FAILED;
	}
	enum pe_poll_result res = PE_POLL_FAILED;
	switch (t.outcome) {
	case PE_TOKEN_ID_TOKEN:
		*id_token = t.id_token;
		t.id_token = NULL;
		res = PE_POLL_DONE;
		break;
	case PE_TOKEN_PENDING:
		res = PE_POLL_PENDING;
		break;
	case PE_TOKEN_SLOW_DOWN:
		res = PE_POLL_SLOW_DOWN;
		break;
	case PE_TOKEN_MALFORMED:
		/* Only a missing id_token means the openid scope was not granted. */
		entra_log(&s->log, LOG_ERR, "refusing sign-in of %s: %s; %s", s->user, t.why,
		          t.id_token_absent
		              ? "[pam] scope must include openid"
		              : "the IdP does not answer as OpenID Connect requires: report it to its operator");
		break;
	default:
		log_oauth_error(s, "token request", r->status, &t, final_hint(t.outcome));
		break;
	}
	pe_token_response_free(&t);
	return res;
}

enum pe_poll_result pe_token_poll(struct pe_session *s, const struct pe_oidc_provider *p,
                                  const struct pe_device_code *dc, char **id_token)
{
	char err[512];
	const char *fields[] = {"grant_type",  "urn:ietf:params:oauth:grant-type:device_code",
	                        "client_id",   s->cfg.client_id,
	                        "device_code", dc->device_code,
	                        NULL};
	struct pe_http_opts opts = pe_http_opts(s);
	struct pe_http_response r;
	if (pe_http_post_form(&opts, p->token_endpoint, fields, &r, err, sizeof(err))) {
		entra_log(&s->log, LOG_ERR, "refusing sign-in of %s: token request failed: %s", s->user, err);
		return PE_POLL_FAILED;
	}
	enum pe_poll_result res = poll_answer(s, &r, id_token);
	pe_http_response_free(&r);
	return res;
}

static int poll_loop(struct pe_session *s, const struct pe_flow_backend *b, const struct pe_device_code *dc)
{
	long long interval_ms = dc->interval * 1000, last_poll = 0;
	for (unsigned polls = 1;; polls++) {
		if (last_poll)
			pe_sleep_ms(s, last_poll + interval_ms - pe_now_ms());
		if (pe_remaining_ms(s) <= 0) {
			entra_log(&s->log, LOG_ERR,
			          "refusing sign-in of %s: not completed within the time limit "
			          "([pam] login_timeout or the code's expires_in) after %u polls",
			          s->user, polls - 1);
			return PAM_AUTH_ERR;
		}
		enum pe_poll_result res = b->poll(s, b->ctx, dc);
		/* The interval counts from the answer, so the IdP never sees polls closer than it. */
		last_poll = pe_now_ms();
		switch (res) {
		case PE_POLL_DONE:
			return PAM_SUCCESS;
		case PE_POLL_SLOW_DOWN:
			interval_ms += SLOW_DOWN_MS;
			break;
		case PE_POLL_PENDING: {
			int rc = pe_prompt(s->pamh, "Sign-in not finished yet: press Enter once you have signed in");
			if (rc != PAM_SUCCESS)
				return rc;
			break;
		}
		case PE_POLL_FAILED:
			return PAM_AUTH_ERR;
		}
	}
}

int pe_device_flow_run(struct pe_session *s, const struct pe_flow_backend *b)
{
	struct pe_device_code dc;
	int rc = b->request_code(s, b->ctx, &dc);
	if (rc != PAM_SUCCESS)
		return rc;
	long long code_deadline = pe_now_ms() + dc.expires_in * 1000;
	if (code_deadline < s->deadline_ms)
		s->deadline_ms = code_deadline;
	char *text = first_prompt(s, &dc);
	rc = text ? pe_prompt(s->pamh, text) : PAM_BUF_ERR;
	free(text);
	if (rc == PAM_SUCCESS)
		rc = poll_loop(s, b, &dc);
	else
		entra_log(&s->log, LOG_ERR, "sign-in of %s abandoned: the conversation failed (%s)", s->user,
		          pam_strerror(s->pamh, rc));
	pe_device_code_free(&dc);
	return rc;
}

/* The in-process backend: HTTPS straight to the IdP. */
struct direct_flow {
	const struct pe_oidc_provider *provider;
	char *id_token;
};

static int direct_request_code(struct pe_session *s, void *ctx, struct pe_device_code *dc)
{
	return pe_device_code_request(s, ((struct direct_flow *)ctx)->provider, dc);
}

static enum pe_poll_result direct_poll(struct pe_session *s, void *ctx, const struct pe_device_code *dc)
{
	struct direct_flow *f = ctx;
	return pe_token_poll(s, f->provider, dc, &f->id_token);
}

int pe_device_flow(struct pe_session *s, const struct pe_oidc_provider *p, char **id_token)
{
	struct direct_flow flow = {.provider = p};
	struct pe_flow_backend backend = {.request_code = direct_request_code, .poll = direct_poll, .ctx = &flow};
	int rc = pe_device_flow_run(s, &backend);
	*id_token = rc == PAM_SUCCESS ? flow.id_token : NULL;
	if (rc != PAM_SUCCESS && flow.id_token) {
		explicit_bzero(flow.id_token, strlen(flow.id_token));
		free(flow.id_token);
	}
	return rc;
}
