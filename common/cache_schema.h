/* cache.db: the read-only snapshot entra-syncd publishes and libnss_scim / pam_entra read.
 *
 * Written by entra-syncd to a temp file, fsync'd, renamed over the old one (mode 0644).
 * Readers open it with "file:PATH?immutable=1" read-only and reopen when the inode changes.
 * It holds only the accounts allowed on this host (plus disabled ones, expired, so files keep
 * their owner) after AUP evaluation: readers never evaluate rules.
 *
 * Tables
 *   meta(key, value)        schema_version, generation (monotonic), published_at (unix s),
 *                           host, uid_min, uid_max
 *   passwd                  one row per account
 *     name       local login name (unique)
 *     uid        = gid of its private group
 *     gid        primary group = private group, same number as uid
 *     gecos, dir, shell
 *     upn        the Entra userName (UPN)
 *     object_id  Entra object id (GUID, lowercase) or NULL when Entra did not send one
 *     scim_id    the SCIM resource id in state.db
 *     role       AUP role name
 *     login      1 when the role allows sign-in on this host, 0 otherwise
 *     expire     shadow sp_expire (days since epoch); -1 = never, 1 = disabled (active: false)
 *   groups                  SCIM groups that have at least one member with an account here
 *     name, gid, object_id, scim_id
 *     member_uid_min, member_uid_max
 *                lowest and highest uid among the members (0, 0 when none)
 *     member_names
 *                BLOB: the member names in uid order, each followed by a NUL byte, exactly
 *                the bytes gr_mem's strings take in an NSS buffer (one copy, no join)
 *   members(gid, uid)       SCIM group memberships (both ends in this snapshot); the same
 *                           memberships as groups.member_names, keyed for initgroups
 *   local_members(uid, gid, name)
 *                           local groups a role grants (e.g. sudo), resolved from /etc/group
 *                           at publish time so NSS never calls back into NSS; served only by
 *                           initgroups, never as group entries.
 *   ssh_keys(uid, n, key)   SSH public keys from Entra (sshPublicKey of the entra-login extension),
 *                           only for accounts that may sign in here (login = 1, not disabled),
 *                           only lines common/ssh_key.c accepts, in its canonical form
 *                           "TYPE BASE64[ COMMENT]"; n numbers a user's keys from 0 in the
 *                           order Entra sent them. `entra-sync authorized-keys` serves them.
 *   passwd_blocks(last_uid, entries)
 *                           every passwd row's getpwent fields again, packed many to a row for
 *                           enumeration (getpwent, and getgrent's private groups): one b-tree
 *                           step per block instead of one row decode per entry. ENTRIES is a
 *                           BLOB of entries in rising uid order, each the uid (4 bytes,
 *                           big-endian) then name, gecos, dir and shell, each followed by a NUL
 *                           byte (gid is not stored: it equals uid). The key is the uid of the
 *                           block's LAST entry, so the block holding the first uid above U is
 *                           the first block keyed above U (one seek when an enumeration
 *                           resumes). A block ends at a uid for which entra_cache_block_ends()
 *                           holds, or where it reaches ENTRA_CACHE_BLOCK_FILL bytes, or at the
 *                           last account: boundaries follow from the accounts alone, so the
 *                           full and the incremental publisher write the same blocks and an
 *                           account change rewrites only its own block (or two).
 *   passwd_by_name          an index of passwd by name that holds every column a look-up by name
 *                           serves (name, gid, gecos, dir, shell, role, expire, then the uid as
 *                           its rowid): getpwnam, a private group's getgrnam, getspnam and
 *                           initgroups read one b-tree, where the name's UNIQUE index alone
 *                           sent each to a second leaf page in passwd.
 *   Private groups are not stored twice: a passwd row is also a group row (name, gid=uid,
 *   no members besides the user, who has it as primary group).
 */
#ifndef ENTRA_CACHE_SCHEMA_H
#define ENTRA_CACHE_SCHEMA_H

/* 2: groups.member_uid_min, member_uid_max, member_names; the ssh_keys table.
 * 3: the passwd_blocks table.
 * 4: the passwd_by_name index. */
#define ENTRA_CACHE_SCHEMA_VERSION 4

/* Each statement alone, as SQLite stores it in sqlite_schema.sql (readers compare it byte for
 * byte: nss_scim/cachefile.c), then the script that creates them all. */
#define ENTRA_CACHE_SQL_META "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID"
#define ENTRA_CACHE_SQL_PASSWD                                                                                         \
	"CREATE TABLE passwd("                                                                                         \
	" name TEXT NOT NULL UNIQUE, uid INTEGER PRIMARY KEY, gid INTEGER NOT NULL,"                                   \
	" gecos TEXT NOT NULL, dir TEXT NOT NULL, shell TEXT NOT NULL,"                                                \
	" upn TEXT NOT NULL, object_id TEXT, scim_id TEXT NOT NULL, role TEXT NOT NULL,"                               \
	" login INTEGER NOT NULL, expire INTEGER NOT NULL)"
