/* Display text from outside (Entra display names, an IdP's device code answer) made safe for a
 * passwd line and a terminal. One rule for the gecos entra-syncd publishes and for what
 * pam_entra shows at sign-in. */
#ifndef ENTRA_TEXT_SAFE_H
#define ENTRA_TEXT_SAFE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	ENTRA_TEXT_NO_COLON = 1 << 0, /* drop ':' too: the field separator of passwd and group lines */
	/* Each kept non-ASCII character becomes one '?': a terminal not known to decode UTF-8 may
	 * take the bytes 0x80-0x9f inside a UTF-8 sequence for C1 controls (0x9b is CSI). */
	ENTRA_TEXT_ASCII = 1 << 1,
};

/* Copies SRC (NUL-terminated; NULL reads as "") into DST of DSTLEN bytes, always
 * NUL-terminated when DSTLEN > 0. It keeps valid UTF-8 only (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF; each invalid byte is dropped) and drops every character
 * entra_text_dropped names. The copy holds whole characters only: it ends before the first
 * one that does not fit. Returns the bytes written, the NUL not counted. */
size_t entra_text_safe(char *dst, size_t dstlen, const char *src, unsigned flags);

/* Whether entra_text_safe drops the Unicode scalar value CP: the controls (Cc: C0, DEL, C1),
 * which terminals obey; the format characters (Cf, Unicode 15.1: bidi marks, embeddings,
 * overrides and isolates, zero-width space/joiners, word joiner and invisible operators, soft
 * hyphen, BOM, interlinear annotation, tags and the rest), which are invisible or reorder
 * what follows; and the line and paragraph separators (Zl, Zp), which some programs break
 * lines at. */
bool entra_text_dropped(uint32_t cp);

/* Whether TEXT is at most MAX bytes and entra_text_safe would keep it whole (a reader's check
 * of text another process wrote). */
bool entra_text_is_safe(const char *text, size_t max, unsigned flags);

/* Copies SRC (NULL reads as "") into DST, replacing each byte that is not printable ASCII with
 * '?': for log lines and protocol reasons, where a '?' keeps the trace of what was there. Text
 * a person sees at sign-in goes through entra_text_safe instead. */
void entra_text_printable(char *dst, size_t dstlen, const char *src);

#endif
