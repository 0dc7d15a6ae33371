#include "common/log.h"

#include <stdio.h>
#include <stdlib.h>

static const char *priority_name(int priority)
{
	static const char *const names[] = {"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"};
	return names[LOG_PRI(priority) & 7];
}

void entra_vlog(const struct entra_logger *lg, int priority, const char *fmt, va_list ap)
{
	char msg[1024];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (lg->to_syslog)
		syslog(lg->facility | LOG_PRI(priority), "%s: %s", lg->component, msg);
	if (!lg->to_stderr)
		return;
	/* Under systemd, "<N>" lets journald keep each stderr line's priority (sd-daemon(3)). */
	if (getenv("JOURNAL_STREAM"))
		fprintf(stderr, "<%d>%s: %s\n", LOG_PRI(priority), lg->component, msg);
	else
		fprintf(stderr, "%s: %s: %s\n", lg->component, priority_name(priority), msg);
}

void entra_log(const struct entra_logger *lg, int priority, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	entra_vlog(lg, priority, fmt, ap);
	va_end(ap);
}
