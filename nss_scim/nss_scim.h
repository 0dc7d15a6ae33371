/* Internals of libnss_scim.so.2 shared by its files. Nothing here is exported (see nss_scim.sym).
 *
 * Every entry point runs between nss_begin() and nss_end(): one process-wide mutex guards the
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

#define NSS_NAME_MAX     256  /* longest user or group name we serve */
#define NSS_FIELD_MAX    4096 /* longest gecos, home or shell we serve */
#define NSS_LOCAL_GROUPS 64   /* most role-granted local groups per user */

/* Prepared statements, each compiled on first use (most processes only ever run one or two). */
enum nss_stmt {
	/* Look-ups: reset by nss_end at the end of every call. */
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
enum { GR_NAME, GR_GID, GR_MEMBER_UID_MIN, GR_MEMBER_UID_MAX, GR_MEMBER_NAMES };

/* File identity used to notice a replaced file without reading it. */
struct nss_file_id {
	bool valid;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime, ctime;
};
void nss_file_id_set(struct nss_file_id *id, const struct stat *st);
bool nss_file_id_same(const struct nss_file_id *id, const struct stat *st);

/* /etc/entra/entra.conf, re-read only when its identity changes. */
struct nss_settings {
	struct nss_file_id id;
	int err; /* 0 when cfg is loaded, else the errno callers get */
	struct entra_config cfg;
};
int nss_settings_refresh(struct nss_settings *s, const char *path);
/* Frees the parsed config (if any) and forgets the file: the next refresh reads it again. */
void nss_settings_drop(struct nss_settings *s);
/* True when ROLE's configured `groups` list names the local group NAME. */
bool nss_settings_role_grants(const struct nss_settings *s, const char *role, const char *name);

/* The read-only cache.db connection, reopened when the file or the opening process changes. */
struct nss_db {
	struct entra_cache cache;   /* the connection and its work budget (common/cache_reader.h) */
	sqlite3_stmt *st[ST_COUNT]; /* NULL until first used (nss_stmt) */
	pid_t pid;                  /* process that opened db; a forked child reopens (0: reopen) */
	uint64_t epoch;             /* unique per opened connection, so cursors notice a reopen */
	int64_t checked_ns;         /* CLOCK_MONOTONIC_COARSE time the files were last stat()ed */
	char *path;
	struct nss_file_id id;
	int err;              /* 0 when usable, else the errno callers get (cached per identity) */
	unsigned logged_once; /* bit per skip reason, reset on reopen */
};
/* PID is the calling process (a connection opened by another one is reopened). */
int nss_db_refresh(struct nss_db *d, const char *path, pid_t pid);
void nss_db_close(struct nss_db *d);
/* Marks the open cache unusable after a read error (until the file changes). */
void nss_db_broken(struct nss_db *d, int rc);
/* The monotonic coarse clock in ns (a vDSO read, no system call). */
int64_t nss_coarse_ns(void);

/* What an entry point sees while it holds the lock. */
struct nss_view {
	struct nss_db *db;
	const struct nss_settings *settings;
	uint32_t id_min, id_max;
	unsigned used; /* bit per look-up statement handed out by nss_stmt: nss_end resets those */
};
/* Locks, refreshes settings and cache. On anything but SUCCESS the lock is already released. */
enum nss_status nss_begin(struct nss_view *v, int *errnop);
/* Resets the look-up statements (never the enumeration scans) and unlocks. */
void nss_end(struct nss_view *v);
/* Statement WHICH of the open cache, prepared on first use; NULL (cache marked broken, *errnop
 * set) when it cannot be compiled, e.g. a cache without the expected tables. */
sqlite3_stmt *nss_stmt(struct nss_view *v, enum nss_stmt which, int *errnop);
/* Steps Q: 1 = row, 0 = no more rows, -1 = read error (cache marked broken, *errnop set). */
int nss_step(struct nss_view *v, sqlite3_stmt *q, int *errnop);
/* Marks the cache broken after an impossible answer (corruption SQLite did not notice): -1. */
int nss_corrupt(struct nss_view *v, int *errnop);

/* An enumeration cursor: one scan statement kept stepping across get*ent calls, so each entry
 * costs one sqlite3_step instead of a fresh B-tree search. `last` is the last key returned: when
 * the cache is reopened (replaced file, forked child) the scan restarts after it on the new
 * connection, and a row refused for a short buffer stays pending so the retry returns it.
 * Guarded by the module lock. */
struct nss_cursor {
	enum nss_stmt scan; /* ST_SCAN_*, fixed */
	uint64_t epoch;     /* connection the scan is positioned on; 0 = not positioned */
	int64_t last;       /* last key returned, -1 before the first */
	int64_t seen;       /* last key stepped over (served or not): keys must rise */
	bool pending;       /* the scan's current row was not returned yet */
	bool done;          /* the scan ended: stay at the end until set*ent */
};
#define NSS_CURSOR_INIT(which)                                                                                         \
	{                                                                                                              \
		.scan = (which), .last = -1, .seen = -1                                                                \
	}
/* Column 1 of every scan is its key (uid or gid). */
#define NSS_SCAN_KEY 1
/* Like nss_begin for an enumeration going through the N cursors C in turn (the first one not
 * done is the current one). While that cursor is positioned on the open cache, the config and
 * cache files are stat()ed at most once per NSS_SCAN_RECHECK_MS: an enumeration of N entries
 * costs N steps, not N pairs of stat() calls. A replaced or removed cache is therefore noticed
 * by a running enumeration within that interval (look-ups by name or id still check on every
 * call); until then it goes on reading the snapshot it started on, as libnss_files goes on
 * reading a replaced /etc/passwd through its open stream. */
enum nss_status nss_begin_scan(struct nss_view *v, const struct nss_cursor *c, size_t n, int *errnop);
#define NSS_SCAN_RECHECK_MS 1000
/* The current row of C's scan (the pending one again after a short buffer): 1 row in *Q, 0 end,
 * -1 error (*errnop set). */
int nss_scan_row(struct nss_view *v, struct nss_cursor *c, sqlite3_stmt **q, int *errnop);
/* The row from nss_scan_row was served (KEY) or skipped as invalid: the next call steps on. */
void nss_scan_served(struct nss_cursor *c, int64_t key);
void nss_scan_skipped(struct nss_cursor *c);
/* Rewinds C (set*ent / end*ent) and releases its scan, taking the module lock. */
void nss_cursor_rewind(struct nss_cursor *c);

/* Defence against a tampered cache. A name we serve as ours: only the characters entra-syncd
 * writes ([a-z0-9_.@-], no leading '-', not all digits) and not reserved. */
bool nss_name_ok(const char *name);
/* strlen(NAME) when nss_name_ok(NAME), else 0. */
size_t nss_name_len(const char *name);
/* Packed member names (common/cache_schema.h) NAMES[0..LEN), LEN ending in a NUL, filtered in
 * place: the names nss_name_ok accepts are moved to the front, in order, and their addresses
 * written to MEM. Returns their count, or SIZE_MAX when there are more than MAX; *DROPPED gets
 * how many were refused. One pass over the bytes: this runs for every group served. */
size_t nss_names_filter(char *names, size_t len, char **mem, size_t max, size_t *dropped);
/* A local group a role grants (sudo, adm): safe, reserved or not (it is the system's own). */
bool nss_local_group_name_ok(const char *name);
bool nss_field_ok(const char *text);
bool nss_path_ok(const char *path);
bool nss_id_ok(const struct nss_view *v, int64_t id);
enum nss_skip {
	SKIP_PASSWD_ROW,
	SKIP_GROUP_ROW,
	SKIP_MEMBER_ROW,
	SKIP_LOCAL_GROUP,
	SKIP_LOCAL_GROUP_MISMATCH,
	SKIP_TOO_MANY_LOCAL,
};
/* Logs to syslog the first time REASON happens for the open cache, then stays quiet. */
void nss_log_skip(struct nss_view *v, enum nss_skip reason, long long key);
void nss_syslog(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Packing strings and pointer arrays into the caller's buffer. */
struct nss_pack {
	char *cur;
	size_t left;
};
char *nss_pack_str(struct nss_pack *p, const char *s);
char **nss_pack_ptrs(struct nss_pack *p, size_t n);

/* A validated passwd row read from an ST_PW_* statement; strings live until the next step. */
struct nss_pw_row {
	const char *name, *gecos, *dir, *shell, *role;
	int64_t uid, gid, expire;
};
/* Reads the current row of Q; false (and logged) when the row must not be served. */
bool nss_pw_row_read(struct nss_view *v, sqlite3_stmt *q, struct nss_pw_row *r);

/* Looks up the passwd row matching the bound statement Q: 1 found (row in R), 0 not found,
 * -1 read error (*errnop set). Invalid rows count as not found. */
int nss_pw_find(struct nss_view *v, sqlite3_stmt *q, struct nss_pw_row *r, int *errnop);
/* The next valid passwd row of C's scan (uid order), invalid rows stepped over: 1 found (R),
 * 0 end, -1 error. Call nss_scan_served once the entry is handed out. */
int nss_pw_scan(struct nss_view *v, struct nss_cursor *c, struct nss_pw_row *r, int *errnop);
/* The account NAME: SUCCESS with *R, NOTFOUND (errno ENOENT) or UNAVAIL. */
enum nss_status nss_pw_by_name(struct nss_view *v, const char *name, struct nss_pw_row *r, int *errnop);
/* The next account of the scan C, with the same statuses (NOTFOUND at the end). */
enum nss_status nss_pw_next(struct nss_view *v, struct nss_cursor *c, struct nss_pw_row *r, int *errnop);

#endif
