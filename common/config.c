/* INI parser for entra.conf. Table driven: every accepted key is one row below, so an
 * unknown key, a bad value or a duplicate is an error naming file, line and key. */
#include "common/config.h"
#include "common/errmsg.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define CONFIG_MAX_BYTES (1024 * 1024)
#define CONFIG_MAX_LIST  1024

enum key_type { K_STRING, K_INT, K_UINT32, K_SIZE, K_BOOL, K_LIST, K_NAME_FORMAT, K_MATCH, K_TRISTATE };

struct key_def {
	const char *name;
	enum key_type type;
	size_t offset;
	long long min, max; /* for numeric keys */
};

#define KEY(s, n, t, f, lo, hi)                                                                                        \
	{                                                                                                              \
		n, t, offsetof(s, f), lo, hi                                                                           \
	}
#define CK(n, t, f)         KEY(struct entra_config, n, t, f, 0, 0)
#define CN(n, t, f, lo, hi) KEY(struct entra_config, n, t, f, lo, hi)

static const struct key_def entra_keys[] = {CK("tenant_id", K_STRING, tenant_id), CK("client_id", K_STRING, client_id),
                                            CK("authority", K_STRING, authority), CK("ca_file", K_STRING, ca_file),
                                            CK("proxy", K_STRING, proxy),         {0}};
static const struct key_def pam_keys[] = {CK("scope", K_STRING, scope),
                                          CN("login_timeout", K_INT, login_timeout, 10, 3600),
                                          CN("http_timeout", K_INT, http_timeout, 1, 300),
                                          CK("qr", K_TRISTATE, qr),
                                          CK("cache_dir", K_STRING, pam_cache_dir),
                                          CK("authd_socket", K_STRING, authd_socket),
                                          CK("allow_upn_binding", K_BOOL, allow_upn_binding),
                                          {0}};
static const struct key_def account_keys[] = {CK("cache_db", K_STRING, cache_db),
                                              CK("name_format", K_NAME_FORMAT, name_format),
                                              CN("uid_min", K_UINT32, uid_min, 1000, 4294967294LL),
                                              CN("uid_max", K_UINT32, uid_max, 1000, 4294967294LL),
                                              CN("gid_min", K_UINT32, gid_min, 1000, 4294967294LL),
                                              CN("gid_max", K_UINT32, gid_max, 1000, 4294967294LL),
                                              CK("home", K_STRING, home),
                                              CK("shell", K_STRING, shell),
                                              CK("host", K_STRING, host),
                                              CK("end_sessions", K_BOOL, end_sessions),
                                              {0}};
static const struct key_def sync_keys[] = {CK("listen", K_STRING, listen),
                                           CK("tls_cert", K_STRING, tls_cert),
                                           CK("tls_key", K_STRING, tls_key),
                                           CK("state_db", K_STRING, state_db),
                                           CK("token_file", K_STRING, token_file),
                                           CN("max_body", K_SIZE, max_body, 1024, 1LL << 30),
                                           CN("max_connections", K_INT, max_connections, 1, 65536),
                                           CN("connection_timeout", K_INT, connection_timeout, 1, 3600),
                                           CN("request_timeout", K_INT, request_timeout, 1, 3600),
                                           CN("publish_interval_ms", K_INT, publish_interval_ms, 0, 60000),
                                           {0}};
static const struct key_def follow_keys[] = {
    CK("hub", K_LIST, follow_hubs),          CK("token_file", K_STRING, follow_token_file),
    CK("ca_file", K_STRING, follow_ca_file), CN("max_silence", K_INT, follow_max_silence, 10, 30 * 86400),
    CN("wait", K_INT, follow_wait, 1, 60),   {0}};
static const struct key_def role_keys[] = {KEY(struct entra_role, "rank", K_INT, rank, -1000000, 1000000),
                                           KEY(struct entra_role, "groups", K_LIST, groups, 0, 0),
                                           KEY(struct entra_role, "login", K_BOOL, login, 0, 0),
                                           {0}};
static const struct key_def ou_keys[] = {KEY(struct entra_ou, "hosts", K_LIST, hosts, 0, 0), {0}};
static const struct key_def rule_keys[] = {KEY(struct entra_rule, "match", K_MATCH, match, 0, 0),
                                           KEY(struct entra_rule, "groups", K_LIST, groups, 0, 0),
                                           KEY(struct entra_rule, "role", K_STRING, role, 0, 0),
                                           KEY(struct entra_rule, "ous", K_LIST, ous, 0, 0),
                                           {0}};

