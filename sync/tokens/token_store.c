/* The daemon's cached copy of the token file, refreshed when the file changes on disk. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/log.h"
#include "sync/tokens/tokens.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, true};

struct token_store {
	pthread_mutex_t lock;
	char *path;
	struct token_set set; /* empty whenever the file is missing or unusable: fail closed */
	bool have_stat;
	struct stat seen;  /* identity of the file the set was read from */
	char problem[768]; /* last problem logged, so each one is logged once */
};

static bool same_file(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mode == b->st_mode && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec && a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static void report_problem(struct token_store *st, int priority, const char *msg)
{
	if (strcmp(st->problem, msg) == 0)
		return;
	snprintf(st->problem, sizeof(st->problem), "%s", msg);
	entra_log(&logger, priority, "%s", msg);
}

static void refresh_locked(struct token_store *st, bool force)
{
	struct stat now;
	char err[768];
	if (stat(st->path, &now) != 0) {
		token_set_free(&st->set);
		st->have_stat = false;
		snprintf(err, sizeof(err),
		         "token file %s: %s: every SCIM request gets 401 until `entra-sync token new` creates it",
		         st->path, strerror(errno));
		report_problem(st, errno == ENOENT ? LOG_WARNING : LOG_ERR, err);
		return;
	}
	if (!force && st->have_stat && same_file(&now, &st->seen))
		return;
	st->seen = now;
	st->have_stat = true;
	token_set_free(&st->set);
	int rc = token_file_read(st->path, &st->set, err, sizeof(err));
	if (rc != 0) {
		if (rc > 0)
			snprintf(err, sizeof(err), "token file %s vanished while reading it", st->path);
		size_t len = strlen(err);
		snprintf(err + len, sizeof(err) - len, "; every SCIM request gets 401 until this is fixed");
		report_problem(st, LOG_ERR, err);
		return;
	}
	st->problem[0] = '\0';
	entra_log(&logger, LOG_INFO, "loaded %zu bearer token hash(es) from %s", st->set.n, st->path);
}

struct token_store *token_store_open(const char *path)
{
	struct token_store *st = calloc(1, sizeof(*st));
	if (!st || !(st->path = strdup(path))) {
		free(st);
		return NULL;
	}
	pthread_mutex_init(&st->lock, NULL);
	refresh_locked(st, true);
	return st;
}

void token_store_reload(struct token_store *st, const char *path)
{
	pthread_mutex_lock(&st->lock);
	if (path && strcmp(path, st->path) != 0) {
		char *copy = strdup(path);
		if (copy) {
			free(st->path);
			st->path = copy;
		} else {
			entra_log(&logger, LOG_ERR, "out of memory switching token file to %s; still using %s", path,
			          st->path);
		}
	}
	st->problem[0] = '\0';
	refresh_locked(st, true);
	pthread_mutex_unlock(&st->lock);
}

enum token_scope token_store_scope(struct token_store *st, const char *token, size_t len)
{
	pthread_mutex_lock(&st->lock);
	refresh_locked(st, false);
	enum token_scope scope = token_set_scope(&st->set, token, len);
	pthread_mutex_unlock(&st->lock);
	return scope;
}

bool token_store_verify(struct token_store *st, const char *token, size_t len)
{
	return token_store_scope(st, token, len) != TOKEN_SCOPE_NONE;
}

void token_store_close(struct token_store *st)
{
	if (!st)
		return;
	token_set_free(&st->set);
	pthread_mutex_destroy(&st->lock);
	free(st->path);
	free(st);
}
