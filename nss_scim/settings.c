/* /etc/entra/entra.conf for the NSS module: parsed once, then only stat()ed on each call and
 * re-read when the file is replaced or modified. */
#include "nss_scim/nss_scim.h"

#include <errno.h>
#include <string.h>
#include <syslog.h>

void nss_file_id_set(struct nss_file_id *id, const struct stat *st)
{
	id->valid = true;
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
	id->ctime = st->st_ctim;
}

bool nss_file_id_same(const struct nss_file_id *id, const struct stat *st)
{
	return id->valid && id->dev == st->st_dev && id->ino == st->st_ino && id->size == st->st_size &&
	       id->mtime.tv_sec == st->st_mtim.tv_sec && id->mtime.tv_nsec == st->st_mtim.tv_nsec &&
	       id->ctime.tv_sec == st->st_ctim.tv_sec && id->ctime.tv_nsec == st->st_ctim.tv_nsec;
}

void nss_settings_drop(struct nss_settings *s)
{
	if (s->err == 0 && s->id.valid)
		entra_config_free(&s->cfg);
	memset(s, 0, sizeof(*s));
}

int nss_settings_refresh(struct nss_settings *s, const char *path)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		int err = errno;
		nss_settings_drop(s);
		return err == ENOENT || err == ENOTDIR ? ENOENT : err;
	}
	if (nss_file_id_same(&s->id, &st))
		return s->err;
	nss_settings_drop(s);
	char msg[512];
	struct entra_config cfg;
	if (entra_config_load(path, &cfg, msg, sizeof(msg)) != 0) {
		nss_syslog(LOG_ERR,
		           "%s; users and groups from Entra are unavailable until it is fixed "
		           "(check it with 'entra-sync -c %s doctor')",
		           msg, path);
		s->err = EINVAL;
	} else if (!cfg.cache_db || cfg.cache_db[0] != '/') {
		nss_syslog(LOG_ERR, "%s: [accounts] cache_db must be an absolute path", path);
		entra_config_free(&cfg);
		s->err = EINVAL;
	} else {
		s->cfg = cfg;
		s->err = 0;
	}
	nss_file_id_set(&s->id, &st);
	return s->err;
}

bool nss_settings_role_grants(const struct nss_settings *s, const char *role, const char *name)
{
	const struct entra_role *r = entra_config_role(&s->cfg, role);
	for (size_t i = 0; r && i < r->groups.n; i++)
		if (!strcmp(r->groups.items[i], name))
			return true;
	return false;
}