struct parser {
	const char *file;
	unsigned line;
	char *err;
	size_t errlen;
	struct entra_config *cfg;
	const struct key_def *keys; /* keys of the current section, NULL before any */
	void *base;                 /* struct the keys write into */
	char section[160];          /* for messages: "sync", "rule admins" */
	unsigned char seen[64];     /* keys already set in this section (duplicates) */
};

static int fail(struct parser *p, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(struct parser *p, const char *key, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (key)
		return entra_errf(p->err, p->errlen, "%s:%u: [%s] %s: %s", p->file, p->line, p->section, key, msg);
	return entra_errf(p->err, p->errlen, "%s:%u: %s", p->file, p->line, msg);
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* A comment starts at ';' or '#' at line start or after white space (URLs may hold '#'). */
static void strip_comment(char *s)
{
	for (char *c = s; *c; c++) {
		if ((*c == ';' || *c == '#') && (c == s || isspace((unsigned char)c[-1]))) {
			*c = '\0';
			return;
		}
	}
}

static int list_parse(struct parser *p, const char *key, const char *value, struct entra_list *out)
{
	char *copy = strdup(value);
	if (!copy)
		return fail(p, key, "out of memory");
	char *save = NULL;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *item = trim(tok);
		if (!*item)
			continue;
		if (out->n >= CONFIG_MAX_LIST) {
			free(copy);
			return fail(p, key, "more than %d items", CONFIG_MAX_LIST);
		}
		char **grown = realloc(out->items, (out->n + 1) * sizeof(*grown));
		if (!grown || !(grown[out->n] = strdup(item))) {
			if (grown)
				out->items = grown;
			free(copy);
			return fail(p, key, "out of memory");
		}
		out->items = grown;
		out->n++;
	}
	free(copy);
	if (out->n == 0)
		return fail(p, key, "empty list");
	return 0;
}

static int number_parse(struct parser *p, const struct key_def *k, const char *value, long long *out)
{
	char *end = NULL;
	errno = 0;
	long long v = strtoll(value, &end, 10);
	if (errno || end == value || *end)
		return fail(p, k->name, "'%s' is not a whole number", value);
	if (v < k->min || v > k->max)
		return fail(p, k->name, "%lld is outside %lld..%lld", v, k->min, k->max);
	*out = v;
	return 0;
}

static int bool_parse(const char *value, bool *out)
{
	static const char *const yes[] = {"yes", "true", "on", "1"}, *const no[] = {"no", "false", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(value, yes[i]))
			return *out = true, 0;
		if (!strcasecmp(value, no[i]))
			return *out = false, 0;
	}
	return -1;
}

static int value_set(struct parser *p, const struct key_def *k, const char *value)
{
	void *field = (char *)p->base + k->offset;
	long long n;
	bool b;
	switch (k->type) {
	case K_STRING: {
		char **s = field;
		free(*s);
		if (!(*s = strdup(value)))
			return fail(p, k->name, "out of memory");
		return 0;
	}
	case K_INT:
		if (number_parse(p, k, value, &n))
			return -1;
		*(int *)field = (int)n;
		return 0;
	case K_UINT32:
		if (number_parse(p, k, value, &n))
			return -1;
		*(uint32_t *)field = (uint32_t)n;
		return 0;
	case K_SIZE:
		if (number_parse(p, k, value, &n))
			return -1;
		*(size_t *)field = (size_t)n;
		return 0;
	case K_BOOL:
		if (bool_parse(value, &b))
			return fail(p, k->name, "'%s' is not yes or no", value);
		*(bool *)field = b;
		return 0;
	case K_TRISTATE:
		if (!strcasecmp(value, "auto"))
			return *(int *)field = -1, 0;
		if (bool_parse(value, &b))
			return fail(p, k->name, "'%s' is not yes, no or auto", value);
		*(int *)field = b;
		return 0;
	case K_LIST:
		return list_parse(p, k->name, value, field);
	case K_NAME_FORMAT:
		if (!strcasecmp(value, "short"))
			*(enum entra_name_format *)field = ENTRA_NAME_SHORT;
		else if (!strcasecmp(value, "upn"))
			*(enum entra_name_format *)field = ENTRA_NAME_UPN;
		else
			return fail(p, k->name, "'%s' is not short or upn", value);
		return 0;
	case K_MATCH:
		if (!strcasecmp(value, "any"))
			*(enum entra_match *)field = ENTRA_MATCH_ANY;
		else if (!strcasecmp(value, "all"))
			*(enum entra_match *)field = ENTRA_MATCH_ALL;
		else
			return fail(p, k->name, "'%s' is not any or all", value);
		return 0;
	}
	return fail(p, k->name, "internal: unknown key type");
}

