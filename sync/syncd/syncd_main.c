/* entra-syncd: the SCIM 2.0 target for Entra provisioning. Runs in the foreground, logs to
 * stderr and syslog, stops cleanly on SIGTERM/SIGINT and re-reads its configuration on SIGHUP.
 * Signals are taken synchronously from a signalfd: no work happens in a signal handler. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "common/config.h"
#include "common/log.h"
#include "common/sd_notify.h"
#include "sync/feed/feed.h"
#include "sync/follow/follow.h"
#include "sync/http/http_listen.h"
#include "sync/http/http_server.h"
#include "sync/publish/publisher.h"
#include "sync/scim/scim_api.h"
#include "sync/tokens/tokens.h"

static const struct entra_logger logger = {"entra-syncd", LOG_DAEMON, true, true};

struct daemon {
	const char *config_path;
	struct entra_config *boot_cfg; /* the SCIM service keeps using it: freed only at exit */
	struct entra_config *cfg;      /* the current one, given to the publisher */
	struct http_listen listen;
	struct token_store *tokens;
	struct publisher *pub;
	struct scim_service *svc;
	struct feed *feed;
	struct http_server *http;
	struct follower *follower; /* follower mode: no SCIM, no feed */
};

static void usage(FILE *out)
{
	fprintf(out, "usage: entra-syncd [-c FILE]\n"
	             "  -c, --config FILE  configuration file (default " ENTRA_DEFAULT_CONFIG ")\n"
	             "Serves SCIM 2.0 under /scim/v2 and the follower feed under /feed/v1 in the foreground.\n"
	             "With a [follow] section in FILE it is a follower instead: it mirrors its hub and serves\n"
	             "nothing. SIGHUP re-reads FILE, the token file and tls_cert/tls_key; SIGTERM stops.\n"
	             "Create bearer tokens with `entra-sync token new` (followers: --follow).\n");
}

static struct entra_config *config_read(const char *path)
{
	char err[1024];
	struct entra_config *cfg = calloc(1, sizeof(*cfg));
	if (!cfg) {
		entra_log(&logger, LOG_ERR, "out of memory reading %s", path);
		return NULL;
	}
	if (entra_config_load(path, cfg, err, sizeof(err)) != 0) {
		entra_log(&logger, LOG_ERR, "%s", err);
		free(cfg);
		return NULL;
	}
	if (entra_config_validate(cfg, err, sizeof(err)) != 0) {
		entra_log(&logger, LOG_ERR, "%s: %s", path, err);
		entra_config_free(cfg);
		free(cfg);
		return NULL;
	}
	return cfg;
}

static void config_drop(struct entra_config *cfg)
{
	if (!cfg)
		return;
	entra_config_free(cfg);
	free(cfg);
}

static int token_file_acceptable(const char *path)
{
	char err[1024];
	int rc = token_file_check(path, err, sizeof(err));
	if (rc < 0) {
		entra_log(&logger, LOG_ERR, "%s", err);
		return -1;
	}
	if (rc > 0)
		entra_log(&logger, LOG_WARNING,
		          "token file %s does not exist: every SCIM request gets 401 until `entra-sync token new`",
		          path);
	return 0;
}

static void on_change(void *arg)
{
	struct daemon *d = arg;
	publisher_notify(d->pub);
	feed_notify(d->feed);
}

/* Held long-polls of followers each take a descriptor: use the hard limit systemd grants. */
static void descriptors_raise(int max_connections)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= rl.rlim_max)
		return;
	rl.rlim_cur = rl.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || (rlim_t)max_connections + 64 > rl.rlim_cur)
		entra_log(&logger, LOG_WARNING,
		          "only %llu file descriptors for max_connections = %d: raise LimitNOFILE in the unit",
		          (unsigned long long)rl.rlim_cur, max_connections);
}

