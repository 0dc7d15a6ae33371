#include "sync/scim/scim_error.h"

#include <stdio.h>

int scim_error_set(struct scim_error *err, int status, const char *scim_type, const char *fmt, ...)
{
	va_list ap;
	if (!err)
		return -1;
	err->status = status;
	err->scim_type = scim_type;
	va_start(ap, fmt);
	vsnprintf(err->detail, sizeof(err->detail), fmt, ap);
	va_end(ap);
	return -1;
}
