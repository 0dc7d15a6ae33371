#include "authd/authd_signin.h"

#include "common/clock.h"

#include "authd/idp_flow.h"
#include "authd/oidc.h"
#include "authd/token_verify.h"
#include "common/authd_proto.h"
#include "common/text_safe.h"

#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define START_WAIT_MS 10000 /* for the first message of a new connection */
#define SLOW_DOWN_MS  5000
#define MAX_USER      256

/* The claims pam_entra needs for its checks and its log: nothing else leaves the broker. */
static const char *const forwarded_claims[] = {"oid", "tid", "aud", "iss", "sub", "preferred_username", "upn", "name"};

struct signin {
	const struct authd_context *ctx;
	int fd;
	uid_t caller_uid;
	struct authd_request s;
	char user[MAX_USER];
	struct authd_oidc_provider provider;
	struct entra_device_code dc;
};

static void reply(struct signin *in, json_t *msg)
{
	char err[256];
	if (msg && entra_authd_send(in->fd, msg, entra_now_ms() + START_WAIT_MS, err, sizeof(err)))
		entra_log(in->ctx->log, LOG_WARNING, "cannot answer pam_entra for %s: %s", in->user, err);
	json_decref(msg);
}

static bool same(const char *ours, const char *theirs, bool ignore_case)
{
	return ours && (ignore_case ? !strcasecmp(ours, theirs) : !strcmp(ours, theirs));
}

/* Whether pam_entra asks for the tenant, application and authority we serve; else why not. */
static bool start_matches(const struct entra_config *cfg, const json_t *msg, char *why, size_t whylen)
{
	if (json_integer_value(json_object_get(msg, "v")) != ENTRA_AUTHD_VERSION)
		return snprintf(why, whylen,
		                "protocol version differs: install pam_entra and entra-authd from one "
		                "release"),
		       false;
	if (same(cfg->tenant_id, entra_authd_field(msg, "tenant_id"), true) &&
	    same(cfg->client_id, entra_authd_field(msg, "client_id"), true) &&
	    same(cfg->authority, entra_authd_field(msg, "authority"), false))
		return true;
	snprintf(why, whylen,
	         "entra-authd serves another [entra] tenant_id, client_id or authority than pam_entra's "
	         "config: give both the same entra.conf and restart entra-authd");
	return false;
}

/* Root may ask for any account (sshd, login, su and sudo run PAM as root); any other caller, such
 * as a screen locker running as the user, only for the account NSS resolves to its own uid. */
static bool caller_may_sign_in(uid_t caller_uid, const char *user)
{
	if (caller_uid == 0)
		return true;
	char buf[4096];
	struct passwd pw, *found = NULL;
	return getpwnam_r(user, &pw, buf, sizeof(buf), &found) == 0 && found && pw.pw_uid == caller_uid;
}

/* Reads "start": 0 with in->user set, or -1 after answering or on a silent hang-up. */
static int start_read(struct signin *in)
{
	char err[256], why[256];
	json_t *msg = entra_authd_recv(in->fd, entra_now_ms() + START_WAIT_MS, err, sizeof(err));
	const char *user = entra_authd_field(msg, "user");
	int rc = -1;
	if (!msg)
		entra_log(in->ctx->log, LOG_DEBUG, "connection without a sign-in request: %s", err);
	else if (strcmp(entra_authd_field(msg, "op"), "start"))
		reply(in, entra_authd_answer("mismatch", "expected a start message"));
	else if (!start_matches(in->ctx->cfg, msg, why, sizeof(why)))
		reply(in, entra_authd_answer("mismatch", why)), entra_log(in->ctx->log, LOG_WARNING, "%s", why);
	else if (!*user || strlen(user) >= sizeof(in->user))
		reply(in, entra_authd_answer("unavailable", "the user name is empty or too long"));
	else if (!caller_may_sign_in(in->caller_uid, user))
		reply(in, entra_authd_answer("not_served", "a caller that is not root is signed in only as itself")),
		    entra_log(in->ctx->log, LOG_NOTICE, "refused a sign-in for another account from uid %lu",
		              (unsigned long)in->caller_uid);
	else
		rc = 0, entra_text_printable(in->user, sizeof(in->user), user);
	json_decref(msg);
	return rc;
}

static json_t *code_answer(const struct entra_device_code *dc)
{
	json_t *msg = json_pack("{s:s, s:s, s:s, s:I, s:I}", "result", "code", "user_code", dc->user_code,
	                        "verification_uri", dc->verification_uri, "expires_in", (json_int_t)dc->expires_in,
	                        "interval", (json_int_t)dc->interval);
	if (msg && dc->verification_uri_complete)
		json_object_set_new(msg, "verification_uri_complete", json_string(dc->verification_uri_complete));
	return msg;
}

