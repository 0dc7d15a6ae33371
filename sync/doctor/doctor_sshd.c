/* doctor: sshd's effective settings, read from `sshd -T` (run directly, no shell). */
#include "sync/doctor/doctor.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SSHD_OUTPUT_MAX (1024 * 1024)
#define SSHD_TIMEOUT_MS 10000

long doctor_sshd_seconds(const char *text)
{
	long total = 0;
	const char *p = text;
	if (!*p)
		return -1;
	while (*p) {
		char *end;
		errno = 0;
		long v = strtol(p, &end, 10);
		if (errno || end == p || v < 0)
			return -1;
		long mult = 1;
		switch (*end) {
		case 's':
		case 'S':
			mult = 1, end++;
			break;
		case 'm':
		case 'M':
			mult = 60, end++;
			break;
		case 'h':
		case 'H':
			mult = 3600, end++;
			break;
		case 'd':
		case 'D':
			mult = 86400, end++;
			break;
		case 'w':
		case 'W':
			mult = 604800, end++;
			break;
		case '\0':
			break;
		default:
			return -1;
		}
		if (v > 100000000L / mult)
			return -1;
		total += v * mult;
		p = end;
	}
	return total;
}

/* Runs sshd -T; returns its exit status (-1 if it could not run) with stdout+stderr in *OUT. */
static int sshd_dump(const char *config, char **out)
{
	int fds[2];
	char *argv[5] = {(char *)DOCTOR_SSHD, (char *)"-T", NULL, NULL, NULL};
	char *envp[] = {(char *)"PATH=/usr/sbin:/usr/bin:/sbin:/bin", NULL};
	if (config)
		argv[2] = (char *)"-f", argv[3] = (char *)config;
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
	posix_spawn_file_actions_adddup2(&fa, fds[1], 2);
	pid_t pid;
	int rc = posix_spawn(&pid, DOCTOR_SSHD, &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (rc != 0) {
		close(fds[0]);
		errno = rc;
		return -1;
	}
	size_t len = 0;
	char *buf = malloc(SSHD_OUTPUT_MAX + 1);
	struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
	while (buf && len < SSHD_OUTPUT_MAX && poll(&pfd, 1, SSHD_TIMEOUT_MS) > 0) {
		ssize_t n = read(fds[0], buf + len, SSHD_OUTPUT_MAX - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(fds[0]);
	int status = 0;
	if (waitpid(pid, &status, WNOHANG) == 0) { /* hung or flooding: stop it */
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	if (buf)
		buf[len] = '\0';
	*out = buf;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* The value of KEY in sshd -T output (lowercase keys), or NULL. Copies into VAL. */
static const char *sshd_value(const char *dump, const char *key, char *val, size_t vallen)
{
	size_t klen = strlen(key);
	for (const char *line = dump; line && *line;) {
		const char *nl = strchr(line, '\n');
		size_t len = nl ? (size_t)(nl - line) : strlen(line);
		if (len > klen && !strncmp(line, key, klen) && line[klen] == ' ') {
			size_t vlen = len - klen - 1 < vallen - 1 ? len - klen - 1 : vallen - 1;
			memcpy(val, line + klen + 1, vlen);
			val[vlen] = '\0';
			return val;
		}
		line = nl ? nl + 1 : NULL;
	}
	return NULL;
}

static void sshd_settings(struct doctor *d, const char *dump, const char *cfgname)
{
	char v[256], fix[300];
	int bad = 0;
	const char *use_pam = sshd_value(dump, "usepam", v, sizeof(v));
	if (!use_pam || strcmp(use_pam, "yes")) {
		snprintf(fix, sizeof(fix), "set \"UsePAM yes\" in %s (etc/ssh/sshd_config.d/50-entra.conf does)",
		         cfgname);
		doctor_report(d, "sshd", DOCTOR_FAIL, fix, "UsePAM is %s: sshd never asks pam_entra",
		              use_pam ? use_pam : "unset");
		bad++;
	}
	/* OpenSSH before 8.7 calls it ChallengeResponseAuthentication */
	if ((!sshd_value(dump, "kbdinteractiveauthentication", v, sizeof(v)) &&
	     !sshd_value(dump, "challengeresponseauthentication", v, sizeof(v))) ||
	    strcmp(v, "yes")) {
		snprintf(fix, sizeof(fix), "set \"KbdInteractiveAuthentication yes\" in %s", cfgname);
		doctor_report(d, "sshd", DOCTOR_FAIL, fix,
		              "KbdInteractiveAuthentication is not yes: the sign-in code cannot reach the SSH client");
		bad++;
	}
	long grace = sshd_value(dump, "logingracetime", v, sizeof(v)) ? doctor_sshd_seconds(v) : 120;
	if (grace != 0 && grace < d->cfg->login_timeout + 10) {
		snprintf(fix, sizeof(fix), "set \"LoginGraceTime %d\" in %s, or lower [pam] login_timeout",
		         d->cfg->login_timeout + 40, cfgname);
		doctor_report(
		    d, "sshd", DOCTOR_FAIL, fix,
		    "LoginGraceTime %ld s does not leave room for login_timeout %d s: sshd cuts slow sign-ins", grace,
		    d->cfg->login_timeout);
		bad++;
	}
	if (sshd_value(dump, "authenticationmethods", v, sizeof(v)) && strcmp(v, "any") &&
	    !strstr(v, "keyboard-interactive")) {
		snprintf(fix, sizeof(fix), "add keyboard-interactive to AuthenticationMethods in %s", cfgname);
		doctor_report(d, "sshd", DOCTOR_FAIL, fix, "AuthenticationMethods %s excludes keyboard-interactive", v);
		bad++;
	}
	if (!bad)
		doctor_report(
		    d, "sshd", DOCTOR_OK, NULL,
		    "UsePAM yes, KbdInteractiveAuthentication yes, LoginGraceTime %ld s %s login_timeout %d s", grace,
		    grace == 0 ? "(unlimited) covers" : ">=", d->cfg->login_timeout);
}

/* SSH keys from Entra are optional: without AuthorizedKeysCommand nothing is wrong, but a command
 * that names entra-sync must pass the user (%u) and should not run as root. */
static void sshd_keys_command(struct doctor *d, const char *dump, const char *cfgname)
{
	char cmd[256], user[64], fix[400];
	if (!sshd_value(dump, "authorizedkeyscommand", cmd, sizeof(cmd)) || !strcmp(cmd, "none")) {
		doctor_report(
		    d, "sshd-keys", DOCTOR_SKIP, NULL,
		    "no AuthorizedKeysCommand: SSH keys from Entra are not used (optional; README: SSH keys)");
		return;
	}
	if (!strstr(cmd, "entra-sync") || !strstr(cmd, "authorized-keys")) {
		doctor_report(d, "sshd-keys", DOCTOR_SKIP, NULL,
		              "AuthorizedKeysCommand is %s, not entra-sync: SSH keys from Entra are not used", cmd);
		return;
	}
	if (!sshd_value(dump, "authorizedkeyscommanduser", user, sizeof(user)))
		snprintf(user, sizeof(user), "none");
	snprintf(fix, sizeof(fix),
	         "in %s: \"AuthorizedKeysCommand /usr/bin/entra-sync authorized-keys %%u\" and "
	         "\"AuthorizedKeysCommandUser nobody\"",
	         cfgname);
	if (!strstr(cmd, "%u"))
		doctor_report(d, "sshd-keys", DOCTOR_FAIL, fix,
		              "AuthorizedKeysCommand %s does not pass the user name (%%u): nobody gets keys", cmd);
	else if (!strcmp(user, "none") || !strcmp(user, "root"))
		doctor_report(d, "sshd-keys", !strcmp(user, "none") ? DOCTOR_FAIL : DOCTOR_WARN, fix,
		              "AuthorizedKeysCommandUser is %s: %s", user,
		              !strcmp(user, "none") ? "sshd refuses to run the command"
		                                    : "the command needs no privilege; run it as nobody");
	else
		doctor_report(d, "sshd-keys", DOCTOR_OK, NULL, "sshd asks entra-sync for SSH keys from Entra, as %s",
		              user);
}

void doctor_check_sshd(struct doctor *d)
{
	struct stat st;
	const char *cfgname = d->opts.sshd_config ? d->opts.sshd_config : "/etc/ssh/sshd_config";
	if (stat(DOCTOR_SSHD, &st) != 0) {
		doctor_report(d, "sshd", DOCTOR_SKIP, NULL, "%s not installed: console sign-in only", DOCTOR_SSHD);
		return;
	}
	char *dump = NULL;
	int rc = sshd_dump(d->opts.sshd_config, &dump);
	if (rc != 0 || !dump) {
		char first[200] = "";
		if (dump)
			snprintf(first, sizeof(first), "%.*s", (int)strcspn(dump, "\n"), dump);
		doctor_report(d, "sshd", DOCTOR_FAIL, "run `sshd -t` as root and fix what it reports",
		              "`sshd -T%s%s` failed (%s): %s", d->opts.sshd_config ? " -f " : "",
		              d->opts.sshd_config ? d->opts.sshd_config : "",
		              rc < 0 ? strerror(errno) : "non-zero exit", first[0] ? first : "no output");
		free(dump);
		return;
	}
	sshd_settings(d, dump, cfgname);
	sshd_keys_command(d, dump, cfgname);
	free(dump);
}