/* Waiting followers may take most slots, never the last quarter (Entra's requests, the CLI). */
static unsigned feed_max_waiting(int max_connections)
{
	int reserve = max_connections / 4 > 16 ? max_connections / 4 : 16;
	return max_connections > reserve ? (unsigned)(max_connections - reserve) : 1;
}

static int start_follower(struct daemon *d)
{
	char err[1024];
	if (!(d->follower = follower_start(d->config_path, err, sizeof(err)))) {
		entra_log(&logger, LOG_ERR, "%s: %s", d->config_path, err);
		return -1;
	}
	entra_log(&logger, LOG_INFO, "following %s (no SCIM served here)", d->cfg->follow_hubs.items[0]);
	if (entra_notify_systemd("READY=1\nSTATUS=following the hub") != 0)
		entra_log(&logger, LOG_WARNING, "cannot notify systemd ($NOTIFY_SOCKET): %s", strerror(errno));
	return 0;
}

static int start(struct daemon *d)
{
	char err[1024];
	if (!(d->boot_cfg = d->cfg = config_read(d->config_path)))
		return -1;
	if (entra_config_follower(d->cfg))
		return start_follower(d);
	/* Every refusal happens before anything is opened or bound. */
	if (http_listen_plan(d->cfg, &d->listen, err, sizeof(err)) != 0) {
		entra_log(&logger, LOG_ERR, "%s: %s", d->config_path, err);
		return -1;
	}
	if (token_file_acceptable(d->cfg->token_file) != 0)
		return -1;
	if (!(d->tokens = token_store_open(d->cfg->token_file))) {
		entra_log(&logger, LOG_ERR, "out of memory");
		return -1;
	}
	if (!(d->pub = publisher_start(d->cfg)))
		return -1;
	if (!(d->svc = scim_service_open(d->boot_cfg, on_change, d)))
		return -1;
	descriptors_raise(d->cfg->max_connections);
	if (!(d->feed = feed_open(d->cfg, feed_max_waiting(d->cfg->max_connections))))
		return -1;
	struct http_server_opts o = {
	    .listen = &d->listen,
	    .tls_cert = d->cfg->tls_cert,
	    .tls_key = d->cfg->tls_key,
	    .max_body = d->cfg->max_body,
	    .max_connections = d->cfg->max_connections,
	    .connection_timeout = d->cfg->connection_timeout,
	    .request_timeout = d->cfg->request_timeout,
	    .svc = d->svc,
	    .tokens = d->tokens,
	    .route = feed_route(d->feed),
	};
	if (!(d->http = http_server_start(&o, err, sizeof(err)))) {
		entra_log(&logger, LOG_ERR, "%s", err);
		return -1;
	}
	entra_log(&logger, LOG_INFO, "listening on %s://%s" HTTP_SCIM_PREFIX, d->listen.tls ? "https" : "http",
	          d->listen.text);
	if (entra_notify_systemd("READY=1\nSTATUS=serving SCIM") != 0)
		entra_log(&logger, LOG_WARNING, "cannot notify systemd ($NOTIFY_SOCKET): %s", strerror(errno));
	return 0;
}

