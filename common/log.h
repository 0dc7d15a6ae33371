/* Logging with a stable component prefix. No global state: each component passes its own
 * const logger, so the PAM and NSS modules never touch the host process's openlog() ident. */
#ifndef ENTRA_LOG_H
#define ENTRA_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <syslog.h>

struct entra_logger {
	const char *component; /* "entra-syncd", "pam_entra", "nss_scim", "entra-sync" */
	int facility;          /* LOG_DAEMON, LOG_AUTHPRIV, ... */
	bool to_stderr;        /* daemons and the CLI: journald reads stderr */
	bool to_syslog;
};

void entra_log(const struct entra_logger *lg, int priority, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void entra_vlog(const struct entra_logger *lg, int priority, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

#endif
