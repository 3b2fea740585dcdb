/* libFuzzer target: tokenizer.json loading, then encoding and decoding with
 * whatever loaded. The input's tail after the first NUL byte (if any) is the
 * text to encode, so the fuzzer drives both the parser and the merges. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/tokenizer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nul = memchr(data, 0, size);
    size_t json_size = nul ? (size_t)(nul - data) : size;
    const char *text = nul ? (const char *)nul + 1 : "Hello  world, it's 2024!\n\xe6\x97\xa5\xff";
    size_t text_len = nul ? size - json_size - 1 : strlen(text);
    presso_tokenizer *t = NULL;
    if (presso_tokenizer_load_hf_buffer(data, json_size, NULL, 0, "fuzz.json", &t) != PRESSO_OK) return 0;
    int32_t *ids = NULL;
    int64_t n = 0;
    for (int bos = 0; bos < 2; bos++) {
        if (presso_tokenizer_encode(t, text, text_len, bos, &ids, &n) == PRESSO_OK) {
            size_t cap = presso_tokenizer_max_piece_len(t);
            char *buf = malloc(cap);
            for (int64_t i = 0; buf && i < n; i++) {
                if (ids[i] < 0 || ids[i] >= presso_tokenizer_vocab_size(t)) abort();
                size_t k = presso_tokenizer_decode(t, i ? ids[i - 1] : -1, ids[i], buf, cap);
                if (k > cap) abort();
            }
            free(buf);
            free(ids);
        }
    }
    presso_tokenizer_free(t);
    return 0;
}
