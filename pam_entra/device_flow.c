#include "device_flow.h"

#include "prompt.h"
#include "qr.h"

#include <security/pam_ext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOW_DOWN_MS 5000
#define MAX_PROMPT   16384

struct device_code {
	json_t *doc; /* owns the strings */
	const char *device_code, *user_code, *verification_uri, *verification_uri_complete;
	long long expires_in, interval;
};

enum poll_result { POLL_TOKEN, POLL_PENDING, POLL_SLOW_DOWN, POLL_FAILED };

static long long clamp(long long v, long long lo, long long hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static const char *bounded_string(const json_t *doc, const char *field, size_t max)
{
	const char *v = json_string_value(json_object_get(doc, field));
	return v && *v && strlen(v) <= max ? v : NULL;
}

/* Logs an OAuth error body: "error" and the start of "error_description" (Entra's AADSTS code). */
static void log_oauth_error(struct pe_session *s, const char *what, const struct pe_http_response *r, const json_t *doc)
{
	char error[64], desc[200];
	pe_printable(error, sizeof(error), json_string_value(json_object_get(doc, "error")));
	pe_printable(desc, sizeof(desc), json_string_value(json_object_get(doc, "error_description")));
	entra_log(&s->log, LOG_ERR, "refusing sign-in of %s: %s failed: HTTP %ld %s %s", s->user, what, r->status,
	          error[0] ? error : "(no error code)", desc);
}

static int device_code_parse(struct device_code *dc, json_t *doc)
{
	dc->doc = doc;
	dc->device_code = bounded_string(doc, "device_code", 4096);
	dc->user_code = bounded_string(doc, "user_code", 64);
	dc->verification_uri = bounded_string(doc, "verification_uri", 1024);
	dc->verification_uri_complete = bounded_string(doc, "verification_uri_complete", 1024);
	json_t *expires = json_object_get(doc, "expires_in"), *interval = json_object_get(doc, "interval");
	dc->expires_in = json_is_integer(expires) ? clamp(json_integer_value(expires), 1, 3600) : 900;
	/* RFC 8628: 5 s when absent. */
	dc->interval = json_is_integer(interval) ? clamp(json_integer_value(interval), 1, 60) : 5;
	return dc->device_code && dc->user_code && dc->verification_uri ? 0 : -1;
}

static int device_code_request(struct pe_session *s, const struct pe_oidc_provider *p, struct device_code *dc)
{
	char err[512];
	const char *fields[] = {"client_id", s->cfg.client_id, "scope", s->cfg.scope, NULL};
	struct pe_http_opts opts = pe_http_opts(s);
	struct pe_http_response r;
	memset(dc, 0, sizeof(*dc));
	if (pe_http_post_form(&opts, p->device_authorization_endpoint, fields, &r, err, sizeof(err))) {
		entra_log(&s->log, LOG_ERR, "device code request failed: %s; check the network and [entra] ca_file",
		          err);
		return PAM_AUTHINFO_UNAVAIL;
	}
	json_t *doc = json_loadb(r.body, r.len, JSON_REJECT_DUPLICATES, NULL);
	int rc = PAM_SUCCESS;
	if (r.status != 200 || !json_is_object(doc)) {
		log_oauth_error(s, "device code request", &r, doc);
		json_decref(doc);
		rc = PAM_AUTHINFO_UNAVAIL;
	} else if (device_code_parse(dc, doc)) {
		entra_log(&s->log, LOG_ERR, "device code response lacks device_code, user_code or verification_uri");
		rc = PAM_AUTHINFO_UNAVAIL;
	}
	pe_http_response_free(&r);
	return rc;
}

static bool want_qr(struct pe_session *s)
{
	if (s->cfg.qr >= 0)
		return s->cfg.qr == 1;
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

static char *first_prompt(struct pe_session *s, const struct device_code *dc)
{
	char uri[1100], code[80], full[1100], host[256], user[256];
	pe_printable(uri, sizeof(uri), dc->verification_uri);
	pe_printable(code, sizeof(code), dc->user_code);
	pe_printable(full, sizeof(full), dc->verification_uri_complete);
	pe_printable(host, sizeof(host), s->cfg.host);
	pe_printable(user, sizeof(user), s->user);
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

static enum poll_result poll_answer(struct pe_session *s, const struct pe_http_response *r, char **id_token)
{
	json_t *doc = json_loadb(r->body, r->len, JSON_REJECT_DUPLICATES, NULL);
	const char *error = json_string_value(json_object_get(doc, "error"));
	enum poll_result res = POLL_FAILED;
	if (r->status == 200 && !error) {
		const char *tok = json_string_value(json_object_get(doc, "id_token"));
		if (tok && (*id_token = strdup(tok)))
			res = POLL_TOKEN;
		else
			entra_log(&s->log, LOG_ERR,
			          "refusing sign-in of %s: the token response has no id_token; "
			          "[pam] scope must include openid",
			          s->user);
	} else if (error && !strcmp(error, "authorization_pending")) {
		res = POLL_PENDING;
	} else if (error && !strcmp(error, "slow_down")) {
		res = POLL_SLOW_DOWN;
	} else {
		/* authorization_declined, expired_token, bad_verification_code and anything else end the flow. */
		log_oauth_error(s, "token request", r, doc);
	}
	json_decref(doc);
	return res;
}

static enum poll_result token_poll(struct pe_session *s, const struct pe_oidc_provider *p, const struct device_code *dc,
                                   char **id_token)
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
		return POLL_FAILED;
	}
	enum poll_result res = poll_answer(s, &r, id_token);
	pe_http_response_free(&r);
	return res;
}

static int poll_loop(struct pe_session *s, const struct pe_oidc_provider *p, const struct device_code *dc,
                     char **id_token)
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
		enum poll_result res = token_poll(s, p, dc, id_token);
		/* The interval counts from the answer, so the IdP never sees polls closer than it. */
		last_poll = pe_now_ms();
		switch (res) {
		case POLL_TOKEN:
			return PAM_SUCCESS;
		case POLL_SLOW_DOWN:
			interval_ms += SLOW_DOWN_MS;
			break;
		case POLL_PENDING: {
			int rc = pe_prompt(s->pamh, "Sign-in not finished yet: press Enter once you have signed in");
			if (rc != PAM_SUCCESS)
				return rc;
			break;
		}
		case POLL_FAILED:
			return PAM_AUTH_ERR;
		}
	}
}

int pe_device_flow(struct pe_session *s, const struct pe_oidc_provider *p, char **id_token)
{
	struct device_code dc;
	*id_token = NULL;
	int rc = device_code_request(s, p, &dc);
	if (rc != PAM_SUCCESS)
		return rc;
	long long code_deadline = pe_now_ms() + dc.expires_in * 1000;
	if (code_deadline < s->deadline_ms)
		s->deadline_ms = code_deadline;
	char *text = first_prompt(s, &dc);
	rc = text ? pe_prompt(s->pamh, text) : PAM_BUF_ERR;
	free(text);
	if (rc == PAM_SUCCESS)
		rc = poll_loop(s, p, &dc, id_token);
	else
		entra_log(&s->log, LOG_ERR, "sign-in of %s abandoned: the conversation failed (%s)", s->user,
		          pam_strerror(s->pamh, rc));
	json_decref(dc.doc);
	return rc;
}
