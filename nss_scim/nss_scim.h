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

#include "common/cache_reader.h"
#include "common/config.h"

#define NSS_SCIM_XSTR(x) #x
#define NSS_SCIM_STR(x)  NSS_SCIM_XSTR(x)

#define SCIM_NAME_MAX     256  /* longest user or group name we serve */
#define SCIM_FIELD_MAX    4096 /* longest gecos, home or shell we serve */
#define SCIM_LOCAL_GROUPS 64   /* most role-granted local groups per user */

/* Prepared statements, each compiled on first use (most processes only ever run one or two). */
enum scim_stmt {
	/* Look-ups: reset by scim_end at the end of every call. */
	ST_PW_BY_NAME,
	ST_PW_BY_UID,
	ST_GR_BY_NAME,
	ST_GR_BY_GID,
	ST_GR_MEMBERS,
	ST_USER_GROUPS,
	ST_USER_LOCAL_GROUPS,
	ST_LOOKUP_COUNT,
	/* Enumeration scans: each owned by one cursor and left stepping between calls. */
	ST_SCAN_PASSWD = ST_LOOKUP_COUNT,
	ST_SCAN_SHADOW,
	ST_SCAN_PRIVATE_GROUPS,
	ST_SCAN_GROUPS,
	ST_COUNT
};

/* Column order of the ST_PW_* and passwd/shadow/private-group scan statements. */
enum { PW_NAME, PW_UID, PW_GID, PW_GECOS, PW_DIR, PW_SHELL, PW_EXPIRE, PW_ROLE };
/* Column order of the ST_GR_BY_* / ST_SCAN_GROUPS statements. */
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
/* Frees the parsed config (if any) and forgets the file: the next refresh reads it again. */
void scim_settings_drop(struct scim_settings *s);
/* True when ROLE's configured `groups` list names the local group NAME. */
bool scim_settings_role_grants(const struct scim_settings *s, const char *role, const char *name);

/* The read-only cache.db connection, reopened when the file or the opening process changes. */
struct scim_db {
	struct entra_cache cache;   /* the connection and its work budget (common/cache_reader.h) */
	sqlite3_stmt *st[ST_COUNT]; /* NULL until first used (scim_stmt) */
	pid_t pid;                  /* process that opened db; a forked child reopens (0: reopen) */
	uint64_t epoch;             /* unique per opened connection, so cursors notice a reopen */
	int64_t checked_ns;         /* CLOCK_MONOTONIC_COARSE time the files were last stat()ed */
	char *path;
	struct scim_file_id id;
	int err;              /* 0 when usable, else the errno callers get (cached per identity) */
	unsigned logged_once; /* bit per skip reason, reset on reopen */
};
int scim_db_refresh(struct scim_db *d, const char *path);
void scim_db_close(struct scim_db *d);
/* Marks the open cache unusable after a read error (until the file changes). */
void scim_db_broken(struct scim_db *d, int rc);
/* The monotonic coarse clock in ns (a vDSO read, no system call). */
int64_t scim_coarse_ns(void);

/* What an entry point sees while it holds the lock. */
struct scim_view {
	struct scim_db *db;
	const struct scim_settings *settings;
	uint32_t id_min, id_max;
};
/* Locks, refreshes settings and cache. On anything but SUCCESS the lock is already released. */
enum nss_status scim_begin(struct scim_view *v, int *errnop);
/* Resets the look-up statements (never the enumeration scans) and unlocks. */
void scim_end(struct scim_view *v);
/* Statement WHICH of the open cache, prepared on first use; NULL (cache marked broken, *errnop
 * set) when it cannot be compiled, e.g. a cache without the expected tables. */
sqlite3_stmt *scim_stmt(struct scim_view *v, enum scim_stmt which, int *errnop);
/* Steps Q: 1 = row, 0 = no more rows, -1 = read error (cache marked broken, *errnop set). */
int scim_step(struct scim_view *v, sqlite3_stmt *q, int *errnop);
/* Marks the cache broken after an impossible answer (corruption SQLite did not notice): -1. */
int scim_corrupt(struct scim_view *v, int *errnop);

