/* Internals of libnss_scim.so.2 shared by its files. Nothing here is exported (see nss_scim.sym).
 *
 * Every entry point runs between nss_begin() and nss_end(): one process-wide mutex guards the
 * settings, the open cache.db (read by the module's own reader of SQLite's file format,
 * nss_scim/cachefile.h: no SQLite in the login path) and the enumeration cursors. */
#ifndef NSS_SCIM_H
#define NSS_SCIM_H

#include <nss.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/config.h"
#include "nss_scim/cachefile.h"

#define NSS_SCIM_XSTR(x) #x
#define NSS_SCIM_STR(x)  NSS_SCIM_XSTR(x)

#define NSS_NAME_MAX     256  /* longest user or group name we serve */
#define NSS_FIELD_MAX    4096 /* longest gecos, home or shell we serve */
#define NSS_LOCAL_GROUPS 64   /* most role-granted local groups per user */
/* A group's members: 256k names, 8 MiB of them, far above the largest group served within a
 * look-up's work bound (about 200k members); more is a hostile file, refused before glibc
 * grows the caller's buffer for it. */
#define NSS_GROUP_MEMBERS_MAX (256u * 1024)
#define NSS_MEMBER_NAMES_MAX  (8u * 1024 * 1024)

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

/* The open cache.db, reopened when the file or the opening process changes. */
struct nss_db {
	struct cachefile file; /* valid while open */
	bool open;
	pid_t pid;          /* process that opened it; a forked child reopens (0: reopen) */
	uint64_t epoch;     /* unique per opening, so cursors notice a reopen */
	int64_t checked_ns; /* CLOCK_MONOTONIC_COARSE time the files were last stat()ed */
	char *path;
	struct nss_file_id id;
	int err;              /* 0 when usable, else the errno callers get (cached per identity) */
	unsigned logged_once; /* bit per skip reason, reset on reopen */
};
/* PID is the calling process (a file opened by another one is reopened). */
int nss_db_refresh(struct nss_db *d, const char *path, pid_t pid);
void nss_db_close(struct nss_db *d);
/* The monotonic coarse clock in ns (a vDSO read, no system call). */
int64_t nss_coarse_ns(void);

/* What an entry point sees while it holds the lock. */
struct nss_view {
	struct nss_db *db;
	struct bt_file *bt; /* &db->file.bt */
	const struct nss_settings *settings;
	uint32_t id_min, id_max;   /* [accounts] uid_min..uid_max: accounts, private groups, old groups */
	uint32_t gid_min, gid_max; /* [accounts] gid_min..gid_max: SCIM groups only; 0, 0 when unset */
	int cancel_state;          /* the caller's, restored by nss_end */
};
/* Locks, refreshes settings and cache, resets the reader's work budget. On anything but
 * SUCCESS the lock is already released. */
enum nss_status nss_begin(struct nss_view *v, int *errnop);
/* Gives back the reader's large buffers and unlocks. */
void nss_end(struct nss_view *v);
/* After the reader failed (-1): the cache is marked unusable until the file changes and the
 * reason logged once (out of memory aside, which leaves it usable); *errnop set; returns -1. */
int nss_failed(struct nss_view *v, int *errnop);
/* An impossible answer the reader could not see (e.g. an index entry naming another row):
 * handled as a damaged file, -1. */
int nss_corrupt(struct nss_view *v, int *errnop);

/* An enumeration cursor over the rowid b-tree TREE (passwd or groups), kept positioned across
 * get*ent calls, so each entry costs one step instead of a fresh descent. `last` is the last key
 * returned: when the cache is reopened (replaced file, forked child) the scan restarts after it
 * in the new file, and a row refused for a short buffer stays pending so the retry returns it.
 * Guarded by the module lock. */
/* The passwd_blocks block a CF_PASSWD_BLOCKS cursor serves from (nss_scim/blocks.h): a copy, so
 * that look-ups between two get*ent calls can use the page cache. */
struct nss_block {
	unsigned char *buf; /* ENTRA_CACHE_BLOCK_MAX + 16 bytes once allocated, freed by the rewind */
	size_t len, off;    /* the block's bytes; the entry to serve next */
	int64_t key;        /* the block's key (its last uid); -1 before the first block */
	int64_t prev;       /* uid of the entry before OFF (keys rise within and across blocks) */
};
struct nss_cursor {
	enum cf_tree tree; /* fixed */
	struct bt_cursor bt;
	uint64_t epoch; /* opening the scan is positioned on; 0 = not positioned */
	int64_t last;   /* last key returned, -1 before the first */
	int64_t seen;   /* last key stepped over (served or not): keys must rise */
	bool pending;   /* the scan's current row was not returned yet */
	bool done;      /* the scan ended: stay at the end until set*ent */
	struct nss_block blk;
};
#define NSS_CURSOR_INIT(which)                                                                                         \
	{                                                                                                              \
		.tree = (which), .last = -1, .seen = -1                                                                \
	}
/* Like nss_begin for an enumeration going through the N cursors C in turn (the first one not
 * done is the current one). While that cursor is positioned on the open cache, the config and
 * cache files are stat()ed at most once per NSS_SCAN_RECHECK_MS: an enumeration of N entries
 * costs N steps, not N pairs of stat() calls. A replaced or removed cache is therefore noticed
 * by a running enumeration within that interval (look-ups by name or id still check on every
 * call); until then it goes on reading the snapshot it started on (the open descriptor), as
 * libnss_files goes on reading a replaced /etc/passwd through its open stream. */
