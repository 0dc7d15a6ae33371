/* Helpers shared by the libFuzzer targets: NUL-terminated copies and splitting an input on a
 * separator line, so one corpus file can carry several documents (e.g. a resource and a PATCH). */
#ifndef FUZZ_UTIL_H
#define FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define FUZZ_SEPARATOR "\n====\n"

/* A NUL-terminated copy of DATA (embedded NULs kept: C string users see a prefix). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		return NULL;
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Splits DATA at the first FUZZ_SEPARATOR into *HEAD and *TAIL (both new strings). When there is
 * no separator the whole input is *HEAD and *TAIL is NULL. Returns -1 only when out of memory. */
static inline int fuzz_split(const uint8_t *data, size_t size, char **head, size_t *head_len, char **tail,
                             size_t *tail_len)
{
	const size_t seplen = sizeof(FUZZ_SEPARATOR) - 1;
	const uint8_t *sep = memmem(data, size, FUZZ_SEPARATOR, seplen);
	size_t hl = sep ? (size_t)(sep - data) : size;
	*tail = NULL;
	*tail_len = 0;
	if (!(*head = fuzz_strndup(data, hl)))
		return -1;
	*head_len = hl;
	if (sep) {
		size_t tl = size - hl - seplen;
		if (!(*tail = fuzz_strndup(sep + seplen, tl))) {
			free(*head);
			return -1;
		}
		*tail_len = tl;
	}
	return 0;
}

#endif
