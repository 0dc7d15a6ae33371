/* libmicrohttpd daemon lifecycle: options, limits and TLS. Requests: http_request.c. */
#include "sync/http/http_server.h"
#include "common/errmsg.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/log_limit.h"
#include "sync/http/http_request.h"
#include "sync/http/http_tls.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, true};

#define HTTP_THREADS                 8           /* requests in flight at once: more join each group commit */
#define HTTP_HEADER_MEMORY           (32 * 1024) /* request line + headers per connection */
#define HTTP_REQUEST_TIMEOUT_DEFAULT 30          /* seconds, as [sync] request_timeout */
#define TLS_PRIORITIES               "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define MHD_LOG_BURST                20 /* libmicrohttpd lines per window: one per closed connection in a flood */

struct http_server {
	struct MHD_Daemon *mhd;
	struct http_deadline *deadline;
	struct http_ctx ctx;
	struct log_limit mhd_notice;
};

__attribute__((format(printf, 2, 0))) static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	unsigned held = 0;
	if (!log_limit_due(cls, &held))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	if (held)
		entra_log(&logger, LOG_WARNING, "libmicrohttpd: %s (%u earlier messages not logged)", msg, held);
	else
		entra_log(&logger, LOG_WARNING, "libmicrohttpd: %s", msg);
}

/* libmicrohttpd's cap per exact peer address, on every connection. Unauthenticated ones are also
 * limited together and per source (IPv6 per /64) by http_admit.c. */
static int per_ip_limit(int max_connections)
{
	int limit = max_connections / 4;
	if (limit < 8)
		limit = 8;
	return limit < max_connections ? limit : max_connections;
}

/* libmicrohttpd splits the connection limit between the pool threads: each needs one. */
static unsigned pool_size(int max_connections)
{
	return max_connections < HTTP_THREADS ? (unsigned)max_connections : HTTP_THREADS;
}

static struct MHD_Daemon *start_mhd(struct http_server *srv, const struct http_server_opts *o)
{
	unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	if (o->listen->ipv6)
		flags |= MHD_USE_IPv6;
	if (o->listen->tls)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem tls_opts[] = {
	    /* Each handshake takes the pair in use from http_tls.c: SIGHUP can replace it. */
	    {MHD_OPTION_HTTPS_CERT_CALLBACK2, 0, (void *)http_tls_retrieve},
	    {MHD_OPTION_HTTPS_PRIORITIES, 0, (void *)TLS_PRIORITIES},
	    {MHD_OPTION_END, 0, NULL},
	};
	struct MHD_OptionItem none[] = {{MHD_OPTION_END, 0, NULL}};
	/* The logger goes first so that every message of the start itself reaches our log. */
	return MHD_start_daemon(
	    flags, o->listen->port, NULL, NULL, http_request_handle, &srv->ctx, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
	    &srv->mhd_notice, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&o->listen->addr, MHD_OPTION_THREAD_POOL_SIZE,
	    pool_size(o->max_connections), MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->max_connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)per_ip_limit(o->max_connections),
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->connection_timeout, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)HTTP_HEADER_MEMORY, MHD_OPTION_URI_LOG_CALLBACK, http_request_begin, &srv->ctx,
	    MHD_OPTION_NOTIFY_COMPLETED, http_request_completed, &srv->ctx, MHD_OPTION_NOTIFY_CONNECTION,
	    http_deadline_notify, srv->deadline, MHD_OPTION_ARRAY, o->listen->tls ? tls_opts : none, MHD_OPTION_END);
}

/* Unauthenticated connections may hold half of the slots: the other half (and, whatever they
 * hold, the last free one) is left for requests that carry a token. */
static unsigned unauth_share(int max_connections)
{
	return max_connections >= 2 ? (unsigned)max_connections / 2 : 1;
}

static struct http_deadline_opts deadline_opts(const struct http_server_opts *o)
{
	/* 0 (opts from an older caller) means the documented default. */
	int timeout = o->request_timeout > 0 ? o->request_timeout : HTTP_REQUEST_TIMEOUT_DEFAULT;
	struct http_deadline_opts dl = {
	    .timeout_s = timeout,
	    .preauth_s = timeout < HTTP_PREAUTH_TIMEOUT_MAX ? timeout : HTTP_PREAUTH_TIMEOUT_MAX,
	    .limit = (unsigned)o->max_connections,
	    .share = unauth_share(o->max_connections),
	    .tls = o->listen->tls,
	};
	return dl;
}