enum nss_status nss_begin_scan(struct nss_view *v, const struct nss_cursor *c, size_t n, int *errnop);
#define NSS_SCAN_RECHECK_MS 1000
/* Positions C on its current row (the pending one again after a short buffer), keys in
 * (last, id_max] only: 1 row (c->bt, key c->seen), 0 end, -1 error (*errnop set). */
int nss_scan_row(struct nss_view *v, struct nss_cursor *c, int *errnop);
/* The row from nss_scan_row was served (KEY) or skipped as invalid: the next call steps on. */
void nss_scan_served(struct nss_cursor *c, int64_t key);
void nss_scan_skipped(struct nss_cursor *c);
/* Rewinds C (set*ent / end*ent), taking the module lock. */
void nss_cursor_rewind(struct nss_cursor *c);
/* At unload: frees C's memory unless another thread holds the lock. */
void nss_cursor_drop(struct nss_cursor *c);

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
/* The same three checks for a text whose length LEN = strlen(TEXT) the caller knows:
 * nss_name_ok(NAME) == nss_name_ok_n(NAME, strlen(NAME)), and so on. */
bool nss_name_ok_n(const char *name, size_t len);
bool nss_field_ok_n(const char *text, size_t len);
bool nss_path_ok_n(const char *path, size_t len);
bool nss_id_ok(const struct nss_view *v, int64_t id);
/* Whether GID lies in [accounts] gid_min..gid_max, which the config keeps apart from the uid
 * range: no account has it as uid, so it is never a private group. */
bool nss_gid_apart(const struct nss_view *v, int64_t gid);
/* Whether GID may be a group we serve: in the uid range or in gid_min..gid_max. */
bool nss_gid_ok(const struct nss_view *v, int64_t gid);
enum nss_skip {
	SKIP_PASSWD_ROW,
	SKIP_GROUP_ROW,
	SKIP_MEMBER_ROW,
	SKIP_LOCAL_GROUP,
	SKIP_LOCAL_GROUP_MISMATCH,
	SKIP_TOO_MANY_LOCAL,
	SKIP_NOT_THIS_ACCOUNT,
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
/* S's first LEN bytes and a NUL (for a text whose length is known). */
char *nss_pack_text(struct nss_pack *p, const char *s, size_t len);
char **nss_pack_ptrs(struct nss_pack *p, size_t n);

/* A validated passwd row; its strings live in the reader's row arena until the next row read. */
struct nss_pw_row {
	const char *name, *gecos, *dir, *shell, *role;
	int64_t uid, gid, expire;
};
/* Reads the passwd row C is on: 1 valid (in R), 0 invalid (skipped and logged), -1 error. */
int nss_pw_row_at(struct nss_view *v, const struct bt_cursor *c, struct nss_pw_row *r, int *errnop);
/* The account with uid UID or name NAME: 1 found (R), 0 not found (or invalid), -1 error. */
int nss_pw_find_uid(struct nss_view *v, int64_t uid, struct nss_pw_row *r, int *errnop);
int nss_pw_find_name(struct nss_view *v, const char *name, struct nss_pw_row *r, int *errnop);
/* The name of account UID as a join needs it (text, no NUL inside; not otherwise checked), in
 * the auxiliary arena: 1 with *NAME, 0 no such account, -1 error. */
int nss_pw_name_of(struct nss_view *v, int64_t uid, const char **name, size_t *len, int *errnop);
/* The next valid passwd row of C's scan (uid order), invalid rows stepped over: 1 found (R),
 * 0 end, -1 error. Call nss_scan_served once the entry is handed out. */
int nss_pw_scan(struct nss_view *v, struct nss_cursor *c, struct nss_pw_row *r, int *errnop);
/* The account NAME: SUCCESS with *R, NOTFOUND (errno ENOENT) or UNAVAIL. */
enum nss_status nss_pw_by_name(struct nss_view *v, const char *name, struct nss_pw_row *r, int *errnop);
/* The next account of the scan C, with the same statuses (NOTFOUND at the end). */
enum nss_status nss_pw_next(struct nss_view *v, struct nss_cursor *c, struct nss_pw_row *r, int *errnop);

/* A validated SCIM group row. NAME lives in the row arena; NAMES (the packed member names,
 * common/cache_schema.h) point into the reader's page or payload buffer: use them before the
 * next read. */
struct nss_gr_row {
	const char *name;
	int64_t gid, member_min, member_max;
	const char *names;
	size_t names_len;
};
/* Reads the group row C is on: 1 valid (G), 0 invalid (skipped and logged), -1 error. */
int nss_gr_row_at(struct nss_view *v, const struct bt_cursor *c, struct nss_gr_row *g, int *errnop);
/* The SCIM group with gid GID or name NAME: 1 found (G), 0 not found (or invalid), -1 error. */
int nss_gr_find_gid(struct nss_view *v, int64_t gid, struct nss_gr_row *g, int *errnop);
int nss_gr_find_name(struct nss_view *v, const char *name, struct nss_gr_row *g, int *errnop);
/* Whether GID is an account's private group (a passwd row has it as uid), which initgroups must
 * never grant to anyone else. 1, 0, -1 error. */
int nss_gid_is_private(struct nss_view *v, int64_t gid, int *errnop);

#endif
