/* doctor: /etc/nsswitch.conf and the PAM stack of the login service. */
#include "sync/doctor/doctor.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define TEXT_MAX      (256 * 1024)
#define PAM_DEPTH_MAX 8

/* Reads a whole small text file; NULL with errno set when missing or too large. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return NULL;
	char *text = malloc(TEXT_MAX + 1);
	size_t n = text ? fread(text, 1, TEXT_MAX + 1, f) : 0;
	fclose(f);
	if (!text || n > TEXT_MAX) {
		free(text);
		errno = EFBIG;
		return NULL;
	}
	text[n] = '\0';
	return text;
}

int doctor_nsswitch_has(const char *text, const char *database, const char *source)
{
	int found = -1;
	size_t dblen = strlen(database);
	for (const char *line = text; line && *line; line = strchr(line, '\n'), line = line ? line + 1 : NULL) {
		size_t len = strcspn(line, "\n");
		const char *p = line, *end = line + len;
		const char *hash = memchr(line, '#', len);
		if (hash)
			end = hash;
		while (p < end && isspace((unsigned char)*p))
			p++;
		if ((size_t)(end - p) <= dblen || strncmp(p, database, dblen) != 0 || p[dblen] != ':')
			continue;
		found = found < 0 ? 0 : found;
		p += dblen + 1;
		while (p < end) {
			while (p < end && isspace((unsigned char)*p))
				p++;
			const char *tok = p;
			if (*tok == '[') { /* [NOTFOUND=return] actions are not sources */
				const char *close = memchr(tok, ']', (size_t)(end - tok));
				p = close ? close + 1 : end;
				continue;
			}
			while (p < end && !isspace((unsigned char)*p))
				p++;
			if ((size_t)(p - tok) == strlen(source) && strncmp(tok, source, (size_t)(p - tok)) == 0)
				found = 1;
		}
	}
	return found;
}

void doctor_check_nsswitch(struct doctor *d)
{
	char *text = slurp(DOCTOR_NSSWITCH);
	if (!text) {
		doctor_report(d, "nsswitch", DOCTOR_FAIL, "restore /etc/nsswitch.conf (package libc-bin) and add scim",
		              "%s: %s", DOCTOR_NSSWITCH, strerror(errno));
		return;
	}
	static const char *const databases[] = {"passwd", "group", "shadow"};
	int missing = 0;
	for (size_t i = 0; i < 3; i++) {
		if (doctor_nsswitch_has(text, databases[i], "scim") == 1)
			continue;
		char fix[200];
		snprintf(fix, sizeof(fix), "add \"scim\" after \"files\" on the %s: line of %s (see nss_scim(8))",
		         databases[i], DOCTOR_NSSWITCH);
		/* shadow only matters to pam_unix's expiry check; passwd and group are essential */
		doctor_report(d, "nsswitch", i < 2 ? DOCTOR_FAIL : DOCTOR_WARN, fix, "%s: in %s does not list scim%s",
		              databases[i], DOCTOR_NSSWITCH, i < 2 ? ": Entra users are invisible" : "");
		missing++;
	}
	if (!missing)
		doctor_report(d, "nsswitch", DOCTOR_OK, NULL, "%s lists scim for passwd, group and shadow",
		              DOCTOR_NSSWITCH);
	free(text);
}

struct pam_walk {
	struct doctor *d;
	bool auth, account;
	char module_path[512]; /* the first pam_entra.so named, as written */
	char error[600];
};

static bool is_pam_entra(const char *module)
{
	const char *base = strrchr(module, '/');
	return strcmp(base ? base + 1 : module, "pam_entra.so") == 0;
}

static void pam_walk_file(struct pam_walk *w, const char *name, int depth);

