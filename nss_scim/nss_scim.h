/* Internals of libnss_scim.so.2 shared by its files. Nothing here is exported (see nss_scim.sym).
 *
 * Every entry point runs between scim_begin() and scim_end(): one process-wide mutex guards the
 * settings, the SQLite connection, its prepared statements and the enumeration cursors. */
#ifndef NSS_SCIM_H
#define NSS_SCIM_H

#include <nss.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "config.h"

#define NSS_SCIM_XSTR(x) #x
#define NSS_SCIM_STR(x)  NSS_SCIM_XSTR(x)

#define SCIM_NAME_MAX     256  /* longest user or group name we serve */
#define SCIM_FIELD_MAX    4096 /* longest gecos, home or shell we serve */
#define SCIM_LOCAL_GROUPS 64   /* most role-granted local groups per user */

enum scim_stmt {
	ST_PW_BY_NAME,
	ST_PW_BY_UID,
	ST_PW_AFTER_UID,
	ST_GR_BY_NAME,
	ST_GR_BY_GID,
	ST_GR_AFTER_GID,
	ST_GR_MEMBERS,
	ST_USER_GROUPS,
	ST_USER_LOCAL_GROUPS,
	ST_COUNT
};

/* Column order of the ST_PW_* statements. */
enum { PW_NAME, PW_UID, PW_GID, PW_GECOS, PW_DIR, PW_SHELL, PW_EXPIRE, PW_ROLE };
/* Column order of the ST_GR_BY_* / ST_GR_AFTER_GID statements. */
enum { GR_NAME, GR_GID };

/* File identity used to notice a replaced file without reading it. */
struct scim_file_id {
	bool valid;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};
void scim_file_id_set(struct scim_file_id *id, const struct stat *st);
bool scim_file_id_same(const struct scim_file_id *id, const struct stat *st);

/* /etc/entra/entra.conf, re-read only when its identity changes. */
struct scim_settings {
	struct scim_file_id id;
	int err; /* 0 when cfg is loaded, else the errno callers get */
	struct entra_config cfg;
};
int scim_settings_refresh(struct scim_settings *s, const char *path);
/* True when ROLE's configured `groups` list names the local group NAME. */
bool scim_settings_role_grants(const struct scim_settings *s, const char *role, const char *name);

/* The read-only cache.db connection, reopened when the file or the opening process changes. */
struct scim_db {
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	pid_t pid; /* process that opened db; a forked child reopens */
	char *path;
	struct scim_file_id id;
	int err;              /* 0 when usable, else the errno callers get (cached per identity) */
	unsigned logged_once; /* bit per skip reason, reset on reopen */
};
int scim_db_refresh(struct scim_db *d, const char *path);
void scim_db_close(struct scim_db *d);
/* Marks the open cache unusable after a read error (until the file changes). */
void scim_db_broken(struct scim_db *d, int rc);

/* What an entry point sees while it holds the lock. */
struct scim_view {
	struct scim_db *db;
	const struct scim_settings *settings;
	uint32_t id_min, id_max;
};
/* Locks, refreshes settings and cache. On anything but SUCCESS the lock is already released. */
enum nss_status scim_begin(struct scim_view *v, int *errnop);
/* Resets every statement and unlocks. */
void scim_end(struct scim_view *v);
/* Steps Q: 1 = row, 0 = no more rows, -1 = read error (cache marked broken, *errnop set). */
int scim_step(struct scim_view *v, sqlite3_stmt *q, int *errnop);
/* Marks the cache broken after an impossible answer (corruption SQLite did not notice): -1. */
int scim_corrupt(struct scim_view *v, int *errnop);

/* Enumeration cursors: the last key returned, so a reopened cache continues where it was and an
 * ERANGE retry returns the same entry. Guarded by the module lock (scim_begin). */
struct scim_cursor {
	int phase;    /* group enumeration: 0 private groups, 1 SCIM groups */
	int64_t last; /* last uid/gid returned in this phase, -1 before the first */
};
void scim_cursor_reset(struct scim_cursor *c);
/* Resets C under the module lock (set*ent / end*ent). */
void scim_cursor_reset_locked(struct scim_cursor *c);

/* Defence against a tampered cache. */
bool scim_name_ok(const char *name);
bool scim_field_ok(const char *text);
bool scim_path_ok(const char *path);
bool scim_id_ok(const struct scim_view *v, int64_t id);
enum scim_skip {
	SKIP_PASSWD_ROW,
	SKIP_GROUP_ROW,
	SKIP_MEMBER_ROW,
	SKIP_LOCAL_GROUP,
	SKIP_LOCAL_GROUP_MISMATCH,
	SKIP_TOO_MANY_LOCAL,
};
/* Logs to syslog the first time REASON happens for the open cache, then stays quiet. */
void scim_log_skip(struct scim_view *v, enum scim_skip reason, long long key);
void scim_syslog(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Packing strings and pointer arrays into the caller's buffer. */
struct scim_pack {
	char *cur;
	size_t left;
};
char *scim_pack_str(struct scim_pack *p, const char *s);
char **scim_pack_ptrs(struct scim_pack *p, size_t n);

/* A validated passwd row read from an ST_PW_* statement; strings live until the next step. */
struct scim_pw_row {
	const char *name, *gecos, *dir, *shell, *role;
	int64_t uid, gid, expire;
};
/* Reads the current row of Q; false (and logged) when the row must not be served. */
bool scim_pw_row_read(struct scim_view *v, sqlite3_stmt *q, struct scim_pw_row *r);

/* Looks up the passwd row matching the bound statement Q: 1 found (row in R), 0 not found,
 * -1 read error (*errnop set). Invalid rows count as not found. */
int scim_pw_find(struct scim_view *v, sqlite3_stmt *q, struct scim_pw_row *r, int *errnop);
/* The first valid passwd row with uid > AFTER, in uid order: 1 found, 0 end, -1 error. */
int scim_pw_next(struct scim_view *v, int64_t after, struct scim_pw_row *r, int *errnop);

#endif
