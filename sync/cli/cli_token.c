/* entra-sync token new|list|revoke: manages the bearer tokens entra-syncd accepts. */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <string.h>

#include "sync/cli/cli.h"
#include "sync/cli/cli_db.h"
#include "sync/tokens/tokens.h"

static int token_usage(void)
{
	fprintf(stderr, "usage: entra-sync token new [--follow] [--label LABEL]\n"
	                "       entra-sync token list\n"
	                "       entra-sync token revoke ID\n");
	return 2;
}

static int token_new(struct cli_ctx *ctx, int argc, char **argv)
{
	const char *label = NULL;
	enum token_scope scope = TOKEN_SCOPE_SCIM;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--follow") == 0)
			scope = TOKEN_SCOPE_FOLLOW;
		else if (strcmp(argv[i], "--label") == 0 && i + 1 < argc)
			label = argv[++i];
		else if (strncmp(argv[i], "--label=", 8) == 0)
			label = argv[i] + 8;
		else
			return token_usage();
	}
	char token[TOKEN_TEXT_LEN + 1], err[1024];
	struct token_entry e;
	if (token_file_create(ctx->cfg->token_file, label, scope, token, &e, err, sizeof(err)) != 0) {
		fprintf(stderr, "entra-sync: %s\n", err);
		return 1;
	}
	if (scope == TOKEN_SCOPE_FOLLOW)
		printf("Created follower token %s in %s: it reads the change feed and can never write SCIM.\n"
		       "Store it now in each follower's [follow] token_file (mode 0600), it is shown once:\n",
		       e.id, ctx->cfg->token_file);
	else
		printf("Created token %s in %s. Store it now (Entra: Secret Token), it is shown once:\n", e.id,
		       ctx->cfg->token_file);
	printf("%s\n", token);
	OPENSSL_cleanse(token, sizeof(token));
	return 0;
}

static json_t *entry_json(const struct token_entry *e)
{
	char when[32];
	cli_format_time(e->created, when, sizeof(when));
	return json_pack("{s:s, s:s, s:s, s:I, s:s}", "id", e->id, "scope", token_scope_name(e->scope), "created", when,
	                 "created_unix", (json_int_t)e->created, "label", e->label);
}

static int print_list(const struct cli_ctx *ctx, const struct token_set *set)
{
	if (ctx->json) {
		json_t *arr = json_array();
		for (size_t i = 0; arr && i < set->n; i++)
			json_array_append_new(arr, entry_json(&set->items[i]));
		return cli_print_json(arr);
	}
	printf("%-9s %-7s %-21s %s\n", "ID", "SCOPE", "CREATED", "LABEL");
	for (size_t i = 0; i < set->n; i++) {
		char when[32];
		cli_format_time(set->items[i].created, when, sizeof(when));
		printf("%-9s %-7s %-21s %s\n", set->items[i].id, token_scope_name(set->items[i].scope), when,
		       set->items[i].label);
	}
	return 0;
}

static int token_list(struct cli_ctx *ctx, int argc)
{
	struct token_set set;
	char err[1024];
	if (argc != 2)
		return token_usage();
	int rc = token_file_read(ctx->cfg->token_file, &set, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "entra-sync: %s\n", err);
		return 1;
	}
	if (rc > 0)
		fprintf(stderr, "entra-sync: %s does not exist yet: `entra-sync token new` creates it\n",
		        ctx->cfg->token_file);
	rc = print_list(ctx, &set);
	token_set_free(&set);
	return rc;
}

static int token_revoke(struct cli_ctx *ctx, int argc, char **argv)
{
	char err[1024];
	if (argc != 3)
		return token_usage();
	int rc = token_file_revoke(ctx->cfg->token_file, argv[2], err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "entra-sync: %s\n", err);
		return 1;
	}
	printf("Revoked token %s; entra-syncd refuses it from the next request on.\n", argv[2]);
	return 0;
}

int cli_token(struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc < 2)
		return token_usage();
	if (strcmp(argv[1], "new") == 0)
		return token_new(ctx, argc, argv);
	if (strcmp(argv[1], "list") == 0)
		return token_list(ctx, argc);
	if (strcmp(argv[1], "revoke") == 0)
		return token_revoke(ctx, argc, argv);
	return token_usage();
}
