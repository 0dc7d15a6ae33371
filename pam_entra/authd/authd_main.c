/* entra-authd: the sign-in broker of pam_entra. It keeps one TLS context and warm connections
 * to Entra, runs the device code flow's requests and verifies the id_token, so a sign-in costs
 * the PAM process no OpenSSL start-up. Foreground, systemd Type=notify; SIGTERM/SIGINT stop it.
 * Signals are taken from a signalfd, blocked before any thread starts. */
#include "authd_server.h"
#include "authd_signin.h"
#include "config.h"
#include "log.h"
#include "pam_entra/doc_memo.h"
#include "pam_entra/http_pool.h"
#include "sd_notify.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

static const struct entra_logger logger = {"entra-authd", LOG_AUTHPRIV, true, true};

static void usage(FILE *out)
{
	fprintf(out, "usage: entra-authd [-c FILE]\n"
	             "  -c, --config FILE  configuration file (default " ENTRA_DEFAULT_CONFIG ")\n"
	             "Serves pam_entra's Entra sign-ins on [pam] authd_socket in the foreground. SIGTERM stops;\n"
	             "restart it after changing FILE.\n");
}

static int args_parse(int argc, char **argv, const char **config)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'}, {"help", no_argument, NULL, 'h'}, {NULL, 0, NULL, 0}};
	int c;
	*config = ENTRA_DEFAULT_CONFIG;
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (c == 'c')
			*config = optarg;
		else
			return usage(c == 'h' ? stdout : stderr), c == 'h' ? 1 : 2;
	}
	if (optind != argc)
		return usage(stderr), 2;
	return 0;
}

static int config_read(const char *path, struct entra_config *cfg)
{
	char err[1024];
	if (entra_config_load(path, cfg, err, sizeof(err)))
		return entra_log(&logger, LOG_ERR, "%s", err), -1;
	if (!cfg->tenant_id || !cfg->client_id) {
		entra_log(&logger, LOG_ERR, "%s: [entra] tenant_id and client_id are required", path);
		entra_config_free(cfg);
		return -1;
	}
	if (!strcmp(cfg->authd_socket, "none")) {
		entra_log(&logger, LOG_ERR,
		          "%s: [pam] authd_socket = none: pam_entra does not use entra-authd; "
		          "set a socket path or disable entra-authd.service",
		          path);
		entra_config_free(cfg);
		return -1;
	}
	return 0;
}

/* SIGTERM, SIGINT and SIGHUP as a signalfd; blocked in every thread started after this. */
static int signals_take(void)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	signal(SIGPIPE, SIG_IGN);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL))
		return -1;
	return signalfd(-1, &set, SFD_CLOEXEC);
}

static int run(const struct entra_config *cfg, int signal_fd)
{
	char err[512];
	struct pe_http_pool *pool = pe_http_pool_new(cfg->ca_file, err, sizeof(err));
	if (!pool)
		return entra_log(&logger, LOG_ERR, "cannot set up TLS: %s", err), 1;
	struct pe_doc_memo *memo = pe_doc_memo_new();
	int listen_fd = memo ? authd_listen(&logger, cfg->authd_socket) : -1;
	if (listen_fd < 0) {
		pe_doc_memo_free(memo);
		pe_http_pool_free(pool);
		return 1;
	}
	struct authd_context ctx = {.cfg = cfg, .log = &logger, .pool = pool, .memo = memo};
	entra_log(&logger, LOG_INFO, "serving sign-ins for tenant %s on %s", cfg->tenant_id, cfg->authd_socket);
	if (sd_notify_send("READY=1"))
		entra_log(&logger, LOG_WARNING, "cannot notify systemd ($NOTIFY_SOCKET): %s", strerror(errno));
	authd_serve(&ctx, listen_fd, signal_fd);
	sd_notify_send("STOPPING=1");
	close(listen_fd);
	unlink(cfg->authd_socket);
	int running = authd_signins_running();
	entra_log(&logger, LOG_INFO, "stopped (%d sign-ins cut short)", running);
	if (!running) { /* else their threads still use the pool and memo: exit ends them */
		pe_http_pool_free(pool);
		pe_doc_memo_free(memo);
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *config;
	struct entra_config cfg;
	int rc = args_parse(argc, argv, &config);
	if (rc)
		return rc == 1 ? 0 : rc;
	if (config_read(config, &cfg))
		return 1;
	int signal_fd = signals_take();
	if (signal_fd < 0) {
		entra_log(&logger, LOG_ERR, "cannot take signals: %s", strerror(errno));
		return 1;
	}
	rc = run(&cfg, signal_fd);
	if (!authd_signins_running())
		entra_config_free(&cfg);
	return rc;
}
