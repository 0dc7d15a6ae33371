/* Big-endian integers as SQLite's file format stores them (header fields, page headers, cell
 * pointers): read by both checks of cache.db, common/cache_file.c and the NSS module's reader. */
#ifndef ENTRA_BYTE_ORDER_H
#define ENTRA_BYTE_ORDER_H

#include <stdint.h>

static inline unsigned entra_be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

static inline uint32_t entra_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

#endif