/* Appends a zeroed element to a named-section array; returns it or NULL. */
static void *named_append(void **array, size_t *n, size_t size)
{
	char *grown = realloc(*array, (*n + 1) * size);
	if (!grown)
		return NULL;
	*array = grown;
	memset(grown + *n * size, 0, size);
	return grown + (*n)++ * size;
}

static int named_exists(struct parser *p, const char *kind, const char *name)
{
	const struct entra_config *c = p->cfg;
	if (!strcmp(kind, "role"))
		return entra_config_role(c, name) != NULL;
	if (!strcmp(kind, "ou"))
		return entra_config_ou(c, name) != NULL;
	for (size_t i = 0; i < c->n_rules; i++)
		if (!strcmp(c->rules[i].name, name))
			return 1;
	return 0;
}

static int named_section(struct parser *p, const char *kind, const char *name)
{
	struct entra_config *c = p->cfg;
	char *copy;
	if (!*name)
		return fail(p, NULL, "[%s] needs a name, e.g. [%s admins]", kind, kind);
	if (named_exists(p, kind, name))
		return fail(p, NULL, "[%s %s] is defined twice", kind, name);
	if (!(copy = strdup(name)))
		return fail(p, NULL, "out of memory");
	if (!strcmp(kind, "role")) {
		struct entra_role *r = named_append((void **)&c->roles, &c->n_roles, sizeof(*r));
		if (!r)
			goto oom;
		r->name = copy, r->login = true, p->base = r, p->keys = role_keys;
	} else if (!strcmp(kind, "ou")) {
		struct entra_ou *o = named_append((void **)&c->ous, &c->n_ous, sizeof(*o));
		if (!o)
			goto oom;
		o->name = copy, p->base = o, p->keys = ou_keys;
	} else {
		struct entra_rule *r = named_append((void **)&c->rules, &c->n_rules, sizeof(*r));
		if (!r)
			goto oom;
		r->name = copy, p->base = r, p->keys = rule_keys;
	}
	return 0;
oom:
	free(copy);
	return fail(p, NULL, "out of memory");
}

static int section_start(struct parser *p, char *line)
{
	char *close = strchr(line, ']');
	if (!close || *trim(close + 1))
		return fail(p, NULL, "malformed section header '%s'", line);
	*close = '\0';
	char *head = trim(line + 1);
	memset(p->seen, 0, sizeof(p->seen));
	p->section[0] = '\0';
	char *space = strpbrk(head, " \t");
	char *name = space ? trim(space + 1) : (char *)"";
	if (space)
		*space = '\0';
	const struct {
		const char *name;
		const struct key_def *keys;
	} plain[] = {{"entra", entra_keys},
	             {"pam", pam_keys},
	             {"accounts", account_keys},
	             {"sync", sync_keys},
	             {"follow", follow_keys}};
	for (size_t i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		if (strcmp(head, plain[i].name))
			continue;
		if (*name)
			return fail(p, NULL, "[%s] takes no name", head);
		p->keys = plain[i].keys, p->base = p->cfg;
		snprintf(p->section, sizeof(p->section), "%s", head);
		return 0;
	}
	if (!strcmp(head, "role") || !strcmp(head, "ou") || !strcmp(head, "rule")) {
		snprintf(p->section, sizeof(p->section), "%s %.120s", head, name);
		return named_section(p, head, name);
	}
	return fail(p, NULL,
	            "unknown section [%s] (known: entra, pam, accounts, sync, follow, role NAME, ou NAME, rule NAME)",
	            head);
}

