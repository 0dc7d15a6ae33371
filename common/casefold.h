/* Unicode simple case folding (CaseFolding.txt C + S) of UTF-8 text, for what SCIM compares
 * case-insensitively (caseExact=false attributes, userName uniqueness) and for AUP display
 * names: "MÜLLER" equals "Müller", "ΣΟΦΙΑ" equals "σοφια", "ДОМ" equals "дом". Simple folding
 * maps one code point to one, so "ß" and "ss" stay different. Bytes that are not valid UTF-8
 * compare and fold as themselves. No allocation except casefold_dup. */
#ifndef SYNC_CASEFOLD_H
#define SYNC_CASEFOLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The folded code point of CP (CP itself when it has no folding). */
uint32_t casefold_cp(uint32_t cp);

/* <0, 0, >0 as the folded code point sequences of A (AN bytes) and B (BN bytes) compare. */
int casefold_cmp(const char *a, size_t an, const char *b, size_t bn);
bool casefold_eq(const char *a, const char *b);

/* The folded text of S (N bytes) into OUT, NUL-terminated; returns its length in bytes. OUT
 * needs CASEFOLD_MAX_LEN(N) bytes: folding can turn a 2-byte character into a 3-byte one. */
#define CASEFOLD_MAX_LEN(n) ((n) / 2 * 3 + (n) % 2 + 1)
size_t casefold_utf8(const char *s, size_t n, char *out);

/* A malloc'd folded copy of the NUL-terminated S, or NULL (out of memory, or S is NULL). */
char *casefold_dup(const char *s);

#endif
