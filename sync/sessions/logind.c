/* systemd-logind over D-Bus with sd-bus (libsystemd0, which every systemd host has; only
 * entra-sync links it). */
#include "sync/sessions/logind.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

#include "common/account_name.h"
#include "common/text_safe.h"

#define LOGIND_NAME      "org.freedesktop.login1"
#define LOGIND_PATH      "/org/freedesktop/login1"
#define LOGIND_MANAGER   "org.freedesktop.login1.Manager"
#define LOGIND_CALL_USEC (5 * 1000000ULL)
/* The same test sd_booted()-style helpers use: logind keeps its seat state here. */
#define LOGIND_RUN_DIR "/run/systemd/seats/"

struct sessions_logind {
	sd_bus *bus;
};

static bool logind_owned(sd_bus *bus)
{
	sd_bus_message *reply = NULL;
	int owned = 0;
	if (sd_bus_call_method(bus, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus",
	                       "NameHasOwner", NULL, &reply, "s", LOGIND_NAME) >= 0)
		sd_bus_message_read(reply, "b", &owned);
	sd_bus_message_unref(reply);
	return owned > 0;
}

struct sessions_logind *sessions_logind_connect(char *why, size_t whylen)
{
	sd_bus *bus = NULL;
	int rc;
	if (!getenv("DBUS_SYSTEM_BUS_ADDRESS") && access(LOGIND_RUN_DIR, F_OK)) {
		snprintf(why, whylen, "no %s: systemd-logind does not run", LOGIND_RUN_DIR);
		return NULL;
	}
	if ((rc = sd_bus_open_system(&bus)) < 0) {
		snprintf(why, whylen, "cannot connect to the system bus: %s", strerror(-rc));
		return NULL;
	}
	sd_bus_set_method_call_timeout(bus, LOGIND_CALL_USEC);
	struct sessions_logind *l = logind_owned(bus) ? calloc(1, sizeof(*l)) : NULL;
	if (!l) {
		snprintf(why, whylen, "%s is not on the system bus: systemd-logind does not run", LOGIND_NAME);
		sd_bus_flush_close_unref(bus);
		return NULL;
	}
	l->bus = bus;
	return l;
}

void sessions_logind_close(struct sessions_logind *l)
{
	if (!l)
		return;
	sd_bus_flush_close_unref(l->bus);
	free(l);
}

/* RC and ERROR of a Terminate* call: 0 for success and for a user or session already gone. */
static int call_result(int rc, sd_bus_error *error, const struct entra_logger *log, const char *what)
{
	if (rc < 0 && !sd_bus_error_has_name(error, "org.freedesktop.login1.NoSuchUser") &&
	    !sd_bus_error_has_name(error, "org.freedesktop.login1.NoSuchSession"))
		entra_log(log, LOG_ERR, "logind: %s failed: %s; the processes are signalled instead", what,
		          error->message ? error->message : strerror(-rc));
	else
		rc = 0;
	sd_bus_error_free(error);
	return rc < 0 ? -1 : 0;
}

static int terminate_session(struct sessions_logind *l, const char *id, const struct entra_logger *log)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	char what[96];
	snprintf(what, sizeof(what), "TerminateSession %.63s", id);
	return call_result(sd_bus_call_method(l->bus, LOGIND_NAME, LOGIND_PATH, LOGIND_MANAGER, "TerminateSession",
	                                      &error, NULL, "s", id),
	                   &error, log, what);
}

static int terminate_user(struct sessions_logind *l, uint32_t uid, const struct entra_logger *log)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	char what[48];
	snprintf(what, sizeof(what), "TerminateUser %u", (unsigned)uid);
	return call_result(sd_bus_call_method(l->bus, LOGIND_NAME, LOGIND_PATH, LOGIND_MANAGER, "TerminateUser", &error,
	                                      NULL, "u", uid),
	                   &error, log, what);
}

/* A logind session of one of the targets. */
struct owned_session {
	char id[64];
	const struct sessions_target *target;
};

/* Sessions listed in one round: more are ended by the signal sweep alone. */
#define LOGIND_SESSIONS_MAX 4096

/* One ListSessions (a(susso): session id, uid, user name, seat, object path) for the whole
 * round: the sessions of T's uids go to OUT (at most LOGIND_SESSIONS_MAX). */
static int sessions_of(struct sessions_logind *l, const struct sessions_targets *t, struct owned_session *out,
                       size_t *n)
{
	sd_bus_message *reply = NULL;
	const char *id, *user, *seat, *path;
	uint32_t owner;
	int rc = sd_bus_call_method(l->bus, LOGIND_NAME, LOGIND_PATH, LOGIND_MANAGER, "ListSessions", NULL, &reply, "");
	if (rc >= 0)
		rc = sd_bus_message_enter_container(reply, 'a', "(susso)");
	*n = 0;
	while (rc >= 0 && (rc = sd_bus_message_read(reply, "(susso)", &id, &owner, &user, &seat, &path)) > 0) {
		const struct sessions_target *hit = sessions_targets_find(t, owner);
		if (hit && *n < LOGIND_SESSIONS_MAX) {
			entra_text_printable(out[*n].id, sizeof(out[*n].id), id);
			out[(*n)++].target = hit;
		}
	}
	sd_bus_message_unref(reply);
	return rc < 0 ? -1 : 0;
}

/* TerminateUser for each target that had a session (OUT in logind's order: each uid once). */
static void terminate_users(struct sessions_logind *l, const struct owned_session *s, size_t n,
                            const struct entra_logger *log)
{
	for (size_t i = 0; i < n; i++) {
		bool seen = false;
		for (size_t j = 0; j < i && !seen; j++)
			seen = s[j].target == s[i].target;
		if (!seen)
			terminate_user(l, s[i].target->uid, log);
	}
}

int sessions_logind_end(struct sessions_logind *l, const struct sessions_targets *t, const struct entra_logger *log)
{
	struct owned_session *s = calloc(LOGIND_SESSIONS_MAX, sizeof(*s));
	size_t n = 0;
	int ended = 0;
	if (!s || sessions_of(l, t, s, &n)) {
		entra_log(log, LOG_ERR, "logind: cannot list the sessions; the processes are signalled instead");
		free(s);
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		if (!terminate_session(l, s[i].id, log)) {
			char shown[ENTRA_ACCOUNT_NAME_MAX + 1];
			entra_text_printable(shown, sizeof(shown), s[i].target->name);
			entra_log(log, LOG_NOTICE, "ended logind session %s of %s (uid %u, %s)", s[i].id, shown,
			          (unsigned)s[i].target->uid, sessions_reason_text(s[i].target->reason));
			ended++;
		}
	/* The user's service manager and lingering units go with the user. */
	terminate_users(l, s, n, log);
	free(s);
	return ended;
}