static int key_line(struct parser *p, char *line)
{
	char *eq = strchr(line, '=');
	if (!eq)
		return fail(p, NULL, "expected 'key = value', got '%s'", line);
	*eq = '\0';
	char *key = trim(line), *value = trim(eq + 1);
	if (!p->keys)
		return fail(p, key, "key outside any section");
	for (size_t i = 0; p->keys[i].name; i++) {
		if (strcmp(p->keys[i].name, key))
			continue;
		if (p->seen[i])
			return fail(p, key, "set twice in this section");
		p->seen[i] = 1;
		if (!*value)
			return fail(p, key, "empty value");
		return value_set(p, &p->keys[i], value);
	}
	return fail(p, key, "unknown key");
}

static void defaults_set(struct entra_config *c)
{
	memset(c, 0, sizeof(*c));
	c->authority = strdup("https://login.microsoftonline.com");
	c->scope = strdup("openid profile");
	c->login_timeout = 110;
	c->http_timeout = 10;
	c->qr = -1;
	c->pam_cache_dir = strdup("/var/cache/entra");
	c->authd_socket = strdup(ENTRA_DEFAULT_AUTHD_SOCKET);
	c->cache_db = strdup("/var/lib/entra/cache.db");
	c->name_format = ENTRA_NAME_SHORT;
	c->uid_min = 200000;
	c->uid_max = 2000200000;
	c->home = strdup("/home/%u");
	c->shell = strdup("/bin/bash");
	c->listen = strdup("127.0.0.1:9443");
	c->state_db = strdup("/var/lib/entra/state.db");
	c->token_file = strdup("/etc/entra/scim.tokens");
	c->max_body = 1024 * 1024;
	c->max_connections = 256;
	c->connection_timeout = 30;
	c->request_timeout = 30;
	c->publish_interval_ms = 1000;
	c->follow_max_silence = 300;
	c->follow_wait = 25;
}

static int defaults_complete(const struct entra_config *c)
{
	return c->authority && c->scope && c->pam_cache_dir && c->authd_socket && c->cache_db && c->home && c->shell &&
	       c->listen && c->state_db && c->token_file;
}

static int host_default(struct entra_config *c)
{
	char name[256];
	if (c->host)
		return 0;
	if (gethostname(name, sizeof(name) - 1) != 0)
		return -1;
	name[sizeof(name) - 1] = '\0';
	return (c->host = strdup(name)) ? 0 : -1;
}

int entra_config_parse(const char *name, const char *text, struct entra_config *cfg, char *err, size_t errlen)
{
	struct parser p = {.file = name, .err = err, .errlen = errlen, .cfg = cfg};
	defaults_set(cfg);
	if (!defaults_complete(cfg) || !(cfg->path = strdup(name))) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto bad;
	}
	const char *cur = text;
	while (*cur) {
		const char *nl = strchr(cur, '\n');
		size_t len = nl ? (size_t)(nl - cur) : strlen(cur);
		p.line++;
		char *line = strndup(cur, len);
		if (!line) {
			fail(&p, NULL, "out of memory");
			goto bad;
		}
		strip_comment(line);
		char *s = trim(line);
		int rc = 0;
		if (*s == '[')
			rc = section_start(&p, s);
		else if (*s)
			rc = key_line(&p, s);
		free(line);
		if (rc)
			goto bad;
		cur = nl ? nl + 1 : cur + len;
	}
	if (host_default(cfg)) {
		snprintf(err, errlen, "%s: cannot determine the host name; set [accounts] host", name);
		goto bad;
	}
	if (entra_config_validate(cfg, err, errlen))
		goto bad;
	return 0;
bad:
	entra_config_free(cfg);
	return -1;
}

int entra_config_load(const char *path, struct entra_config *cfg, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		memset(cfg, 0, sizeof(*cfg));
		return entra_errf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	}
	char *text = malloc(CONFIG_MAX_BYTES + 1);
	size_t n = text ? fread(text, 1, CONFIG_MAX_BYTES + 1, f) : 0;
	int read_error = ferror(f);
	fclose(f);
	memset(cfg, 0, sizeof(*cfg));
	if (!text || read_error || n > CONFIG_MAX_BYTES || memchr(text, '\0', n)) {
		snprintf(err, errlen, "%s: %s", path,
		         !text                  ? "out of memory"
		         : read_error           ? "read error"
		         : n > CONFIG_MAX_BYTES ? "larger than 1 MiB"
		                                : "contains a NUL byte");
		free(text);
		return -1;
	}
	text[n] = '\0';
	int rc = entra_config_parse(path, text, cfg, err, errlen);
	free(text);
	return rc;
}