static json_t *signed_in_answer(const json_t *claims)
{
	json_t *forwarded = json_object();
	for (size_t i = 0; forwarded && i < sizeof(forwarded_claims) / sizeof(forwarded_claims[0]); i++) {
		json_t *v = json_object_get(claims, forwarded_claims[i]);
		if (v)
			json_object_set(forwarded, forwarded_claims[i], v);
	}
	return forwarded ? json_pack("{s:s, s:o}", "result", "signed_in", "claims", forwarded) : NULL;
}

/* The id_token the IdP issued: verified here, so pam_entra never loads libcrypto. */
static void token_answer(struct signin *in, const char *id_token)
{
	char reason[512] = "";
	json_t *claims;
	int rc = authd_token_verify(&in->s, &in->provider, id_token, &claims, reason, sizeof(reason));
	if (rc == AUTHD_OK) {
		reply(in, signed_in_answer(claims));
	} else if (rc == AUTHD_REFUSED) {
		entra_log(in->ctx->log, LOG_NOTICE, "refusing sign-in of %s: %s", in->user, reason);
		reply(in, entra_authd_answer("refused", reason));
	} else {
		reply(in,
		      entra_authd_answer("unavailable", "the signing keys cannot be fetched: see entra-authd's log"));
	}
	json_decref(claims);
}

/* One poll asked for by pam_entra, never sooner than the IdP's interval after the last one.
 * false when the sign-in is over. */
static bool poll_once(struct signin *in, long long *interval_ms, long long *last_poll)
{
	char *id_token = NULL;
	if (*last_poll)
		authd_sleep_ms(&in->s, *last_poll + *interval_ms - entra_now_ms());
	enum authd_poll_result res = authd_token_poll(&in->s, &in->provider, &in->dc, &id_token);
	*last_poll = entra_now_ms();
	switch (res) {
	case AUTHD_POLL_PENDING:
		reply(in, json_pack("{s:s}", "result", "pending"));
		return true;
	case AUTHD_POLL_SLOW_DOWN:
		*interval_ms += SLOW_DOWN_MS;
		reply(in, json_pack("{s:s}", "result", "slow_down"));
		return true;
	case AUTHD_POLL_DONE:
		token_answer(in, id_token);
		explicit_bzero(id_token, strlen(id_token));
		free(id_token);
		return false;
	case AUTHD_POLL_UNAVAILABLE:
		reply(in,
		      entra_authd_answer("unavailable", "the token endpoint cannot be reached: see entra-authd's log"));
		return false;
	default:
		reply(in,
		      entra_authd_answer("refused", "the token request failed or was refused: see entra-authd's log"));
		return false;
	}
}

static void poll_loop(struct signin *in)
{
	long long interval_ms = in->dc.interval * 1000, last_poll = 0;
	char err[256];
	for (;;) {
		json_t *msg = entra_authd_recv(in->fd, in->s.deadline_ms, err, sizeof(err));
		bool poll = msg && !strcmp(entra_authd_field(msg, "op"), "poll");
		json_decref(msg);
		if (!poll || authd_remaining_ms(&in->s) <= 0 || !poll_once(in, &interval_ms, &last_poll))
			return;
	}
}

static void flow(struct signin *in)
{
	if (authd_oidc_discover(&in->s, &in->provider)) {
		reply(in, entra_authd_answer("unavailable", "OpenID discovery failed: see entra-authd's log"));
		return;
	}
	if (authd_device_code_request(&in->s, &in->provider, &in->dc) != AUTHD_OK) {
		reply(in, entra_authd_answer("unavailable", "the device code request failed: see entra-authd's log"));
		return;
	}
	long long code_deadline = entra_now_ms() + in->dc.expires_in * 1000;
	if (code_deadline < in->s.deadline_ms)
		in->s.deadline_ms = code_deadline;
	reply(in, code_answer(&in->dc));
	poll_loop(in);
}

void authd_signin_serve(const struct authd_context *ctx, int fd, uid_t caller_uid)
{
	struct signin in = {.ctx = ctx, .fd = fd, .caller_uid = caller_uid};
	if (start_read(&in))
		return;
	in.s.cfg = *ctx->cfg; /* a shallow copy of read-only settings: never freed here */
	in.s.log = *ctx->log;
	in.s.user = in.user;
	in.s.deadline_ms = entra_now_ms() + (long long)ctx->cfg->login_timeout * 1000;
	in.s.http = ctx->http;
	in.s.memo = ctx->memo;
	flow(&in);
	entra_device_code_free(&in.dc);
	authd_oidc_provider_free(&in.provider);
}
