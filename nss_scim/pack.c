/* Copies strings and pointer arrays into the caller-supplied NSS buffer. A NULL return means
 * the buffer is too small: the entry point answers NSS_STATUS_TRYAGAIN with ERANGE. */
#include "nss_scim/nss_scim.h"

#include <stdalign.h>
#include <stdint.h>
#include <string.h>

char *nss_pack_text(struct nss_pack *p, const char *s, size_t len)
{
	if (len >= p->left)
		return NULL;
	char *out = memcpy(p->cur, s, len);
	out[len] = '\0';
	p->cur += len + 1;
	p->left -= len + 1;
	return out;
}

char *nss_pack_str(struct nss_pack *p, const char *s)
{
	return nss_pack_text(p, s, strlen(s));
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
