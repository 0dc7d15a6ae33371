/* entra-sync doctor: each check looks at one part of the host and reports what it found and,
 * when something is wrong, the line to fix it. cli_doctor.c runs them in order. */
#ifndef SYNC_DOCTOR_H
#define SYNC_DOCTOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/config.h"

#define DOCTOR_NSSWITCH     "/etc/nsswitch.conf"
#define DOCTOR_PAM_DIR      "/etc/pam.d"
#define DOCTOR_SSHD         "/usr/sbin/sshd"
#define DOCTOR_CLOCK_SKEW_S 60 /* pam_entra's leeway for iat/nbf/exp */

enum doctor_status { DOCTOR_OK, DOCTOR_WARN, DOCTOR_FAIL, DOCTOR_SKIP };

struct doctor_opts {
	const char *sshd_config; /* NULL: sshd's own default */
	const char *pam_service; /* /etc/pam.d/NAME */
	const char *daemon_user; /* owner expected for token_file */
	long max_age;            /* seconds before cache / last SCIM request count as old */
};

struct doctor {
	const struct entra_config *cfg;
	const char *config_path;
	struct doctor_opts opts;
	json_t *results; /* array of {check, status, message, fix} */
	int failures, warnings;
};

/* Records one finding. FIX may be NULL (nothing to do). */
void doctor_report(struct doctor *d, const char *check, enum doctor_status status, const char *fix, const char *fmt,
                   ...) __attribute__((format(printf, 5, 6)));

void doctor_print_text(const struct doctor *d, FILE *out);
void doctor_print_json(const struct doctor *d, FILE *out);

void doctor_check_config(struct doctor *d);
void doctor_check_cache(struct doctor *d);
void doctor_check_identity(struct doctor *d);
void doctor_check_provisioning(struct doctor *d);
void doctor_check_nsswitch(struct doctor *d);
void doctor_check_pam(struct doctor *d);
void doctor_check_sshd(struct doctor *d);
void doctor_check_clock(struct doctor *d);
void doctor_check_discovery(struct doctor *d);
void doctor_check_tokens(struct doctor *d);
void doctor_check_authd(struct doctor *d);
void doctor_check_sessions(struct doctor *d);

/* Parses "120", "2m", "1h30m" as sshd does (sshd -T prints plain seconds); -1 if invalid. */
long doctor_sshd_seconds(const char *text);
/* 1 when the nsswitch.conf line for DATABASE (e.g. "passwd") lists SOURCE, 0 when not,
 * -1 when the file has no line for it. */
int doctor_nsswitch_has(const char *text, const char *database, const char *source);

#endif
