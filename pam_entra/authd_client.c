#include "pam_entra/authd_client.h"

#include "common/authd_proto.h"
#include "common/clock.h"
#include "common/text_safe.h"
#include "common/unix_socket.h"
#include "pam_entra/signin_flow.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* How long the broker may take to answer "start": discovery and the device code request. */
#define START_SLACK_MS 2000

struct authd_flow {
	int fd;
	json_t *code;   /* the broker's "code" answer, handed to the flow once */
	json_t *claims; /* PE_POLL_DONE: the verified claims */
};

/* Logs why the broker cannot sign the user in, and what to do: PAM_AUTHINFO_UNAVAIL. */
static int unavailable(struct pe_session *s, const char *why)
{
	entra_log(&s->log, LOG_ERR, "cannot sign %s in: %s", s->user, why);
	return PAM_AUTHINFO_UNAVAIL;
}

/* A connection to the broker, which must run as root (anyone else could forge claims): the
 * descriptor, or -1 after logging why not. */
static int authd_connect(struct pe_session *s)
{
	const char *path = s->cfg.authd_socket;
	char why[600];
	if (!strcmp(path, "none"))
		return unavailable(s, "[pam] authd_socket = none names no socket: remove the key (pam_entra signs in "
		                      "only through entra-authd)"),
		       -1;
	int fd = entra_seqpacket_connect(path, SOCK_NONBLOCK);
	if (fd < 0) {
		snprintf(why, sizeof(why),
		         "entra-authd is not reachable at %s (%s); start it: systemctl enable --now entra-authd.socket",
		         path, strerror(errno));
		return unavailable(s, why), -1;
	}
	long long uid = entra_authd_peer_uid(fd);
	if (uid == 0)
		return fd;
	snprintf(why, sizeof(why),
	         "the process serving %s runs as uid %lld, not root: it is not entra-authd; check [pam] authd_socket",
	         path, uid);
	close(fd);
	return unavailable(s, why), -1;
}

static json_t *exchange(struct authd_flow *f, json_t *msg, long long deadline_ms, char *err, size_t errlen)
{
	int sent =
	    msg ? entra_authd_send(f->fd, msg, deadline_ms, err, errlen) : (snprintf(err, errlen, "no memory"), -1);
	json_decref(msg);
	return sent ? NULL : entra_authd_recv(f->fd, deadline_ms, err, errlen);
}

static int authd_request_code(struct pe_session *s, void *ctx, struct entra_device_code *dc)
{
	struct authd_flow *f = ctx;
	char why[256];
	json_t *code = f->code;
	f->code = NULL;
	if (!entra_device_code_from_json(code, false, dc, why, sizeof(why)))
		return PAM_SUCCESS;
	entra_log(&s->log, LOG_ERR, "refusing sign-in of %s: entra-authd's code answer lacks %s; restart entra-authd",
	          s->user, why);
	return PAM_AUTHINFO_UNAVAIL;
}

static enum pe_poll_result poll_answer(struct pe_session *s, struct authd_flow *f, const json_t *msg)
{
	const char *result = entra_authd_field(msg, "result");
	char why[ENTRA_AUTHD_MAX_WHY + 1];
	entra_text_printable(why, sizeof(why), entra_authd_field(msg, "why"));
	if (!strcmp(result, "pending"))
		return PE_POLL_PENDING;
	if (!strcmp(result, "slow_down"))
		return PE_POLL_SLOW_DOWN;
	if (!strcmp(result, "signed_in") && json_is_object(json_object_get(msg, "claims"))) {
		f->claims = json_incref(json_object_get(msg, "claims"));
		return PE_POLL_DONE;
	}
	if (!strcmp(result, "refused"))
		entra_log(&s->log, LOG_NOTICE, "refusing sign-in of %s: %s (entra-authd)", s->user, why);
	else
		entra_log(&s->log, LOG_ERR, "refusing sign-in of %s: entra-authd answered '%.32s' %s", s->user, result,
		          why);
	return PE_POLL_FAILED;
}

static enum pe_poll_result authd_poll(struct pe_session *s, void *ctx, const struct entra_device_code *dc)
{
	struct authd_flow *f = ctx;
	char err[256];
	/* The broker paces polls and may fetch signing keys: give it the whole sign-in's time. */
	json_t *msg = exchange(f, json_pack("{s:s}", "op", "poll"), s->deadline_ms + START_SLACK_MS, err, sizeof(err));
	if (!msg) {
		entra_log(&s->log, LOG_ERR,
		          "refusing sign-in of %s: entra-authd failed during the sign-in (%s); see its log", s->user,
		          err);
		return PE_POLL_FAILED;
	}
	enum pe_poll_result res = poll_answer(s, f, msg);
	json_decref(msg);
	return res;
}

/* The broker's answer to "start": PAM_SUCCESS with f->code, or a PAM error, logged. */
static int start(struct pe_session *s, struct authd_flow *f)
{
	char err[256], why[ENTRA_AUTHD_MAX_WHY + 1], text[ENTRA_AUTHD_MAX_WHY + 64];
	long long deadline = entra_now_ms() + 2LL * s->cfg.http_timeout * 1000 + START_SLACK_MS;
	json_t *msg = exchange(f,
	                       json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "op", "start", "v", ENTRA_AUTHD_VERSION,
	                                 "user", s->user, "tenant_id", s->cfg.tenant_id, "client_id", s->cfg.client_id,
	                                 "authority", s->cfg.authority),
	                       deadline, err, sizeof(err));
	if (!msg) {
		snprintf(text, sizeof(text), "entra-authd did not answer (%s); see its log", err);
		return unavailable(s, text);
	}
	const char *result = entra_authd_field(msg, "result");
	int rc = PAM_SUCCESS;
	entra_text_printable(why, sizeof(why), entra_authd_field(msg, "why"));
	if (!strcmp(result, "code")) {
		f->code = json_incref(msg);
	} else {
		snprintf(text, sizeof(text), "entra-authd answered '%.32s': %s", result, why);
		rc = unavailable(s, text);
	}
	json_decref(msg);
	return rc;
}

int entra_authd_login(struct pe_session *s, json_t **claims)
{
	struct authd_flow f = {.fd = authd_connect(s)};
	*claims = NULL;
	if (f.fd < 0)
		return PAM_AUTHINFO_UNAVAIL;
	int rc = start(s, &f);
	if (rc == PAM_SUCCESS) {
		struct pe_flow_backend backend = {.request_code = authd_request_code, .poll = authd_poll, .ctx = &f};
		if (s->debug)
			entra_log(&s->log, LOG_DEBUG, "signing %s in through entra-authd", s->user);
		rc = pe_device_flow_run(s, &backend);
	}
	if (rc == PAM_SUCCESS)
		*claims = f.claims;
	else
		json_decref(f.claims);
	json_decref(f.code);
	close(f.fd);
	return rc;
}