const struct entra_role *entra_config_role(const struct entra_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_roles; i++)
		if (!strcmp(cfg->roles[i].name, name))
			return &cfg->roles[i];
	return NULL;
}

const struct entra_ou *entra_config_ou(const struct entra_config *cfg, const char *name)
{
	for (size_t i = 0; i < cfg->n_ous; i++)
		if (!strcmp(cfg->ous[i].name, name))
			return &cfg->ous[i];
	return NULL;
}

static int rule_validate(const struct entra_config *cfg, const struct entra_rule *r, char *err, size_t errlen)
{
	const char *file = cfg->path;
	if (!r->groups.n)
		return snprintf(err, errlen, "%s: [rule %s] needs 'groups'", file, r->name), -1;
	if (!r->role)
		return snprintf(err, errlen, "%s: [rule %s] needs 'role'", file, r->name), -1;
	if (!entra_config_role(cfg, r->role))
		return snprintf(err, errlen, "%s: [rule %s] role '%s' is not defined by a [role %s] section", file,
		                r->name, r->role, r->role),
		       -1;
	if (!r->ous.n)
		return snprintf(err, errlen, "%s: [rule %s] needs 'ous' (use 'global' for every host)", file, r->name),
		       -1;
	for (size_t j = 0; j < r->ous.n; j++)
		if (strcmp(r->ous.items[j], "global") && !entra_config_ou(cfg, r->ous.items[j]))
			return snprintf(err, errlen, "%s: [rule %s] OU '%s' is not defined by an [ou %s] section", file,
			                r->name, r->ous.items[j], r->ous.items[j]),
			       -1;
	return 0;
}

bool entra_config_follower(const struct entra_config *cfg)
{
	return cfg->follow_hubs.n > 0 || cfg->follow_token_file;
}

/* A follower's policy is its hub's: its own [role], [ou] or [rule] would silently differ. */
static int follow_validate(const struct entra_config *cfg, char *err, size_t errlen)
{
	const char *file = cfg->path ? cfg->path : "entra.conf";
	const char *kind = cfg->n_roles ? "role" : cfg->n_ous ? "ou" : cfg->n_rules ? "rule" : NULL;
	const char *name = cfg->n_roles   ? cfg->roles[0].name
	                   : cfg->n_ous   ? cfg->ous[0].name
	                   : cfg->n_rules ? cfg->rules[0].name
	                                  : "";
	if (kind)
		return snprintf(err, errlen,
		                "%s: [%s %s] in a follower's file: a follower ([follow]) takes every role, OU and rule "
		                "from its hub; remove the [role], [ou] and [rule] sections (edit them on the hub)",
		                file, kind, name),
		       -1;
	if (!cfg->follow_hubs.n)
		return snprintf(err, errlen,
		                "%s: [follow] needs 'hub' (the hub's https:// URL, several comma-separated)", file),
		       -1;
	if (!cfg->follow_token_file)
		return snprintf(err, errlen,
		                "%s: [follow] needs 'token_file' (a file holding the follower token from "
		                "`entra-sync token new --follow` on the hub, mode 0600)",
		                file),
		       -1;
	for (size_t i = 0; i < cfg->follow_hubs.n; i++)
		if (strncasecmp(cfg->follow_hubs.items[i], "https://", 8))
			return snprintf(err, errlen, "%s: [follow] hub '%s' must be an https:// URL", file,
			                cfg->follow_hubs.items[i]),
			       -1;
	return 0;
}

int entra_config_validate(const struct entra_config *cfg, char *err, size_t errlen)
{
	if (entra_config_follower(cfg) && follow_validate(cfg, err, errlen))
		return -1;
	return entra_config_validate_policy(cfg, err, errlen);
}

/* [accounts] gid_min..gid_max: both or neither, and apart from the uid range, so a gid in it is
 * never an account's private group (nss_scim then skips that check: README "NSS"). */
