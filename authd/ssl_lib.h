/* libssl (and the libcrypto it pulls in), loaded on first use like crypto_lib.h: only an Entra
 * sign-in needs TLS, so local users and root never pay for mapping and relocating them. */
#ifndef PE_SSL_LIB_H
#define PE_SSL_LIB_H

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <stddef.h>

#define PE_SSL_FUNCTIONS(X)                                                                                            \
	X(BIO_clear_flags)                                                                                             \
	X(BIO_free)                                                                                                    \
	X(BIO_get_data)                                                                                                \
	X(BIO_meth_free)                                                                                               \
	X(BIO_meth_new)                                                                                                \
	X(BIO_meth_set_ctrl)                                                                                           \
	X(BIO_meth_set_read)                                                                                           \
	X(BIO_meth_set_write)                                                                                          \
	X(BIO_new)                                                                                                     \
	X(BIO_new_mem_buf)                                                                                             \
	X(BIO_read)                                                                                                    \
	X(BIO_set_data)                                                                                                \
	X(BIO_set_flags)                                                                                               \
	X(BIO_set_init)                                                                                                \
	X(BIO_write)                                                                                                   \
	X(ERR_clear_error)                                                                                             \
	X(ERR_error_string_n)                                                                                          \
	X(ERR_peek_last_error)                                                                                         \
	X(OPENSSL_init_ssl)                                                                                            \
	X(PEM_read_bio_X509)                                                                                           \
	X(SSL_CTX_ctrl)                                                                                                \
	X(SSL_CTX_free)                                                                                                \
	X(SSL_CTX_get_cert_store)                                                                                      \
	X(SSL_CTX_load_verify_dir)                                                                                     \
	X(SSL_CTX_new)                                                                                                 \
	X(SSL_CTX_set_security_level)                                                                                  \
	X(SSL_CTX_set_verify)                                                                                          \
	X(SSL_SESSION_free)                                                                                            \
	X(SSL_SESSION_is_resumable)                                                                                    \
	X(SSL_connect)                                                                                                 \
	X(SSL_ctrl)                                                                                                    \
	X(SSL_free)                                                                                                    \
	X(SSL_get0_param)                                                                                              \
	X(SSL_get1_session)                                                                                            \
	X(SSL_get_error)                                                                                               \
	X(SSL_get_verify_result)                                                                                       \
	X(SSL_new)                                                                                                     \
	X(SSL_read_ex)                                                                                                 \
	X(SSL_set1_host)                                                                                               \
	X(SSL_set_bio)                                                                                                 \
	X(SSL_set_session)                                                                                             \
	X(SSL_shutdown)                                                                                                \
	X(SSL_write_ex)                                                                                                \
	X(TLS_client_method)                                                                                           \
	X(X509_STORE_add_cert)                                                                                         \
	X(X509_VERIFY_PARAM_set1_ip_asc)                                                                               \
	X(X509_free)                                                                                                   \
	X(X509_get_default_cert_dir)                                                                                   \
	X(X509_verify_cert_error_string)

/* One member per function, typed from OpenSSL's own prototype, so calls are type-checked. */
struct pe_ssl_lib {
#define PE_SSL_MEMBER(name) __typeof__(&name) name;
	PE_SSL_FUNCTIONS(PE_SSL_MEMBER)
#undef PE_SSL_MEMBER
};

/* libssl loaded and initialised without reading openssl.cnf (once per process, thread-safe), or
 * NULL with the reason in ERR. */
const struct pe_ssl_lib *pe_ssl_lib(char *err, size_t errlen);

#endif
