/* PAM entry points of pam_entra.so: Microsoft Entra ID device code sign-in for the accounts
 * cache.db serves. Everything is per call: no global mutable state. */
#include "common/clock.h"
#include "common/reserved_names.h"
#include "pam_entra/account.h"
#include "pam_entra/login.h"
#include "pam_entra/session.h"

#include <security/pam_ext.h>
#include <security/pam_modules.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum phase_result { PHASE_OURS, PHASE_NOT_OURS, PHASE_FAILED };

static void args_parse(struct pe_session *s, int argc, const char **argv, const char **config)
{
	*config = ENTRA_DEFAULT_CONFIG;
	for (int i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "config=", 7))
			*config = argv[i] + 7;
		else if (!strcmp(argv[i], "debug"))
			s->debug = s->log.to_stderr = true;
		else
			entra_log(&s->log, LOG_WARNING, "ignoring unknown module argument '%s'", argv[i]);
	}
}

/* A cache.db that cannot be read: the user's phase fails closed, unless NSS resolves the name to
 * an account outside the Entra uid range (a local user, who must never be locked out by it). */
static enum phase_result cache_unreadable(struct pe_session *s, const char *err)
{
	if (pe_account_is_local(s->user, s->cfg.uid_min, s->cfg.uid_max)) {
		entra_log(&s->log, LOG_WARNING, "%s; %s is a local account, left to the rest of the stack", err,
		          s->user);
		return PHASE_NOT_OURS;
	}
	entra_log(&s->log, LOG_ERR, "%s; check that entra-syncd publishes %s", err, s->cfg.cache_db);
	return PHASE_FAILED;
}

/* Loads the config and the account of the PAM user. PHASE_NOT_OURS for root and the system's
 * reserved names (never ours), for users the cache does not serve, and for everyone while
 * entra.conf cannot be read: a typo there must not lock out local users (password logins,
 * sudo, SSH keys, cron), and Entra users cannot sign in meanwhile, since libnss_scim, which
 * reads the same file, then resolves none of them. */
static enum phase_result session_start(struct pe_session *s, pam_handle_t *pamh, int argc, const char **argv,
                                       struct pe_account *account)
{
	const char *config, *user = NULL;
	char err[1024];
	memset(s, 0, sizeof(*s));
	s->pamh = pamh;
	s->log = (struct entra_logger){.component = "pam_entra", .facility = LOG_AUTHPRIV, .to_syslog = true};
	args_parse(s, argc, argv, &config);
	if (pam_get_user(pamh, &user, NULL) != PAM_SUCCESS || !user || !*user)
		return entra_log(&s->log, LOG_ERR, "cannot determine the user name"), PHASE_FAILED;
	s->user = user;
	if (entra_name_reserved(user))
		return PHASE_NOT_OURS;
	if (entra_config_load(config, &s->cfg, err, sizeof(err)))
		return entra_log(
		           &s->log, LOG_ERR,
		           "%s; ignoring every user until the file is fixed (Entra users cannot sign in meanwhile)",
		           err),
		       PHASE_NOT_OURS;
	switch (pe_account_lookup(s->cfg.cache_db, user, account, err, sizeof(err))) {
	case PE_ACCOUNT_FOUND:
		return PHASE_OURS;
	case PE_ACCOUNT_NOT_FOUND:
		if (s->debug)
			entra_log(&s->log, LOG_DEBUG, "%s is not an Entra account here (%s)", user,
			          strstr(err, "does not exist") ? err : "not in cache.db");
		return PHASE_NOT_OURS;
	default:
		return cache_unreadable(s, err);
	}
}

/* Who the PAM user is, beyond the cache's word: REASON and -1 when another account owns the name. */
static int identity_check(struct pe_session *s, const struct pe_account *a, char *reason, size_t reasonlen)
{
	return pe_account_identity_check(a, s->cfg.uid_min, s->cfg.uid_max, reason, reasonlen);
}

static void session_end(struct pe_session *s)
{
	entra_config_free(&s->cfg);
}

