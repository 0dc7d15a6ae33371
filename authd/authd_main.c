/* entra-authd: the sign-in broker of pam_entra. It keeps warm connections to Entra (libcurl,
 * through [entra] proxy when set), runs the device code flow's requests and verifies the
 * id_token, so the PAM process loads no network code. Foreground, systemd Type=notify;
 * SIGTERM/SIGINT stop it. Signals are taken from a signalfd, blocked before any thread starts. */
#include "authd/authd_server.h"
#include "authd/authd_signin.h"
#include "authd/doc_memo.h"
#include "common/config.h"
#include "common/log.h"
#include "common/sd_notify.h"
#include "httpc/httpc.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

/* Socket-activated: after this long without a sign-in the broker exits; its socket stays. */
#define IDLE_EXIT_DEFAULT_S 600

static const struct entra_logger logger = {"entra-authd", LOG_AUTHPRIV, true, true};

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: entra-authd [-c FILE] [--idle-exit SECONDS]\n"
	        "  -c, --config FILE       configuration file (default " ENTRA_DEFAULT_CONFIG ")\n"
	        "      --idle-exit SECONDS exit after SECONDS without a sign-in when systemd passed the socket\n"
	        "                          (default %d; 0: never)\n"
	        "Serves pam_entra's Entra sign-ins in the foreground: on the socket systemd passes\n"
	        "(entra-authd.socket), else on [pam] authd_socket, which it creates. SIGTERM stops;\n"
	        "restart it after changing FILE.\n",
	        IDLE_EXIT_DEFAULT_S);
}

struct options {
	const char *config;
	int idle_exit_s;
};

static int args_parse(int argc, char **argv, struct options *o)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"idle-exit", required_argument, NULL, 'i'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	int c;
	char *end;
	*o = (struct options){.config = ENTRA_DEFAULT_CONFIG, .idle_exit_s = IDLE_EXIT_DEFAULT_S};
	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		if (c == 'c') {
			o->config = optarg;
		} else if (c == 'i') {
			long v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 0 || v > 86400)
				return fprintf(stderr, "entra-authd: --idle-exit takes 0 to 86400 seconds\n"), 2;
			o->idle_exit_s = (int)v;
		} else {
			return usage(c == 'h' ? stdout : stderr), c == 'h' ? 1 : 2;
		}
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
		          "%s: [pam] authd_socket = none names no socket: remove the key (pam_entra signs in only "
		          "through entra-authd)",
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

/* The socket systemd passed, else one of its own at [pam] authd_socket (*OWN set): -1 logged. */
static int listen_socket(const struct entra_config *cfg, bool *own)
{
	int fd = authd_listen_inherited(&logger);
	*own = fd == -1;
	if (*own)
		fd = authd_listen(&logger, cfg->authd_socket);
	return fd < 0 ? -1 : fd;
}

/* The HTTPS client every sign-in shares: [entra] ca_file and proxy, [pam] http_timeout. */
static struct httpc_client *http_client_new(const struct entra_config *cfg)
{
	char err[512];
	struct httpc_settings settings = {.ca_file = cfg->ca_file,
	                                  .proxy = cfg->proxy,
	                                  .connect_timeout_ms = (long)cfg->http_timeout * 1000,
	                                  .user_agent = "entra-authd"};
	struct httpc_client *http = httpc_client_new(&settings, err, sizeof(err));
	if (!http)
		entra_log(&logger, LOG_ERR, "cannot set up HTTPS: %s", err);
	return http;
}

static int run(const struct entra_config *cfg, const struct options *o, int signal_fd)
{
	bool own;
	struct httpc_client *http = http_client_new(cfg);
	if (!http)
		return 1;
	struct authd_doc_memo *memo = authd_doc_memo_new();
	int listen_fd = memo ? listen_socket(cfg, &own) : -1;
	if (listen_fd < 0) {
		authd_doc_memo_free(memo);
		httpc_client_free(http);
		return 1;
	}
	struct authd_context ctx = {.cfg = cfg, .log = &logger, .http = http, .memo = memo};
	const char *proxy = httpc_client_proxy(http);
	entra_log(&logger, LOG_INFO, "serving sign-ins for tenant %s on %s%s; %s%s", cfg->tenant_id, cfg->authd_socket,
	          own ? "" : " (passed by systemd)",
	          proxy ? "HTTPS through the proxy " : "direct HTTPS (no [entra] proxy)", proxy ? proxy : "");
	if (entra_notify_systemd("READY=1"))
		entra_log(&logger, LOG_WARNING, "cannot notify systemd ($NOTIFY_SOCKET): %s", strerror(errno));
	/* Only a socket systemd holds outlives an idle exit: the next sign-in starts us again. */
	authd_serve(&ctx, listen_fd, signal_fd, own ? 0 : o->idle_exit_s);
	entra_notify_systemd("STOPPING=1");
	close(listen_fd);
	if (own)
		unlink(cfg->authd_socket);
	int running = authd_signins_running();
	entra_log(&logger, LOG_INFO, "stopped (%d sign-ins cut short)", running);
	if (!running) { /* else their threads still use the client and memo: exit ends them */
		httpc_client_free(http);
		authd_doc_memo_free(memo);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o;
	struct entra_config cfg;
	int rc = args_parse(argc, argv, &o);
	if (rc)
		return rc == 1 ? 0 : rc;
	char err[256];
	if (httpc_global_init(err, sizeof(err))) /* before any thread starts */
		return entra_log(&logger, LOG_ERR, "%s", err), 1;
	if (config_read(o.config, &cfg))
		return 1;
	int signal_fd = signals_take();
	if (signal_fd < 0) {
		entra_log(&logger, LOG_ERR, "cannot take signals: %s", strerror(errno));
		return 1;
	}
	rc = run(&cfg, &o, signal_fd);
	if (!authd_signins_running()) {
		entra_config_free(&cfg);
		httpc_global_cleanup();
	}
	return rc;
}
