/* entra-sync: the admin CLI. Parses the global options, loads the config and runs one verb. */
#include <stdio.h>
#include <string.h>

#include "common/config.h"
#include "sync/cli/cli.h"

struct verb {
	const char *name;
	int (*run)(struct cli_ctx *ctx, int argc, char **argv);
	const char *help;
};

static const struct verb verbs[] = {
    {"token", cli_token, "token new [--label LABEL] | token list | token revoke ID"},
    {"status", cli_status, "status            users, groups, last SCIM request, databases"},
    {"users", cli_users, "users             SCIM users and their local accounts"},
    {"groups", cli_groups, "groups            SCIM groups and their local groups"},
    {"rules", cli_rules, "rules check | rules explain USER"},
    {"doctor", cli_doctor, "doctor [--sshd-config FILE] [--skip CHECK,...]  check this host, say how to fix"},
    {"authorized-keys", cli_authorized_keys,
     "authorized-keys USER  USER's SSH keys from Entra, for sshd's "
     "AuthorizedKeysCommand"},
    {"sessions", cli_sessions, "sessions [--watch]  end (or, without --watch, list) sessions of disabled accounts"},
};

static void usage(void)
{
	fprintf(stderr, "usage: entra-sync [-c FILE] [--json] VERB [ARGS]\n"
	                "  -c, --config FILE  configuration file (default " ENTRA_DEFAULT_CONFIG ")\n"
	                "  --json             machine-readable output (status, users, groups, token list)\n"
	                "verbs:\n");
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		fprintf(stderr, "  %s\n", verbs[i].help);
	fprintf(stderr, "exit status: 0 ok, 1 failure, 2 usage error\n");
}

/* Global options come before the verb; returns the verb's index in ARGV, or -1. */
static int parse_globals(int argc, char **argv, const char **config, int *json)
{
	int i = 1;
	for (; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		if ((strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0) && i + 1 < argc)
			*config = argv[++i];
		else if (strncmp(a, "--config=", 9) == 0)
			*config = a + 9;
		else if (strcmp(a, "--json") == 0)
			*json = 1;
		else
			return -1; /* --help, -h and anything unknown */
	}
	return i < argc ? i : -1;
}

int main(int argc, char **argv)
{
	const char *config_path = ENTRA_DEFAULT_CONFIG;
	int json = 0;
	int at = parse_globals(argc, argv, &config_path, &json);
	const struct verb *verb = NULL;
	for (size_t i = 0; at > 0 && i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strcmp(argv[at], verbs[i].name) == 0)
			verb = &verbs[i];
	if (!verb) {
		if (at > 0)
			fprintf(stderr, "entra-sync: unknown verb '%s'\n", argv[at]);
		usage();
		return 2;
	}
	/* `entra-sync users --json` works as well as `entra-sync --json users`. */
	int n = at + 1;
	for (int i = at + 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else
			argv[n++] = argv[i];
	}
	argc = n;
	struct entra_config cfg;
	char err[1024];
	if (entra_config_load(config_path, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "entra-sync: %s\n", err);
		return 1;
	}
	struct cli_ctx ctx = {.cfg = &cfg, .config_path = config_path, .json = json};
	int rc = verb->run(&ctx, argc - at, argv + at);
	entra_config_free(&cfg);
	if (fflush(stdout) != 0) {
		perror("entra-sync: writing output");
		return 1;
	}
	return rc;
}
