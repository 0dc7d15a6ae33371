/* Read-only opening of state.db and cache.db, time formatting and JSON output for the CLI. */
#include "sync/cli/cli_db.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sync/store/store.h"
#include "sync/store/store_readonly.h"

sqlite3 *cli_state_open(const struct entra_config *cfg)
{
	sqlite3 *db = NULL;
	int version;
	char why[256];
	switch (store_readonly_open(cfg->state_db, &db, &version, why, sizeof(why))) {
	case STORE_OK:
		return db;
	case STORE_NOT_FOUND:
		fprintf(stderr, "entra-sync: state_db %s: %s; entra-syncd creates it when it first starts\n",
		        cfg->state_db, why);
		break;
	case STORE_INVALID:
		if (version < 0) {
			fprintf(stderr,
			        "entra-sync: cannot read state_db %s: %s (run as root or as the user entra-syncd runs "
			        "as)\n",
			        cfg->state_db, why);
			break;
		}
		fprintf(stderr,
		        "entra-sync: state_db %s has schema version %d, this entra-sync reads version %d: "
		        "use the entra-sync that came with the running entra-syncd\n",
		        cfg->state_db, version, STORE_SCHEMA_VERSION);
		break;
	default:
		fprintf(stderr,
		        "entra-sync: cannot open state_db %s: %s (run as root or as the user entra-syncd runs as)\n",
		        cfg->state_db, why);
	}
	return NULL;
}

sqlite3 *cli_cache_open(const struct entra_config *cfg)
{
	sqlite3 *db = NULL;
	if (access(cfg->cache_db, F_OK) != 0)
		return NULL;
	if (sqlite3_open_v2(cfg->cache_db, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
		fprintf(stderr, "entra-sync: warning: cannot open cache_db %s: %s\n", cfg->cache_db,
		        db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, 5000);
	return db;
}

void cli_format_time(long long unix_time, char *out, size_t len)
{
	struct tm tm;
	time_t t = (time_t)unix_time;
	if (unix_time <= 0 || !gmtime_r(&t, &tm)) {
		snprintf(out, len, "never");
		return;
	}
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int cli_print_json(json_t *v)
{
	if (!v) {
		fprintf(stderr, "entra-sync: out of memory\n");
		return 1;
	}
	int rc = json_dumpf(v, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(v);
	fputc('\n', stdout);
	return rc == 0 ? 0 : 1;
}

const char *cli_column_text(sqlite3_stmt *stmt, int col)
{
	return sqlite3_column_type(stmt, col) == SQLITE_NULL ? NULL : (const char *)sqlite3_column_text(stmt, col);
}

void cli_print_cell(const char *s, int width)
{
	int cols = 0;
	if (!s)
		s = "-";
	for (const char *p = s; *p; p++) {
		unsigned char c = (unsigned char)*p;
		if ((c & 0xC0) != 0x80)
			cols++;
		/* Never let stored text move the cursor or change the terminal. */
		putchar(c < 0x20 || c == 0x7f ? '?' : c);
	}
	for (; cols < width; cols++)
		putchar(' ');
}
