/* UTF-8 and code point classes for the tokenizers. The decoding rules copy
 * llama.cpp's (unicode.cpp), because token ids must match its: an invalid
 * byte becomes U+FFFD, overlong forms are accepted. */
#ifndef PRESSO_MODEL_UNICODE_H
#define PRESSO_MODEL_UNICODE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t first, last; /* inclusive */
} presso_unicode_range;

/* Generated tables (unicode_tables.c, scripts/gen_unicode_tables.py). */
extern const presso_unicode_range presso_unicode_letter[];
extern const size_t presso_unicode_letter_count;
extern const presso_unicode_range presso_unicode_number[];
extern const size_t presso_unicode_number_count;
extern const presso_unicode_range presso_unicode_whitespace[];
extern const size_t presso_unicode_whitespace_count;

typedef enum {
    PRESSO_UC_OTHER = 0, /* anything else, including unassigned code points */
    PRESSO_UC_LETTER,    /* \p{L} */
    PRESSO_UC_NUMBER,    /* \p{N} */
    PRESSO_UC_SPACE,     /* \s (White_Space) */
} presso_unicode_class;

presso_unicode_class presso_unicode_class_of(uint32_t cp);

/* Byte length of the UTF-8 sequence a lead byte announces, by its high four
 * bits only (llama.cpp unicode_len_utf8): continuation bytes count as 1. */
size_t presso_utf8_len_from_lead(uint8_t lead);

/* Decodes one code point at s[0..n) (n >= 1) as llama.cpp's
 * unicode_cpts_from_utf8 does: an invalid sequence yields U+FFFD and
 * consumes one byte. *used gets the byte count consumed. */
uint32_t presso_utf8_decode(const uint8_t *s, size_t n, size_t *used);

/* Encodes cp (<= 0x10FFFF; larger values encode U+FFFD) into out, returns
 * the byte count (1..4). */
size_t presso_utf8_encode(uint32_t cp, uint8_t out[4]);

#endif
