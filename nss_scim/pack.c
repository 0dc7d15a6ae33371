/* Copies strings and pointer arrays into the caller-supplied NSS buffer. A NULL return means
 * the buffer is too small: the entry point answers NSS_STATUS_TRYAGAIN with ERANGE. */
#include "nss_scim/nss_scim.h"

#include <stdalign.h>
#include <stdint.h>
#include <string.h>

char *nss_pack_str(struct nss_pack *p, const char *s)
{
	size_t n = strlen(s) + 1;
	if (n > p->left)
		return NULL;
	char *out = memcpy(p->cur, s, n);
	p->cur += n;
	p->left -= n;
	return out;
}

char **nss_pack_ptrs(struct nss_pack *p, size_t n)
{
	size_t pad = (alignof(char *) - (uintptr_t)p->cur % alignof(char *)) % alignof(char *);
	if (pad > p->left || n > (p->left - pad) / sizeof(char *))
		return NULL;
	char **out = (char **)(void *)(p->cur + pad);
	p->cur += pad + n * sizeof(char *);
	p->left -= pad + n * sizeof(char *);
	return out;
}