static bool str_changed(const char *a, const char *b)
{
	return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

static bool tls_set(const struct entra_config *cfg)
{
	return cfg->tls_cert && *cfg->tls_cert && cfg->tls_key && *cfg->tls_key;
}

/* Settings bound at start; a reload cannot apply them to the running listener or database.
 * tls_cert and tls_key are read again on every reload (http_server_reload_tls). */
static void warn_restart_needed(const struct entra_config *old, const struct entra_config *cfg)
{
	if (str_changed(old->listen, cfg->listen) || tls_set(old) != tls_set(cfg) ||
	    str_changed(old->state_db, cfg->state_db) || old->max_body != cfg->max_body ||
	    old->max_connections != cfg->max_connections || old->connection_timeout != cfg->connection_timeout ||
	    old->request_timeout != cfg->request_timeout)
		entra_log(&logger, LOG_WARNING,
		          "listen, state_db, max_body, max_connections, connection_timeout, request_timeout and "
		          "turning TLS on or off changed in %s take effect only after `systemctl restart entra-syncd`",
		          cfg->path);
}

/* SIGHUP: the configuration, the token file and the TLS pair, each kept when its new version
 * is bad. The TLS files are read again even when their paths did not change: a renewed
 * certificate is served after `systemctl reload entra-syncd`. */
static void reload(struct daemon *d)
{
	entra_log(&logger, LOG_INFO, "SIGHUP: re-reading %s", d->config_path);
	if (d->follower) {
		follower_reload(d->follower);
		return;
	}
	struct entra_config *cfg = config_read(d->config_path);
	if (!cfg) {
		entra_log(&logger, LOG_ERR, "keeping the previous configuration; fix %s and send SIGHUP again",
		          d->config_path);
		token_store_reload(d->tokens, NULL);
		http_server_reload_tls(d->http, d->cfg->tls_cert, d->cfg->tls_key);
		return;
	}
	warn_restart_needed(d->boot_cfg, cfg);
	token_store_reload(d->tokens, cfg->token_file);
	http_server_reload_tls(d->http, cfg->tls_cert, cfg->tls_key);
	publisher_reload(d->pub, cfg);
	feed_reload(d->feed, cfg);
	if (d->cfg != d->boot_cfg)
		config_drop(d->cfg);
	d->cfg = cfg;
	entra_log(&logger, LOG_INFO, "configuration reloaded");
}

static void stop(struct daemon *d)
{
	entra_notify_systemd("STOPPING=1");
	follower_stop(d->follower);
	feed_shutdown(d->feed);    /* held long-polls answered: libmicrohttpd stops with none suspended */
	http_server_stop(d->http); /* no request runs after this */
	feed_close(d->feed);
	if (d->pub)
		publisher_flush(d->pub);
	scim_service_close(d->svc);
	if (d->pub)
		publisher_stop(d->pub);
	token_store_close(d->tokens);
	if (d->cfg != d->boot_cfg)
		config_drop(d->cfg);
	config_drop(d->boot_cfg);
}

/* Waits for signals; returns when asked to stop. */
static int serve(struct daemon *d, int sfd)
{
	for (;;) {
		struct signalfd_siginfo si;
		ssize_t n = read(sfd, &si, sizeof(si));
		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(si)) {
			entra_log(&logger, LOG_ERR, "reading signals failed: %s; stopping", strerror(errno));
			return -1;
		}
		if (si.ssi_signo == SIGHUP) {
			reload(d);
			continue;
		}
		entra_log(&logger, LOG_INFO, "%s: stopping", strsignal((int)si.ssi_signo));
		return 0;
	}
}

static int parse_args(int argc, char **argv, const char **config_path)
{
	static const struct option longopts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;
	*config_path = ENTRA_DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		if (c == 'c') {
			*config_path = optarg;
		} else if (c == 'h') {
			usage(stdout);
			exit(0);
		} else {
			usage(stderr);
			return -1;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "entra-syncd: unexpected argument %s\n", argv[optind]);
		usage(stderr);
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct daemon d = {0};
	sigset_t set;
	if (parse_args(argc, argv, &d.config_path) != 0)
		return 2;
	/* Blocked before any thread starts, so every thread inherits the mask and only the
	 * signalfd sees these signals. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	int sfd = -1;
	if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 || (sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
		entra_log(&logger, LOG_ERR, "cannot set up signal handling: %s", strerror(errno));
		return 1;
	}
	int rc = start(&d) == 0 ? serve(&d, sfd) : -1;
	stop(&d);
	close(sfd);
	if (rc != 0)
		entra_log(&logger, LOG_ERR, "exiting after the error above");
	else
		entra_log(&logger, LOG_INFO, "stopped");
	return rc == 0 ? 0 : 1;
}
