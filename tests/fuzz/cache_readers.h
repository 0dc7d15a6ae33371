/* The readers of cache.db that the fuzz targets drive: every libnss_scim entry point and
 * pam_entra's account look-up, with the promises they must keep whatever the file holds: only
 * the statuses glibc understands, TRYAGAIN only with ERANGE (or ENOMEM), results inside the
 * caller's buffer, ids inside the configured range, and a file that is not SQLite is UNAVAIL.
 *
 * cache_readers_setup() gives the process a private mount namespace with a tmpfs on /etc/entra
 * holding an entra.conf whose cache_db is CACHE_DB (the host's /etc is never touched; needs
 * root); cache_readers_run() then runs every look-up against whatever CACHE_DB is. */
#ifndef FUZZ_CACHE_READERS_H
#define FUZZ_CACHE_READERS_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <sched.h>
#include <shadow.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pam_entra/account.h"

enum nss_status _nss_scim_getpwnam_r(const char *, struct passwd *, char *, size_t, int *);
enum nss_status _nss_scim_getpwuid_r(uid_t, struct passwd *, char *, size_t, int *);
enum nss_status _nss_scim_setpwent(int);
enum nss_status _nss_scim_getpwent_r(struct passwd *, char *, size_t, int *);
enum nss_status _nss_scim_endpwent(void);
enum nss_status _nss_scim_getgrnam_r(const char *, struct group *, char *, size_t, int *);
enum nss_status _nss_scim_getgrgid_r(gid_t, struct group *, char *, size_t, int *);
enum nss_status _nss_scim_setgrent(int);
enum nss_status _nss_scim_getgrent_r(struct group *, char *, size_t, int *);
enum nss_status _nss_scim_endgrent(void);
enum nss_status _nss_scim_getspnam_r(const char *, struct spwd *, char *, size_t, int *);
enum nss_status _nss_scim_setspent(int);
enum nss_status _nss_scim_getspent_r(struct spwd *, char *, size_t, int *);
enum nss_status _nss_scim_endspent(void);
enum nss_status _nss_scim_initgroups_dyn(const char *, gid_t, long int *, long int *, gid_t **, long int, int *);

#define ETC_ENTRA "/etc/entra"
#define CACHE_DB  ETC_ENTRA "/cache.db"
#define UID_MIN   200000
#define UID_MAX   2000200000u
#define MAX_ENUM  64 /* entries read per enumeration: a fuzzed cache may hold many */
#define BIG       16384
#define SMALL     24

static const char *const names[] = {"alice", "bob", "carol", "web-team", "linux-admins", "root", ""};
static const uid_t ids[] = {200001, 200002, 300000, 0, 65534, UID_MAX};

static int sqlite_header; /* the current input starts like an SQLite file (set by the target) */

static void check_status(enum nss_status st, int err)
{
	if (st != NSS_STATUS_SUCCESS && st != NSS_STATUS_NOTFOUND && st != NSS_STATUS_UNAVAIL &&
	    st != NSS_STATUS_TRYAGAIN)
		abort();
	if (st == NSS_STATUS_TRYAGAIN && err != ERANGE && err != ENOMEM)
		abort(); /* glibc grows the buffer only on ERANGE */
	if (!sqlite_header && st == NSS_STATUS_SUCCESS)
		abort(); /* a file that is not SQLite at all is never served */
}

static void in_buf(const char *s, const char *buf, size_t len)
{
	if (!s || s < buf || s >= buf + len || !memchr(s, '\0', (size_t)(buf + len - s)))
		abort();
}

static void check_id(unsigned long id)
{
	if (id < UID_MIN || id > UID_MAX)
		abort();
}

static void check_pw(enum nss_status st, int err, const struct passwd *pw, const char *buf, size_t len)
{
	check_status(st, err);
	if (st != NSS_STATUS_SUCCESS)
		return;
	in_buf(pw->pw_name, buf, len), in_buf(pw->pw_passwd, buf, len), in_buf(pw->pw_gecos, buf, len);
	in_buf(pw->pw_dir, buf, len), in_buf(pw->pw_shell, buf, len);
	check_id(pw->pw_uid), check_id(pw->pw_gid);
}

static void check_gr(enum nss_status st, int err, const struct group *gr, const char *buf, size_t len)
{
	check_status(st, err);
	if (st != NSS_STATUS_SUCCESS)
		return;
	in_buf(gr->gr_name, buf, len), in_buf(gr->gr_passwd, buf, len);
	check_id(gr->gr_gid);
	if ((const char *)gr->gr_mem < buf || (const char *)gr->gr_mem >= buf + len)
		abort();
	for (char **m = gr->gr_mem; *m; m++)
		in_buf(*m, buf, len);
}

static void check_sp(enum nss_status st, int err, const struct spwd *sp, const char *buf, size_t len)
{
	check_status(st, err);
	if (st == NSS_STATUS_SUCCESS)
		in_buf(sp->sp_namp, buf, len), in_buf(sp->sp_pwdp, buf, len);
}

