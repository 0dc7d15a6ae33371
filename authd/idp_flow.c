/* The IdP side of the device code flow: the device authorization request, the token polls and
 * what each answer of the token endpoint means. */
#include "authd/idp_flow.h"

#include "common/text_safe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oauth_error_read(const json_t *doc, struct authd_token_response *t)
{
	entra_text_printable(t->error, sizeof(t->error), json_string_value(json_object_get(doc, "error")));
	entra_text_printable(t->description, sizeof(t->description),
	                     json_string_value(json_object_get(doc, "error_description")));
}

static enum authd_token_outcome oauth_error_outcome(const char *error)
{
	static const struct {
		const char *code;
		enum authd_token_outcome outcome;
	} known[] = {
	    {"authorization_pending", AUTHD_TOKEN_PENDING},   {"slow_down", AUTHD_TOKEN_SLOW_DOWN},
	    {"authorization_declined", AUTHD_TOKEN_DECLINED}, {"expired_token", AUTHD_TOKEN_EXPIRED},
	    {"bad_verification_code", AUTHD_TOKEN_BAD_CODE},
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (!strcmp(error, known[i].code))
			return known[i].outcome;
	return AUTHD_TOKEN_OTHER_ERROR;
}

/* A 200 answer without an error: the id_token, or why there is none. */
static int id_token_read(const json_t *doc, struct authd_token_response *t)
{
	const json_t *v = json_object_get(doc, "id_token");
	const char *text = json_string_value(v);
	t->outcome = AUTHD_TOKEN_MALFORMED;
	t->id_token_absent = !v;
	if (!v)
		snprintf(t->why, sizeof(t->why), "the token response has no id_token");
	else if (!text)
		snprintf(t->why, sizeof(t->why), "the token response has no id_token string: its id_token is %s",
		         entra_json_kind(v));
	else if (!*text)
		snprintf(t->why, sizeof(t->why), "the token response has no id_token string: its id_token is empty");
	else if (!(t->id_token = strdup(text)))
		return -1;
	else
		t->outcome = AUTHD_TOKEN_ID_TOKEN;
	return 0;
}

int authd_token_response_parse(long status, const char *body, size_t len, struct authd_token_response *t)
{
	memset(t, 0, sizeof(*t));
	json_t *doc = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	const char *error = json_string_value(json_object_get(doc, "error"));
	int rc = 0;
	oauth_error_read(doc, t);
	if (error) {
		t->outcome = oauth_error_outcome(error);
	} else if (status != 200) {
		t->outcome = AUTHD_TOKEN_OTHER_ERROR;
	} else if (!json_is_object(doc)) {
		t->outcome = AUTHD_TOKEN_MALFORMED; /* not a missing scope: the answer itself is broken */
		snprintf(t->why, sizeof(t->why), "the token response (HTTP 200) is not a JSON object");
	} else {
		rc = id_token_read(doc, t);
	}
	json_decref(doc);
	return rc;
}

void authd_token_response_free(struct authd_token_response *t)
{
	free(t->id_token);
	t->id_token = NULL;
}

/* Logs an OAuth error answer: the status, "error" and the start of "error_description" (Entra's
 * AADSTS code), then HINT on what to do. */
static void log_oauth_error(struct authd_request *s, const char *what, long status,
                            const struct authd_token_response *t, const char *hint)
{
	entra_log(&s->log, LOG_ERR, "refusing sign-in of %s: %s failed: HTTP %ld %s %s%s%s", s->user, what, status,
	          t->error[0] ? t->error : "(no error code)", t->description, hint ? "; " : "", hint ? hint : "");
}

static void log_device_code_error(struct authd_request *s, const struct httpc_response *r)
{
	struct authd_token_response t;
	memset(&t, 0, sizeof(t));
	json_t *doc = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
	oauth_error_read(doc, &t);
	json_decref(doc);
	log_oauth_error(s, "device code request", r->status, &t,
	                t.error[0] ? "check [entra] client_id and tenant_id and the app registration's "
	                             "'Allow public client flows' setting"
	                           : "check [entra] authority");
}

int authd_device_code_request(struct authd_request *s, const struct authd_oidc_provider *p,
                              struct entra_device_code *dc)
{
	char err[512], why[256];
	const char *fields[] = {"client_id", s->cfg.client_id, "scope", s->cfg.scope, NULL};
	struct httpc_opts opts = authd_http_opts(s);
	struct httpc_response r;
	memset(dc, 0, sizeof(*dc));
	if (httpc_post_form(&opts, p->device_authorization_endpoint, fields, &r, err, sizeof(err))) {
		entra_log(&s->log, LOG_ERR,
		          "device code request failed: %s; check the network, [entra] ca_file and [entra] proxy", err);
		return AUTHD_UNAVAILABLE;
	}
	int rc = AUTHD_OK;
	if (r.status != 200) {
		log_device_code_error(s, &r);
		rc = AUTHD_UNAVAILABLE;
	} else if (entra_device_code_parse(r.body, r.len, dc, why, sizeof(why))) {
		char endpoint[256]; /* from the discovery document: printable only */
		entra_text_printable(endpoint, sizeof(endpoint), p->device_authorization_endpoint);
		entra_log(&s->log, LOG_ERR,
		          "refusing sign-in of %s: device code response lacks %s: the HTTP 200 body from %s is not a "
		          "valid device code response; check that [entra] authority names Entra ID or an RFC 8628 IdP",
		          s->user, why, endpoint);
		rc = AUTHD_UNAVAILABLE;
	}
	httpc_response_free(&r);
	return rc;
}

/* Whether the locale (PAM's environment first, then the process's) says the terminal decodes UTF-8. */
/* What to do next after a final answer (NULL: the error text says enough). */
static const char *final_hint(enum authd_token_outcome outcome)
{
	switch (outcome) {
	case AUTHD_TOKEN_DECLINED:
		return "the user declined the sign-in request";
	case AUTHD_TOKEN_EXPIRED:
		return "the code expired before sign-in was completed: log in again and finish sooner";
	case AUTHD_TOKEN_BAD_CODE:
		return "the IdP does not recognise the device code: log in again";
	default:
		return NULL;
	}
}

static enum authd_poll_result poll_answer(struct authd_request *s, const struct httpc_response *r, char **id_token)
{
	struct authd_token_response t;
	if (authd_token_response_parse(r->status, r->body, r->len, &t)) {
		entra_log(&s->log, LOG_ERR, "refusing sign-in of %s: out of memory reading the token response",
		          s->user);
		return AUTHD_POLL_FAILED;
	}
	enum authd_poll_result res = AUTHD_POLL_FAILED;
	switch (t.outcome) {
	case AUTHD_TOKEN_ID_TOKEN:
		*id_token = t.id_token;
		t.id_token = NULL;
		res = AUTHD_POLL_DONE;
		break;
	case AUTHD_TOKEN_PENDING:
		res = AUTHD_POLL_PENDING;
		break;
	case AUTHD_TOKEN_SLOW_DOWN:
		res = AUTHD_POLL_SLOW_DOWN;
		break;
	case AUTHD_TOKEN_MALFORMED:
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
	authd_token_response_free(&t);
	return res;
}

enum authd_poll_result authd_token_poll(struct authd_request *s, const struct authd_oidc_provider *p,
                                        const struct entra_device_code *dc, char **id_token)
{
	char err[512];
	const char *fields[] = {"grant_type",  "urn:ietf:params:oauth:grant-type:device_code",
	                        "client_id",   s->cfg.client_id,
	                        "device_code", dc->device_code,
	                        NULL};
	struct httpc_opts opts = authd_http_opts(s);
	struct httpc_response r;
	if (httpc_post_form(&opts, p->token_endpoint, fields, &r, err, sizeof(err))) {
		entra_log(&s->log, LOG_ERR, "refusing sign-in of %s: token request failed: %s", s->user, err);
		return AUTHD_POLL_UNAVAILABLE;
	}
	enum authd_poll_result res = poll_answer(s, &r, id_token);
	httpc_response_free(&r);
	return res;
}
