#include "authd_client.h"

#include "authd_proto.h"
#include "device_flow.h"
#include "prompt.h"
#include "unix_socket.h"

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

static void not_used(struct pe_session *s, int priority, const char *why)
{
	if (priority != LOG_DEBUG || s->debug)
		entra_log(&s->log, priority, "%s; signing %s in without entra-authd", why, s->user);
}

/* A connection to a broker running as root, or -1 (logged) when there is none to trust. */
static int authd_connect(struct pe_session *s)
{
	const char *path = s->cfg.authd_socket;
	char why[512];
	if (!strcmp(path, "none"))
		return -1;
	if (geteuid() != 0) /* the broker serves root callers only */
		return not_used(s, LOG_DEBUG, "not running as root"), -1;
	int fd = entra_seqpacket_connect(path, SOCK_NONBLOCK);
	if (fd < 0) {
		int e = errno;
		snprintf(why, sizeof(why), "entra-authd is not reachable at %s (%s)", path, strerror(e));
		not_used(s, e == ENOENT || e == ECONNREFUSED ? LOG_DEBUG : LOG_WARNING, why);
		return -1;
	}
	long long uid = pe_authd_peer_uid(fd);
	if (uid == 0)
		return fd;
	/* Only root could have bound a socket we can rely on: anyone else could forge claims. */
	snprintf(why, sizeof(why), "ignoring %s: the process behind it runs as uid %lld, not root", path, uid);
	not_used(s, LOG_WARNING, why);
	close(fd);
	return -1;
}

static json_t *exchange(struct authd_flow *f, json_t *msg, long long deadline_ms, char *err, size_t errlen)
{
	int sent = msg ? pe_authd_send(f->fd, msg, deadline_ms, err, errlen) : (snprintf(err, errlen, "no memory"), -1);
	json_decref(msg);
	return sent ? NULL : pe_authd_recv(f->fd, deadline_ms, err, errlen);
}

static int authd_request_code(struct pe_session *s, void *ctx, struct pe_device_code *dc)
{
	struct authd_flow *f = ctx;
	char why[256];
	json_t *code = f->code;
	f->code = NULL;
	if (!pe_device_code_from_json(code, false, dc, why, sizeof(why)))
		return PAM_SUCCESS;
	entra_log(&s->log, LOG_ERR, "refusing sign-in of %s: entra-authd's code answer lacks %s; restart entra-authd",
	          s->user, why);
	return PAM_AUTHINFO_UNAVAIL;
}

static enum pe_poll_result poll_answer(struct pe_session *s, struct authd_flow *f, const json_t *msg)
{
	const char *result = pe_authd_field(msg, "result");
	char why[PE_AUTHD_MAX_WHY + 1];
	pe_printable(why, sizeof(why), pe_authd_field(msg, "why"));
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

static enum pe_poll_result authd_poll(struct pe_session *s, void *ctx, const struct pe_device_code *dc)
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

/* The broker's answer to "start": PAM_SUCCESS with f->code, PE_AUTHD_NOT_USED, or a PAM error. */
static int start(struct pe_session *s, struct authd_flow *f)
{
	char err[256], why[PE_AUTHD_MAX_WHY + 1];
	long long deadline = pe_now_ms() + 2LL * s->cfg.http_timeout * 1000 + START_SLACK_MS;
	json_t *msg = exchange(f,
	                       json_pack("{s:s, s:i, s:s, s:s, s:s, s:s}", "op", "start", "v", PE_AUTHD_VERSION, "user",
	                                 s->user, "tenant_id", s->cfg.tenant_id, "client_id", s->cfg.client_id,
	                                 "authority", s->cfg.authority),
	                       deadline, err, sizeof(err));
	if (!msg)
		return snprintf(why, sizeof(why), "entra-authd did not answer (%s)", err),
		       not_used(s, LOG_WARNING, why), PE_AUTHD_NOT_USED;
	const char *result = pe_authd_field(msg, "result");
	int rc = PE_AUTHD_NOT_USED;
	pe_printable(why, sizeof(why), pe_authd_field(msg, "why"));
	if (!strcmp(result, "code")) {
		f->code = json_incref(msg);
		rc = PAM_SUCCESS;
	} else if (!strcmp(result, "unavailable")) {
		entra_log(&s->log, LOG_ERR, "refusing sign-in of %s: %s (entra-authd)", s->user, why);
		rc = PAM_AUTHINFO_UNAVAIL;
	} else {
		char text[PE_AUTHD_MAX_WHY + 64];
		snprintf(text, sizeof(text), "entra-authd answered '%.32s' %s", result, why);
		not_used(s, strcmp(result, "busy") && strcmp(result, "not_served") ? LOG_WARNING : LOG_INFO, text);
	}
	json_decref(msg);
	return rc;
}

int pe_authd_login(struct pe_session *s, json_t **claims)
{
	struct authd_flow f = {.fd = authd_connect(s)};
	*claims = NULL;
	if (f.fd < 0)
		return PE_AUTHD_NOT_USED;
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
