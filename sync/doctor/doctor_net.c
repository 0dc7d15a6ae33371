/* doctor: the clock and the reachability of the tenant's OpenID Connect discovery document,
 * fetched with entra-authd's own HTTPS client and settings (httpc: trust, [entra] proxy,
 * [pam] http_timeout), so this check cannot pass where a sign-in would fail. */
#include "sync/doctor/doctor.h"

#include "httpc/httpc.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timex.h>

#define VIA_MAX 340

void doctor_check_clock(struct doctor *d)
{
	struct timex tx = {0};
	int state = adjtimex(&tx);
	const char *fix = "enable time synchronisation: timedatectl set-ntp true (systemd-timesyncd) or install chrony";
	if (state < 0) {
		doctor_report(d, "clock", DOCTOR_WARN, fix,
		              "adjtimex: %s: cannot tell whether the clock is synchronised", strerror(errno));
	} else if (state == TIME_ERROR || (tx.status & STA_UNSYNC)) {
		doctor_report(d, "clock", DOCTOR_WARN, fix,
		              "the kernel clock is not synchronised: sign-in tokens are refused once it drifts more "
		              "than %d s",
		              DOCTOR_CLOCK_SKEW_S);
	} else if (tx.maxerror > (long)DOCTOR_CLOCK_SKEW_S * 1000000L) {
		doctor_report(d, "clock", DOCTOR_WARN, fix, "the clock's maximum error is %ld s (tokens allow %d s)",
		              tx.maxerror / 1000000L, DOCTOR_CLOCK_SKEW_S);
	} else {
		doctor_report(d, "clock", DOCTOR_OK, NULL, "synchronised (maximum error %ld ms)", tx.maxerror / 1000L);
	}
}

/* " (through the proxy HOST:PORT)" when there is one, for the report's lines. */
static const char *via(const struct httpc_client *http, char *buf, size_t len)
{
	const char *proxy = httpc_client_proxy(http);
	snprintf(buf, len, "%s%s%s", proxy ? " (through the proxy " : "", proxy ? proxy : "", proxy ? ")" : "");
	return buf;
}

static void discovery_document(struct doctor *d, const char *url, const struct httpc_response *r, const char *how)
{
	json_t *doc = json_loadb(r->body, r->len, 0, NULL);
	if (r->status != 200) {
		const char *why = json_string_value(json_object_get(doc, "error_description"));
		doctor_report(d, "discovery", DOCTOR_FAIL,
		              "check [entra] tenant_id (Directory (tenant) ID) and authority", "%s%s: HTTP %ld%s%.300s",
		              url, how, r->status, why ? ": " : "", why ? why : "");
	} else if (!doc || !json_is_string(json_object_get(doc, "device_authorization_endpoint")) ||
	           !json_is_string(json_object_get(doc, "token_endpoint")) ||
	           !json_is_string(json_object_get(doc, "jwks_uri"))) {
		doctor_report(
		    d, "discovery", DOCTOR_FAIL, "check [entra] authority: it must be an OpenID Connect provider",
		    "%s%s: no device_authorization_endpoint, token_endpoint and jwks_uri in the response", url, how);
	} else {
		const char *issuer = json_string_value(json_object_get(doc, "issuer"));
		doctor_report(d, "discovery", DOCTOR_OK, NULL, "%s reachable%s, issuer %s", url, how,
		              issuer ? issuer : "(none)");
	}
	json_decref(doc);
}

/* The client entra-authd would build from this configuration; NULL after reporting why not. */
static struct httpc_client *http_client(struct doctor *d)
{
	const struct entra_config *c = d->cfg;
	char err[512];
	struct httpc_settings settings = {.ca_file = c->ca_file,
	                                  .proxy = c->proxy,
	                                  .connect_timeout_ms = (long)c->http_timeout * 1000,
	                                  .user_agent = "entra-sync-doctor"};
	/* entra-sync runs no threads: libcurl's global set-up may happen here. */
	if (httpc_global_init(err, sizeof(err)) == 0) {
		struct httpc_client *http = httpc_client_new(&settings, err, sizeof(err));
		if (http)
			return http;
		httpc_global_cleanup();
	}
	doctor_report(d, "discovery", DOCTOR_FAIL, "fix [entra] ca_file or proxy", "%s", err);
	return NULL;
}

static void discovery_fetch(struct doctor *d, const char *url)
{
	char err[1024], how[VIA_MAX];
	struct httpc_client *http = http_client(d);
	if (!http)
		return;
	struct httpc_opts opts = {.client = http, .timeout_ms = (long)d->cfg->http_timeout * 1000};
	struct httpc_response r;
	via(http, how, sizeof(how));
	if (httpc_get(&opts, url, &r, err, sizeof(err)))
		doctor_report(d, "discovery", DOCTOR_FAIL,
		              "allow HTTPS from this host to the authority (firewall, DNS, [entra] proxy); for a "
		              "private or TLS-inspecting CA set [entra] ca_file",
		              "%s", err);
	else
		discovery_document(d, url, &r, how);
	httpc_response_free(&r);
	httpc_client_free(http);
	httpc_global_cleanup();
}

void doctor_check_discovery(struct doctor *d)
{
	const struct entra_config *c = d->cfg;
	char url[1200];
	size_t alen = strlen(c->authority);
	while (alen && c->authority[alen - 1] == '/')
		alen--;
	if (!c->tenant_id || strncmp(c->authority, "https://", 8) ||
	    snprintf(url, sizeof(url), "%.*s/%s/v2.0/.well-known/openid-configuration", (int)alen, c->authority,
	             c->tenant_id) >= (int)sizeof(url)) {
		doctor_report(d, "discovery", DOCTOR_FAIL, "set [entra] authority to an https:// URL and tenant_id",
		              "cannot build an https:// discovery URL from authority %s", c->authority);
		return;
	}
	discovery_fetch(d, url);
}
