/* entra-sync: one verb per file (cli_token.c, cli_status.c, cli_rules.c, ...); cli_main.c
 * parses `-c FILE`, loads the config and dispatches to the verb. */
#ifndef SYNC_CLI_H
#define SYNC_CLI_H

#include "common/config.h"

struct cli_ctx {
	const struct entra_config *cfg;
	const char *config_path;
	int json; /* --json given */
};

/* Each returns the process exit status: 0 ok, 1 a problem found / operation failed,
 * 2 usage error. Messages go to stderr, results to stdout. ARGV[0] is the verb. */
int cli_token(struct cli_ctx *ctx, int argc, char **argv); /* token new|list|revoke ID */
int cli_status(struct cli_ctx *ctx, int argc, char **argv);
int cli_users(struct cli_ctx *ctx, int argc, char **argv);
int cli_groups(struct cli_ctx *ctx, int argc, char **argv);
int cli_rules(struct cli_ctx *ctx, int argc, char **argv);  /* rules check | rules explain USER */
int cli_doctor(struct cli_ctx *ctx, int argc, char **argv); /* doctor [options]: cli_doctor.c */
/* authorized-keys USER: sshd's AuthorizedKeysCommand (cli_authorized_keys.c) */
int cli_authorized_keys(struct cli_ctx *ctx, int argc, char **argv);
int cli_rules(struct cli_ctx *ctx, int argc, char **argv);    /* rules check | rules explain USER */
int cli_doctor(struct cli_ctx *ctx, int argc, char **argv);   /* doctor [options]: cli_doctor.c */
int cli_sessions(struct cli_ctx *ctx, int argc, char **argv); /* sessions [--watch]: cli_sessions.c */

#endif
