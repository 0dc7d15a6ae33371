#include "ssl_lib.h"

#include <dlfcn.h>
#include <openssl/opensslv.h>
#include <pthread.h>
#include <stdio.h>

#define STRINGIFY(x)    #x
#define SONAME(version) "libssl.so." STRINGIFY(version)
#define LIBSSL_SONAME   SONAME(OPENSSL_SHLIB_VERSION)

/* Written once under ssl_once, read-only afterwards. The library is never unloaded. */
static pthread_once_t ssl_once = PTHREAD_ONCE_INIT;
static struct pe_ssl_lib ssl_fns;
static const struct pe_ssl_lib *ssl_loaded;
static char ssl_load_error[256];

static void ssl_load(void)
{
	void *lib = dlopen(LIBSSL_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	int missing = 0;
	if (!lib) {
		const char *why = dlerror();
		snprintf(ssl_load_error, sizeof(ssl_load_error), "cannot load %s (%s): install libssl3", LIBSSL_SONAME,
		         why ? why : "unknown error");
		return;
	}
	/* dlsym on libssl's handle also finds the libcrypto functions it depends on. */
#define PE_SSL_RESOLVE(name)                                                                                           \
	if (!(ssl_fns.name = (__typeof__(ssl_fns.name))dlsym(lib, #name))) {                                           \
		snprintf(ssl_load_error, sizeof(ssl_load_error), "%s lacks %s", LIBSSL_SONAME, #name);                 \
		missing = 1;                                                                                           \
	}
	PE_SSL_FUNCTIONS(PE_SSL_RESOLVE)
#undef PE_SSL_RESOLVE
	if (missing)
		return;
	/* openssl.cnf is never read: it can load engines and providers into every process that signs
	 * someone in, and reading it costs CPU on each sign-in; OPENSSL_CONF would come from the host
	 * process's environment (tls.c sets the system policy's security level itself). No
	 * exit-time clean-up either: the library is never unloaded, and freeing every table at exit
	 * cost ~0.4 ms of CPU per sign-in. */
	if (!ssl_fns.OPENSSL_init_ssl(OPENSSL_INIT_NO_LOAD_CONFIG | OPENSSL_INIT_NO_ATEXIT, NULL)) {
		snprintf(ssl_load_error, sizeof(ssl_load_error), "OpenSSL initialisation failed");
		return;
	}
	ssl_loaded = &ssl_fns;
}

const struct pe_ssl_lib *pe_ssl_lib(char *err, size_t errlen)
{
	pthread_once(&ssl_once, ssl_load);
	if (!ssl_loaded)
		snprintf(err, errlen, "%s", ssl_load_error);
	return ssl_loaded;
}