/* An enumeration cursor: one scan statement kept stepping across get*ent calls, so each entry
 * costs one sqlite3_step instead of a fresh B-tree search. `last` is the last key returned: when
 * the cache is reopened (replaced file, forked child) the scan restarts after it on the new
 * connection, and a row refused for a short buffer stays pending so the retry returns it.
 * Guarded by the module lock. */
struct scim_cursor {
	enum scim_stmt scan; /* ST_SCAN_*, fixed */
	uint64_t epoch;      /* connection the scan is positioned on; 0 = not positioned */
	int64_t last;        /* last key returned, -1 before the first */
	int64_t seen;        /* last key stepped over (served or not): keys must rise */
	bool pending;        /* the scan's current row was not returned yet */
	bool done;           /* the scan ended: stay at the end until set*ent */
};
#define SCIM_CURSOR_INIT(which)                                                                                        \
	{                                                                                                              \
		.scan = (which), .last = -1, .seen = -1                                                                \
	}
/* Column 1 of every scan is its key (uid or gid). */
#define SCIM_SCAN_KEY 1
/* Like scim_begin for an enumeration going through the N cursors C in turn (the first one not
 * done is the current one). While that cursor is positioned on the open cache, the config and
 * cache files are stat()ed at most once per SCIM_SCAN_RECHECK_MS: an enumeration of N entries
 * costs N steps, not N pairs of stat() calls. A replaced or removed cache is therefore noticed
 * by a running enumeration within that interval (look-ups by name or id still check on every
 * call); until then it goes on reading the snapshot it started on, as libnss_files goes on
 * reading a replaced /etc/passwd through its open stream. */
enum nss_status scim_begin_scan(struct scim_view *v, const struct scim_cursor *c, size_t n, int *errnop);
#define SCIM_SCAN_RECHECK_MS 1000
/* The current row of C's scan (the pending one again after a short buffer): 1 row in *Q, 0 end,
 * -1 error (*errnop set). */
int scim_scan_row(struct scim_view *v, struct scim_cursor *c, sqlite3_stmt **q, int *errnop);
/* The row from scim_scan_row was served (KEY) or skipped as invalid: the next call steps on. */
void scim_scan_served(struct scim_cursor *c, int64_t key);
void scim_scan_skipped(struct scim_cursor *c);
/* Rewinds C (set*ent / end*ent) and releases its scan, taking the module lock. */
void scim_cursor_rewind(struct scim_cursor *c);

/* Defence against a tampered cache. A name we serve as ours: only the characters entra-syncd
 * writes ([a-z0-9_.@-], no leading '-', not all digits) and not reserved. */
bool scim_name_ok(const char *name);
/* strlen(NAME) when scim_name_ok(NAME), else 0. */
size_t scim_name_len(const char *name);
/* A local group a role grants (sudo, adm): safe, reserved or not (it is the system's own). */
bool scim_local_group_name_ok(const char *name);
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
/* The next valid passwd row of C's scan (uid order), invalid rows stepped over: 1 found (R),
 * 0 end, -1 error. Call scim_scan_served once the entry is handed out. */
int scim_pw_scan(struct scim_view *v, struct scim_cursor *c, struct scim_pw_row *r, int *errnop);
/* The account NAME: SUCCESS with *R, NOTFOUND (errno ENOENT) or UNAVAIL. */
enum nss_status scim_pw_by_name(struct scim_view *v, const char *name, struct scim_pw_row *r, int *errnop);
/* The next account of the scan C, with the same statuses (NOTFOUND at the end). */
enum nss_status scim_pw_next(struct scim_view *v, struct scim_cursor *c, struct scim_pw_row *r, int *errnop);

#endif
