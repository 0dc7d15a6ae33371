/* systemd-logind over D-Bus with sd-bus (libsystemd0, which every systemd host has; only
 * entra-sync links it). */
#include "sync/sessions/logind.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <unistd.h>

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

/* ListSessions: a(susso) = session id, uid, user name, seat, object path. */
static int sessions_of(struct sessions_logind *l, uint32_t uid, char ids[][64], int max, int *n)
{
	sd_bus_message *reply = NULL;
	const char *id, *user, *seat, *path;
	uint32_t owner;
	int rc = sd_bus_call_method(l->bus, LOGIND_NAME, LOGIND_PATH, LOGIND_MANAGER, "ListSessions", NULL, &reply, "");
	if (rc >= 0)
		rc = sd_bus_message_enter_container(reply, 'a', "(susso)");
	*n = 0;
	while (rc >= 0 && (rc = sd_bus_message_read(reply, "(susso)", &id, &owner, &user, &seat, &path)) > 0)
		if (owner == uid && *n < max)
			entra_text_printable(ids[(*n)++], 64, id);
	sd_bus_message_unref(reply);
	return rc < 0 ? -1 : 0;
}

#define LOGIND_SESSIONS_MAX 256

int sessions_logind_end(struct sessions_logind *l, const struct sessions_target *t, const struct entra_logger *log)
{
	char ids[LOGIND_SESSIONS_MAX][64];
	int n = 0, ended = 0;
	if (sessions_of(l, t->uid, ids, LOGIND_SESSIONS_MAX, &n)) {
		entra_log(log, LOG_ERR,
		          "logind: cannot list the sessions of %s (uid %u); its processes are signalled "
		          "instead",
		          t->name, (unsigned)t->uid);
		return -1;
	}
	for (int i = 0; i < n; i++)
		if (!terminate_session(l, ids[i], log)) {
			entra_log(log, LOG_NOTICE, "ended logind session %s of %s (uid %u, %s)", ids[i], t->name,
			          (unsigned)t->uid, sessions_reason_text(t->reason));
			ended++;
		}
	/* The user's service manager and lingering units go with the user. */
	return terminate_user(l, t->uid, log) ? -1 : ended;
}
