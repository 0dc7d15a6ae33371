/* entra.conf: the one INI file every component reads (format in README / entra.conf(5)). */
#ifndef ENTRA_CONFIG_H
#define ENTRA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ENTRA_DEFAULT_CONFIG       "/etc/entra/entra.conf"
#define ENTRA_DEFAULT_AUTHD_SOCKET "/run/entra-authd/socket"

enum entra_name_format { ENTRA_NAME_SHORT, ENTRA_NAME_UPN };
enum entra_match { ENTRA_MATCH_ANY, ENTRA_MATCH_ALL };

struct entra_list {
	char **items;
	size_t n;
};

struct entra_role {
	char *name;
	int rank;                 /* higher = more permission */
	struct entra_list groups; /* local groups added through initgroups */
	bool login;               /* may members of this role sign in (default yes) */
};

struct entra_ou {
	char *name;
	struct entra_list hosts; /* hostname globs */
};

struct entra_rule {
	char *name;
	enum entra_match match;
	struct entra_list groups; /* display names, object ids or SCIM ids */
	char *role;
	struct entra_list ous;
};

struct entra_config {
	char *path;

	/* [entra] */
	char *tenant_id;
	char *client_id;
	char *authority;
	char *ca_file;
	char *proxy; /* http(s)://[user:password@]host:port: entra-authd's and doctor's only way out */

	/* [pam] */
	char *scope;
	int login_timeout;      /* seconds; must fit inside sshd's LoginGraceTime */
	int http_timeout;       /* seconds for one HTTPS request */
	int qr;                 /* -1 auto (UTF-8 terminal), 0 no, 1 yes */
	char *pam_cache_dir;    /* root-only cache of discovery and JWKS documents */
	char *authd_socket;     /* entra-authd's socket; "none": pam_entra always signs in itself */
	bool allow_upn_binding; /* accounts without an Entra object id may sign in by UPN (default no) */

	/* [accounts] */
	char *cache_db;
	enum entra_name_format name_format;
	uint32_t uid_min;
	uint32_t uid_max;
	/* SCIM groups' gids; 0, 0 (unset): groups share uid_min..uid_max. Apart from it when set. */
	uint32_t gid_min;
	uint32_t gid_max;
	char *home; /* %u = local name, %U = UPN */
	char *shell;
	char *host;        /* this host's name for OU globs; default gethostname() */
	bool end_sessions; /* entra-sync sessions --watch ends a disabled or removed account's sessions */

	/* [sync] */
	char *listen;
	char *tls_cert;
	char *tls_key;
	char *state_db;
	char *token_file;
	size_t max_body; /* bytes; larger SCIM bodies get 413 */
	int max_connections;
	int connection_timeout;  /* seconds of idle before a connection is dropped */
	int request_timeout;     /* seconds for a whole request (line, headers, body): then 408 */
	int publish_interval_ms; /* debounce for cache.db publication */

	/* [follow]: present on a follower, which mirrors its hub instead of serving SCIM */
	struct entra_list follow_hubs; /* https URLs, tried in order */
	char *follow_token_file;       /* the follower token itself, mode 0600 */
	char *follow_ca_file;          /* extra trust anchor for the hub's certificate */
	int follow_max_silence;        /* seconds without contact before doctor warns */
	int follow_wait;               /* seconds a long-poll asks the hub to hold */

	struct entra_role *roles;
	size_t n_roles;
	struct entra_ou *ous;
	size_t n_ous;
	struct entra_rule *rules;
	size_t n_rules;
};

/* Loads PATH into CFG (defaults first, then the file). On failure returns -1 and writes
 * "FILE:LINE: message" to ERR; CFG is left freed. */
int entra_config_load(const char *path, struct entra_config *cfg, char *err, size_t errlen);
/* Parses TEXT as if it were the file NAME (used by tests and fuzzers). */
int entra_config_parse(const char *name, const char *text, struct entra_config *cfg, char *err, size_t errlen);
void entra_config_free(struct entra_config *cfg);

const struct entra_role *entra_config_role(const struct entra_config *cfg, const char *name);
const struct entra_ou *entra_config_ou(const struct entra_config *cfg, const char *name);

/* True when CFG has a [follow] section (a follower). */
bool entra_config_follower(const struct entra_config *cfg);

/* Checks cross references (rule -> role / OU) and sanity (uid range); returns -1 with ERR. */
int entra_config_validate(const struct entra_config *cfg, char *err, size_t errlen);
/* The same without the follower's own rule (no [role], [ou], [rule] in its file): a follower's
 * configuration with its hub's policy set in (sync/follow). */
int entra_config_validate_policy(const struct entra_config *cfg, char *err, size_t errlen);

#endif
