#include "crypto_lib.h"

#include <dlfcn.h>
#include <openssl/crypto.h>
#include <openssl/opensslv.h>
#include <pthread.h>
#include <stdio.h>

#define STRINGIFY(x)     #x
#define SONAME(version)  "libcrypto.so." STRINGIFY(version)
#define LIBCRYPTO_SONAME SONAME(OPENSSL_SHLIB_VERSION)

/* Written once under crypto_once, read-only afterwards. The library is never unloaded. */
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static struct pe_crypto_lib crypto_fns;
static const struct pe_crypto_lib *crypto_loaded;
static char crypto_load_error[256];

static void crypto_load(void)
{
	void *lib = dlopen(LIBCRYPTO_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	int missing = 0;
	if (!lib) {
		const char *why = dlerror();
		snprintf(crypto_load_error, sizeof(crypto_load_error), "cannot load %s (%s): install libssl3",
		         LIBCRYPTO_SONAME, why ? why : "unknown error");
		return;
	}
#define PE_CRYPTO_RESOLVE(name)                                                                                        \
	if (!(crypto_fns.name = (__typeof__(crypto_fns.name))dlsym(lib, #name))) {                                     \
		snprintf(crypto_load_error, sizeof(crypto_load_error), "%s lacks %s", LIBCRYPTO_SONAME, #name);        \
		missing = 1;                                                                                           \
	}
	PE_CRYPTO_FUNCTIONS(PE_CRYPTO_RESOLVE)
#undef PE_CRYPTO_RESOLVE
	if (missing)
		return;
	/* As in ssl_lib.c: openssl.cnf is never read, and no exit-time clean-up of a library that
	 * is never unloaded. */
	__typeof__(&OPENSSL_init_crypto) init = (__typeof__(init))dlsym(lib, "OPENSSL_init_crypto");
	if (!init || !init(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, NULL)) {
		snprintf(crypto_load_error, sizeof(crypto_load_error), "OpenSSL initialisation failed");
		return;
	}
	crypto_loaded = &crypto_fns;
}

const struct pe_crypto_lib *pe_crypto_lib(char *err, size_t errlen)
{
	pthread_once(&crypto_once, crypto_load);
	if (!crypto_loaded)
		snprintf(err, errlen, "%s", crypto_load_error);
	return crypto_loaded;
}
