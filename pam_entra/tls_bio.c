/* A socket BIO for libssl that never raises SIGPIPE: send(MSG_NOSIGNAL) and recv() on a
 * non-blocking socket, with OpenSSL's retry flags on EAGAIN. The module must not change the
 * host process's signal dispositions, so this is how a reset peer stays harmless. */
#include "ssl_lib.h"
#include "tls.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/socket.h>

/* Created once under bio_once, read-only afterwards; never freed (the library stays loaded). */
static pthread_once_t bio_once = PTHREAD_ONCE_INIT;
static BIO_METHOD *bio_method;
static const struct pe_ssl_lib *bio_lib;

static int bio_fd(BIO *b)
{
	return (int)(intptr_t)bio_lib->BIO_get_data(b);
}

static int retry_or_fail(BIO *b, int retry_flag)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		bio_lib->BIO_set_flags(b, retry_flag | BIO_FLAGS_SHOULD_RETRY);
	return -1;
}

static int bio_write(BIO *b, const char *buf, int len)
{
	bio_lib->BIO_clear_flags(b, BIO_FLAGS_RWS | BIO_FLAGS_SHOULD_RETRY);
	ssize_t n = send(bio_fd(b), buf, (size_t)len, MSG_NOSIGNAL);
	return n >= 0 ? (int)n : retry_or_fail(b, BIO_FLAGS_WRITE);
}

static int bio_read(BIO *b, char *buf, int len)
{
	bio_lib->BIO_clear_flags(b, BIO_FLAGS_RWS | BIO_FLAGS_SHOULD_RETRY);
	ssize_t n = recv(bio_fd(b), buf, (size_t)len, 0);
	return n >= 0 ? (int)n : retry_or_fail(b, BIO_FLAGS_READ);
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b, (void)num, (void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static void bio_method_create(void)
{
	char err[256];
	const struct pe_ssl_lib *lib = pe_ssl_lib(err, sizeof(err));
	if (!lib)
		return;
	BIO_METHOD *m = lib->BIO_meth_new(lib->BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "pam_entra socket");
	if (!m || !lib->BIO_meth_set_write(m, bio_write) || !lib->BIO_meth_set_read(m, bio_read) ||
	    !lib->BIO_meth_set_ctrl(m, bio_ctrl))
		return;
	bio_lib = lib;
	bio_method = m;
}

void *pe_tls_socket_bio(int fd)
{
	pthread_once(&bio_once, bio_method_create);
	if (!bio_method)
		return NULL;
	BIO *b = bio_lib->BIO_new(bio_method);
	if (b) {
		bio_lib->BIO_set_data(b, (void *)(intptr_t)fd);
		bio_lib->BIO_set_init(b, 1);
	}
	return b;
}
