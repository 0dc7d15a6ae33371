/* libFuzzer target: the entra.conf parser must reject or accept any bytes without crashing
 * or leaking, and a parsed config must validate consistently. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	struct entra_config cfg;
	char err[512];
	if (entra_config_parse("fuzz.conf", text, &cfg, err, sizeof(err)) == 0) {
		for (size_t i = 0; i < cfg.n_rules; i++)
			if (!entra_config_role(&cfg, cfg.rules[i].role))
				abort(); /* validation promised every rule's role exists */
		entra_config_free(&cfg);
	}
	free(text);
	return 0;
}
