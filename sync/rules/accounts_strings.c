/* The strings an account snapshot owns (struct accounts.strings), freed with it by
 * accounts_free: apart from accounts.c so that ssh_keys.c, which accounts.c calls, can keep its
 * key lines there without calling back into accounts.c. */
#include <stdlib.h>

#include "sync/rules/accounts.h"

char *accounts_keep(struct accounts *a, char *s)
{
	if (!s)
		return NULL;
	if (a->n_strings == a->cap_strings) {
		size_t ncap = a->cap_strings ? a->cap_strings * 2 : 1024;
		char **grown = realloc(a->strings, ncap * sizeof(*grown));
		if (!grown) {
			free(s);
			return NULL;
		}
		a->strings = grown, a->cap_strings = ncap;
	}
	return a->strings[a->n_strings++] = s;
}
