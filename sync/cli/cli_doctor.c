/* entra-sync doctor: checks the host end to end and says how to fix what is wrong. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/cli/cli.h"
#include "sync/doctor/doctor.h"

static const struct {
	const char *name;
	void (*run)(struct doctor *d);
} doctor_checks[] = {
    {"config", doctor_check_config},       {"cache", doctor_check_cache},
    {"identity", doctor_check_identity},   {"provisioning", doctor_check_provisioning},
    {"nsswitch", doctor_check_nsswitch},   {"pam", doctor_check_pam},
    {"sshd", doctor_check_sshd},           {"clock", doctor_check_clock},
    {"discovery", doctor_check_discovery}, {"tokens", doctor_check_tokens},
    {"authd", doctor_check_authd},         {"sessions", doctor_check_sessions},
};
#define N_CHECKS (sizeof(doctor_checks) / sizeof(doctor_checks[0]))

static int usage(void)
{
	fprintf(stderr, "usage: entra-sync [-c FILE] [--json] doctor [--sshd-config FILE] [--pam-service NAME]\n"
	                "                  [--daemon-user USER] [--max-age SECONDS] [--skip CHECK,...]\n"
	                "checks: config cache identity provisioning nsswitch pam sshd clock discovery tokens authd "
	                "sessions\n");
	return 2;
}

/* Marks the checks named in the comma-separated LIST; -1 on an unknown name. */
static int skip_parse(const char *list, bool skip[N_CHECKS])
{
	char *copy = strdup(list), *save = NULL;
	int rc = copy ? 0 : -1;
	for (char *tok = copy ? strtok_r(copy, ",", &save) : NULL; tok && !rc; tok = strtok_r(NULL, ",", &save)) {
		size_t i = 0;
		while (i < N_CHECKS && strcmp(doctor_checks[i].name, tok))
			i++;
		if (i == N_CHECKS) {
			fprintf(stderr, "entra-sync doctor: unknown check '%s'\n", tok);
			rc = -1;
		} else {
			skip[i] = true;
		}
	}
	free(copy);
	return rc;
}

/* "--name VALUE" or "--name=VALUE"; advances *I past what it used. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	if (strncmp(argv[*i], name, n))
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] == '\0' && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

static int options_parse(struct cli_ctx *ctx, int argc, char **argv, struct doctor_opts *o, bool skip[N_CHECKS])
{
	for (int i = 1; i < argc; i++) {
		const char *v;
		if (!strcmp(argv[i], "--json"))
			ctx->json = 1;
		else if ((v = option_value(argc, argv, &i, "--sshd-config")))
			o->sshd_config = v;
		else if ((v = option_value(argc, argv, &i, "--pam-service")) && !strchr(v, '/'))
			o->pam_service = v;
		else if ((v = option_value(argc, argv, &i, "--daemon-user")))
			o->daemon_user = v;
		else if ((v = option_value(argc, argv, &i, "--max-age"))) {
			char *end;
			o->max_age = strtol(v, &end, 10);
			if (*end || o->max_age <= 0)
				return -1;
		} else if ((v = option_value(argc, argv, &i, "--skip"))) {
			if (skip_parse(v, skip))
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

int cli_doctor(struct cli_ctx *ctx, int argc, char **argv)
{
	bool skip[N_CHECKS] = {false};
	struct doctor d = {
	    .cfg = ctx->cfg,
	    .config_path = ctx->config_path,
	    .opts = {.pam_service = "sshd", .daemon_user = "entra-sync", .max_age = 3600},
	};
	if (options_parse(ctx, argc, argv, &d.opts, skip))
		return usage();
	if (!(d.results = json_array())) {
		fprintf(stderr, "entra-sync doctor: out of memory\n");
		return 1;
	}
	for (size_t i = 0; i < N_CHECKS; i++) {
		if (skip[i])
			doctor_report(&d, doctor_checks[i].name, DOCTOR_SKIP, NULL, "skipped (--skip)");
		else
			doctor_checks[i].run(&d);
	}
	if (ctx->json)
		doctor_print_json(&d, stdout);
	else
		doctor_print_text(&d, stdout);
	json_decref(d.results);
	return d.failures ? 1 : 0;
}