/* The server and its request context, before libmicrohttpd starts. NULL with the reason in ERR. */
static struct http_server *server_new(const struct http_server_opts *o, char *err, size_t errlen)
{
	struct http_server *srv = calloc(1, sizeof(*srv));
	if (!srv || log_limit_init(&srv->mhd_notice, MHD_LOG_BURST, LOG_LIMIT_FLOOD_WINDOW_S) != 0) {
		free(srv);
		entra_errf(err, errlen, "cannot serve on %s: out of memory", o->listen->text);
		return NULL;
	}
	struct http_deadline_opts dl = deadline_opts(o);
	if (!(srv->deadline = http_deadline_start(&dl, err, errlen))) {
		log_limit_destroy(&srv->mhd_notice);
		free(srv);
		return NULL;
	}
	srv->ctx.deadline = srv->deadline;
	srv->ctx.svc = o->svc;
	srv->ctx.tokens = o->tokens;
	srv->ctx.max_body = o->max_body;
	srv->ctx.tls = o->listen->tls;
	srv->ctx.loopback = o->listen->loopback;
	snprintf(srv->ctx.fallback_host, sizeof(srv->ctx.fallback_host), "%s", o->listen->text);
	return srv;
}

/* Loads tls_cert/tls_key before anything is bound; the start log names what is served. */
static int tls_start(const struct http_server_opts *o, char *err, size_t errlen)
{
	char warn[512], desc[300];
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		return entra_errf(err, errlen,
		                  "this libmicrohttpd has no TLS support: use a TLS reverse proxy on loopback");
	if (http_tls_load(o->tls_cert, o->tls_key, true, err, errlen, warn, sizeof(warn)) != 0)
		return -1;
	http_tls_describe(desc, sizeof(desc));
	entra_log(&logger, LOG_INFO, "serving certificate %s from %s", desc, o->tls_cert);
	if (warn[0])
		entra_log(&logger, LOG_WARNING,
		          "%s: Entra refuses it; renew it and reload (systemctl reload entra-syncd)", warn);
	return 0;
}

struct http_server *http_server_start(const struct http_server_opts *o, char *err, size_t errlen)
{
	if (o->listen->tls && tls_start(o, err, errlen) != 0)
		return NULL;
	struct http_server *srv = server_new(o, err, errlen);
	if (srv)
		srv->mhd = start_mhd(srv, o);
	if (srv && !srv->mhd) {
		entra_errf(err, errlen,
		           "cannot serve on %s: %s (is the port in use? see the libmicrohttpd message above)",
		           o->listen->text, strerror(errno));
		http_deadline_stop(srv->deadline);
		log_limit_destroy(&srv->mhd_notice);
		free(srv);
		srv = NULL;
	}
	if (!srv)
		http_tls_clear();
	return srv;
}

int http_server_reload_tls(struct http_server *srv, const char *tls_cert, const char *tls_key)
{
	char err[1024], warn[512], desc[300];
	if (!srv->ctx.tls)
		return 0;
	if (!tls_cert || !*tls_cert || !tls_key || !*tls_key) {
		http_tls_describe(desc, sizeof(desc));
		entra_log(&logger, LOG_WARNING,
		          "tls_cert/tls_key are no longer both set: still serving %s; turning TLS off needs a restart",
		          desc);
		return -1;
	}
	if (http_tls_load(tls_cert, tls_key, false, err, sizeof(err), warn, sizeof(warn)) != 0) {
		http_tls_describe(desc, sizeof(desc));
		entra_log(&logger, LOG_ERR, "keeping the certificate in use (%s): %s", desc, err);
		return -1;
	}
	http_tls_describe(desc, sizeof(desc));
	entra_log(&logger, LOG_INFO, "reloaded TLS: serving certificate %s from %s", desc, tls_cert);
	return 0;
}

void http_server_stop(struct http_server *srv)
{
	if (!srv)
		return;
	MHD_stop_daemon(srv->mhd);
	if (srv->ctx.tls)
		http_tls_clear();
	http_deadline_stop(srv->deadline); /* after the daemon: connections reference it until closed */
	log_limit_destroy(&srv->mhd_notice);
	free(srv);
}
