#include "common/authd_proto.h"

#include "common/clock.h"
#include "common/errmsg.h"
#include "common/text_safe.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static int wait_ready(int fd, short events, long long deadline_ms, char *err, size_t errlen)
{
	int ready = entra_wait_fd(fd, events, deadline_ms);
	if (ready > 0)
		return 0;
	return entra_errf(err, errlen, "%s", ready == 0 ? "timed out" : strerror(errno));
}

int entra_authd_send(int fd, const json_t *msg, long long deadline_ms, char *err, size_t errlen)
{
	char *text = json_dumps(msg, JSON_COMPACT);
	int rc = -1;
	if (!text)
		snprintf(err, errlen, "out of memory");
	else if (strlen(text) > ENTRA_AUTHD_MAX_MESSAGE)
		snprintf(err, errlen, "message longer than %d bytes", ENTRA_AUTHD_MAX_MESSAGE);
	else if (!wait_ready(fd, POLLOUT, deadline_ms, err, errlen)) {
		ssize_t n;
		do
			n = send(fd, text, strlen(text), MSG_NOSIGNAL | MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n == (ssize_t)strlen(text))
			rc = 0;
		else
			snprintf(err, errlen, "%s", n < 0 ? strerror(errno) : "short send");
	}
	free(text);
	return rc;
}

static json_t *object_parse(const char *text, size_t len, char *err, size_t errlen)
{
	json_t *msg = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(msg)) /* a macro that evaluates its argument twice: never pass it a call */
		return msg;
	snprintf(err, errlen, "message is not a JSON object");
	json_decref(msg);
	return NULL;
}

json_t *entra_authd_recv(int fd, long long deadline_ms, char *err, size_t errlen)
{
	char *buf = malloc(ENTRA_AUTHD_MAX_MESSAGE + 1);
	json_t *msg = NULL;
	if (!buf)
		return snprintf(err, errlen, "out of memory"), NULL;
	if (!wait_ready(fd, POLLIN, deadline_ms, err, errlen)) {
		ssize_t n;
		do /* MSG_TRUNC: the datagram's real length, so an oversized message is refused, not cut */
			n = recv(fd, buf, ENTRA_AUTHD_MAX_MESSAGE + 1, MSG_DONTWAIT | MSG_TRUNC);
		while (n < 0 && errno == EINTR);
		if (n == 0)
			snprintf(err, errlen, "closed");
		else if (n < 0)
			snprintf(err, errlen, "%s", strerror(errno));
		else if (n > ENTRA_AUTHD_MAX_MESSAGE)
			snprintf(err, errlen, "message longer than %d bytes", ENTRA_AUTHD_MAX_MESSAGE);
		else
			msg = object_parse(buf, (size_t)n, err, errlen);
	}
	free(buf);
	return msg;
}

const char *entra_authd_field(const json_t *msg, const char *name)
{
	const char *v = json_string_value(json_object_get(msg, name));
	return v ? v : "";
}

json_t *entra_authd_answer(const char *result, const char *why)
{
	char cut[ENTRA_AUTHD_MAX_WHY + 1]; /* printable ASCII: a cut can never split a UTF-8 sequence */
	entra_text_printable(cut, sizeof(cut), why);
	return json_pack("{s:s, s:s}", "result", result, "why", cut);
}

long long entra_authd_peer_uid(int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) || len != sizeof(cred))
		return -1;
	return (long long)cred.uid;
}
