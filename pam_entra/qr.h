/* QR code (ISO/IEC 18004) encoder for the sign-in URL: byte mode, error correction level L,
 * versions 1-10 (up to 271 bytes), drawn with Unicode half blocks for a terminal. */
#ifndef PE_QR_H
#define PE_QR_H

#include <stdbool.h>
#include <stddef.h>

#define PE_QR_MAX_VERSION 10
#define PE_QR_MAX_SIZE    (17 + 4 * PE_QR_MAX_VERSION)

struct pe_qr {
	int version;
	int size; /* modules per side */
	int mask;
	bool dark[PE_QR_MAX_SIZE][PE_QR_MAX_SIZE]; /* [y][x] */
};

/* Encodes LEN bytes of DATA; MASK 0-7 forces a mask, -1 picks the lowest-penalty one.
 * 0, or -1 when the data does not fit version 10. */
int pe_qr_encode(const unsigned char *data, size_t len, int mask, struct pe_qr *qr);

/* The code of TEXT as lines of half blocks with a quiet zone (light modules drawn as blocks,
 * for light-on-dark terminals), ending in a newline. New string, or NULL when too long. */
char *pe_qr_render(const char *text);

#endif
