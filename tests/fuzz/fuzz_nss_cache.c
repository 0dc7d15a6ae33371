/* libFuzzer target: the readers of a hostile or corrupt cache.db, i.e. every libnss_scim entry
 * point and pam_entra's account look-up (tests/fuzz/cache_readers.h).
 *
 * Input: the bytes of a cache.db file. It is published the way entra-syncd does (temp file +
 * rename) at the cache_db of an entra.conf that this process mounts over /etc/entra in its own
 * mount namespace, then passwd, group, shadow and initgroups look-ups and enumerations run with
 * roomy and tiny buffers. Needs root (mount namespace); seeds are built by
 * corpus/nss_cache/make_seeds.py. */
#include <stdint.h>
#include <string.h>

#include "cache_readers.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	cache_readers_setup();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	write_file(CACHE_DB, data, size);
	cache_readers_run(size >= 100 && !memcmp(data, "SQLite format 3", 16));
	return 0;
}