static int groups_range_check(const struct entra_config *cfg, const char *file, char *err, size_t errlen)
{
	if (!cfg->gid_min && !cfg->gid_max)
		return 0;
	if (!cfg->gid_min || !cfg->gid_max)
		return snprintf(err, errlen, "%s: [accounts] gid_min and gid_max go together: set both or neither",
		                file),
		       -1;
	if (cfg->gid_min < 1000)
		return snprintf(err, errlen, "%s: [accounts] gid_min (%u) must be 1000 or more", file, cfg->gid_min),
		       -1;
	if (cfg->gid_min >= cfg->gid_max)
		return snprintf(err, errlen, "%s: [accounts] gid_min (%u) must be below gid_max (%u)", file,
		                cfg->gid_min, cfg->gid_max),
		       -1;
	if (cfg->gid_min <= cfg->uid_max && cfg->gid_max >= cfg->uid_min)
		return snprintf(err, errlen,
		                "%s: [accounts] gid_min..gid_max (%u..%u) overlaps uid_min..uid_max (%u..%u): "
		                "group ids need a range of their own",
		                file, cfg->gid_min, cfg->gid_max, cfg->uid_min, cfg->uid_max),
		       -1;
	return 0;
}

int entra_config_validate_policy(const struct entra_config *cfg, char *err, size_t errlen)
{
	const char *file = cfg->path ? cfg->path : "entra.conf";
	if (cfg->uid_min >= cfg->uid_max)
		return snprintf(err, errlen, "%s: [accounts] uid_min (%u) must be below uid_max (%u)", file,
		                cfg->uid_min, cfg->uid_max),
		       -1;
	if (groups_range_check(cfg, file, err, errlen))
		return -1;
	/* The rest (host, port, no path) is checked by the HTTPS client, which links libcurl's parser. */
	if (cfg->proxy && strncasecmp(cfg->proxy, "http://", 7) && strncasecmp(cfg->proxy, "https://", 8))
		return snprintf(err, errlen, "%s: [entra] proxy must be an http:// or https:// URL (HTTP CONNECT)",
		                file),
		       -1;
	if (cfg->tls_cert && !cfg->tls_key)
		return snprintf(err, errlen, "%s: [sync] tls_cert needs tls_key", file), -1;
	if (cfg->tls_key && !cfg->tls_cert)
		return snprintf(err, errlen, "%s: [sync] tls_key needs tls_cert", file), -1;
	for (size_t i = 0; i < cfg->n_ous; i++)
		if (!strcmp(cfg->ous[i].name, "global"))
			return snprintf(err, errlen, "%s: [ou global] is built in (every host) and cannot be redefined",
			                file),
			       -1;
	for (size_t i = 0; i < cfg->n_rules; i++)
		if (rule_validate(cfg, &cfg->rules[i], err, errlen))
			return -1;
	return 0;
}

static void list_free(struct entra_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->items[i]);
	free(l->items);
}

void entra_config_free(struct entra_config *c)
{
	if (c->proxy)
		explicit_bzero(c->proxy, strlen(c->proxy)); /* may hold the proxy's password */
	char **strings[] = {&c->path,
	                    &c->tenant_id,
	                    &c->client_id,
	                    &c->authority,
	                    &c->ca_file,
	                    &c->proxy,
	                    &c->scope,
	                    &c->pam_cache_dir,
	                    &c->authd_socket,
	                    &c->cache_db,
	                    &c->home,
	                    &c->shell,
	                    &c->host,
	                    &c->listen,
	                    &c->tls_cert,
	                    &c->tls_key,
	                    &c->state_db,
	                    &c->token_file,
	                    &c->follow_token_file,
	                    &c->follow_ca_file};
	for (size_t i = 0; i < sizeof(strings) / sizeof(strings[0]); i++)
		free(*strings[i]);
	for (size_t i = 0; i < c->n_roles; i++)
		free(c->roles[i].name), list_free(&c->roles[i].groups);
	for (size_t i = 0; i < c->n_ous; i++)
		free(c->ous[i].name), list_free(&c->ous[i].hosts);
	for (size_t i = 0; i < c->n_rules; i++) {
		free(c->rules[i].name), free(c->rules[i].role);
		list_free(&c->rules[i].groups), list_free(&c->rules[i].ous);
	}
	free(c->roles), free(c->ous), free(c->rules);
	list_free(&c->follow_hubs);
	memset(c, 0, sizeof(*c));
}
