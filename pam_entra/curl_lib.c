#include "curl_lib.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#define LIBCURL_SONAME "libcurl.so.4"

/* Written once under curl_once, read-only afterwards. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static struct pe_curl_lib curl_fns;
static const struct pe_curl_lib *curl_loaded;
static char curl_load_error[256];

static int symbols_resolve(void *lib)
{
	int missing = 0;
#define RESOLVE(field, symbol)                                                                                         \
	do {                                                                                                           \
		if (!(curl_fns.field = (__typeof__(curl_fns.field))dlsym(lib, symbol))) {                              \
			snprintf(curl_load_error, sizeof(curl_load_error),                                             \
			         "%s lacks %s: libcurl 7.84 or newer needed", LIBCURL_SONAME, symbol);                 \
			missing = 1;                                                                                   \
		}                                                                                                      \
	} while (0)
	RESOLVE(easy_init, "curl_easy_init");
	RESOLVE(easy_setopt, "curl_easy_setopt");
	RESOLVE(easy_perform, "curl_easy_perform");
	RESOLVE(easy_getinfo, "curl_easy_getinfo");
	RESOLVE(easy_cleanup, "curl_easy_cleanup");
	RESOLVE(easy_strerror, "curl_easy_strerror");
	RESOLVE(share_init, "curl_share_init");
	RESOLVE(share_setopt, "curl_share_setopt");
	RESOLVE(share_cleanup, "curl_share_cleanup");
#undef RESOLVE
	return missing ? -1 : 0;
}

/* The library stays loaded for the life of the process (RTLD_NODELETE): libcurl keeps global
 * state of its own, and the host program may use it too, so it is never unloaded or
 * curl_global_cleanup'ed. */
static void curl_load(void)
{
	void *lib = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	if (!lib) {
		const char *why = dlerror();
		snprintf(curl_load_error, sizeof(curl_load_error), "cannot load %s (%s): install libcurl4",
		         LIBCURL_SONAME, why ? why : "unknown error");
		return;
	}
	CURLcode (*global_init)(long) = (CURLcode(*)(long))dlsym(lib, "curl_global_init");
	if (symbols_resolve(lib))
		return;
	if (!global_init || global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(curl_load_error, sizeof(curl_load_error), "libcurl initialisation failed");
		return;
	}
	curl_loaded = &curl_fns;
}

const struct pe_curl_lib *pe_curl_lib(char *err, size_t errlen)
{
	pthread_once(&curl_once, curl_load);
	if (!curl_loaded)
		snprintf(err, errlen, "%s", curl_load_error);
	return curl_loaded;
}