static void passwd_lookups(char *buf)
{
	struct passwd pw;
	int err = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		for (size_t len = SMALL; len <= BIG; len += BIG - SMALL) {
			enum nss_status st = _nss_scim_getpwnam_r(names[i], &pw, buf, len, &err);
			check_pw(st, err, &pw, buf, len);
			if (i == 0 && !sqlite_header && st != NSS_STATUS_UNAVAIL)
				abort(); /* garbage is reported as an unusable source, not as "no such user" */
		}
	for (size_t i = 0; i < sizeof(ids) / sizeof(*ids); i++) {
		enum nss_status st = _nss_scim_getpwuid_r(ids[i], &pw, buf, BIG, &err);
		check_pw(st, err, &pw, buf, BIG);
	}
	_nss_scim_setpwent(0);
	for (int n = 0; n < MAX_ENUM; n++) {
		size_t len = n % 3 ? BIG : SMALL; /* an ERANGE retry must continue with the same entry */
		enum nss_status st = _nss_scim_getpwent_r(&pw, buf, len, &err);
		check_pw(st, err, &pw, buf, len);
		if (st != NSS_STATUS_SUCCESS && st != NSS_STATUS_TRYAGAIN)
			break;
	}
	_nss_scim_endpwent();
}

static void group_lookups(char *buf)
{
	struct group gr;
	int err = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
		for (size_t len = SMALL; len <= BIG; len += BIG - SMALL) {
			enum nss_status st = _nss_scim_getgrnam_r(names[i], &gr, buf, len, &err);
			check_gr(st, err, &gr, buf, len);
		}
	for (size_t i = 0; i < sizeof(ids) / sizeof(*ids); i++) {
		enum nss_status st = _nss_scim_getgrgid_r(ids[i], &gr, buf, BIG, &err);
		check_gr(st, err, &gr, buf, BIG);
	}
	_nss_scim_setgrent(0);
	for (int n = 0; n < MAX_ENUM; n++) {
		size_t len = n % 3 ? BIG : SMALL;
		enum nss_status st = _nss_scim_getgrent_r(&gr, buf, len, &err);
		check_gr(st, err, &gr, buf, len);
		if (st != NSS_STATUS_SUCCESS && st != NSS_STATUS_TRYAGAIN)
			break;
	}
	_nss_scim_endgrent();
}

static void shadow_and_initgroups(char *buf)
{
	struct spwd sp;
	int err = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		enum nss_status st = _nss_scim_getspnam_r(names[i], &sp, buf, BIG, &err);
		check_sp(st, err, &sp, buf, BIG);
		long start = 1, size = 2, limit = i % 2 ? 3 : -1;
		gid_t *groups = malloc((size_t)size * sizeof(gid_t));
		if (!groups)
			abort();
		groups[0] = 100;
		st = _nss_scim_initgroups_dyn(names[i], 100, &start, &size, &groups, limit, &err);
		check_status(st, err);
		if (start > size || start < 1 || (limit > 0 && start > limit))
			abort();
		for (long g = 1; g < start; g++)
			if (groups[g] == 100)
				abort(); /* the primary group is never repeated */
		free(groups);
	}
	_nss_scim_setspent(0);
	for (int n = 0; n < MAX_ENUM; n++) {
		enum nss_status st = _nss_scim_getspent_r(&sp, buf, BIG, &err);
		check_sp(st, err, &sp, buf, BIG);
		if (st != NSS_STATUS_SUCCESS)
			break;
	}
	_nss_scim_endspent();
}

static void pam_lookup(void)
{
	struct pe_account acct;
	char err[512];
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		enum pe_lookup rc = pe_account_lookup(CACHE_DB, names[i], &acct, err, sizeof(err));
		if (rc != PE_ACCOUNT_FOUND && rc != PE_ACCOUNT_NOT_FOUND && rc != PE_ACCOUNT_ERROR)
			abort();
	}
}

static void write_file(const char *path, const void *data, size_t size)
{
	char tmp[128];
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size) || close(fd) || rename(tmp, path)) {
		perror(tmp);
		abort();
	}
}

static void cache_readers_setup(void)
{
	static const char conf[] = "[entra]\ntenant_id = t\nclient_id = c\n"
	                           "[accounts]\ncache_db = " CACHE_DB "\nuid_min = 200000\nuid_max = 2000200000\n"
	                           "[role admin]\nrank = 30\ngroups = sudo\n[role user]\nrank = 10\n";
	struct stat st;
	/* A private tmpfs on /etc/entra: the module reads its fixed /etc/entra/entra.conf there. */
	if (unshare(CLONE_NEWNS) || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL)) {
		perror("cache readers: needs root for a private mount namespace");
		exit(1);
	}
	if (stat(ETC_ENTRA, &st) != 0 && mount("tmpfs", "/etc", "tmpfs", 0, "mode=0755") != 0) {
		perror("cache readers: mount tmpfs on /etc");
		exit(1);
	}
	if ((mkdir(ETC_ENTRA, 0755) && errno != EEXIST) || mount("tmpfs", ETC_ENTRA, "tmpfs", 0, "mode=0755")) {
		perror("cache readers: mount tmpfs on " ETC_ENTRA);
		exit(1);
	}
	write_file(ETC_ENTRA "/entra.conf", conf, sizeof(conf) - 1);
}

static void cache_readers_run(int looks_like_sqlite)
{
	static char buf[BIG];
	sqlite_header = looks_like_sqlite;
	passwd_lookups(buf);
	group_lookups(buf);
	shadow_and_initgroups(buf);
	pam_lookup();
}

#endif