#define ENTRA_CACHE_SQL_GROUPS                                                                                         \
	"CREATE TABLE groups("                                                                                         \
	" name TEXT NOT NULL UNIQUE, gid INTEGER PRIMARY KEY, object_id TEXT, scim_id TEXT NOT NULL,"                  \
	" member_uid_min INTEGER NOT NULL, member_uid_max INTEGER NOT NULL, member_names BLOB NOT NULL)"
#define ENTRA_CACHE_SQL_MEMBERS                                                                                        \
	"CREATE TABLE members(gid INTEGER NOT NULL, uid INTEGER NOT NULL, PRIMARY KEY(gid, uid))"                      \
	" WITHOUT ROWID"
#define ENTRA_CACHE_SQL_MEMBERS_BY_UID "CREATE INDEX members_by_uid ON members(uid, gid)"
#define ENTRA_CACHE_SQL_LOCAL_MEMBERS                                                                                  \
	"CREATE TABLE local_members(uid INTEGER NOT NULL, gid INTEGER NOT NULL, name TEXT NOT NULL,"                   \
	" PRIMARY KEY(uid, gid)) WITHOUT ROWID"
#define ENTRA_CACHE_SQL_SSH_KEYS                                                                                       \
	"CREATE TABLE ssh_keys(uid INTEGER NOT NULL, n INTEGER NOT NULL, key TEXT NOT NULL, PRIMARY KEY(uid, n))"      \
	" WITHOUT ROWID"
#define ENTRA_CACHE_SQL_PASSWD_BLOCKS "CREATE TABLE passwd_blocks(last_uid INTEGER PRIMARY KEY, entries BLOB NOT NULL)"
#define ENTRA_CACHE_SQL_PASSWD_BY_NAME                                                                                 \
	"CREATE INDEX passwd_by_name ON passwd(name, gid, gecos, dir, shell, role, expire)"

#define ENTRA_CACHE_SCHEMA_SQL                                                                                         \
	ENTRA_CACHE_SQL_META ";" ENTRA_CACHE_SQL_PASSWD ";" ENTRA_CACHE_SQL_GROUPS ";" ENTRA_CACHE_SQL_MEMBERS         \
	                     ";" ENTRA_CACHE_SQL_MEMBERS_BY_UID ";" ENTRA_CACHE_SQL_LOCAL_MEMBERS                      \
	                     ";" ENTRA_CACHE_SQL_SSH_KEYS ";" ENTRA_CACHE_SQL_PASSWD_BLOCKS                            \
	                     ";" ENTRA_CACHE_SQL_PASSWD_BY_NAME ";"

/* passwd_blocks: a block ends after about one uid in ENTRA_CACHE_BLOCK_SPACING (a hash of the
 * uid decides, so the boundaries do not move when other accounts come and go), or once it
 * holds ENTRA_CACHE_BLOCK_FILL bytes (a bound whatever the hash does). An entry longer than
 * ENTRA_CACHE_BLOCK_ENTRY_MAX (a 256-byte name and three 4096-byte texts, what the modules
 * serve at most) is left out, so no block exceeds ENTRA_CACHE_BLOCK_MAX, and readers refuse
 * one that does. 32 entries of about 70 bytes fit in one 4 KiB page (tests/bench/RESULTS.md). */
#define ENTRA_CACHE_BLOCK_SPACING   32
#define ENTRA_CACHE_BLOCK_FILL      16384
#define ENTRA_CACHE_BLOCK_ENTRY_MAX (4 + 257 + 3 * 4097)
#define ENTRA_CACHE_BLOCK_MAX       (ENTRA_CACHE_BLOCK_FILL - 1 + ENTRA_CACHE_BLOCK_ENTRY_MAX)
static inline int entra_cache_block_ends(unsigned uid)
{
	/* A 32-bit mix (murmur3's finaliser): sequential uids end blocks as evenly as random ones. */
	uid ^= uid >> 16, uid *= 0x85ebca6bu, uid ^= uid >> 13, uid *= 0xc2b2ae35u, uid ^= uid >> 16;
	return uid % ENTRA_CACHE_BLOCK_SPACING == 0;
}

/* Page size the writer uses. Readers hold every page they touch in their page cache (inside
 * every process that resolves a name): 4 KiB pages cost a quarter of 16 KiB ones per page
 * touched, for the same look-up speed (tests/bench, README "Benchmarks"). */
#define ENTRA_CACHE_PAGE_SIZE 4096

/* A numeric macro above as a string literal, for SQL and meta rows. */
#define ENTRA_CACHE_STR_(x) #x
#define ENTRA_CACHE_STR(x)  ENTRA_CACHE_STR_(x)

/* shadow sp_expire for an account Entra disabled: 1970-01-02, always in the past. */
#define ENTRA_EXPIRE_DISABLED 1
#define ENTRA_EXPIRE_NEVER    (-1)

#endif
