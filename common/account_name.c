/* The name rule of common/account_name.h. */
#include "common/account_name.h"

#include "common/reserved_names.h"

static bool byte_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' || c == '@';
}

size_t entra_account_name_len(const char *name)
{
	if (!name)
		return 0;
	size_t n = 0;
	bool digits_only = true;
	for (; name[n]; n++) {
		unsigned char c = (unsigned char)name[n];
		if (n == ENTRA_ACCOUNT_NAME_MAX || !byte_ok(c))
			return 0;
		digits_only = digits_only && c >= '0' && c <= '9';
	}
	if (n == 0 || digits_only || name[0] == '-' || (name[0] == '.' && (n == 1 || (n == 2 && name[1] == '.'))))
		return 0;
	return entra_name_reserved_len(name, n) ? 0 : n;
}

bool entra_account_name_ok(const char *name)
{
	return entra_account_name_len(name) != 0;
}
