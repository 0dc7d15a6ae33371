#include "tls_bio.h"

#include <errno.h>
#include <stdint.h>
#include <sys/socket.h>

/* The library table: loaded before any BIO of ours exists, immutable afterwards. */
static const struct pe_ssl_lib *lib_get(void)
{
	char err[8];
	return pe_ssl_lib(err, sizeof(err));
}

static int retry_or_fail(BIO *b, int retry_flag)
{
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		lib_get()->BIO_set_flags(b, retry_flag | BIO_FLAGS_SHOULD_RETRY);
	return -1;
}

static int bio_write(BIO *b, const char *buf, int len)
{
	const struct pe_ssl_lib *lib = lib_get();
	lib->BIO_clear_flags(b, BIO_FLAGS_RWS | BIO_FLAGS_SHOULD_RETRY);
	ssize_t n = send((int)(intptr_t)lib->BIO_get_data(b), buf, (size_t)len, MSG_NOSIGNAL);
	return n >= 0 ? (int)n : retry_or_fail(b, BIO_FLAGS_WRITE);
}

static int bio_read(BIO *b, char *buf, int len)
{
	const struct pe_ssl_lib *lib = lib_get();
	lib->BIO_clear_flags(b, BIO_FLAGS_RWS | BIO_FLAGS_SHOULD_RETRY);
	ssize_t n = recv((int)(intptr_t)lib->BIO_get_data(b), buf, (size_t)len, 0);
	return n >= 0 ? (int)n : retry_or_fail(b, BIO_FLAGS_READ);
}

static long bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
	(void)b, (void)num, (void)ptr;
	return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

BIO_METHOD *pe_tls_bio_method_new(const struct pe_ssl_lib *lib)
{
	BIO_METHOD *m = lib->BIO_meth_new(BIO_TYPE_SOURCE_SINK, "pam_entra socket");
	if (m && (!lib->BIO_meth_set_write(m, bio_write) || !lib->BIO_meth_set_read(m, bio_read) ||
	          !lib->BIO_meth_set_ctrl(m, bio_ctrl))) {
		lib->BIO_meth_free(m);
		m = NULL;
	}
	return m;
}

void pe_tls_bio_method_free(const struct pe_ssl_lib *lib, BIO_METHOD *method)
{
	if (method)
		lib->BIO_meth_free(method);
}

BIO *pe_tls_socket_bio(const struct pe_ssl_lib *lib, BIO_METHOD *method, int fd)
{
	BIO *b = lib->BIO_new(method);
	if (b) {
		lib->BIO_set_data(b, (void *)(intptr_t)fd);
		lib->BIO_set_init(b, 1);
	}
	return b;
}