static int auth_for(struct pe_session *s, const struct pe_account *a)
{
	switch (pe_account_state(a, time(NULL))) {
	case PE_ACCOUNT_SUPERUSER:
		entra_log(&s->log, LOG_ERR,
		          "refusing sign-in of %s: cache.db maps it to uid 0; superusers never sign in "
		          "through Entra",
		          s->user);
		return PAM_AUTH_ERR;
	case PE_ACCOUNT_EXPIRED:
		entra_log(&s->log, LOG_NOTICE, "refusing sign-in of %s: the account is disabled or expired", s->user);
		return PAM_AUTH_ERR;
	case PE_ACCOUNT_NO_LOGIN:
		entra_log(&s->log, LOG_NOTICE, "refusing sign-in of %s: its role does not allow login on this host",
		          s->user);
		return PAM_AUTH_ERR;
	case PE_ACCOUNT_OK:
		break;
	}
	char reason[512];
	if (identity_check(s, a, reason, sizeof(reason)))
		return entra_log(&s->log, LOG_ERR, "refusing sign-in of %s: %s", s->user, reason), PAM_AUTH_ERR;
	/* Before any prompt: a sign-in that could only be refused afterwards is not started. */
	if (!a->object_id[0] && !s->cfg.allow_upn_binding) {
		pe_account_no_object_id(a, reason, sizeof(reason));
		return entra_log(&s->log, LOG_NOTICE, "refusing sign-in of %s: %s", s->user, reason), PAM_AUTH_ERR;
	}
	s->deadline_ms = entra_now_ms() + (long long)s->cfg.login_timeout * 1000;
	return pe_login(s, a);
}

PAM_EXTERN int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pe_session s;
	struct pe_account account;
	int rc;
	switch (session_start(&s, pamh, argc, argv, &account)) {
	case PHASE_OURS:
		rc = auth_for(&s, &account);
		break;
	case PHASE_NOT_OURS:
		rc = PAM_IGNORE;
		break;
	default:
		rc = PAM_AUTHINFO_UNAVAIL;
	}
	session_end(&s);
	return rc;
}

PAM_EXTERN int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pe_session s;
	struct pe_account account;
	int rc = session_start(&s, pamh, argc, argv, &account) == PHASE_OURS ? PAM_SUCCESS : PAM_IGNORE;
	session_end(&s);
	return rc;
}

static int account_for(struct pe_session *s, const struct pe_account *a)
{
	char reason[512];
	switch (pe_account_state(a, time(NULL))) {
	case PE_ACCOUNT_OK:
		if (identity_check(s, a, reason, sizeof(reason)))
			return entra_log(&s->log, LOG_ERR, "access denied to %s: %s", s->user, reason), PAM_PERM_DENIED;
		return PAM_SUCCESS;
	case PE_ACCOUNT_EXPIRED:
		entra_log(&s->log, LOG_NOTICE, "access denied to %s: the account is disabled or expired", s->user);
		pam_error(s->pamh, "Your account has been disabled; contact your administrator.");
		return PAM_ACCT_EXPIRED;
	case PE_ACCOUNT_NO_LOGIN:
		entra_log(&s->log, LOG_NOTICE, "access denied to %s: its role does not allow login on this host",
		          s->user);
		return PAM_PERM_DENIED;
	default:
		entra_log(&s->log, LOG_ERR, "access denied to %s: cache.db maps it to uid 0", s->user);
		return PAM_PERM_DENIED;
	}
}

PAM_EXTERN int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pe_session s;
	struct pe_account account;
	int rc;
	switch (session_start(&s, pamh, argc, argv, &account)) {
	case PHASE_OURS:
		rc = account_for(&s, &account);
		break;
	case PHASE_NOT_OURS:
		rc = PAM_IGNORE;
		break;
	default: /* fail closed: a disabled user must not slip through on an unreadable cache */
		rc = PAM_AUTHINFO_UNAVAIL;
	}
	session_end(&s);
	return rc;
}

static int session_log(pam_handle_t *pamh, int argc, const char **argv, const char *what)
{
	struct pe_session s;
	struct pe_account account;
	int rc = PAM_IGNORE;
	if (session_start(&s, pamh, argc, argv, &account) == PHASE_OURS) {
		entra_log(&s.log, LOG_INFO, "session %s for %s (uid %lld, %s)", what, s.user, account.uid, account.upn);
		rc = PAM_SUCCESS;
	}
	session_end(&s);
	return rc;
}

PAM_EXTERN int pam_sm_open_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return session_log(pamh, argc, argv, "opened");
}

PAM_EXTERN int pam_sm_close_session(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	return session_log(pamh, argc, argv, "closed");
}

PAM_EXTERN int pam_sm_chauthtok(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct pe_session s;
	struct pe_account account;
	if (session_start(&s, pamh, argc, argv, &account) == PHASE_OURS && (flags & PAM_PRELIM_CHECK))
		pam_info(pamh,
		         "The password of %s is managed in Microsoft Entra ID: change it there "
		         "(https://mysignins.microsoft.com/security-info).",
		         s.user);
	session_end(&s);
	return PAM_IGNORE;
}