/* Splits LINE into type, control (a [...] control may hold spaces) and module. */
static void pam_line(struct pam_walk *w, char *line, int depth)
{
	char *save = NULL;
	char *type = strtok_r(line, " \t", &save);
	if (!type)
		return;
	if (!strcmp(type, "@include")) {
		char *file = strtok_r(NULL, " \t", &save);
		if (file)
			pam_walk_file(w, file, depth + 1);
		return;
	}
	char *rest = save, *control, *module;
	while (rest && isspace((unsigned char)*rest))
		rest++;
	if (rest && *rest == '[') {
		char *close = strchr(rest, ']');
		if (!close)
			return;
		*close = '\0';
		control = rest, save = close + 1;
	} else {
		control = strtok_r(NULL, " \t", &save);
	}
	module = strtok_r(NULL, " \t", &save);
	if (!control || !module)
		return;
	if (*type == '-')
		type++;
	if (!strcmp(control, "include") || !strcmp(control, "substack")) {
		pam_walk_file(w, module, depth + 1);
		return;
	}
	if (!is_pam_entra(module))
		return;
	if (!w->module_path[0])
		snprintf(w->module_path, sizeof(w->module_path), "%s", module);
	if (!strcmp(type, "auth"))
		w->auth = true;
	else if (!strcmp(type, "account"))
		w->account = true;
}

static void pam_walk_file(struct pam_walk *w, const char *name, int depth)
{
	char path[512];
	if (depth > PAM_DEPTH_MAX || strstr(name, "..")) {
		snprintf(w->error, sizeof(w->error), "include of '%s' too deep or outside %s", name, DOCTOR_PAM_DIR);
		return;
	}
	snprintf(path, sizeof(path), "%s%s%s", name[0] == '/' ? "" : DOCTOR_PAM_DIR, name[0] == '/' ? "" : "/", name);
	char *text = slurp(path);
	if (!text) {
		if (!w->error[0])
			snprintf(w->error, sizeof(w->error), "%s: %s", path, strerror(errno));
		return;
	}
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *hash = strchr(line, '#');
		if (hash)
			*hash = '\0';
		pam_line(w, line, depth);
	}
	free(text);
}

/* A relative module name is looked up in the PAM module directories. */
static bool pam_module_exists(const char *module)
{
	static const char *const dirs[] = {"/lib/x86_64-linux-gnu/security",
	                                   "/usr/lib/x86_64-linux-gnu/security",
	                                   "/lib/aarch64-linux-gnu/security",
	                                   "/usr/lib/aarch64-linux-gnu/security",
	                                   "/lib/security",
	                                   "/usr/lib/security",
	                                   "/lib64/security"};
	struct stat st;
	char path[600];
	if (module[0] == '/')
		return stat(module, &st) == 0;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dirs[i], module);
		if (stat(path, &st) == 0)
			return true;
	}
	return false;
}

void doctor_check_pam(struct doctor *d)
{
	struct pam_walk w = {.d = d};
	const char *svc = d->opts.pam_service;
	char fix[300];
	pam_walk_file(&w, svc, 0);
	if (w.error[0])
		doctor_report(d, "pam", DOCTOR_FAIL, "fix the PAM files named above", "%s/%s stack: %s", DOCTOR_PAM_DIR,
		              svc, w.error);
	snprintf(fix, sizeof(fix),
	         "pam-auth-update --enable entra  (or add pam_entra.so lines to %s/%s as in pam_entra(8))",
	         DOCTOR_PAM_DIR, svc);
	if (!w.auth)
		doctor_report(d, "pam", DOCTOR_FAIL, fix,
		              "the auth stack of %s/%s does not call pam_entra.so: Entra users cannot sign in",
		              DOCTOR_PAM_DIR, svc);
	if (!w.account)
		doctor_report(d, "pam", DOCTOR_FAIL, fix,
		              "the account stack of %s/%s does not call pam_entra.so: disabled Entra users could log "
		              "in with an SSH key",
		              DOCTOR_PAM_DIR, svc);
	if (w.module_path[0] && !pam_module_exists(w.module_path))
		doctor_report(d, "pam", DOCTOR_FAIL, "install libpam-entra (or make install)",
		              "%s/%s names %s, which is not installed: every login through it fails", DOCTOR_PAM_DIR,
		              svc, w.module_path);
	else if (w.auth && w.account)
		doctor_report(d, "pam", DOCTOR_OK, NULL, "%s/%s calls pam_entra.so in auth and account", DOCTOR_PAM_DIR,
		              svc);
}
