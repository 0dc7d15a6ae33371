/* The person's side of the device code flow: the prompt with the URL and the code (and a QR
 * code), then a poll through entra-authd each time they press Enter. */
#include "pam_entra/signin_flow.h"

#include "common/clock.h"
#include "common/text_safe.h"
#include "pam_entra/prompt.h"
#include "pam_entra/qr.h"

#include <security/pam_ext.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOW_DOWN_MS 5000
#define MAX_PROMPT   16384

/* Whether the locale (PAM's environment first, then the process's) says the terminal decodes UTF-8. */
static bool utf8_terminal(struct pe_session *s)
{
	const char *vars[] = {"LC_ALL", "LC_CTYPE", "LANG"};
	for (size_t i = 0; i < 3; i++) {
		const char *v = pam_getenv(s->pamh, vars[i]);
		if (!v)
			v = getenv(vars[i]);
		if (v && *v)
			return strcasestr(v, "UTF-8") || strcasestr(v, "utf8");
	}
	return false;
}

static bool want_qr(struct pe_session *s)
{
	return s->cfg.qr >= 0 ? s->cfg.qr == 1 : utf8_terminal(s);
}

static char *first_prompt(struct pe_session *s, const struct entra_device_code *dc)
{
	char uri[1100], code[80], full[1100], host[256], user[256];
	/* The IdP's text reaches a terminal: never a control, bidi or format character, and
	 * non-ASCII letters only where the locale says UTF-8 (text_safe.h). */
	unsigned flags = utf8_terminal(s) ? 0 : ENTRA_TEXT_ASCII;
	entra_text_safe(uri, sizeof(uri), dc->verification_uri, flags);
	entra_text_safe(code, sizeof(code), dc->user_code, flags);
	entra_text_safe(full, sizeof(full), dc->verification_uri_complete, flags);
	entra_text_safe(host, sizeof(host), s->cfg.host, flags);
	entra_text_safe(user, sizeof(user), s->user, flags);
	char *qr = want_qr(s) ? pe_qr_render(full[0] ? full : uri) : NULL;
	char *text = malloc(MAX_PROMPT);
	if (text)
		snprintf(text, MAX_PROMPT,
		         "Sign in to %s as %s with Microsoft Entra ID:\n"
		         "open %s in a browser and enter the code %s%s%s\n%s"
		         "Press Enter once you have signed in",
		         host, user, uri, code, full[0] ? "\nor open " : "", full, qr ? qr : "");
	free(qr);
	return text;
}

static int poll_loop(struct pe_session *s, const struct pe_flow_backend *b, const struct entra_device_code *dc)
{
	long long interval_ms = dc->interval * 1000, last_poll = 0;
	for (unsigned polls = 1;; polls++) {
		if (last_poll)
			pe_sleep_ms(s, last_poll + interval_ms - entra_now_ms());
		if (pe_remaining_ms(s) <= 0) {
			entra_log(&s->log, LOG_ERR,
			          "refusing sign-in of %s: not completed within the time limit "
			          "([pam] login_timeout or the code's expires_in) after %u polls",
			          s->user, polls - 1);
			return PAM_AUTH_ERR;
		}
		enum pe_poll_result res = b->poll(s, b->ctx, dc);
		/* The interval counts from the answer, so the IdP never sees polls closer than it. */
		last_poll = entra_now_ms();
		switch (res) {
		case PE_POLL_DONE:
			return PAM_SUCCESS;
		case PE_POLL_SLOW_DOWN:
			interval_ms += SLOW_DOWN_MS;
			break;
		case PE_POLL_PENDING: {
			int rc = pe_prompt(s->pamh, "Sign-in not finished yet: press Enter once you have signed in");
			if (rc != PAM_SUCCESS)
				return rc;
			break;
		}
		case PE_POLL_FAILED:
			return PAM_AUTH_ERR;
		}
	}
}

int pe_device_flow_run(struct pe_session *s, const struct pe_flow_backend *b)
{
	struct entra_device_code dc;
	int rc = b->request_code(s, b->ctx, &dc);
	if (rc != PAM_SUCCESS)
		return rc;
	long long code_deadline = entra_now_ms() + dc.expires_in * 1000;
	if (code_deadline < s->deadline_ms)
		s->deadline_ms = code_deadline;
	char *text = first_prompt(s, &dc);
	rc = text ? pe_prompt(s->pamh, text) : PAM_BUF_ERR;
	free(text);
	if (rc == PAM_SUCCESS)
		rc = poll_loop(s, b, &dc);
	else
		entra_log(&s->log, LOG_ERR, "sign-in of %s abandoned: the conversation failed (%s)", s->user,
		          pam_strerror(s->pamh, rc));
	entra_device_code_free(&dc);
	return rc;
}
