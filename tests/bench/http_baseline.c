/* http_baseline: the ceiling for any SCIM server built on libmicrohttpd here. It answers every
 * request, after reading its body, with one constant SCIM ListResponse (200), using the same
 * threading model as entra-syncd would at its simplest (internal polling thread pool). The
 * load generator's filter and PATCH figures are divided by its figures at the same concurrency.
 *
 *   http_baseline --port P [--threads T]     (runs until SIGTERM/SIGINT; loopback only)
 */
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char answer[] =
    "{\"schemas\":[\"urn:ietf:params:scim:api:messages:2.0:ListResponse\"],\"totalResults\":1,"
    "\"itemsPerPage\":1,\"startIndex\":1,\"Resources\":[{\"schemas\":"
    "[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"id\":\"00000000-0000-4000-8000-000000000000\","
    "\"userName\":\"bench0@contoso.com\",\"active\":true}]}";

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload, size_t *upload_size, void **state)
{
	static int marker;
	if (*state == NULL) { /* first call: headers only */
		*state = &marker;
		return MHD_YES;
	}
	if (*upload_size) { /* consume the body, like a real server must */
		*upload_size = 0;
		return MHD_YES;
	}
	struct MHD_Response *r =
	    MHD_create_response_from_buffer(sizeof(answer) - 1, (void *)answer, MHD_RESPMEM_PERSISTENT);
	MHD_add_response_header(r, "Content-Type", "application/scim+json");
	enum MHD_Result ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

int main(int argc, char **argv)
{
	unsigned port = 0, threads = 4;
	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--port"))
			port = (unsigned)strtoul(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "--threads"))
			threads = (unsigned)strtoul(argv[i + 1], NULL, 10);
	}
	if (port == 0 || port > 65535 || threads == 0 || threads > 64) {
		fprintf(stderr, "usage: http_baseline --port P [--threads 1..64]\n");
		return 1;
	}
	struct sockaddr_in addr = {
	    .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* MHD's threads inherit the mask */
	struct MHD_Daemon *d =
	    MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, (uint16_t)port, NULL, NULL, handle, NULL,
	                     MHD_OPTION_SOCK_ADDR, &addr, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_END);
	if (!d) {
		fprintf(stderr, "http_baseline: cannot listen on 127.0.0.1:%u\n", port);
		return 1;
	}
	int sig = 0;
	sigwait(&set, &sig);
	MHD_stop_daemon(d);
	return 0;
}
