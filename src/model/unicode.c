#include "model/unicode.h"

static int in_ranges(const presso_unicode_range *r, size_t n, uint32_t cp) {
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < r[mid].first) {
            hi = mid;
        } else if (cp > r[mid].last) {
            lo = mid + 1;
        } else {
            return 1;
        }
    }
    return 0;
}

presso_unicode_class presso_unicode_class_of(uint32_t cp) {
    if (cp < 128) {
        if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return PRESSO_UC_LETTER;
        if (cp >= '0' && cp <= '9') return PRESSO_UC_NUMBER;
        if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return PRESSO_UC_SPACE;
        return PRESSO_UC_OTHER;
    }
    if (in_ranges(presso_unicode_whitespace, presso_unicode_whitespace_count, cp)) return PRESSO_UC_SPACE;
    if (in_ranges(presso_unicode_letter, presso_unicode_letter_count, cp)) return PRESSO_UC_LETTER;
    if (in_ranges(presso_unicode_number, presso_unicode_number_count, cp)) return PRESSO_UC_NUMBER;
    return PRESSO_UC_OTHER;
}

size_t presso_utf8_len_from_lead(uint8_t lead) {
    static const uint8_t lookup[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return lookup[lead >> 4];
}

static int is_cont(uint8_t b) { return (b & 0xC0) == 0x80; }

uint32_t presso_utf8_decode(const uint8_t *s, size_t n, size_t *used) {
    uint8_t c = s[0];
    *used = 1;
    if (!(c & 0x80)) return c;
    if (!(c & 0x40)) return 0xFFFD;
    if (!(c & 0x20)) {
        if (n < 2 || !is_cont(s[1])) return 0xFFFD;
        *used = 2;
        return ((uint32_t)(c & 0x1F) << 6) | (s[1] & 0x3F);
    }
    if (!(c & 0x10)) {
        if (n < 3 || !is_cont(s[1]) || !is_cont(s[2])) return 0xFFFD;
        *used = 3;
        return ((uint32_t)(c & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    }
    if (!(c & 0x08)) {
        if (n < 4 || !is_cont(s[1]) || !is_cont(s[2]) || !is_cont(s[3])) return 0xFFFD;
        *used = 4;
        return ((uint32_t)(c & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) | ((uint32_t)(s[2] & 0x3F) << 6) |
               (s[3] & 0x3F);
    }
    return 0xFFFD;
}

size_t presso_utf8_encode(uint32_t cp, uint8_t out[4]) {
    if (cp <= 0x7F) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp <= 0x7FF) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp > 0x10FFFF) cp = 0xFFFD; /* llama.cpp throws here; keep going with U+FFFD */
    if (cp <= 0xFFFF) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}
